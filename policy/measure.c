/* Hashing the files of a launch: each read once, in every bank, capped in size; slinit also
 * copies the very bytes it hashes into the memfd it boots. */
#include "measure.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "cleanup.h"

int measure_stream(int fd, unsigned banks, uint64_t max_size, measure_sink_fn sink, void *ctx,
		   struct digest_set *ret_digests, uint64_t *ret_size)
{
	enum { CHUNK = 1 << 16 };
	uint8_t *buf = malloc(CHUNK);
	struct digest_ctx *dctx = NULL;
	uint64_t total = 0;
	int r = buf ? digest_ctx_new(banks, &dctx) : -ENOMEM;

	while (r == 0) {
		ssize_t n = read(fd, buf, CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max_size) {
			r = -EFBIG;
			break;
		}
		digest_ctx_update(dctx, buf, (size_t)n);
		if (sink && (r = sink(ctx, buf, (size_t)n)) < 0)
			break;
	}
	if (r == 0) {
		digest_ctx_final(dctx, ret_digests);
		if (ret_size)
			*ret_size = total;
	}
	digest_ctx_free(dctx);
	free(buf);
	return r;
}

int measure_file_digest(int root_fd, const char *path, unsigned banks, uint64_t max_size,
			struct digest_set *ret_digests, uint64_t *ret_size)
{
	_cleanup_close_ int fd = beneath_open_regular(root_fd, path);

	if (fd < 0)
		return fd;
	return measure_stream(fd, banks, max_size, NULL, NULL, ret_digests, ret_size);
}

const char *measure_object_error(int r)
{
	switch (r) {
	case -EXDEV:
		return "escapes the boot partition";
	case -ELOOP:
		return "is a symbolic link (refused)";
	case -EINVAL:
		return "is not a regular file";
	case -EFBIG:
		return "larger than the 2 GiB limit";
	case -ENODATA:
		return "is empty (0 bytes: a truncated copy?)";
	case -ENOSPC:
	case -ENOMEM:
		return "does not fit in memory";
	default:
		return strerror(-r);
	}
}

int measure_object_digest(int root_fd, const char *path, unsigned banks,
			  struct digest_set *ret_digests)
{
	uint64_t size = 0;
	int r = measure_file_digest(root_fd, path, banks, MEASURE_MAX_OBJECT, ret_digests, &size);

	return r < 0 ? r : size == 0 ? -ENODATA : 0;
}
