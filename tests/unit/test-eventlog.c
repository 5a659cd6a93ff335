/* Unit test of policy/eventlog-*.c: byte layout, round trip, foreign logs, every rejection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "eventlog.h"
#include "pcr.h"


static void unhex(const char *hex, uint8_t *out)
{
	for (size_t i = 0; hex[2 * i]; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static struct digest_set abc_set(void)
{
	struct digest_set s = { .banks = HASH_ALL_BANKS };

	for (int a = 0; a < HASH_ALG_COUNT; a++)
		unhex(abc_hex[a], s.d[a]);
	return s;
}

/* A digest set whose bytes are a recognisable pattern (seed, seed+1, ...). */
static struct digest_set pattern_set(uint8_t seed)
{
	struct digest_set s = { .banks = HASH_ALL_BANKS };

	for (int a = 0; a < HASH_ALG_COUNT; a++)
		for (int i = 0; i < HASH_MAX_SIZE; i++)
			s.d[a][i] = (uint8_t)(seed + a * 64 + i);
	return s;
}

/* ---- a little-endian log builder, independent of the encoder under test ---- */

struct builder {
	uint8_t buf[4096];
	size_t len;
};

static void b_u8(struct builder *b, uint8_t v)
{
	b->buf[b->len++] = v;
}

static void b_u16(struct builder *b, uint16_t v)
{
	b_u8(b, (uint8_t)v);
	b_u8(b, (uint8_t)(v >> 8));
}

static void b_u32(struct builder *b, uint32_t v)
{
	b_u16(b, (uint16_t)v);
	b_u16(b, (uint16_t)(v >> 16));
}

