/* Hashing the files of a launch: each read once, in every bank, capped in size; slinit also
 * copies the very bytes it hashes into the memfd it boots. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "digest.h"

/* Runtime kernels and initrds beyond this are refused rather than read forever. */
#define MEASURE_MAX_OBJECT (2ull << 30)

/* Called with every chunk measure_stream hashed, in order: slinit copies the very bytes it
 * hashes into the memfd it will boot. A negative return aborts the stream. */
typedef int (*measure_sink_fn)(void *ctx, const void *data, size_t len);

/* Reads fd to its end once, hashing every bank and handing each chunk to sink (if any).
 * max_size caps what is read (-EFBIG beyond). */
int measure_stream(int fd, unsigned banks, uint64_t max_size, measure_sink_fn sink, void *ctx,
		   struct digest_set *ret_digests, uint64_t *ret_size);

/* beneath_open_regular + measure_stream without a sink. */
int measure_file_digest(int root_fd, const char *path, unsigned banks, uint64_t max_size,
			struct digest_set *ret_digests, uint64_t *ret_size);
/* Why opening or hashing an object on the boot partition failed, for a one-line refusal. */
const char *measure_object_error(int r);

/* A kernel or initrd: measure_file_digest capped at MEASURE_MAX_OBJECT, and -ENODATA for an
 * empty file (a truncated write, never a bootable object): slinit and predict agree. */
int measure_object_digest(int root_fd, const char *path, unsigned banks,
			  struct digest_set *ret_digests);
