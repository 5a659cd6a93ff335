/* The policy model (schema v1, DESIGN section 5) and its strict parser/validator. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

#define POLICY_MAX_SIZE (1u << 20)    /* bytes of policy.json */
#define POLICY_MAX_ENTRIES 64
#define POLICY_MAX_INITRDS 16
#define POLICY_MAX_ALLOWED 64         /* digests per allow-list */
#define POLICY_MAX_COLLECTORS 64
#define POLICY_MAX_PATH 4095
#define POLICY_MAX_NAME 64
/* x86 COMMAND_LINE_SIZE is 2048 including the NUL. */
#define POLICY_MAX_CMDLINE 2047

enum policy_on_failure { POLICY_ON_FAILURE_HALT, POLICY_ON_FAILURE_CAP };

enum collector_type { COLLECTOR_DMI, COLLECTOR_CPUID, COLLECTOR_FILE, COLLECTOR_STORAGE };

/* storage: a partition's first bytes (e.g. a LUKS header) are read up to this cap. */
#define POLICY_MAX_STORAGE_BYTES (1u << 20)
#define POLICY_MAX_PARTITION 256

struct policy_digest {
	enum hash_alg alg;
	uint8_t d[HASH_MAX_SIZE];
};

struct policy_allow_list {
	struct policy_digest *digests;
	size_t count;
};

struct policy_entry {
	char *name;
	char *kernel;
	char **initrds;
	size_t initrd_count;
	char *cmdline;
	bool verified; /* has "allow": objects must match; otherwise only measured */
	/* "role": "management": the environment that approves upgrades (README, "Upgrading with
	 * the management environment"); launched only on request, recorded as such. */
	bool management;
	struct policy_allow_list allow_kernel;
	/* Verified: one allow-list per initrd, initrd_count of them in the entry's initrd order
	 * (initrds[i] must match allow_initrds[i]); NULL when measured only. */
	struct policy_allow_list *allow_initrds;
};

struct policy_collector {
	enum collector_type type;
	char *path;           /* file: path on the boot partition; storage: the disk, /dev/... */
	uint8_t dmi_types[256]; /* dmi: 1 for each SMBIOS structure type to keep */
	bool dmi_all_types;
	unsigned partition;   /* storage: 1-based partition number, 0: only the table */
	size_t bytes;         /* storage: how many of the partition's first bytes */
};

struct policy {
	int64_t serial;
	bool require_drtm;
	enum policy_on_failure on_failure;
	char *recovery; /* entry name, with on_failure "cap" */
	/* A refused verified entry may be followed by a measured-only one (the next one tried,
	 * or the recovery entry); false: after one, slinit skips the measured-only entries. */
	bool measured_fallback;
	struct policy_collector *collectors;
	size_t collector_count;
	struct policy_entry *entries;
	size_t entry_count;
	char *eventlog_path; /* NULL: no copy of the log on /boot */
	/* TPM NV index holding the lowest acceptable serial; 0: no anti-rollback check. */
	uint32_t rollback_nv_index;
	/* TPM NV index the runtime OS sets to ask for the management entry at the next boot
	 * (slinit clears it); 0: the management entry is launched only with sl.entry=. */
	uint32_t management_nv_index;
};

/* One refusal: where (a JSON pointer, or a line and column for syntax errors) and why. */
struct policy_error {
	char where[128];
	char reason[256];
};

struct policy_errors {
	struct policy_error *errors;
	size_t count;
	size_t capacity;
};

/* Parses and validates; 0, or -EBADMSG / -E2BIG / -ENOMEM with every problem in errs. */
int policy_parse(const uint8_t *buf, size_t len, struct policy *ret_policy,
		 struct policy_errors *errs);
void policy_free(struct policy *policy);
void policy_errors_free(struct policy_errors *errs);

const struct policy_entry *policy_find_entry(const struct policy *policy, const char *name);
/* The entry with "role": "management" (at most one), or NULL. */
const struct policy_entry *policy_management_entry(const struct policy *policy);
/* True if the digest set's value in the allow-list's bank matches one of its digests. */
bool policy_allow_list_matches(const struct policy_allow_list *list, const struct digest_set *set);
