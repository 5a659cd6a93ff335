/* sll-collect: captures, on the target machine, what the policy's collectors measure (DMI
 * tables, CPUID leaves, partition table bytes) into a directory tree that
 * `slpolicy predict --sys DIR` reads. Static (musl): it runs from any x86-64 Linux. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "collect.h"
#include "cpuread.h"
#include "fileio.h"
#include "policy.h"
#include "smbios.h"

static const char usage_text[] =
	"usage: sll-collect --out DIR [--from ROOT] [POLICY]\n"
	"  writes DIR/cpuid (this CPU's leaves), DIR/sys/firmware/dmi/tables/{DMI,\n"
	"  smbios_entry_point} and, for each storage collector of POLICY, the bytes it reads\n"
	"  of its disk as DIR/dev/NAME (a sparse file); --from reads /sys and /dev beneath ROOT\n"
	"  instead of /. Then: slpolicy predict POLICY --root BOOT --sys DIR\n";

static int mkdirs(const char *path)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = '/';
		}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), r;

	if (fd < 0)
		return -errno;
	r = fd_write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -EIO;
	return r;
}

/* Copies ROOT/sys/firmware/dmi/tables/NAME (sysfs: read to the end, no size). */
static int copy_dmi(const char *from, const char *out, const char *name)
{
	_cleanup_free_ uint8_t *buf = NULL;
	char src[4096], dst[4096];
	size_t len = 0;
	int r;

	snprintf(src, sizeof(src), "%s%s%s/%s", from, from[strlen(from) - 1] == '/' ? "" : "/",
		 "sys/firmware/dmi/tables", name);
	snprintf(dst, sizeof(dst), "%s/%s/%s", out, "sys/firmware/dmi/tables", name);
	r = file_read_all(src, SMBIOS_MAX_TABLE, &buf, &len);
	if (r == -E2BIG)
		fprintf(stderr, "sll-collect: %s: larger than %u bytes\n", src, SMBIOS_MAX_TABLE);
	else if (r < 0)
		fprintf(stderr, "sll-collect: %s: %s\n", src, strerror(-r));
	return r < 0 ? r : write_file(dst, buf, len);
}

struct capture {
	int fd;
};

/* Keeps every range the storage reader reads at the same offset of the capture file. */
static int record_range(void *ctx, uint64_t offset, const void *data, size_t len)
{
	const struct capture *c = ctx;

	return pwrite(c->fd, data, len, (off_t)offset) == (ssize_t)len ? 0 : -EIO;
}

static int capture_storage(const struct policy_collector *c, const char *from, const char *out)
{
	char dst[4096], why[512];
	struct capture cap;
	struct collect_sources src = { .boot_fd = -1, .record = record_range, .record_ctx = &cap };
	struct collect_result res;
	struct digest_set d;
	int r;

	snprintf(dst, sizeof(dst), "%s%s", out, c->path);
	*strrchr(dst, '/') = '\0';
	if ((r = mkdirs(dst)) < 0) {
		fprintf(stderr, "sll-collect: %s: %s\n", dst, strerror(-r));
		return r;
	}
	snprintf(dst, sizeof(dst), "%s%s", out, c->path);
	_cleanup_close_ int sys_fd = open(from, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sys_fd < 0) {
		r = -errno;
		fprintf(stderr, "sll-collect: %s: %s\n", from, strerror(-r));
		return r;
	}
	cap.fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (cap.fd < 0) {
		r = -errno;
		fprintf(stderr, "sll-collect: %s: %s\n", dst, strerror(-r));
		return r;
	}
	src.sys_fd = sys_fd;
	r = collect_one(c, &src, HASH_BANK(HASH_SHA256), &res, &d, why, sizeof(why));
	if (close(cap.fd) < 0 && r >= 0)
		r = -EIO;
	if (r < 0) {
		fprintf(stderr, "sll-collect: storage %s: %s\n", c->path, why[0] ? why : strerror(-r));
		return r;
	}
	printf("%s (%s)\n", dst, res.desc);
	collect_result_free(&res);
	return 0;
}

static int load_policy(const char *path, struct policy *ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct policy_errors errs = { 0 };
	size_t len;
	/* One byte over the cap still reaches policy_parse, which refuses it in its words. */
	int r = file_read_all(path, POLICY_MAX_SIZE + 1, &buf, &len);

	if (r < 0) {
		fprintf(stderr, "sll-collect: %s: %s\n", path,
			r == -E2BIG ? "larger than the policy size limit" : strerror(-r));
		return r;
	}
	r = policy_parse(buf, len, ret, &errs);
	if (r < 0)
		fprintf(stderr, "sll-collect: %s: %s: %s (slpolicy check lists every error)\n", path,
			errs.count ? errs.errors[0].where : "/",
			errs.count ? errs.errors[0].reason : strerror(-r));
	policy_errors_free(&errs);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' }, { "from", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },      { 0 },
	};
	const char *out = NULL, *from = "/";
	struct policy pol = { 0 };
	struct cpuleaves leaves;
	char path[4096], text[4096];
	int c, r, status = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'f': from = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (!out || argc - optind > 1) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (optind < argc && load_policy(argv[optind], &pol) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/sys/firmware/dmi/tables", out);
	if ((r = mkdirs(path)) < 0) {
		fprintf(stderr, "sll-collect: %s: %s\n", path, strerror(-r));
		return 1;
	}
	cpuread_leaves(&leaves);
	r = cpuleaves_format(&leaves, text, sizeof(text));
	snprintf(path, sizeof(path), "%s/%s", out, COLLECT_CPUID_FILE);
	if (r < 0 || write_file(path, text, (size_t)r) < 0) {
		fprintf(stderr, "sll-collect: %s: cannot write it\n", path);
		return 1;
	}
	printf("%s\n", path);
	if (copy_dmi(from, out, "smbios_entry_point") < 0 || copy_dmi(from, out, "DMI") < 0)
		status = 1;
	else
		printf("%s/sys/firmware/dmi/tables/{DMI,smbios_entry_point}\n", out);
	for (size_t i = 0; i < pol.collector_count; i++)
		if (pol.collectors[i].type == COLLECTOR_STORAGE &&
		    capture_storage(&pol.collectors[i], from, out) < 0)
			status = 1;
	policy_free(&pol);
	return status;
}