static void b_bytes(struct builder *b, const void *p, size_t n)
{
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void b_fill(struct builder *b, uint8_t v, size_t n)
{
	memset(b->buf + b->len, v, n);
	b->len += n;
}

struct decl {
	uint16_t id, size;
};

/* The TCG_PCR_EVENT carrying the Spec ID event, as TCG PC Client PFP describes it. */
static void b_header(struct builder *b, const struct decl *d, unsigned n, uint8_t vendor_size)
{
	b_u32(b, 0);
	b_u32(b, 3); /* EV_NO_ACTION */
	b_fill(b, 0, 20);
	b_u32(b, 16 + 4 + 4 + 4 + 4 * n + 1 + vendor_size);
	b_bytes(b, "Spec ID Event03", 16);
	b_u32(b, 0); /* client */
	b_u8(b, 0);
	b_u8(b, 2);
	b_u8(b, 2);
	b_u8(b, 2);
	b_u32(b, n);
	for (unsigned i = 0; i < n; i++) {
		b_u16(b, d[i].id);
		b_u16(b, d[i].size);
	}
	b_u8(b, vendor_size);
	b_fill(b, 0xAB, vendor_size);
}

/* A record with one digest per declaration; digest bytes are fill + bank index. */
static void b_record(struct builder *b, uint32_t pcr, uint32_t type, const struct decl *d,
		     unsigned n, uint8_t fill, const char *data)
{
	b_u32(b, pcr);
	b_u32(b, type);
	b_u32(b, n);
	for (unsigned i = 0; i < n; i++) {
		b_u16(b, d[i].id);
		b_fill(b, (uint8_t)(fill + i), d[i].size);
	}
	b_u32(b, (uint32_t)strlen(data));
	b_bytes(b, data, strlen(data));
}

static const struct decl sha1_sha256[] = { { 0x0004, 20 }, { 0x000B, 32 } };

/* ---- tests ---- */

static void test_header_bytes(void)
{
	struct event_list empty = { 0 };
	uint8_t *buf;
	size_t len;
	/* Written out by hand from the TCG_PCR_EVENT / TCG_EfiSpecIdEvent tables. */
	static const uint8_t expected[] = {
		0, 0, 0, 0,		/* pcrIndex */
		3, 0, 0, 0,		/* eventType EV_NO_ACTION */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* SHA1 digest */
		45, 0, 0, 0,		/* eventSize = 16+4+4+4+4*4+1 */
		'S', 'p', 'e', 'c', ' ', 'I', 'D', ' ', 'E', 'v', 'e', 'n', 't', '0', '3', 0,
		0, 0, 0, 0,		/* platformClass: client */
		0, 2, 2, 2,		/* specVersionMinor, Major, specErrata, uintnSize (UINT64) */
		4, 0, 0, 0,		/* numberOfAlgorithms */
		0x04, 0, 20, 0,		/* sha1 */
		0x0B, 0, 32, 0,		/* sha256 */
		0x0C, 0, 48, 0,		/* sha384 */
		0x0D, 0, 64, 0,		/* sha512 */
		0,			/* vendorInfoSize */
	};

	CHECK(eventlog_encode(&empty, HASH_ALL_BANKS, &buf, &len) == 0, "encode empty");
	CHECK(len == sizeof(expected) && len == EVENTLOG_HEADER_SIZE(4), "header size %zu", len);
	CHECK(len == sizeof(expected) && memcmp(buf, expected, len) == 0, "header bytes");
	free(buf);

	/* Only the banks asked for, in the fixed order whatever the mask. */
	CHECK(eventlog_encode(&empty, HASH_BANK(HASH_SHA384) | HASH_BANK(HASH_SHA1), &buf, &len) ==
		      0,
	      "encode sha1+sha384");
	CHECK(len == 32 + 29 + 8, "header size %zu", len);
	CHECK(buf[28] == 37 && buf[56] == 2 && buf[60] == 0x04 && buf[62] == 20 &&
		      buf[64] == 0x0C && buf[66] == 48 && buf[68] == 0,
	      "sha1+sha384 header fields");
	free(buf);
}

static void test_record_bytes(void)
{
	struct event_list list = { 0 };
	struct digest_set abc = abc_set();
	struct builder want = { 0 };
	uint8_t *buf, *rec;
	size_t len, rec_len;
	const char *text = "sll: kernel /vmlinuz-6.1";

	CHECK(event_list_append(&list, 22, EVENT_TYPE_SLAUNCH, &abc, text, strlen(text)) == 0,
	      "append");
	CHECK(eventlog_encode(&list, HASH_BANK(HASH_SHA256), &buf, &len) == 0, "encode");
	b_u32(&want, 22);
	b_u32(&want, 0x502);
	b_u32(&want, 1);
	b_u16(&want, 0x000B);
	unhex(abc_hex[HASH_SHA256], want.buf + want.len);
	want.len += 32;
	b_u32(&want, (uint32_t)strlen(text));
	b_bytes(&want, text, strlen(text));
	CHECK(len == EVENTLOG_HEADER_SIZE(1) + want.len, "log size %zu", len);
	CHECK(len == EVENTLOG_HEADER_SIZE(1) + want.len &&
		      memcmp(buf + EVENTLOG_HEADER_SIZE(1), want.buf, want.len) == 0,
	      "record bytes");
	CHECK(eventlog_encode_record(&list.events[0], HASH_BANK(HASH_SHA256), &rec, &rec_len) == 0,
	      "encode_record");
	CHECK(rec_len == want.len && memcmp(rec, want.buf, want.len) == 0, "single record bytes");
	free(rec);
	free(buf);
	event_list_free(&list);
}

static void same_events(const struct event_list *a, const struct event_list *b, unsigned banks)
{
	CHECK(a->count == b->count, "count %zu != %zu", a->count, b->count);
	for (size_t i = 0; i < a->count && i < b->count; i++) {
		const struct event *x = &a->events[i], *y = &b->events[i];
		CHECK(x->pcr == y->pcr && x->type == y->type, "event %zu pcr/type", i);
		CHECK(x->data_len == y->data_len && memcmp(x->data, y->data, x->data_len) == 0,
		      "event %zu data", i);
		CHECK((y->digests.banks & banks) == banks, "event %zu banks", i);
		for (int alg = 0; alg < HASH_ALG_COUNT; alg++)
			if (banks & HASH_BANK(alg))
				CHECK(memcmp(x->digests.d[alg], y->digests.d[alg],
					     hash_alg_size((enum hash_alg)alg)) == 0,
				      "event %zu %s digest", i, hash_alg_name((enum hash_alg)alg));
	}
}

static void same_pcrs(const struct pcr_state *a, const struct pcr_state *b, unsigned banks)
{
	for (int alg = 0; alg < HASH_ALG_COUNT; alg++) {
		if (!(banks & HASH_BANK(alg)))
			continue;
		for (int pcr = 0; pcr < PCR_COUNT; pcr++)
			CHECK(memcmp(a->value[alg][pcr], b->value[alg][pcr],
				     hash_alg_size((enum hash_alg)alg)) == 0,
			      "%s pcr %d", hash_alg_name((enum hash_alg)alg), pcr);
	}
}

static void test_round_trip(unsigned banks)
{
	struct event_list list = { 0 }, back = { 0 };
	struct pcr_state s1, s2;
	struct digest_set abc = abc_set();
	const char *texts[] = { "sll: policy /slaunch/policy.json", "sll: kernel /vmlinuz",
				"sll: initrd /initrd.img", "sll: cmdline", "" };
	uint8_t *buf;
	size_t len;
	unsigned got = 0;
	char err[256];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct digest_set d = i == 0 ? abc : pattern_set((uint8_t)(i * 17));
		CHECK(event_list_append(&list, i == 0 ? 21 : 22, EVENT_TYPE_SLAUNCH, &d, texts[i],
					strlen(texts[i])) == 0,
		      "append %zu", i);
	}
	CHECK(eventlog_encode(&list, banks, &buf, &len) == 0, "encode banks 0x%x", banks);
	CHECK(eventlog_decode(buf, len, &back, &got, err, sizeof(err)) == 0, "decode: %s", err);
	CHECK(got == banks, "banks 0x%x, expected 0x%x", got, banks);
	same_events(&list, &back, banks);

	pcr_state_init(&s1, banks, 0);
	pcr_state_init(&s2, banks, 0);
	CHECK(pcr_replay(&s1, &list) == 0 && pcr_replay(&s2, &back) == 0, "replay");
	same_pcrs(&s1, &s2, banks);

	free(buf);
	event_list_free(&list);
	event_list_free(&back);
}

