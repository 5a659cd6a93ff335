/* Unit test of the collectors (policy/collect.c, smbios.c, cpuleaves.c, storage.c) against
 * the fixture trees of tests/data/collect/ (make-fixtures.py) and hostile variants. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "collect.h"
#include "cpuread.h"
#include "cpuleaves.h"
#include "sequence.h"
#include "smbios.h"
#include "storage.h"

#define FIXTURES "tests/data/collect"

static uint8_t *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	static uint8_t buf[1 << 17];
	uint8_t *copy;
	size_t n;

	if (!f) {
		fprintf(stderr, "FAIL: cannot open %s (run from the repository root)\n", path);
		exit(1);
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	copy = malloc(n + 1);
	memcpy(copy, buf, n);
	*ret_len = n;
	return copy;
}

/* Filtering the DMI table by structure type, and hostile tables. */
static void test_smbios(void)
{
	size_t len, n1, n2, n12, nall;
	uint8_t *table = slurp(FIXTURES "/sys-a/sys/firmware/dmi/tables/DMI", &len);
	uint8_t *out = malloc(len), *out2 = malloc(len), keep[256] = { 0 };
	char why[256];

	memset(keep, 1, sizeof(keep));
	CHECK(smbios_filter(table, len, keep, out, &nall, why, sizeof(why)) == 0, "all: %s", why);
	CHECK(nall == len && memcmp(out, table, len) == 0, "every type keeps the whole table");
	memset(keep, 0, sizeof(keep));
	keep[1] = 1;
	CHECK(smbios_filter(table, len, keep, out, &n1, why, sizeof(why)) == 0, "type 1: %s", why);
	CHECK(n1 > 7 && out[0] == 1 && memcmp(out + n1 - 7, "SLL-A\0\0", 7) == 0,
	      "type 1 is the system structure, ending with the serial's string and the double NUL");
	CHECK(memmem(table, len, out, n1) != NULL, "type 1 bytes come from the table unchanged");
	keep[1] = 0;
	keep[2] = 1;
	CHECK(smbios_filter(table, len, keep, out2, &n2, why, sizeof(why)) == 0, "type 2");
	keep[1] = 1;
	CHECK(smbios_filter(table, len, keep, out2 + n2, &n12, why, sizeof(why)) == 0, "1,2");
	CHECK(n12 == n1 + n2 && memcmp(out2 + n2, out, n1) == 0 &&
	      memcmp(out2 + n2 + n1, out2, n2) == 0, "types 1,2 = type 1 then type 2 (table order)");
	memset(keep, 0, sizeof(keep));
	keep[200] = 1;
	CHECK(smbios_filter(table, len, keep, out, &n1, why, sizeof(why)) == 0 && n1 == 0,
	      "a type the table lacks gives no bytes");

	/* Hostile: every truncation, a length below the header, no string terminator. */
	memset(keep, 1, sizeof(keep));
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *t = malloc(cut + 1);
		int r;

		memcpy(t, table, cut);
		r = smbios_filter(t, cut, keep, out, &n1, why, sizeof(why));
		CHECK(r == 0 || r == -EBADMSG, "cut at %zu: %d", cut, r);
		free(t);
	}
	uint8_t bad[] = { 1, 3, 0, 0, 0, 0 };
	CHECK(smbios_filter(bad, sizeof(bad), keep, out, &n1, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "offset 0") && strstr(why, "length 3"), "length 3 refused: %s", why);
	uint8_t noend[] = { 1, 4, 0, 0, 'a', 0, 'b' };
	CHECK(smbios_filter(noend, sizeof(noend), keep, out, &n1, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "strings do not end"), "strings without end refused: %s", why);
	uint8_t huge[] = { 1, 0xff, 0, 0, 0, 0 };
	CHECK(smbios_filter(huge, sizeof(huge), keep, out, &n1, why, sizeof(why)) == -EBADMSG,
	      "length past the end refused");
	free(out);
	free(out2);
	free(table);
}

