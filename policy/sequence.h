/* The launch sequence of DESIGN section 3: the one place that says which events a launch
 * records, in which order and into which PCR. slinit feeds it the digests it computed while
 * loading each object; slpolicy predict (policy/predict.c) feeds it the digests of files.
 * Both get the same event list for the same bytes by construction. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "policy.h"

/* The SLL PCRs with a dynamic launch (DRTM). */
#define PCR_AUTHORITY 19 /* the policy-signing key built into the image */
#define PCR_CONFIG 21    /* the policy's bytes, then each collector */
#define PCR_LAUNCH 22    /* kernel, initrds, command line, separator */
/* Without DRTM, 17-22 stay locked (locality 2 never reset them): the OS PCRs take over. */
#define PCR_NO_DRTM_CONFIG 12 /* 19 and 21 */
#define PCR_NO_DRTM_LAUNCH 13 /* 22 */

/* The last step recorded; each step may only follow the ones DESIGN section 3 allows. */
enum sequence_step {
	SEQUENCE_START,
	SEQUENCE_KEY,
	SEQUENCE_POLICY,
	SEQUENCE_COLLECTOR,
	SEQUENCE_ENTRY, /* kernel, initrds, command line */
	SEQUENCE_SEPARATOR,
	SEQUENCE_CAPPED,
};

struct sequence {
	struct event_list events; /* in order, each with the PCR it is recorded in */
	unsigned banks;           /* the digests computed for the fixed-content events */
	bool drtm;
	enum sequence_step step;
};

void sequence_init(struct sequence *seq, unsigned banks, bool drtm);
void sequence_free(struct sequence *seq);

/* The PCR an SLL PCR (19, 21, 22) is recorded in: itself with DRTM, else 12 or 13. */
unsigned sequence_pcr(bool drtm, unsigned pcr);

/* The PCRs a secret sealed to this launch covers, ascending (ret_pcrs holds PCR_COUNT): the
 * PCRs given as inputs (a mask: with DRTM the launcher's 17, 18, 20; without, what booted
 * sll.efi, e.g. 4 and 7), and with DRTM 19 when the image has a policy key, 21 and 22;
 * without, 12 and 13. Returns how many. */
size_t sequence_sealing_set(bool drtm, unsigned launcher, bool policy_key, unsigned *ret_pcrs);

/* Each step appends its events and returns 0, -EPROTO when it may not follow the last step
 * (a caller's bug: nothing is appended), or -ENOMEM. */

/* PCR 19, first: the raw 32-byte key the image checks policy signatures with. */
int sequence_policy_key(struct sequence *seq, const uint8_t *key, size_t len);
/* PCR 21: the policy file's raw bytes, before parsing; path is the one on the boot partition. */
int sequence_policy(struct sequence *seq, const uint8_t *buf, size_t len, const char *path);
/* PCR 21, after the policy: one collector's property, already hashed ("cpuid", "dmi types 1"). */
int sequence_collector(struct sequence *seq, const struct digest_set *digests, const char *what);
/* The bytes of the event that opens a management entry's launch, "sll: role management". */
#define SEQUENCE_MANAGEMENT_ROLE "management"

/* PCR 22 (a management entry first records its role: SEQUENCE_MANAGEMENT_ROLE): the entry's
 * kernel and each initrd (digests of the bytes loaded, in the entry's
 * order; initrds holds e->initrd_count sets), then its command line. After the policy, the
 * collectors, or a cap (the recovery entry). */
int sequence_entry(struct sequence *seq, const struct policy_entry *e,
		   const struct digest_set *kernel, const struct digest_set *initrds);
/* PCR 22: the separator (digest of 00 00 00 00) that closes a launch. */
int sequence_separator(struct sequence *seq);
/* The failure cap (digest of 00 00 00 01, what failed as its data) into 19, 21 and 22, once,
 * after the policy was recorded (DESIGN section 6). */
int sequence_failure(struct sequence *seq, const char *what);