static void test_encode_rejects(void)
{
	struct event_list list = { 0 };
	struct digest_set d = pattern_set(1);
	uint8_t *buf = NULL;
	size_t len = 0;
	uint8_t *big;

	d.banks = HASH_BANK(HASH_SHA256);
	CHECK(event_list_append(&list, 22, EVENT_TYPE_SLAUNCH, &d, "x", 1) == 0, "append");
	CHECK(eventlog_encode(&list, 0, &buf, &len) == -EINVAL, "no banks");
	CHECK(eventlog_encode(&list, 1u << HASH_ALG_COUNT, &buf, &len) == -EINVAL, "bad bank bit");
	CHECK(eventlog_encode(&list, HASH_BANK(HASH_SHA256) | HASH_BANK(HASH_SHA1), &buf, &len) ==
		      -EINVAL,
	      "event lacks the sha1 digest");
	list.events[0].pcr = PCR_COUNT;
	CHECK(eventlog_encode(&list, HASH_BANK(HASH_SHA256), &buf, &len) == -EINVAL, "pcr 24");
	list.events[0].pcr = 22;
	big = calloc(1, EVENTLOG_MAX_EVENT_DATA + 1);
	free(list.events[0].data);
	list.events[0].data = big;
	list.events[0].data_len = EVENTLOG_MAX_EVENT_DATA + 1;
	CHECK(eventlog_encode(&list, HASH_BANK(HASH_SHA256), &buf, &len) == -E2BIG, "data cap");
	CHECK(eventlog_encode_record(&list.events[0], HASH_BANK(HASH_SHA256), &buf, &len) == -E2BIG,
	      "record data cap");
	CHECK(buf == NULL && len == 0, "out-params untouched on failure");
	event_list_free(&list);
}