/* The entry point is checked (SMBIOS 2.1 and 3.0 anchors, lengths), never measured. */
static void test_smbios_entry_point(void)
{
	size_t n1;
	char why[256];

	uint8_t *ep = slurp(FIXTURES "/sys-a/sys/firmware/dmi/tables/smbios_entry_point", &n1);
	CHECK(smbios_check_entry_point(ep, n1, why, sizeof(why)) == 0, "fixture entry point");
	CHECK(smbios_check_entry_point(ep, 10, why, sizeof(why)) == -EBADMSG, "short entry point");
	ep[1] = 'X';
	CHECK(smbios_check_entry_point(ep, n1, why, sizeof(why)) == -EBADMSG, "bad anchor");
	uint8_t ep21[31] = "_SM_";
	ep21[5] = 0x1e;
	CHECK(smbios_check_entry_point(ep21, sizeof(ep21), why, sizeof(why)) == 0,
	      "2.1 entry point with the erratum's length 0x1e");
	ep21[5] = 0x10;
	CHECK(smbios_check_entry_point(ep21, sizeof(ep21), why, sizeof(why)) == -EBADMSG,
	      "2.1 entry point of length 16 refused");
	CHECK(smbios_check_entry_point((const uint8_t *)"_DMI_\0\0\0\0\0\0\0\0\0\0", 15, why,
				       sizeof(why)) == 0, "legacy _DMI_ entry point");
	free(ep);
}

