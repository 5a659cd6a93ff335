/* The management environment in the policy: an entry with "role": "management" (launched
 * only on request, its launch recorded as such by policy/sequence.c) and the TPM NV index the
 * runtime OS sets to request it for the next boot ("management_request"). */
#pragma once

#include <stdbool.h>

#include <json-c/json.h>

#include "policy.h"

/* "role": "runtime" (the default) or "management". */
bool management_parse_role(json_object *v, const char *path, bool *ret_management,
			   struct policy_errors *errs);
/* Cross-field rules: at most one management entry, verified, not the recovery entry; a
 * request index only with a management entry, and not the anti-rollback index. */
bool management_check(const struct policy *pol, struct policy_errors *errs);
