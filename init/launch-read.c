/* Reading a policy entry's kernel and initrds once into memfds while hashing them, and
 * checking them against the entry's allow-lists (DESIGN section 1, step 6). */
#include "launch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "cleanup.h"
#include "fileio.h"
#include "load.h"
#include "measure.h"

static unsigned allow_list_banks(const struct policy_allow_list *l)
{
	unsigned banks = 0;

	for (size_t i = 0; i < l->count; i++)
		banks |= HASH_BANK(l->digests[i].alg);
	return banks;
}

/* Every bank an allow-list of the entry names: each object is hashed in all of them. */
static unsigned entry_banks(const struct policy_entry *e)
{
	unsigned banks = allow_list_banks(&e->allow_kernel);

	for (size_t i = 0; e->allow_initrds && i < e->initrd_count; i++)
		banks |= allow_list_banks(&e->allow_initrds[i]);
	return banks;
}

/* MemAvailable from /proc/meminfo, in bytes. */
static int memory_available(unsigned long long *ret)
{
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");
	int r = -ENODATA;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		static const char key[] = "MemAvailable:";
		char *end;

		if (strncmp(line, key, sizeof(key) - 1) != 0)
			continue;
		errno = 0;
		*ret = strtoull(line + sizeof(key) - 1, &end, 10);
		if (errno == 0 && end != line + sizeof(key) - 1 && strcmp(end, " kB\n") == 0) {
			*ret *= 1024;
			r = 0;
		}
		break;
	}
	fclose(f);
	return r;
}

/* Loading an object costs about three times its size at once: the memfd, kexec_file_load's
 * read of it, and the segment it is copied into (the first two of what is already loaded are
 * still ahead). An object that cannot fit is refused here, before reading: running out of
 * memory later would make the kernel kill PID 1, a panic instead of a one-line refusal. */
#define MEMORY_MARGIN (16ull << 20)
static int memory_check(int src, unsigned long long loaded, const char *path, char *why,
			size_t why_size)
{
	unsigned long long avail = 0, need;
	struct stat st;
	int r;

	if (fstat(src, &st) < 0)
		return -errno;
	r = memory_available(&avail);
	if (r < 0) {
		snprintf(why, why_size, "%s: cannot read MemAvailable in /proc/meminfo: %s", path,
			 strerror(-r));
		return -E2BIG;
	}
	need = 3ull * (unsigned long long)st.st_size + 2ull * loaded + MEMORY_MARGIN;
	if (need <= avail)
		return 0;
	snprintf(why, why_size, "%s: %llu MiB does not fit in memory: loading it needs about %llu "
		 "MiB, %llu MiB are available", path, (unsigned long long)st.st_size >> 20,
		 need >> 20, avail >> 20);
	return -E2BIG;
}

/* Copies one object into memfd fd while hashing it: the bytes hashed are the bytes booted. */
static int read_object(int root_fd, const char *path, unsigned banks, int fd,
		       unsigned long long loaded, struct digest_set *ret,
		       unsigned long long *ret_size, char *why, size_t why_size)
{
	uint64_t size = 0;
	_cleanup_close_ int src = beneath_open_regular(root_fd, path);
	int r;

	if (src < 0) {
		snprintf(why, why_size, "%s: %s", path, measure_object_error(src));
		return src;
	}
	r = memory_check(src, loaded, path, why, why_size);
	if (r == 0)
		r = measure_stream(src, banks, MEASURE_MAX_OBJECT, fd_write_sink, &fd, ret,
				   &size);
	if (r == 0 && size == 0)
		r = -ENODATA;
	if (r < 0) {
		if (r != -E2BIG)
			snprintf(why, why_size, "%s: %s", path, measure_object_error(r));
		return r;
	}
	*ret_size += size;
	return 0;
}

/* list_name is the allow-list's in the refusal: "kernel", or "initrd[i]" for the i-th initrd. */
static int check_allowed(const struct policy_entry *e, const struct policy_allow_list *list,
			 const struct digest_set *d, const char *kind, const char *list_name,
			 const char *path, char *why, size_t why_size)
{
	char hex[2 * HASH_MAX_SIZE + 1];

	if (!e->verified || policy_allow_list_matches(list, d))
		return 0;
	digest_hex(d, HASH_SHA256, hex);
	snprintf(why, why_size, "%s %s: digest sha256:%.16s... is not in allow.%s", kind, path,
		 (d->banks & HASH_BANK(HASH_SHA256)) ? hex : "?", list_name);
	return -EBADMSG;
}

/* The i-th initrd against its own allow-list only: no initrd's bytes pass at another's path. */
static int check_initrd(const struct policy_entry *e, size_t i, const struct digest_set *d,
			char *why, size_t why_size)
{
	static const struct policy_allow_list none;
	char list_name[32];

	snprintf(list_name, sizeof(list_name), "initrd[%zu]", i);
	return check_allowed(e, e->allow_initrds ? &e->allow_initrds[i] : &none, d, "initrd",
			     list_name, e->initrds[i], why, why_size);
}

/* The kernel's unpacker wants each archive of a concatenated initrd at a 4-byte boundary
 * (as GRUB pads them): zeros between initrds, outside any measured object. */
static int pad_initrd(struct launch *l, char *why, size_t why_size)
{
	static const uint8_t zeros[4];
	size_t n = (size_t)((4 - (l->initrd_size & 3)) & 3);
	int r = n ? fd_write_all(l->initrd_fd, zeros, n) : 0;

	if (r < 0)
		snprintf(why, why_size, "building the initrd: %s", strerror(-r));
	else
		l->initrd_size += n;
	return r;
}

int launch_read(int root_fd, const struct policy_entry *e, unsigned banks, struct launch *ret,
		char *why, size_t why_size)
{
	struct launch l = { .kernel_fd = -1, .initrd_fd = -1, .log = NULL };
	unsigned hash_banks = banks | entry_banks(e);
	int r;

	r = kexec_memfd_new("sll-kernel", &l.kernel_fd);
	if (r < 0 || (r = read_object(root_fd, e->kernel, hash_banks, l.kernel_fd, 0, &l.kernel,
				      &l.kernel_size, why, why_size)) < 0 ||
	    (r = check_allowed(e, &e->allow_kernel, &l.kernel, "kernel", "kernel", e->kernel, why,
			       why_size)) < 0 ||
	    (r = kexec_memfd_seal(l.kernel_fd)) < 0)
		goto fail;
	/* kexec_file_load takes one initrd: the entry's initrds, concatenated in order. */
	if (e->initrd_count && (r = kexec_memfd_new("sll-initrd", &l.initrd_fd)) < 0)
		goto fail;
	for (size_t i = 0; i < e->initrd_count; i++)
		if ((r = pad_initrd(&l, why, why_size)) < 0 ||
		    (r = read_object(root_fd, e->initrds[i], hash_banks, l.initrd_fd,
				     l.kernel_size + l.initrd_size, &l.initrds[i], &l.initrd_size, why,
				     why_size)) < 0 ||
		    (r = check_initrd(e, i, &l.initrds[i], why, why_size)) < 0)
			goto fail;
	*ret = l;
	return 0;
fail:
	if (!why[0])
		snprintf(why, why_size, "%s", strerror(-r));
	launch_close(&l);
	return r;
}

void launch_close(struct launch *l)
{
	free(l->log);
	l->log = NULL;
	if (l->kernel_fd >= 0)
		close(l->kernel_fd);
	if (l->initrd_fd >= 0)
		close(l->initrd_fd);
	l->kernel_fd = l->initrd_fd = -1;
}
