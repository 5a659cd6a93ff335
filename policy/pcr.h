/* PCR replay: new = H(old || digest) per bank, from a given start state. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "event.h"

struct pcr_state {
	unsigned banks;
	uint8_t value[HASH_ALG_COUNT][PCR_COUNT][HASH_MAX_SIZE];
};

/* PCR values after a DRTM launch reset 17-22 to zero; the debug PCR 16 and 23 start at zero;
 * static PCRs (0-15) are given by the caller when it needs them. */
void pcr_state_init(struct pcr_state *state, unsigned banks, uint8_t fill);
void pcr_state_set(struct pcr_state *state, enum hash_alg alg, unsigned pcr, const uint8_t *value);

/* Extends every bank of the state; the digest set must cover them all (-EINVAL otherwise). */
int pcr_extend(struct pcr_state *state, unsigned pcr, const struct digest_set *digests);
/* Replays the events in order; EV_NO_ACTION events are skipped, as a TPM never sees them. */
int pcr_replay(struct pcr_state *state, const struct event_list *events);
