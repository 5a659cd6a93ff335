/* The policy model (schema v1, DESIGN section 5) and its strict parser/validator. */
#include "policy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "allow.h"
#include "management.h"
#include "pjson.h"

/* The deepest schema v1 nesting is /entries/N/allow/initrd/N/N; anything deeper is hostile. */
#define POLICY_MAX_DEPTH 8

/* Absolute, beneath the boot partition's root: no "..", ".", or empty components. */
static char *get_path(json_object *o, const char *path, struct policy_errors *errs)
{
	char *s = pjson_string(o, path, POLICY_MAX_PATH, errs);
	const char *c;

	if (!s)
		return NULL;
	if (s[0] != '/') {
		pjson_error(errs, path,
			    "path must be absolute (start with /), relative to the boot partition");
		goto bad;
	}
	for (c = s + 1;; ) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if (n == 0) {
			pjson_error(errs, path, "path has an empty component (// or a trailing /)");
			goto bad;
		}
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
			pjson_error(errs, path, "path must not contain \".\" or \"..\" components");
			goto bad;
		}
		if (!end)
			break;
		c = end + 1;
	}
	return s;
bad:
	free(s);
	return NULL;
}

static bool valid_name(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static bool parse_path_element(json_object *o, const char *path, void *element,
			       struct policy_errors *errs)
{
	char **ret = element;

	*ret = get_path(o, path, errs);
	return *ret != NULL;
}

static bool parse_initrds(json_object *arr, const char *path, struct policy_entry *e,
			  struct policy_errors *errs)
{
	bool ok = pjson_array(arr, path, 0, POLICY_MAX_INITRDS, "initrds", sizeof(*e->initrds),
			      (void **)&e->initrds, &e->initrd_count, parse_path_element, errs);
	char p[128];

	for (size_t i = 0; i < e->initrd_count; i++)
		for (size_t j = 0; j < i; j++)
			if (e->initrds[i] && e->initrds[j] && strcmp(e->initrds[i], e->initrds[j]) == 0) {
				pjson_index(p, sizeof(p), path, i);
				pjson_error(errs, p, "initrd \"%s\" is listed twice",
					    e->initrds[i]);
				ok = false;
			}
	return ok;
}

static bool parse_entry(json_object *obj, const char *path, void *element,
			struct policy_errors *errs)
{
	struct policy_entry *e = element;
	static const char *const keys[] = { "name",  "kernel", "initrd", "cmdline",
					    "allow", "role",   NULL };
	static const char *const required[] = { "name", "kernel", "cmdline", NULL };
	json_object *v;
	bool ok;
	char p[128];

	if (!pjson_type(obj, json_type_object, path, "an object", errs))
		return false;
	ok = pjson_keys(obj, path, keys, required, errs);
	if (json_object_object_get_ex(obj, "name", &v)) {
		pjson_child(p, sizeof(p), path, "name");
		e->name = pjson_string(v, p, POLICY_MAX_NAME, errs);
		if (e->name && !valid_name(e->name)) {
			pjson_error(errs, p, "name may only use letters, digits, '-', '_' and '.'");
			ok = false;
		}
		ok &= e->name != NULL;
	}
	if (json_object_object_get_ex(obj, "kernel", &v)) {
		pjson_child(p, sizeof(p), path, "kernel");
		e->kernel = get_path(v, p, errs);
		ok &= e->kernel != NULL;
	}
	if (json_object_object_get_ex(obj, "initrd", &v)) {
		pjson_child(p, sizeof(p), path, "initrd");
		ok &= parse_initrds(v, p, e, errs);
	}
	if (json_object_object_get_ex(obj, "cmdline", &v)) {
		pjson_child(p, sizeof(p), path, "cmdline");
		e->cmdline = pjson_string(v, p, POLICY_MAX_CMDLINE, errs);
		ok &= e->cmdline != NULL;
	}
	if (json_object_object_get_ex(obj, "allow", &v)) {
		/* Without a vector, "initrd" was no valid array: its count is unknown. */
		bool initrds_known = e->initrds || !json_object_object_get_ex(obj, "initrd", NULL);

		pjson_child(p, sizeof(p), path, "allow");
		ok &= allow_parse(v, p, e, initrds_known, errs);
	}
	if (json_object_object_get_ex(obj, "role", &v)) {
		pjson_child(p, sizeof(p), path, "role");
		ok &= management_parse_role(v, p, &e->management, errs);
	}
	return ok;
}

static bool parse_dmi_types(json_object *arr, const char *path, struct policy_collector *c,
			    struct policy_errors *errs)
{
	size_t n;
	char p[128];

	if (!pjson_type(arr, json_type_array, path, "an array of SMBIOS types", errs))
		return false;
	n = json_object_array_length(arr);
	if (n == 0 || n > 256) {
		pjson_error(errs, path, "must list 1 to 256 SMBIOS structure types");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(arr, i);
		int64_t v;

		pjson_index(p, sizeof(p), path, i);
		if (!pjson_type(t, json_type_int, p, "an integer", errs))
			return false;
		v = json_object_get_int64(t);
		if (v < 0 || v > 255) {
			pjson_error(errs, p, "SMBIOS type must be 0 to 255");
			return false;
		}
		c->dmi_types[v] = 1;
	}
	c->dmi_all_types = false;
	return true;
}

/* An integer from min to max, or an error naming the range. */
static bool get_bounded_int(json_object *o, const char *path, int64_t min, int64_t max,
			    int64_t *ret, struct policy_errors *errs)
{
	if (!pjson_type(o, json_type_int, path, "an integer", errs))
		return false;
	*ret = json_object_get_int64(o);
	if (*ret < min || *ret > max) {
		pjson_error(errs, path, "must be %" PRId64 " to %" PRId64, min, max);
		return false;
	}
	return true;
}

/* {"type": "storage", "disk": "/dev/vda"[, "partition": N, "bytes": N]} */
static bool parse_storage(json_object *obj, const char *path, struct policy_collector *c,
			  struct policy_errors *errs)
{
	static const char *const keys[] = { "type", "disk", "partition", "bytes", NULL };
	static const char *const required[] = { "type", "disk", NULL };
	json_object *v;
	int64_t n;
	bool ok = pjson_keys(obj, path, keys, required, errs);
	bool has_part = json_object_object_get_ex(obj, "partition", NULL);
	bool has_bytes = json_object_object_get_ex(obj, "bytes", NULL);
	char p[128];

	if (json_object_object_get_ex(obj, "disk", &v)) {
		pjson_child(p, sizeof(p), path, "disk");
		if (json_object_get_type(v) == json_type_string &&
		    strncmp(json_object_get_string(v), "/dev/", 5) != 0) {
			pjson_error(errs, p,
				    "disk must be a device path under /dev/ (e.g. /dev/vda)");
			ok = false;
		} else {
			c->path = get_path(v, p, errs);
			ok &= c->path != NULL;
		}
	}
	if (has_part != has_bytes) {
		pjson_error(errs, path, "missing required key \"%s\"",
			    has_part ? "bytes" : "partition");
		ok = false;
	}
	if (json_object_object_get_ex(obj, "partition", &v)) {
		pjson_child(p, sizeof(p), path, "partition");
		if (get_bounded_int(v, p, 1, POLICY_MAX_PARTITION, &n, errs))
			c->partition = (unsigned)n;
		else
			ok = false;
	}
	if (json_object_object_get_ex(obj, "bytes", &v)) {
		pjson_child(p, sizeof(p), path, "bytes");
		if (get_bounded_int(v, p, 1, POLICY_MAX_STORAGE_BYTES, &n, errs))
			c->bytes = (size_t)n;
		else
			ok = false;
	}
	return ok;
}

static bool parse_collector(json_object *obj, const char *path, void *element,
			    struct policy_errors *errs)
{
	struct policy_collector *c = element;
	static const char *const dmi_keys[] = { "type", "types", NULL };
	static const char *const plain_keys[] = { "type", NULL };
	static const char *const file_keys[] = { "type", "path", NULL };
	static const char *const type_required[] = { "type", NULL };
	static const char *const file_required[] = { "type", "path", NULL };
	json_object *v;
	const char *type;
	char p[128];

	if (!pjson_type(obj, json_type_object, path, "an object", errs))
		return false;
	if (!json_object_object_get_ex(obj, "type", &v)) {
		pjson_error(errs, path, "missing required key \"type\"");
		return false;
	}
	pjson_child(p, sizeof(p), path, "type");
	char *type_copy = pjson_string(v, p, 16, errs);
	if (!type_copy)
		return false;
	type = json_object_get_string(v);
	free(type_copy);
	if (strcmp(type, "dmi") == 0) {
		c->type = COLLECTOR_DMI;
		c->dmi_all_types = true;
		if (!pjson_keys(obj, path, dmi_keys, type_required, errs))
			return false;
		if (json_object_object_get_ex(obj, "types", &v)) {
			pjson_child(p, sizeof(p), path, "types");
			return parse_dmi_types(v, p, c, errs);
		}
		return true;
	}
	if (strcmp(type, "cpuid") == 0) {
		c->type = COLLECTOR_CPUID;
		return pjson_keys(obj, path, plain_keys, type_required, errs);
	}
	if (strcmp(type, "file") == 0) {
		c->type = COLLECTOR_FILE;
		if (!pjson_keys(obj, path, file_keys, file_required, errs))
			return false;
		json_object_object_get_ex(obj, "path", &v);
		pjson_child(p, sizeof(p), path, "path");
		c->path = get_path(v, p, errs);
		return c->path != NULL;
	}
	if (strcmp(type, "storage") == 0) {
		c->type = COLLECTOR_STORAGE;
		return parse_storage(obj, path, c, errs);
	}
	pjson_error(errs, p, "unknown collector type (dmi, cpuid, file, storage)");
	return false;
}

static bool parse_eventlog(json_object *obj, const char *path, struct policy *pol,
			   struct policy_errors *errs)
{
	static const char *const keys[] = { "path", NULL };
	json_object *v;
	char p[128];

	if (!pjson_type(obj, json_type_object, path, "an object", errs) ||
	    !pjson_keys(obj, path, keys, keys, errs))
		return false;
	json_object_object_get_ex(obj, "path", &v);
	pjson_child(p, sizeof(p), path, "path");
	pol->eventlog_path = get_path(v, p, errs);
	return pol->eventlog_path != NULL;
}

/* What happens when a launch fails: on_failure, recovery and measured_fallback. */
static bool parse_failure(json_object *root, struct policy *pol, struct policy_errors *errs)
{
	json_object *v;
	bool ok = true;

	pol->on_failure = POLICY_ON_FAILURE_HALT;
	if (json_object_object_get_ex(root, "on_failure", &v)) {
		char *s = pjson_string(v, "/on_failure", 16, errs);

		if (s && strcmp(s, "cap") == 0)
			pol->on_failure = POLICY_ON_FAILURE_CAP;
		else if (!s || strcmp(s, "halt") != 0) {
			if (s)
				pjson_error(errs, "/on_failure", "must be \"halt\" or \"cap\"");
			ok = false;
		}
		free(s);
	}
	if (json_object_object_get_ex(root, "recovery", &v)) {
		pol->recovery = pjson_string(v, "/recovery", POLICY_MAX_NAME, errs);
		ok &= pol->recovery != NULL;
	}
	pol->measured_fallback = false;
	if (json_object_object_get_ex(root, "measured_fallback", &v)) {
		if (pjson_type(v, json_type_boolean, "/measured_fallback", "true or false", errs))
			pol->measured_fallback = json_object_get_boolean(v);
		else
			ok = false;
	}
	return ok;
}

static bool parse_top(json_object *root, struct policy *pol, struct policy_errors *errs)
{
	static const char *const keys[] = { "schema", "serial", "require_drtm", "on_failure",
					    "recovery", "measured_fallback", "collectors",
					    "entries", "eventlog", "anti_rollback",
					    "management_request", NULL };
	static const char *const required[] = { "schema", "serial", "entries", NULL };
	json_object *v;
	bool ok;

	if (!pjson_type(root, json_type_object, "", "an object", errs))
		return false;
	ok = pjson_keys(root, "", keys, required, errs);

	if (json_object_object_get_ex(root, "schema", &v) &&
	    (!pjson_type(v, json_type_int, "/schema", "an integer", errs) ||
	     json_object_get_int64(v) != 1)) {
		if (json_object_get_type(v) == json_type_int)
			pjson_error(errs, "/schema",
				    "unsupported schema version %" PRId64 " (this is v1)",
				    json_object_get_int64(v));
		ok = false;
	}
	if (json_object_object_get_ex(root, "serial", &v)) {
		if (!pjson_type(v, json_type_int, "/serial", "an integer", errs))
			ok = false;
		else if ((pol->serial = json_object_get_int64(v)) < 0 ||
			 pol->serial == INT64_MAX /* json-c saturates larger numbers */) {
			pjson_error(errs, "/serial", "must be 0 to %" PRId64, INT64_MAX - 1);
			ok = false;
		}
	}
	pol->require_drtm = true;
	if (json_object_object_get_ex(root, "require_drtm", &v)) {
		if (pjson_type(v, json_type_boolean, "/require_drtm", "true or false", errs))
			pol->require_drtm = json_object_get_boolean(v);
		else
			ok = false;
	}
	ok &= parse_failure(root, pol, errs);
	if (json_object_object_get_ex(root, "collectors", &v))
		ok &= pjson_array(v, "/collectors", 0, POLICY_MAX_COLLECTORS, "collectors",
				  sizeof(*pol->collectors), (void **)&pol->collectors,
				  &pol->collector_count, parse_collector, errs);
	if (json_object_object_get_ex(root, "entries", &v)) {
		if (json_object_get_type(v) == json_type_array && json_object_array_length(v) == 0) {
			pjson_error(errs, "/entries", "must list at least one entry");
			ok = false;
		} else {
			ok &= pjson_array(v, "/entries", 0, POLICY_MAX_ENTRIES, "entries",
					  sizeof(*pol->entries), (void **)&pol->entries,
					  &pol->entry_count, parse_entry, errs);
		}
	}
	if (json_object_object_get_ex(root, "eventlog", &v))
		ok &= parse_eventlog(v, "/eventlog", pol, errs);
	if (json_object_object_get_ex(root, "anti_rollback", &v))
		ok &= pjson_nv_index_object(v, "/anti_rollback", &pol->rollback_nv_index, errs);
	if (json_object_object_get_ex(root, "management_request", &v))
		ok &= pjson_nv_index_object(v, "/management_request", &pol->management_nv_index,
					    errs);
	return ok;
}

/* DESIGN section 5: a verified entry that fails never falls through to a measured-only entry
 * unless the policy says so. With "cap", a failed launch falls to the recovery entry. */
static bool check_fallback(const struct policy *pol, struct policy_errors *errs)
{
	const struct policy_entry *r;
	bool any_verified = false;

	if (pol->on_failure != POLICY_ON_FAILURE_CAP || !pol->recovery || pol->measured_fallback)
		return true;
	r = policy_find_entry(pol, pol->recovery);
	if (!r || r->verified)
		return true;
	for (size_t i = 0; i < pol->entry_count; i++)
		any_verified |= pol->entries[i].verified;
	if (!any_verified)
		return true;
	pjson_error(errs, "/recovery",
		    "recovery entry \"%s\" is measured only: a failed verified launch would fall "
		    "back to it; give it allow-lists or set \"measured_fallback\": true", r->name);
	return false;
}

/* Cross-field rules, once every field parsed. */
static bool check_policy(const struct policy *pol, struct policy_errors *errs)
{
	bool ok = true;
	char p[128];

	for (size_t i = 0; i < pol->entry_count; i++)
		for (size_t j = 0; j < i; j++)
			if (pol->entries[i].name && pol->entries[j].name &&
			    strcmp(pol->entries[i].name, pol->entries[j].name) == 0) {
				snprintf(p, sizeof(p), "/entries/%zu/name", i);
				pjson_error(errs, p, "entry name \"%s\" is used twice",
					    pol->entries[i].name);
				ok = false;
			}
	if (pol->on_failure == POLICY_ON_FAILURE_CAP && !pol->recovery) {
		pjson_error(errs, "/recovery", "on_failure \"cap\" needs a recovery entry name");
		ok = false;
	}
	if (pol->recovery && !policy_find_entry(pol, pol->recovery)) {
		pjson_error(errs, "/recovery", "no entry is named \"%s\"", pol->recovery);
		ok = false;
	}
	ok &= check_fallback(pol, errs);
	ok &= management_check(pol, errs);
	return ok;
}

/* Line and column (1-based) of a byte offset, for syntax errors. */
static void offset_position(const uint8_t *buf, size_t len, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

int policy_parse(const uint8_t *buf, size_t len, struct policy *ret_policy,
		 struct policy_errors *errs)
{
	struct policy pol = { 0 };
	json_tokener *tok;
	json_object *root;
	bool ok;

	if (len > POLICY_MAX_SIZE) {
		pjson_error(errs, "/", "policy is %zu bytes, more than the limit of %u", len,
			    POLICY_MAX_SIZE);
		return -E2BIG;
	}
	tok = json_tokener_new_ex(POLICY_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
					    JSON_TOKENER_REJECT_DUPLICATE_KEYS);
	root = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	if (!root || json_tokener_get_parse_end(tok) != len) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);
		size_t line, col, end = json_tokener_get_parse_end(tok);
		char where[64];

		/* json-c's parse end is the offending byte (or the end of the data). */
		offset_position(buf, len, end, &line, &col);
		snprintf(where, sizeof(where), "line %zu, column %zu", line, col);
		pjson_error(errs, where, "%s",
			    jerr == json_tokener_continue ? "unexpected end of data" :
			    jerr == json_tokener_success ? "unexpected data after the JSON document"
							 : json_tokener_error_desc(jerr));
		json_object_put(root);
		json_tokener_free(tok);
		return -EBADMSG;
	}
	json_tokener_free(tok);

	ok = parse_top(root, &pol, errs);
	json_object_put(root);
	/* Cross-field rules run on whatever parsed, so every problem is reported at once. */
	ok &= check_policy(&pol, errs);
	if (!ok) {
		policy_free(&pol);
		return -EBADMSG;
	}
	*ret_policy = pol;
	return 0;
}

void policy_free(struct policy *policy)
{
	for (size_t i = 0; i < policy->entry_count; i++) {
		struct policy_entry *e = &policy->entries[i];

		allow_free(e);
		free(e->name);
		free(e->kernel);
		for (size_t j = 0; j < e->initrd_count; j++)
			free(e->initrds[j]);
		free(e->initrds);
		free(e->cmdline);
	}
	free(policy->entries);
	for (size_t i = 0; i < policy->collector_count; i++)
		free(policy->collectors[i].path);
	free(policy->collectors);
	free(policy->recovery);
	free(policy->eventlog_path);
	*policy = (struct policy){ 0 };
}

const struct policy_entry *policy_find_entry(const struct policy *policy, const char *name)
{
	for (size_t i = 0; i < policy->entry_count; i++)
		if (policy->entries[i].name && strcmp(policy->entries[i].name, name) == 0)
			return &policy->entries[i];
	return NULL;
}

bool policy_allow_list_matches(const struct policy_allow_list *list, const struct digest_set *set)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct policy_digest *d = &list->digests[i];

		if ((set->banks & HASH_BANK(d->alg)) &&
		    memcmp(set->d[d->alg], d->d, hash_alg_size(d->alg)) == 0)
			return true;
	}
	return false;
}
