/* The events of a launch, built by the same code in slinit (measuring) and slpolicy
 * (predicting): descriptions, PCRs and order of DESIGN section 3. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "policy.h"

#define PCR_AUTHORITY 19
#define PCR_CONFIG 21
#define PCR_LAUNCH 22

/* PCR 21: the policy file's raw bytes, before parsing. */
int measure_policy(struct event_list *events, unsigned banks, const uint8_t *buf, size_t len,
		   const char *policy_path);
/* PCR 22: an object already hashed while it was read ("kernel", "initrd"). */
int measure_object(struct event_list *events, const char *kind, const char *path,
		   const struct digest_set *digests);
/* PCR 22: the runtime command line, as bytes without a trailing NUL. */
int measure_cmdline(struct event_list *events, unsigned banks, const char *cmdline);
/* PCR 22: the final separator (digest of 00 00 00 00). */
int measure_separator(struct event_list *events, unsigned banks);

/* Hashes a file beneath root_fd (openat2 RESOLVE_BENEATH, no symlinks) in one read pass;
 * path is a policy path ("/vmlinuz"). max_size caps what is read (-EFBIG beyond). */
int measure_file_digest(int root_fd, const char *path, unsigned banks, uint64_t max_size,
			struct digest_set *ret_digests, uint64_t *ret_size);

/* The whole PCR 21/22 sequence of a launch of entry, hashing its files under root_fd:
 * policy, kernel, initrds, cmdline, separator. Collectors come with their own module. */
int measure_predict_entry(struct event_list *events, unsigned banks, int root_fd,
			  const uint8_t *policy_buf, size_t policy_len, const char *policy_path,
			  const struct policy_entry *entry);
