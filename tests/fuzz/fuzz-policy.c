/* libFuzzer target: the policy parser must refuse or accept any bytes without crashing,
 * leaking or reading out of bounds, and every refusal must carry at least one error. */
#include <stdint.h>
#include <stdlib.h>

#include "policy.h"

/* What slinit relies on in an accepted entry: a verified one has a non-empty allow-list for
 * its kernel and for each initrd, at that initrd's position. */
static void check_entry(const struct policy_entry *e)
{
	if (!e->name || !e->kernel)
		abort();
	if (!e->verified) {
		if (e->allow_initrds)
			abort();
		return;
	}
	if (e->allow_kernel.count == 0 || (e->initrd_count && !e->allow_initrds))
		abort();
	for (size_t i = 0; i < e->initrd_count; i++) {
		size_t n = e->allow_initrds[i].count;

		if (n == 0 || n > POLICY_MAX_ALLOWED)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_errors errs = { 0 };
	struct policy pol;

	if (policy_parse(data, size, &pol, &errs) == 0) {
		/* Accepted: the model must hold what validation promised. */
		if (pol.entry_count == 0)
			abort();
		for (size_t i = 0; i < pol.entry_count; i++)
			check_entry(&pol.entries[i]);
		policy_free(&pol);
	} else if (errs.count == 0) {
		abort();
	}
	policy_errors_free(&errs);
	return 0;
}
