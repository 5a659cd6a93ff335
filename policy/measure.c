/* The events of a launch, built by the same code in slinit (measuring) and slpolicy
 * (predicting): descriptions, PCRs and order of DESIGN section 3. */
#include "measure.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Appends an SLL event whose data is "sll: <what>[ <path>]" (DESIGN section 4). */
static int append_event(struct event_list *events, uint32_t pcr, const struct digest_set *digests,
			const char *what, const char *path)
{
	char desc[POLICY_MAX_PATH + 64];
	int n = snprintf(desc, sizeof(desc), "sll: %s%s%s", what, path ? " " : "", path ? path : "");

	if (n < 0 || (size_t)n >= sizeof(desc))
		return -ENAMETOOLONG;
	return event_list_append(events, pcr, EVENT_TYPE_SLAUNCH, digests, desc, (size_t)n);
}

/* An event over the digest of a buffer the caller holds. */
static int append_buffer_event(struct event_list *events, uint32_t pcr, unsigned banks,
			       const void *buf, size_t len, const char *what, const char *path)
{
	struct digest_set d;
	int r = digest_buffer(banks, buf, len, &d);

	return r < 0 ? r : append_event(events, pcr, &d, what, path);
}

int measure_policy_key(struct event_list *events, unsigned banks, const uint8_t *key, size_t len)
{
	return append_buffer_event(events, PCR_AUTHORITY, banks, key, len, "policy key", NULL);
}

int measure_policy(struct event_list *events, unsigned banks, const uint8_t *buf, size_t len,
		   const char *policy_path)
{
	return append_buffer_event(events, PCR_CONFIG, banks, buf, len, "policy", policy_path);
}

int measure_config_event(struct event_list *events, const struct digest_set *digests,
			 const char *what)
{
	return append_event(events, PCR_CONFIG, digests, what, NULL);
}

int measure_object(struct event_list *events, const char *kind, const char *path,
		   const struct digest_set *digests)
{
	return append_event(events, PCR_LAUNCH, digests, kind, path);
}

int measure_cmdline(struct event_list *events, unsigned banks, const char *cmdline)
{
	return append_buffer_event(events, PCR_LAUNCH, banks, cmdline, strlen(cmdline), "cmdline",
				   NULL);
}

int measure_separator(struct event_list *events, unsigned banks)
{
	static const uint8_t separator[4] = { 0, 0, 0, 0 };

	return append_buffer_event(events, PCR_LAUNCH, banks, separator, sizeof(separator),
				   "separator", NULL);
}

int measure_failure(struct event_list *events, unsigned banks, unsigned pcr, const char *what)
{
	static const uint8_t failure[4] = { 0, 0, 0, 1 };

	return append_buffer_event(events, pcr, banks, failure, sizeof(failure), "failure:", what);
}

/* Without openat2 (kernels before 5.6, seccomp filters answering ENOSYS, valgrind): the same
 * rules one component at a time, every step O_NOFOLLOW beneath the directory before it, and
 * no "." or ".." at all (policy paths never hold them). */
static int open_beneath_walk(int root_fd, const char *path, int flags, mode_t mode)
{
	int dir;

	if (!*path) {
		dir = openat(root_fd, ".", flags, mode);
		return dir < 0 ? -errno : dir;
	}
	dir = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
	if (dir < 0)
		return -errno;
	for (;;) {
		char comp[NAME_MAX + 1];
		size_t len = strcspn(path, "/");
		int fd;

		if (len > NAME_MAX) {
			close(dir);
			return -ENAMETOOLONG;
		}
		memcpy(comp, path, len);
		comp[len] = '\0';
		path += len;
		while (*path == '/')
			path++;
		if (len == 0 || strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			close(dir);
			return len == 0 ? -ENOENT : -EXDEV;
		}
		fd = *path ? openat(dir, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) :
			     openat(dir, comp, flags, mode);
		if (fd < 0) {
			/* O_DIRECTORY | O_NOFOLLOW on a link says ENOTDIR; openat2 says ELOOP. */
			int r = -errno;
			struct stat st;

			if (r == -ENOTDIR && fstatat(dir, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				r = -ELOOP;

			close(dir);
			return r;
		}
		close(dir);
		if (!*path)
			return fd;
		dir = fd;
	}
}

int measure_openat_beneath(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC | O_NOFOLLOW,
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	/* Policy paths are absolute on the boot partition; openat2 wants them relative. */
	while (*path == '/')
		path++;
	fd = (int)syscall(SYS_openat2, root_fd, path[0] ? path : ".", &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		return open_beneath_walk(root_fd, path, (int)how.flags, (mode_t)how.mode);
	return fd < 0 ? -errno : fd;
}

int measure_open_beneath(int root_fd, const char *path)
{
	struct stat st;
	int fd = measure_openat_beneath(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);

	if (fd < 0)
		return fd;
	/* O_NONBLOCK only kept a FIFO from blocking the open; regular files ignore it. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int measure_stream(int fd, unsigned banks, uint64_t max_size, measure_sink_fn sink, void *ctx,
		   struct digest_set *ret_digests, uint64_t *ret_size)
{
	static uint8_t buf[1 << 16];
	struct digest_ctx *dctx;
	uint64_t total = 0;
	int r = digest_ctx_new(banks, &dctx);

	if (r < 0)
		return r;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

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
	return r;
}

int measure_file_digest(int root_fd, const char *path, unsigned banks, uint64_t max_size,
			struct digest_set *ret_digests, uint64_t *ret_size)
{
	int fd = measure_open_beneath(root_fd, path), r;

	if (fd < 0)
		return fd;
	r = measure_stream(fd, banks, max_size, NULL, NULL, ret_digests, ret_size);
	close(fd);
	return r;
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

int measure_predict_entry(struct event_list *events, unsigned banks, int root_fd,
			  const struct policy_entry *entry)
{
	struct digest_set d;
	int r = measure_object_digest(root_fd, entry->kernel, banks, &d);

	if (r < 0)
		return r;
	r = measure_object(events, "kernel", entry->kernel, &d);
	for (size_t i = 0; r >= 0 && i < entry->initrd_count; i++) {
		r = measure_object_digest(root_fd, entry->initrds[i], banks, &d);
		if (r >= 0)
			r = measure_object(events, "initrd", entry->initrds[i], &d);
	}
	if (r >= 0)
		r = measure_cmdline(events, banks, entry->cmdline);
	if (r >= 0)
		r = measure_separator(events, banks);
	return r;
}