/* A log with a declared SM3 bank (unknown to us) between sha1 and sha256, and a StartupLocality
 * EV_NO_ACTION record after the header, as a TXT/TrenchBoot DRTM log has. */
static void test_unknown_bank_and_no_action(void)
{
	static const struct decl d[] = { { 0x0004, 20 }, { 0x0012, 32 }, { 0x000B, 32 } };
	struct builder b = { 0 };
	struct event_list got = { 0 }, only = { 0 };
	struct pcr_state s1, s2;
	unsigned banks = 0;
	char err[256];
	uint8_t locality[17];

	b_header(&b, d, 3, 5);
	memcpy(locality, "StartupLocality", 16);
	locality[16] = 3;
	b_u32(&b, 0);
	b_u32(&b, 3);
	b_u32(&b, 3);
	for (int i = 0; i < 3; i++) {
		b_u16(&b, d[i].id);
		b_fill(&b, 0, d[i].size);
	}
	b_u32(&b, sizeof(locality));
	b_bytes(&b, locality, sizeof(locality));
	b_record(&b, 17, 0x404, d, 3, 0x10, "MLE");
	b_record(&b, 18, 0x502, d, 3, 0x20, "sll: kernel");

	CHECK(eventlog_decode(b.buf, b.len, &got, &banks, err, sizeof(err)) == 0, "decode: %s", err);
	CHECK(banks == (HASH_BANK(HASH_SHA1) | HASH_BANK(HASH_SHA256)), "banks 0x%x", banks);
	CHECK(got.count == 3, "count %zu", got.count);
	if (got.count == 3) {
		CHECK(got.events[0].type == EVENT_TYPE_NO_ACTION && got.events[0].pcr == 0 &&
			      got.events[0].data_len == 17 && got.events[0].data[16] == 3,
		      "StartupLocality kept");
		CHECK(got.events[1].pcr == 17 && got.events[1].type == 0x404, "record 2");
		/* sha1 is the first bank (fill 0x10), sm3 skipped, sha256 the third (0x12). */
		CHECK(got.events[1].digests.d[HASH_SHA1][0] == 0x10 &&
			      got.events[1].digests.d[HASH_SHA1][19] == 0x10 &&
			      got.events[1].digests.d[HASH_SHA256][0] == 0x12 &&
			      got.events[1].digests.d[HASH_SHA256][31] == 0x12,
		      "digests after the skipped bank");
		CHECK(got.events[2].data_len == 11 && memcmp(got.events[2].data, "sll: kernel", 11) == 0,
		      "record 3 data");
		/* The EV_NO_ACTION event does not change the replay. */
		for (size_t i = 1; i < got.count; i++)
			event_list_append(&only, got.events[i].pcr, got.events[i].type,
					  &got.events[i].digests, got.events[i].data,
					  got.events[i].data_len);
		pcr_state_init(&s1, banks, 0);
		pcr_state_init(&s2, banks, 0);
		CHECK(pcr_replay(&s1, &got) == 0 && pcr_replay(&s2, &only) == 0, "replay");
		same_pcrs(&s1, &s2, banks);
	}
	event_list_free(&got);
	event_list_free(&only);
}

static void test_padding_and_empty(void)
{
	struct builder b = { 0 };
	struct event_list got = { 0 };
	static uint8_t zeros[4096];
	unsigned banks = 99;
	char err[256] = "junk";

	CHECK(eventlog_decode(NULL, 0, &got, &banks, err, sizeof(err)) == 0, "empty: %s", err);
	CHECK(got.count == 0 && banks == 0 && err[0] == '\0', "empty log");
	banks = 99;
	CHECK(eventlog_decode(zeros, sizeof(zeros), &got, &banks, err, sizeof(err)) == 0,
	      "zero buffer: %s", err);
	CHECK(got.count == 0 && banks == 0, "zero buffer is an empty log");

	b_header(&b, sha1_sha256, 2, 0);
	b_record(&b, 17, 0x401, sha1_sha256, 2, 1, "a");
	b_record(&b, 18, 0x502, sha1_sha256, 2, 2, "b");
	b_fill(&b, 0, 1000);
	CHECK(eventlog_decode(b.buf, b.len, &got, &banks, err, sizeof(err)) == 0, "padded: %s",
	      err);
	CHECK(got.count == 2 && banks == (HASH_BANK(HASH_SHA1) | HASH_BANK(HASH_SHA256)),
	      "padded log: %zu events", got.count);
	event_list_free(&got);

	/* Header only, then padding shorter than a record. */
	b.len = 0;
	b_header(&b, sha1_sha256, 2, 0);
	b_fill(&b, 0, 3);
	CHECK(eventlog_decode(b.buf, b.len, &got, &banks, err, sizeof(err)) == 0 && got.count == 0,
	      "header + 3 zero bytes: %s", err);
	event_list_free(&got);
}

