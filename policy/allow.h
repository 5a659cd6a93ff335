/* An entry's allow-lists: the "allow" object of a policy entry (DESIGN section 5). */
#pragma once

#include <stdbool.h>

#include <json-c/json.h>

#include "policy.h"

/* Parses the "allow" object at path into e: verified, allow_kernel and one allow-list per
 * initrd (allow_initrds, e->initrd_count of them). Call it once e's initrds are parsed;
 * initrds_known is false when the entry's "initrd" was no array of at most
 * POLICY_MAX_INITRDS, and then no count is checked (that error is already reported). */
bool allow_parse(json_object *obj, const char *path, struct policy_entry *e, bool initrds_known,
		 struct policy_errors *errs);
/* Frees what allow_parse allocated in e (before e->initrd_count changes). */
void allow_free(struct policy_entry *e);
