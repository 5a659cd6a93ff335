/* The recorder: every event of the launch sequence (policy/sequence.c), extended into the
 * TPM exactly once and kept, in order, for the event log. */
#pragma once

#include <stdbool.h>

#include "log.h"
#include "sequence.h"
#include "tpm.h"

struct recorder {
	struct tpm *tpm;
	struct sequence seq; /* every event, each with the PCR it is recorded in */
	size_t extended;     /* seq.events[0, extended) are in the TPM */
	int drtm_log_fd;     /* TrenchBoot's DRTM log in securityfs, or -1 */
	bool failed;         /* a TPM command failed: nothing more may be extended */
};

#define RECORDER_DRTM_LOG "/sys/kernel/security/slaunch/eventlog"

/* Opens TrenchBoot's DRTM event log for appending, when this kernel has one. */
void recorder_open_drtm_log(struct recorder *rec);

/* Extends every event appended since the last call, in order, one TPM2_PCR_Extend each.
 * -EIO on a TPM error, with the one-line refusal in ret: the caller must stop, since the
 * TPM and the log no longer agree. */
int recorder_commit(struct recorder *rec, struct failure *ret);

/* The PCR an SLL PCR (19, 21, 22) is recorded in by this launch. */
unsigned recorder_pcr(const struct recorder *rec, unsigned pcr);