struct bad_case {
	const char *name;
	int expect;
	const char *substr;
};

static void expect_reject(const struct builder *b, const struct bad_case *c)
{
	struct event_list got = { .count = 12345 };
	unsigned banks = 12345;
	char err[256] = "";
	int r = eventlog_decode(b->buf, b->len, &got, &banks, err, sizeof(err));

	CHECK(r == c->expect, "%s: returned %d, expected %d (%s)", c->name, r, c->expect, err);
	CHECK(strstr(err, c->substr) != NULL, "%s: \"%s\" lacks \"%s\"", c->name, err, c->substr);
	CHECK(strchr(err, '\n') == NULL, "%s: one line", c->name);
	CHECK(got.count == 12345 && banks == 12345, "%s: out-params untouched", c->name);
}

/* A valid two-bank log with one record; the header is 32 + 29 + 8 = 69 bytes, so the record
 * starts at 69: pcr 69, type 73, count 77, sha1 id 81, sha256 id 103, event size 137. */
static void good_log(struct builder *b)
{
	b->len = 0;
	b_header(b, sha1_sha256, 2, 0);
	b_record(b, 22, 0x502, sha1_sha256, 2, 7, "sll: cmdline");
}

static void put32_at_buf(uint8_t *buf, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		buf[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void put32_at(struct builder *b, size_t off, uint32_t v)
{
	put32_at_buf(b->buf, off, v);
}

/* A cut or malformed log, or a Spec ID header it declares wrongly: refused, saying where. */
static void test_rejects_header(void)
{
	struct builder b;
	static const struct decl bad_size[] = { { 0x0004, 20 }, { 0x000B, 20 } };
	static const struct decl twice[] = { { 0x000B, 32 }, { 0x000B, 32 } };
	static const struct decl zero_unknown[] = { { 0x0012, 0 } };

	good_log(&b);
	b.len -= 5;
	expect_reject(&b, &(struct bad_case){ "cut in event data", -EBADMSG,
					      "event size 12 beyond end of log (7 bytes left)" });
	good_log(&b);
	b.len = 100;
	expect_reject(&b, &(struct bad_case){ "cut in a digest", -EBADMSG,
					      "offset 83: record 1: truncated in digest" });
	good_log(&b);
	b.len = 10;
	expect_reject(&b, &(struct bad_case){ "cut in the header", -EBADMSG,
					      "offset 8: record 0 (Spec ID header): truncated" });
	good_log(&b);
	b.buf[32] = 'X';
	expect_reject(&b, &(struct bad_case){ "signature", -EBADMSG,
					      "offset 32: record 0 (Spec ID header): signature" });
	good_log(&b);
	put32_at(&b, 4, 4);
	expect_reject(&b, &(struct bad_case){ "header type", -EBADMSG,
					      "event type 0x4 is not EV_NO_ACTION" });
	good_log(&b);
	b.buf[53] = 1;
	expect_reject(&b, &(struct bad_case){ "spec major", -EBADMSG, "specVersionMajor 1" });
	good_log(&b);
	b.buf[55] = 8;
	expect_reject(&b, &(struct bad_case){ "uintnSize", -EBADMSG, "uintnSize 8" });
	good_log(&b);
	put32_at(&b, 28, 0xffffff00);
	expect_reject(&b, &(struct bad_case){ "header size", -EBADMSG,
					      "offset 28: record 0 (Spec ID header): event size "
					      "4294967040 beyond end of log" });
	good_log(&b);
	put32_at(&b, 28, 28);
	expect_reject(&b, &(struct bad_case){ "header size too small", -EBADMSG,
					      "truncated in algorithmId" });
	b.len = 0;
	b_header(&b, sha1_sha256, 0, 0);
	expect_reject(&b, &(struct bad_case){ "no algorithms", -EBADMSG,
					      "offset 56: record 0 (Spec ID header): "
					      "numberOfAlgorithms 0" });
	b.len = 0;
	b_header(&b, bad_size, 2, 0);
	expect_reject(&b, &(struct bad_case){ "sha256 size", -EBADMSG,
					      "offset 64: record 0 (Spec ID header): algorithm sha256 "
					      "declared with digest size 20, expected 32" });
	b.len = 0;
	b_header(&b, twice, 2, 0);
	expect_reject(&b, &(struct bad_case){ "declared twice", -EBADMSG,
					      "algorithm 0x000b declared twice" });
	b.len = 0;
	b_header(&b, zero_unknown, 1, 0);
	expect_reject(&b, &(struct bad_case){ "unknown size 0", -EBADMSG,
					      "unknown algorithm 0x0012 declared with digest size 0" });
}

/* A record that breaks the header's promises or the log's bounds. */
static void test_rejects_records(void)
{
	struct builder b;

	good_log(&b);
	put32_at(&b, 69, 99);
	expect_reject(&b, &(struct bad_case){ "pcr 99", -EBADMSG,
					      "offset 69: record 1: pcr index 99 out of range" });
	good_log(&b);
	put32_at(&b, 77, 9);
	expect_reject(&b, &(struct bad_case){ "count 9", -EBADMSG,
					      "offset 77: record 1: digest count 9 exceeds the 2 banks "
					      "declared in the header" });
	good_log(&b);
	put32_at(&b, 77, 1);
	expect_reject(&b, &(struct bad_case){ "count 1", -EBADMSG,
					      "digest count 1 does not cover the 2 banks" });
	good_log(&b);
	b.buf[103] = 0x34;
	b.buf[104] = 0x12;
	expect_reject(&b, &(struct bad_case){ "undeclared alg", -EBADMSG,
					      "offset 103: record 1: unknown algorithm 0x1234 not "
					      "declared in header" });
	good_log(&b);
	b.buf[103] = 0x04;
	expect_reject(&b, &(struct bad_case){ "alg twice", -EBADMSG,
					      "offset 103: record 1: algorithm 0x0004 appears twice" });
	good_log(&b);
	put32_at(&b, 137, 0xffffffff);
	expect_reject(&b, &(struct bad_case){ "event size", -EBADMSG,
					      "offset 137: record 1: event size 4294967295 beyond end "
					      "of log" });
	/* A second record whose garbage follows a valid one: numbered 2. */
	good_log(&b);
	b_u32(&b, 1);
	expect_reject(&b, &(struct bad_case){ "trailing garbage", -EBADMSG,
					      "offset 157: record 2: truncated in event type" });
}

/* The caps on a whole log and on one event's data. */
static void test_rejects_caps(void)
{
	struct builder b;
	uint8_t *huge;

	huge = calloc(1, EVENTLOG_MAX_SIZE + 1);
	{
		struct event_list got;
		unsigned banks;
		char err[256];
		CHECK(huge && eventlog_decode(huge, EVENTLOG_MAX_SIZE + 1, &got, &banks, err,
					      sizeof(err)) == -E2BIG,
		      "whole log cap");
		CHECK(strstr(err, "exceeds the 16777216 byte cap") != NULL, "cap message: %s", err);
	}
	if (huge) {
		/* One record with 1 MiB + 1 of data, all of it present. */
		struct event_list got;
		unsigned banks;
		char err[256];

		good_log(&b);
		memcpy(huge, b.buf, 137);
		put32_at_buf(huge, 137, EVENTLOG_MAX_EVENT_DATA + 1);
		memset(huge + 141, 'x', EVENTLOG_MAX_EVENT_DATA + 1);
		CHECK(eventlog_decode(huge, 141 + EVENTLOG_MAX_EVENT_DATA + 1, &got, &banks, err,
				      sizeof(err)) == -E2BIG,
		      "event data cap");
		CHECK(strstr(err, "offset 137: record 1: event size 1048577 exceeds") != NULL,
		      "data cap message: %s", err);
	}
	free(huge);
}

/* A small err buffer is cut, never overrun; a NULL one is allowed. */
static void test_rejects_err_buffer(void)
{
	struct builder b;
	struct event_list got;
	unsigned banks;
	char small[8];

	good_log(&b);
	put32_at(&b, 69, 99);
	CHECK(eventlog_decode(b.buf, b.len, &got, &banks, small, sizeof(small)) == -EBADMSG &&
		      strlen(small) == 7,
	      "short err buffer");
	CHECK(eventlog_decode(b.buf, b.len, &got, &banks, NULL, 0) == -EBADMSG, "no err");
}

/* Every prefix of a valid log is either rejected cleanly or a shorter valid log. */
static void test_every_prefix(void)
{
	struct builder b = { 0 };

	good_log(&b);
	for (size_t n = 1; n < b.len; n++) {
		struct event_list got;
		unsigned banks;
		char err[256];
		int r = eventlog_decode(b.buf, n, &got, &banks, err, sizeof(err));
		/* Up to 4 bytes, the prefix is all zero: an empty log. */
		CHECK(r == -EBADMSG || (r == 0 && (n == EVENTLOG_HEADER_SIZE(2) || n <= 4)),
		      "prefix %zu: %d", n, r);
		if (r == 0)
			event_list_free(&got);
		else
			CHECK(strstr(err, "truncated") || strstr(err, "beyond end of log"),
			      "prefix %zu: %s", n, err);
	}
}

static void test_text(void)
{
	struct event e = { 0 };
	char out[64];
	uint8_t data[] = { 's', 'l', 'l', ':', ' ', 0xc3, 0xa9, '\\', 0x00, 0xff, 0xe0, 0x80, 0x80 };

	e.data = data;
	e.data_len = sizeof(data);
	eventlog_event_text(&e, out, sizeof(out));
	CHECK(strcmp(out, "sll: \xc3\xa9\\\\\\x00\\xff\\xe0\\x80\\x80") == 0, "text: %s", out);
	CHECK(eventlog_event_text(&e, out, 11) == 10 && strcmp(out, "sll: \xc3\xa9...") == 0,
	      "cut text: %s", out);
	e.data_len = 5;
	CHECK(eventlog_event_text(&e, out, 6) == 5 && strcmp(out, "sll: ") == 0,
	      "exact fit: %s", out);
	CHECK(eventlog_event_text(&e, out, 3) == 0 && out[0] == '\0', "tiny buffer: %s", out);
	e.data_len = 0;
	CHECK(eventlog_event_text(&e, out, sizeof(out)) == 0 && out[0] == '\0', "empty");

	CHECK(strcmp(eventlog_type_name(3), "EV_NO_ACTION") == 0, "EV_NO_ACTION");
	CHECK(strcmp(eventlog_type_name(0x502), "TXT_EVTYPE_SLAUNCH") == 0, "SLAUNCH");
	CHECK(eventlog_type_name(0x12345) == NULL, "unknown type");
}

int main(void)
{
	test_header_bytes();
	test_record_bytes();
	test_round_trip(HASH_ALL_BANKS);
	test_round_trip(HASH_BANK(HASH_SHA256));
	test_round_trip(HASH_BANK(HASH_SHA1) | HASH_BANK(HASH_SHA256) | HASH_BANK(HASH_SHA384));
	test_encode_rejects();
	test_unknown_bank_and_no_action();
	test_padding_and_empty();
	test_rejects_header();
	test_rejects_records();
	test_rejects_caps();
	test_rejects_err_buffer();
	test_every_prefix();
	test_text();
	return check_summary("test-eventlog");
}
