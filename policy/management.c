/* The management environment's part of the policy (see management.h). */
#include "management.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pjson.h"

bool management_parse_role(json_object *v, const char *path, bool *ret_management,
			   struct policy_errors *errs)
{
	char *s = pjson_string(v, path, 16, errs);
	bool ok = s && (strcmp(s, "runtime") == 0 || strcmp(s, "management") == 0);

	if (ok)
		*ret_management = strcmp(s, "management") == 0;
	else if (s)
		pjson_error(errs, path, "must be \"runtime\" or \"management\"");
	free(s);
	return ok;
}

const struct policy_entry *policy_management_entry(const struct policy *policy)
{
	for (size_t i = 0; i < policy->entry_count; i++)
		if (policy->entries[i].management)
			return &policy->entries[i];
	return NULL;
}

/* The management entry holds the keys that approve upgrades: it must be exactly the bytes
 * the admin allowed, and never what a failure falls back to. */
static bool check_entries(const struct policy *pol, struct policy_errors *errs)
{
	const struct policy_entry *first = NULL;
	bool ok = true;
	char p[128];

	for (size_t i = 0; i < pol->entry_count; i++) {
		const struct policy_entry *e = &pol->entries[i];

		if (!e->management)
			continue;
		snprintf(p, sizeof(p), "/entries/%zu/role", i);
		if (first) {
			pjson_error(errs, p, "a second management entry (\"%s\" is one already)",
				    first->name);
			ok = false;
		}
		if (!e->verified) {
			pjson_error(errs, p, "a management entry must be verified (give it allow "
				    "lists): it is the one launch that can use the approval keys");
			ok = false;
		}
		if (pol->recovery && e->name && strcmp(pol->recovery, e->name) == 0) {
			pjson_error(errs, "/recovery", "the management entry \"%s\" cannot be the "
				    "recovery entry: it is launched only on request", e->name);
			ok = false;
		}
		first = first ? first : e;
	}
	return ok;
}

bool management_check(const struct policy *pol, struct policy_errors *errs)
{
	bool ok = check_entries(pol, errs);
	size_t runtime = 0;

	for (size_t i = 0; i < pol->entry_count; i++)
		runtime += !pol->entries[i].management;
	if (pol->entry_count && !runtime) {
		pjson_error(errs, "/entries", "no runtime entry: the management entry is launched "
			    "only on request");
		ok = false;
	}

	if (pol->management_nv_index && !policy_management_entry(pol)) {
		pjson_error(errs, "/management_request", "no entry has \"role\": \"management\"");
		ok = false;
	}
	if (pol->management_nv_index && pol->management_nv_index == pol->rollback_nv_index) {
		pjson_error(errs, "/management_request/nv_index", "is the anti-rollback index: the "
			    "request needs an index of its own, which the runtime OS may write");
		ok = false;
	}
	return ok;
}
