/* The events of a launch, built by the same code in slinit (measuring) and slpolicy
 * (predicting): descriptions, PCRs and order of DESIGN section 3. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"
#include "policy.h"

#define PCR_AUTHORITY 19
#define PCR_CONFIG 21
#define PCR_LAUNCH 22

/* Runtime kernels and initrds beyond this are refused rather than read forever. */
#define MEASURE_MAX_OBJECT (2ull << 30)

/* PCR 19: the digest of the raw 32-byte policy-signing key built into the image. */
int measure_policy_key(struct event_list *events, unsigned banks, const uint8_t *key, size_t len);
/* PCR 21: the policy file's raw bytes, before parsing. */
int measure_policy(struct event_list *events, unsigned banks, const uint8_t *buf, size_t len,
		   const char *policy_path);
/* PCR 21: a collector's property, already hashed; what is its description ("cpuid"). */
int measure_config_event(struct event_list *events, const struct digest_set *digests,
			 const char *what);
/* PCR 22: an object already hashed while it was read ("kernel", "initrd"). */
int measure_object(struct event_list *events, const char *kind, const char *path,
		   const struct digest_set *digests);
/* PCR 22: the runtime command line, as bytes without a trailing NUL. */
int measure_cmdline(struct event_list *events, unsigned banks, const char *cmdline);
/* PCR 22: the final separator (digest of 00 00 00 00). */
int measure_separator(struct event_list *events, unsigned banks);
/* The failure cap (digest of 00 00 00 01) into pcr, with what failed as event data. */
int measure_failure(struct event_list *events, unsigned banks, unsigned pcr, const char *what);

/* Opens a policy path ("/vmlinuz") beneath root_fd: openat2 RESOLVE_BENEATH, no symlinks,
 * regular files only. An fd, or -errno (-EXDEV: escapes the root; -ELOOP: a symlink). */
/* openat(2) of path (absolute on the partition) beneath root_fd only: no symbolic links, no
 * escape (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, or the same
 * rules component by component where openat2 is missing). An fd, or -errno (-ELOOP: a
 * symbolic link, -EXDEV: an escape). */
int measure_openat_beneath(int root_fd, const char *path, int flags, mode_t mode);
int measure_open_beneath(int root_fd, const char *path);

/* Called with every chunk measure_stream hashed, in order: slinit copies the very bytes it
 * hashes into the memfd it will boot. A negative return aborts the stream. */
typedef int (*measure_sink_fn)(void *ctx, const void *data, size_t len);

/* Reads fd to its end once, hashing every bank and handing each chunk to sink (if any).
 * max_size caps what is read (-EFBIG beyond). */
int measure_stream(int fd, unsigned banks, uint64_t max_size, measure_sink_fn sink, void *ctx,
		   struct digest_set *ret_digests, uint64_t *ret_size);

/* measure_open_beneath + measure_stream without a sink. */
int measure_file_digest(int root_fd, const char *path, unsigned banks, uint64_t max_size,
			struct digest_set *ret_digests, uint64_t *ret_size);
/* Why opening or hashing an object on the boot partition failed, for a one-line refusal. */
const char *measure_object_error(int r);

/* A kernel or initrd: measure_file_digest capped at MEASURE_MAX_OBJECT, and -ENODATA for an
 * empty file (a truncated write, never a bootable object): slinit and predict agree. */
int measure_object_digest(int root_fd, const char *path, unsigned banks,
			  struct digest_set *ret_digests);

/* The PCR 22 sequence of a launch of entry, hashing its files under root_fd: kernel,
 * initrds, cmdline, separator. (PCR 21: measure_policy, then collect_all.) */
int measure_predict_entry(struct event_list *events, unsigned banks, int root_fd,
			  const struct policy_entry *entry);
