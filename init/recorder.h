/* The recorder: every event slinit measures, extended into the TPM exactly once and kept, in
 * order, for the event log. Events are built by the core (policy/measure.c), so slpolicy
 * predicts them with the same code. */
#pragma once

#include <stdbool.h>

#include "event.h"
#include "tpm.h"

struct recorder {
	struct tpm *tpm;
	unsigned banks;
	bool drtm; /* false: 19 and 21 go to PCR 12, 22 to PCR 13 (DESIGN section 3) */
	struct event_list events;
	size_t mapped;   /* events[0, mapped) carry the PCR they are recorded in */
	size_t extended; /* events[0, extended) are in the TPM */
	int drtm_log_fd; /* TrenchBoot's DRTM log in securityfs, or -1 */
	bool failed;     /* a TPM command failed: nothing more may be extended */
};

#define RECORDER_DRTM_LOG "/sys/kernel/security/slaunch/eventlog"

/* Opens TrenchBoot's DRTM event log for appending, when this kernel has one. */
void recorder_open_drtm_log(struct recorder *rec);

/* Rewrites the PCR of events appended since the last call to the PCR they are recorded in
 * (the identity with DRTM). The log can then be written before the last extends. */
void recorder_map_new(struct recorder *rec);

/* Extends every event appended since the last call, in order, one TPM2_PCR_Extend each.
 * Maps the PCR first when there is no DRTM. -EIO on a TPM error (message logged): the
 * caller must stop, since the TPM and the log no longer agree. */
int recorder_commit(struct recorder *rec);

/* The PCR an SLL PCR (19, 21, 22) is recorded in. */
unsigned recorder_pcr(const struct recorder *rec, unsigned pcr);
