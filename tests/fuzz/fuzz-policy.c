/* libFuzzer target: the policy parser must refuse or accept any bytes without crashing,
 * leaking or reading out of bounds, and every refusal must carry at least one error. */
#include <stdint.h>
#include <stdlib.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_errors errs = { 0 };
	struct policy pol;

	if (policy_parse(data, size, &pol, &errs) == 0) {
		/* Accepted: the model must hold what validation promised. */
		if (pol.entry_count == 0 || !pol.entries[0].name || !pol.entries[0].kernel)
			abort();
		policy_free(&pol);
	} else if (errs.count == 0) {
		abort();
	}
	policy_errors_free(&errs);
	return 0;
}
