/* The events of a launch, built by the same code in slinit (measuring) and slpolicy
 * (predicting): descriptions, PCRs and order of DESIGN section 3. */
#include "measure.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Runtime kernels and initrds beyond this are refused rather than read forever. */
#define MEASURE_MAX_OBJECT (2ull << 30)

static int append_described(struct event_list *events, uint32_t pcr,
			    const struct digest_set *digests, const char *fmt, const char *a,
			    const char *b)
{
	char desc[POLICY_MAX_PATH + 64];
	int n = snprintf(desc, sizeof(desc), fmt, a, b);

	if (n < 0 || (size_t)n >= sizeof(desc))
		return -ENAMETOOLONG;
	return event_list_append(events, pcr, EVENT_TYPE_SLAUNCH, digests, desc, (size_t)n);
}

int measure_policy(struct event_list *events, unsigned banks, const uint8_t *buf, size_t len,
		   const char *policy_path)
{
	struct digest_set d;
	int r = digest_buffer(banks, buf, len, &d);

	if (r < 0)
		return r;
	return append_described(events, PCR_CONFIG, &d, "sll: policy %s%s", policy_path, "");
}

int measure_object(struct event_list *events, const char *kind, const char *path,
		   const struct digest_set *digests)
{
	return append_described(events, PCR_LAUNCH, digests, "sll: %s %s", kind, path);
}

int measure_cmdline(struct event_list *events, unsigned banks, const char *cmdline)
{
	struct digest_set d;
	int r = digest_buffer(banks, cmdline, strlen(cmdline), &d);

	if (r < 0)
		return r;
	return append_described(events, PCR_LAUNCH, &d, "sll: cmdline%s%s", "", "");
}

int measure_separator(struct event_list *events, unsigned banks)
{
	static const uint8_t separator[4] = { 0, 0, 0, 0 };
	struct digest_set d;
	int r = digest_buffer(banks, separator, sizeof(separator), &d);

	if (r < 0)
		return r;
	return append_described(events, PCR_LAUNCH, &d, "sll: separator%s%s", "", "");
}

int measure_file_digest(int root_fd, const char *path, unsigned banks, uint64_t max_size,
			struct digest_set *ret_digests, uint64_t *ret_size)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	struct digest_ctx *ctx;
	static uint8_t buf[1 << 16];
	uint64_t total = 0;
	struct stat st;
	int fd, r;

	while (*path == '/')
		path++;
	fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	r = digest_ctx_new(banks, &ctx);
	if (r < 0) {
		close(fd);
		return r;
	}
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
		digest_ctx_update(ctx, buf, (size_t)n);
	}
	close(fd);
	if (r == 0) {
		digest_ctx_final(ctx, ret_digests);
		if (ret_size)
			*ret_size = total;
	}
	digest_ctx_free(ctx);
	return r;
}

int measure_predict_entry(struct event_list *events, unsigned banks, int root_fd,
			  const uint8_t *policy_buf, size_t policy_len, const char *policy_path,
			  const struct policy_entry *entry)
{
	struct digest_set d;
	int r;

	r = measure_policy(events, banks, policy_buf, policy_len, policy_path);
	if (r < 0)
		return r;
	r = measure_file_digest(root_fd, entry->kernel, banks, MEASURE_MAX_OBJECT, &d, NULL);
	if (r < 0)
		return r;
	r = measure_object(events, "kernel", entry->kernel, &d);
	for (size_t i = 0; r >= 0 && i < entry->initrd_count; i++) {
		r = measure_file_digest(root_fd, entry->initrds[i], banks, MEASURE_MAX_OBJECT, &d, NULL);
		if (r >= 0)
			r = measure_object(events, "initrd", entry->initrds[i], &d);
	}
	if (r >= 0)
		r = measure_cmdline(events, banks, entry->cmdline);
	if (r >= 0)
		r = measure_separator(events, banks);
	return r;
}