static uint32_t word(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The canonical record of leaf, or NULL. */
static const uint8_t *record_of(const uint8_t *buf, size_t len, uint32_t leaf)
{
	for (size_t off = 0; off + 24 <= len; off += 24)
		if (word(buf + off) == leaf)
			return buf + off;
	return NULL;
}

static void test_cpuid(void)
{
	size_t len, n;
	uint8_t *text = slurp(FIXTURES "/sys-a/cpuid", &len);
	struct cpuleaves v, again;
	uint8_t out[24 * 16];
	const uint8_t *rec;
	char why[256], formatted[4096];
	int r;

	CHECK(cpuleaves_parse((char *)text, len, &v, why, sizeof(why)) == 0, "parse: %s", why);
	CHECK(cpuleaves_canonical(&v, out, &n, why, sizeof(why)) == 0, "canonical: %s", why);
	CHECK(n == 9 * 24, "9 leaves measured (leaf 0xb of the file is not in the set): %zu", n);
	rec = record_of(out, n, 1);
	CHECK(rec && word(rec + 8) == 0x00000f61 && word(rec + 12) == 0x0800 &&
	      word(rec + 16) == (0x8a98a203u & ~(1u << 27)) && word(rec + 20) == 0x078bfbff,
	      "leaf 1: signature kept, APIC id and count masked, OSXSAVE masked");
	rec = record_of(out, n, 7);
	CHECK(rec && word(rec + 16) == 0, "leaf 7: OSPKE masked");
	rec = record_of(out, n, 0x80000008u);
	CHECK(rec && word(rec + 8) == 0x3028 && word(rec + 16) == 0, "0x80000008: cores masked");
	CHECK(record_of(out, n, 0xb) == NULL, "leaf 0xb not measured");

	r = cpuleaves_format(&v, formatted, sizeof(formatted));
	CHECK(r > 0 && cpuleaves_parse(formatted, (size_t)r, &again, why, sizeof(why)) == 0 &&
	      memcmp(&again, &v, sizeof(v)) == 0, "format then parse is the identity");

	char twice[] = "   0x00000000 0x00: eax=0x00000001 ebx=0 ecx=0 edx=0\n"
		       "   0x00000001 0x00: eax=0x00000001 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n"
		       "   0x00000001 0x00: eax=0x00000002 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n";
	CHECK(cpuleaves_parse(twice, strlen(twice), &again, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "line 3"), "a leaf given twice is refused: %s", why);
	char low[] = "   0x00000000 0x00: eax=0x00000001 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n"
		     "   0x00000001 0x00: eax=0x00000001 ebx=0xffffffff ecx=0x00000000 edx=0x00000000\n"
		     "   0x80000000 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n";
	CHECK(cpuleaves_parse(low, strlen(low), &again, why, sizeof(why)) == 0 &&
	      cpuleaves_canonical(&again, out, &n, why, sizeof(why)) == 0 && n == 2 * 24,
	      "max leaf 1 and no extended leaves: only leaves 0 and 1 (%zu bytes)", n);
	CHECK(cpuleaves_parse(low, 80, &again, why, sizeof(why)) == 0 &&
	      cpuleaves_canonical(&again, out, &n, why, sizeof(why)) == -ENODATA,
	      "no leaf 0x80000000: refused: %s", why);
	char gap[] = "   0x00000000 0x00: eax=0x00000007 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n"
		     "   0x80000000 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n";
	CHECK(cpuleaves_parse(gap, strlen(gap), &again, why, sizeof(why)) == 0 &&
	      cpuleaves_canonical(&again, out, &n, why, sizeof(why)) == -ENODATA &&
	      strstr(why, "0x00000001"), "leaf 1 missing under max 7: refused: %s", why);

	cpuread_leaves(&again);
	CHECK(cpuleaves_canonical(&again, out, &n, why, sizeof(why)) == 0 && n >= 2 * 24,
	      "this CPU's leaves: %s", why);
	free(text);
}

/* A copy of a fixture disk in a memfd, to corrupt. */
static int disk_copy(const char *path, size_t *ret_len, uint8_t **ret_bytes)
{
	uint8_t *bytes = slurp(path, ret_len);
	int fd = memfd_create("disk", MFD_CLOEXEC);

	CHECK(fd >= 0 && write(fd, bytes, *ret_len) == (ssize_t)*ret_len, "memfd");
	*ret_bytes = bytes;
	return fd;
}

static void poke(int fd, off_t off, const void *data, size_t len)
{
	CHECK(pwrite(fd, data, len, off) == (ssize_t)len, "pwrite");
}

struct ranges {
	int fd;
	size_t count;
};

static int replay(void *ctx, uint64_t off, const void *data, size_t len)
{
	struct ranges *r = ctx;

	r->count++;
	return pwrite(r->fd, data, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

/* A GPT disk: the header and entries, a partition's first bytes, what a capture records. */
static void test_storage_gpt(void)
{
	struct storage_result res, res2;
	size_t len;
	uint8_t *disk;
	char why[256];
	int fd = disk_copy(FIXTURES "/sys-a/dev/vda", &len, &disk);

	CHECK(storage_read(fd, 0, 0, NULL, NULL, &res, why, sizeof(why)) == 0, "gpt: %s", why);
	CHECK(strcmp(res.table, "gpt") == 0 && res.len == 92 + 4 * 128 &&
	      memcmp(res.bytes, disk + 512, 92) == 0 && memcmp(res.bytes + 92, disk + 1024, 512) == 0,
	      "GPT: the 92-byte header, then the 4 x 128-byte entries array at LBA 2");
	storage_result_free(&res);
	CHECK(storage_read(fd, 2, 4096, NULL, NULL, &res, why, sizeof(why)) == 0, "part 2: %s", why);
	CHECK(res.len == 92 + 512 + 4096 && memcmp(res.bytes + 604, disk + 66 * 512, 4096) == 0 &&
	      memcmp(res.bytes + 604, "LUKS\xba\xbe", 6) == 0,
	      "partition 2's first 4096 bytes follow the table");

	/* What a capture records, replayed into an empty sparse file, reads the same. */
	struct ranges rec = { .fd = memfd_create("capture", MFD_CLOEXEC) };
	CHECK(storage_read(fd, 2, 4096, replay, &rec, &res2, why, sizeof(why)) == 0 && rec.count >= 3,
	      "recorded %zu ranges", rec.count);
	storage_result_free(&res2);
	CHECK(storage_read(rec.fd, 2, 4096, NULL, NULL, &res2, why, sizeof(why)) == 0 &&
	      res2.len == res.len && memcmp(res2.bytes, res.bytes, res.len) == 0,
	      "the recorded ranges alone give the same bytes: %s", why);
	storage_result_free(&res2);
	storage_result_free(&res);
	close(rec.fd);

	CHECK(storage_read(fd, 3, 16, NULL, NULL, &res, why, sizeof(why)) == -ENXIO &&
	      strstr(why, "unused"), "unused entry: %s", why);
	CHECK(storage_read(fd, 5, 16, NULL, NULL, &res, why, sizeof(why)) == -ENXIO &&
	      strstr(why, "only 4 entries"), "beyond the entries: %s", why);
	CHECK(storage_read(fd, 1, 32 * 512 + 1, NULL, NULL, &res, why, sizeof(why)) == -ENODATA &&
	      strstr(why, "fewer than"), "more bytes than the partition: %s", why);
	close(fd);
	free(disk);
}

/* Hostile GPT headers, a missing table and a truncated disk. */
static void test_storage_hostile(void)
{
	struct storage_result res;
	size_t len;
	uint8_t *disk;
	char why[256];
	int fd = disk_copy(FIXTURES "/sys-a/dev/vda", &len, &disk);

	uint32_t v = 8;
	poke(fd, 512 + 12, &v, 4);
	CHECK(storage_read(fd, 0, 0, NULL, NULL, &res, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "header size 8"), "header size 8: %s", why);
	v = 92;
	poke(fd, 512 + 12, &v, 4);
	v = 0x7fffffff;
	poke(fd, 512 + 80, &v, 4);
	CHECK(storage_read(fd, 0, 0, NULL, NULL, &res, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "limit"), "2^31 entries: %s", why);
	v = 4;
	poke(fd, 512 + 80, &v, 4);
	v = 100;
	poke(fd, 512 + 84, &v, 4);
	CHECK(storage_read(fd, 0, 0, NULL, NULL, &res, why, sizeof(why)) == -EBADMSG,
	      "entry size 100: %s", why);
	v = 128;
	poke(fd, 512 + 84, &v, 4);
	uint64_t lba = 1000;
	poke(fd, 512 + 72, &lba, 8);
	CHECK(storage_read(fd, 0, 0, NULL, NULL, &res, why, sizeof(why)) == -ENODATA &&
	      strstr(why, "disk ends"), "entries beyond the disk: %s", why);
	lba = UINT64_MAX / 2;
	poke(fd, 512 + 72, &lba, 8);
	CHECK(storage_read(fd, 0, 0, NULL, NULL, &res, why, sizeof(why)) < 0, "huge LBA: %s", why);
	lba = 2;
	poke(fd, 512 + 72, &lba, 8);
	uint64_t extent[2] = { UINT64_MAX - 1, UINT64_MAX };
	poke(fd, 1024 + 32, extent, sizeof(extent));
	CHECK(storage_read(fd, 1, 16, NULL, NULL, &res, why, sizeof(why)) < 0,
	      "partition at the end of the address space refused: %s", why);
	poke(fd, 512, "NOT PART", 8);
	CHECK(storage_read(fd, 0, 0, NULL, NULL, &res, why, sizeof(why)) == 0 &&
	      strcmp(res.table, "mbr") == 0, "no GPT header: the (protective) MBR is measured");
	storage_result_free(&res);
	poke(fd, 510, "\0\0", 2);
	CHECK(storage_read(fd, 0, 0, NULL, NULL, &res, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "no partition table"), "no table at all: %s", why);
	CHECK(ftruncate(fd, 100) == 0 &&
	      storage_read(fd, 0, 0, NULL, NULL, &res, why, sizeof(why)) == -ENODATA,
	      "a 100-byte disk: %s", why);
	close(fd);
	free(disk);
}

/* An MBR disk: sector 0 and a primary partition's first bytes. */
static void test_storage_mbr(void)
{
	struct storage_result res;
	size_t len;
	uint8_t *disk;
	char why[256];
	int fd, r;

	fd = disk_copy(FIXTURES "/sys-a/dev/vdb", &len, &disk);
	CHECK(storage_read(fd, 1, 16, NULL, NULL, &res, why, sizeof(why)) == 0 &&
	      strcmp(res.table, "mbr") == 0 && res.len == 512 + 16 &&
	      memcmp(res.bytes, disk, 512) == 0 && memcmp(res.bytes + 512, "MBR partition 1\n", 16) == 0,
	      "MBR: sector 0, then partition 1's first bytes: %s", why);
	storage_result_free(&res);
	r = storage_read(fd, 2, 16, NULL, NULL, &res, why, sizeof(why));
	CHECK(r == -ENXIO && strstr(why, "unused"), "MBR partition 2 unused: %s", why);
	r = storage_read(fd, 5, 16, NULL, NULL, &res, why, sizeof(why));
	CHECK(r == -ENXIO && strstr(why, "primary"), "MBR partition 5: %s", why);
	close(fd);
	free(disk);
}

static const char policy_text[] =
	"{\"schema\": 1, \"serial\": 1, \"collectors\": ["
	"{\"type\": \"dmi\", \"types\": [2, 1]}, {\"type\": \"dmi\", \"types\": [2]},"
	"{\"type\": \"cpuid\"}, {\"type\": \"file\", \"path\": \"/slaunch/extra.conf\"},"
	"{\"type\": \"storage\", \"disk\": \"/dev/vda\", \"partition\": 2, \"bytes\": 512},"
	"{\"type\": \"storage\", \"disk\": \"/dev/vdb\"}, {\"type\": \"dmi\"}],"
	"\"entries\": [{\"name\": \"a\", \"kernel\": \"/k\", \"cmdline\": \"x\"}]}";

static int run_all(const char *sys, struct event_list *ev, size_t *failed, char *why, size_t n)
{
	struct policy pol;
	struct policy_errors errs = { 0 };
	struct collect_sources src = { .boot_fd = open(FIXTURES "/boot", O_RDONLY | O_DIRECTORY),
				       .sys_fd = open(sys, O_RDONLY | O_DIRECTORY) };
	int r = policy_parse((const uint8_t *)policy_text, strlen(policy_text), &pol, &errs);

	struct sequence seq;

	CHECK(r == 0, "policy: %s", errs.count ? errs.errors[0].reason : "");
	/* Collectors follow the policy's event in the launch sequence; ev gets theirs only. */
	sequence_init(&seq, HASH_BANK(HASH_SHA256) | HASH_BANK(HASH_SHA1), true);
	CHECK(sequence_policy(&seq, (const uint8_t *)policy_text, strlen(policy_text), "/p") == 0,
	      "policy event");
	r = collect_all(&seq, &pol, &src, failed, why, n);
	for (size_t i = 1; i < seq.events.count; i++) {
		const struct event *e = &seq.events.events[i];

		CHECK(event_list_append(ev, e->pcr, e->type, &e->digests, e->data, e->data_len) == 0,
		      "copy event %zu", i);
	}
	sequence_free(&seq);
	policy_free(&pol);
	policy_errors_free(&errs);
	close(src.boot_fd);
	close(src.sys_fd);
	return r;
}

static bool has_desc(const struct event *e, const char *desc)
{
	return e->data_len == strlen(desc) && memcmp(e->data, desc, e->data_len) == 0;
}

static void test_collect_all(void)
{
	struct event_list a = { 0 }, b = { 0 };
	size_t failed = 99;
	char why[512] = "";
	static const char *const descs[] = {
		"sll: dmi types 1,2", "sll: dmi types 2", "sll: cpuid", "sll: file /slaunch/extra.conf",
		"sll: storage /dev/vda gpt, partition 2: 512 bytes", "sll: storage /dev/vdb mbr",
		"sll: dmi",
	};

	CHECK(run_all(FIXTURES "/sys-a", &a, &failed, why, sizeof(why)) == 0, "sys-a: %s", why);
	CHECK(run_all(FIXTURES "/sys-b", &b, &failed, why, sizeof(why)) == 0, "sys-b: %s", why);
	CHECK(a.count == 7 && b.count == 7, "one event per collector");
	for (size_t i = 0; i < a.count && i < 7; i++) {
		bool same = memcmp(a.events[i].digests.d, b.events[i].digests.d,
				   sizeof(a.events[i].digests.d)) == 0;

		CHECK(a.events[i].pcr == 21 && a.events[i].type == EVENT_TYPE_SLAUNCH,
		      "event %zu: PCR 21, TXT_EVTYPE_SLAUNCH", i);
		CHECK(has_desc(&a.events[i], descs[i]), "event %zu: \"%.*s\"", i,
		      (int)a.events[i].data_len, (char *)a.events[i].data);
		/* Only the system serial (SMBIOS type 1) differs between the two machines. */
		CHECK(same == (i != 0 && i != 6), "event %zu differs between sys-a and sys-b: %d", i,
		      !same);
	}
	event_list_free(&a);
	event_list_free(&b);

	/* A collector that cannot read its source fails, naming it. */
	const char *tmpdir = getenv("TMPDIR");
	char tmpl[256], path[300];

	snprintf(tmpl, sizeof(tmpl), "%s/test-collect.XXXXXX", tmpdir ? tmpdir : P_tmpdir);
	CHECK(mkdtemp(tmpl) != NULL, "mkdtemp");
	CHECK(run_all(tmpl, &a, &failed, why, sizeof(why)) < 0 && failed == 0 &&
	      strstr(why, "/sys/firmware/dmi/tables/smbios_entry_point: No such file"),
	      "missing DMI tables: %s", why);
	CHECK(a.count == 0, "no event for a failed collector");
	event_list_free(&a);
	snprintf(path, sizeof(path), "%s/sys", tmpl);
	CHECK(symlink("../" FIXTURES "/sys-a/sys", path) == 0, "symlink");
	CHECK(run_all(tmpl, &a, &failed, why, sizeof(why)) < 0 && failed == 0 &&
	      strstr(why, "symbolic link"), "a symlink in the tree is not followed: %s", why);
	event_list_free(&a);
	unlink(path);
	rmdir(tmpl);
}

int main(void)
{
	test_smbios();
	test_smbios_entry_point();
	test_cpuid();
	test_storage_gpt();
	test_storage_hostile();
	test_storage_mbr();
	test_collect_all();
	return check_summary("test-collect");
}
