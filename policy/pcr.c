/* PCR replay: new = H(old || digest) per bank, from a given start state. */
#include "pcr.h"

#include <errno.h>
#include <string.h>

void pcr_state_init(struct pcr_state *state, unsigned banks, uint8_t fill)
{
	memset(state, fill, sizeof(*state));
	state->banks = banks;
}

void pcr_state_set(struct pcr_state *state, enum hash_alg alg, unsigned pcr, const uint8_t *value)
{
	memcpy(state->value[alg][pcr], value, hash_alg_size(alg));
}

int pcr_extend(struct pcr_state *state, unsigned pcr, const struct digest_set *digests)
{
	if (pcr >= PCR_COUNT || (digests->banks & state->banks) != state->banks)
		return -EINVAL;
	FOR_EACH_BANK(alg, state->banks) {
		size_t n = hash_alg_size(alg);
		uint8_t buf[2 * HASH_MAX_SIZE];
		struct digest_set out;
		int r;

		memcpy(buf, state->value[alg][pcr], n);
		memcpy(buf + n, digests->d[alg], n);
		r = digest_buffer(HASH_BANK(alg), buf, 2 * n, &out);
		if (r < 0)
			return r;
		memcpy(state->value[alg][pcr], out.d[alg], n);
	}
	return 0;
}

int pcr_replay(struct pcr_state *state, const struct event_list *events)
{
	for (size_t i = 0; i < events->count; i++) {
		const struct event *e = &events->events[i];
		int r;

		if (e->type == EVENT_TYPE_NO_ACTION)
			continue;
		r = pcr_extend(state, e->pcr, &e->digests);
		if (r < 0)
			return r;
	}
	return 0;
}
