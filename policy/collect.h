/* The policy's collectors (DESIGN section 1, step 5): each reads one system property from a
 * root directory and becomes one event in PCR 21, in policy order. slinit's roots are the
 * boot partition and "/"; slpolicy predict's are --root and a captured --sys tree, so both
 * compute the same digests with this code. */
#pragma once

#include <stddef.h>

#include "cpuleaves.h"
#include "event.h"
#include "policy.h"
#include "sequence.h"
#include "storage.h"

/* Where the collectors read from, relative to sys_fd (slinit: "/"). */
#define COLLECT_DMI_TABLE "sys/firmware/dmi/tables/DMI"
#define COLLECT_DMI_ENTRY "sys/firmware/dmi/tables/smbios_entry_point"
#define COLLECT_CPUID_FILE "cpuid" /* the text capture, when no live values are given */

struct collect_sources {
	int boot_fd;                  /* the boot partition's root: "file" collectors */
	int sys_fd;                   /* the system root: dmi, storage, the cpuid capture */
	const struct cpuleaves *cpuid; /* live CPUID values (slinit), or NULL: sys_fd's "cpuid" */
	storage_record_fn record;     /* optional: sees every byte range a storage collector reads */
	void *record_ctx;
};

/* The bytes one collector measures and its event description, without hashing them. */
struct collect_result {
	uint8_t *bytes; /* malloc'ed; NULL for "file" (streamed: digests holds the hash) */
	size_t len;
	char desc[POLICY_MAX_PATH + 96]; /* "dmi types 1,2", "storage /dev/vda gpt" */
};

/* Runs collector c. why (one line) says which source failed and how; -errno. */
int collect_one(const struct policy_collector *c, const struct collect_sources *src,
		unsigned banks, struct collect_result *ret, struct digest_set *ret_digests,
		char *why, size_t why_size);
void collect_result_free(struct collect_result *r);

/* Every collector of the policy, in order, one launch-sequence collector event each
 * ("sll: <desc>", hashed in seq's banks). On failure *ret_failed is the index of the
 * collector that failed and why says why. */
int collect_all(struct sequence *seq, const struct policy *pol, const struct collect_sources *src,
		size_t *ret_failed, char *why, size_t why_size);

/* "dmi", "cpuid", "file", "storage". */
const char *collect_type_name(enum collector_type type);
