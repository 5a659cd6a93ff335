/* TCG PC Client crypto-agile event log (Spec ID Event03 header + TCG_PCR_EVENT2 records). */
#include "eventlog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TCG_PCR_EVENT: pcrIndex, eventType, SHA1 digest, eventSize. */
#define SHA1_EVENT_FIXED_SIZE 32u
/* TCG_EfiSpecIdEvent up to and including numberOfAlgorithms. */
#define SPEC_ID_FIXED_SIZE 28u
#define SPEC_ID_SIGNATURE_SIZE 16u

/* ---- encoding ------------------------------------------------------------------------ */

static uint8_t *put_u8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static uint8_t *put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 4;
}

static uint8_t *put_bytes(uint8_t *p, const void *data, size_t len)
{
	if (len)
		memcpy(p, data, len);
	return p + len;
}

static unsigned bank_count(unsigned banks)
{
	unsigned n = 0;

	for (int a = 0; a < HASH_ALG_COUNT; a++)
		n += !!(banks & HASH_BANK(a));
	return n;
}

/* Bytes of a TPML_DIGEST_VALUES body for these banks, without its count. */
static size_t digests_size(unsigned banks)
{
	size_t n = 0;

	for (int a = 0; a < HASH_ALG_COUNT; a++)
		if (banks & HASH_BANK(a))
			n += 2 + hash_alg_size((enum hash_alg)a);
	return n;
}

static bool banks_valid(unsigned banks)
{
	return banks != 0 && !(banks & ~HASH_ALL_BANKS);
}

static int record_size(const struct event *e, unsigned banks, size_t *ret_size)
{
	if (e->pcr >= PCR_COUNT || (e->digests.banks & banks) != banks)
		return -EINVAL;
	if (e->data_len > EVENTLOG_MAX_EVENT_DATA)
		return -E2BIG;
	*ret_size = 4 + 4 + 4 + digests_size(banks) + 4 + e->data_len;
	return 0;
}

static uint8_t *put_header(uint8_t *p, unsigned banks)
{
	static const uint8_t zero_sha1[20];
	static const char signature[SPEC_ID_SIGNATURE_SIZE] = EVENTLOG_SPEC_ID_SIGNATURE;
	unsigned n = bank_count(banks);

	p = put_u32(p, 0);
	p = put_u32(p, EVENT_TYPE_NO_ACTION);
	p = put_bytes(p, zero_sha1, sizeof(zero_sha1));
	p = put_u32(p, (uint32_t)(SPEC_ID_FIXED_SIZE + 4 * n + 1));
	p = put_bytes(p, signature, sizeof(signature));
	p = put_u32(p, EVENTLOG_PLATFORM_CLASS_CLIENT);
	p = put_u8(p, EVENTLOG_SPEC_VERSION_MINOR);
	p = put_u8(p, EVENTLOG_SPEC_VERSION_MAJOR);
	p = put_u8(p, EVENTLOG_SPEC_ERRATA);
	p = put_u8(p, EVENTLOG_UINTN_SIZE_64);
	p = put_u32(p, n);
	for (int a = 0; a < HASH_ALG_COUNT; a++) {
		if (!(banks & HASH_BANK(a)))
			continue;
		p = put_u16(p, hash_alg_tpm_id((enum hash_alg)a));
		p = put_u16(p, (uint16_t)hash_alg_size((enum hash_alg)a));
	}
	return put_u8(p, 0); /* vendorInfoSize */
}

static uint8_t *put_record(uint8_t *p, const struct event *e, unsigned banks)
{
	p = put_u32(p, e->pcr);
	p = put_u32(p, e->type);
	p = put_u32(p, bank_count(banks));
	for (int a = 0; a < HASH_ALG_COUNT; a++) {
		if (!(banks & HASH_BANK(a)))
			continue;
		p = put_u16(p, hash_alg_tpm_id((enum hash_alg)a));
		p = put_bytes(p, e->digests.d[a], hash_alg_size((enum hash_alg)a));
	}
	p = put_u32(p, (uint32_t)e->data_len);
	return put_bytes(p, e->data, e->data_len);
}

int eventlog_encode(const struct event_list *events, unsigned banks, uint8_t **ret_buf,
		    size_t *ret_len)
{
	size_t total, n;
	uint8_t *buf, *p;

	if (!banks_valid(banks))
		return -EINVAL;
	/* Sized first, then allocated, then written. */
	total = EVENTLOG_HEADER_SIZE(bank_count(banks));
	for (size_t i = 0; i < events->count; i++) {
		int r = record_size(&events->events[i], banks, &n);
		if (r < 0)
			return r;
		total += n; /* n <= 1 MiB + 300, total <= 16 MiB: no overflow */
		if (total > EVENTLOG_MAX_SIZE)
			return -E2BIG;
	}
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	p = put_header(buf, banks);
	for (size_t i = 0; i < events->count; i++)
		p = put_record(p, &events->events[i], banks);
	if ((size_t)(p - buf) != total) {
		free(buf);
		return -EFAULT; /* our size arithmetic is wrong: never hand out such a log */
	}
	*ret_buf = buf;
	*ret_len = total;
	return 0;
}

int eventlog_encode_record(const struct event *event, unsigned banks, uint8_t **ret_buf,
			   size_t *ret_len)
{
	size_t n;
	uint8_t *buf;
	int r;

	if (!banks_valid(banks))
		return -EINVAL;
	r = record_size(event, banks, &n);
	if (r < 0)
		return r;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	put_record(buf, event, banks);
	*ret_buf = buf;
	*ret_len = n;
	return 0;
}

/* ---- decoding ------------------------------------------------------------------------ */

/* One bank the header declares; alg is -1 for an algorithm we do not know. */
struct bank_decl {
	uint16_t id;
	uint16_t size;
	int alg;
};

struct header {
	unsigned nbanks;
	struct bank_decl bank[EVENTLOG_MAX_ALGORITHMS];
	unsigned known; /* mask of the known banks */
};

struct reader {
	const uint8_t *buf;
	size_t end; /* reads stop here: the log's end, or the end of the Spec ID event */
	size_t off;
	size_t record;
	char *err;
	size_t err_size;
};

static int __attribute__((format(printf, 4, 5)))
fail(struct reader *r, size_t off, int error, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!r->err || r->err_size == 0)
		return error;
	n = snprintf(r->err, r->err_size, "offset %zu: record %zu%s: ", off, r->record,
		     r->record == 0 ? " (Spec ID header)" : "");
	if (n >= 0 && (size_t)n < r->err_size) {
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->err_size - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return error;
}

static int need(struct reader *r, size_t n, const char *field)
{
	if (r->end - r->off < n)
		return fail(r, r->off, -EBADMSG, "truncated in %s: needs %zu bytes, %zu left",
			    field, n, r->end - r->off);
	return 0;
}

static int get_u8(struct reader *r, const char *field, uint8_t *ret)
{
	int e = need(r, 1, field);

	if (e < 0)
		return e;
	*ret = r->buf[r->off++];
	return 0;
}

static int get_u16(struct reader *r, const char *field, uint16_t *ret)
{
	int e = need(r, 2, field);

	if (e < 0)
		return e;
	*ret = (uint16_t)(r->buf[r->off] | r->buf[r->off + 1] << 8);
	r->off += 2;
	return 0;
}

static int get_u32(struct reader *r, const char *field, uint32_t *ret)
{
	int e = need(r, 4, field);
	uint32_t v = 0;

	if (e < 0)
		return e;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | r->buf[r->off + (size_t)i];
	*ret = v;
	r->off += 4;
	return 0;
}

/* Returns a pointer to the next n bytes and skips them. */
static int get_bytes(struct reader *r, size_t n, const char *field, const uint8_t **ret)
{
	int e = need(r, n, field);

	if (e < 0)
		return e;
	*ret = r->buf + r->off;
	r->off += n;
	return 0;
}

static int parse_bank_decl(struct reader *r, struct header *h, unsigned i)
{
	size_t at = r->off;
	uint16_t id, size;
	enum hash_alg alg;
	int e;

	if ((e = get_u16(r, "algorithmId", &id)) < 0 || (e = get_u16(r, "digestSize", &size)) < 0)
		return e;
	for (unsigned j = 0; j < i; j++)
		if (h->bank[j].id == id)
			return fail(r, at, -EBADMSG, "algorithm 0x%04x declared twice", id);
	h->bank[i] = (struct bank_decl){ .id = id, .size = size, .alg = -1 };
	if (hash_alg_from_tpm_id(id, &alg) == 0) {
		if (size != hash_alg_size(alg))
			return fail(r, at, -EBADMSG,
				    "algorithm %s declared with digest size %u, expected %zu",
				    hash_alg_name(alg), size, hash_alg_size(alg));
		h->bank[i].alg = (int)alg;
		h->known |= HASH_BANK(alg);
	} else if (size == 0 || size > EVENTLOG_MAX_DIGEST_SIZE) {
		return fail(r, at, -EBADMSG,
			    "unknown algorithm 0x%04x declared with digest size %u (1-%u accepted)",
			    id, size, EVENTLOG_MAX_DIGEST_SIZE);
	}
	return 0;
}

/* The TCG_EfiSpecIdEvent inside the first record; r->end is already its end. */
static int parse_spec_id(struct reader *r, struct header *h)
{
	static const char signature[SPEC_ID_SIGNATURE_SIZE] = EVENTLOG_SPEC_ID_SIGNATURE;
	const uint8_t *sig, *vendor;
	uint32_t platform_class, nalgs;
	uint8_t minor, major, errata, uintn_size, vendor_size;
	size_t at = r->off;
	int e;

	if ((e = get_bytes(r, sizeof(signature), "signature", &sig)) < 0)
		return e;
	if (memcmp(sig, signature, sizeof(signature)) != 0)
		return fail(r, at, -EBADMSG,
			    "signature is not \"%s\": not a TCG crypto-agile log", signature);
	if ((e = get_u32(r, "platformClass", &platform_class)) < 0 ||
	    (e = get_u8(r, "specVersionMinor", &minor)) < 0 ||
	    (e = get_u8(r, "specVersionMajor", &major)) < 0 ||
	    (e = get_u8(r, "specErrata", &errata)) < 0 ||
	    (e = get_u8(r, "uintnSize", &uintn_size)) < 0)
		return e;
	if (major != EVENTLOG_SPEC_VERSION_MAJOR)
		return fail(r, at + 21, -EBADMSG, "specVersionMajor %u, expected %u", major,
			    EVENTLOG_SPEC_VERSION_MAJOR);
	if (uintn_size != 1 && uintn_size != 2)
		return fail(r, at + 23, -EBADMSG, "uintnSize %u, expected 1 or 2", uintn_size);
	at = r->off;
	if ((e = get_u32(r, "numberOfAlgorithms", &nalgs)) < 0)
		return e;
	if (nalgs == 0 || nalgs > EVENTLOG_MAX_ALGORITHMS)
		return fail(r, at, -EBADMSG, "numberOfAlgorithms %u, expected 1-%u", nalgs,
			    EVENTLOG_MAX_ALGORITHMS);
	h->nbanks = nalgs;
	for (unsigned i = 0; i < nalgs; i++)
		if ((e = parse_bank_decl(r, h, i)) < 0)
			return e;
	if ((e = get_u8(r, "vendorInfoSize", &vendor_size)) < 0 ||
	    (e = get_bytes(r, vendor_size, "vendorInfo", &vendor)) < 0)
		return e;
	return 0;
}

/* The TCG_PCR_EVENT (SHA1 format) record that carries the Spec ID event. */
static int parse_header(struct reader *r, struct header *h)
{
	const uint8_t *digest;
	uint32_t pcr, type, size;
	size_t log_end = r->end;
	int e;

	if ((e = get_u32(r, "pcrIndex", &pcr)) < 0)
		return e;
	if ((e = get_u32(r, "eventType", &type)) < 0)
		return e;
	if (type != EVENT_TYPE_NO_ACTION)
		return fail(r, 4, -EBADMSG,
			    "event type 0x%x is not EV_NO_ACTION: not a TCG crypto-agile log", type);
	if ((e = get_bytes(r, 20, "SHA1 digest", &digest)) < 0)
		return e;
	if ((e = get_u32(r, "eventSize", &size)) < 0)
		return e;
	if (size > r->end - r->off)
		return fail(r, r->off - 4, -EBADMSG, "event size %u beyond end of log (%zu bytes left)",
			    size, r->end - r->off);
	r->end = r->off + size;
	e = parse_spec_id(r, h);
	if (e < 0)
		return e;
	/* Bytes past the vendor info inside the declared size are ignored, as others do. */
	r->off = r->end;
	r->end = log_end;
	return 0;
}

static int parse_digests(struct reader *r, const struct header *h, struct digest_set *ret_set)
{
	struct digest_set set = { 0 };
	uint32_t count, seen = 0;
	size_t at = r->off;
	int e;

	if ((e = get_u32(r, "digest count", &count)) < 0)
		return e;
	if (count > h->nbanks)
		return fail(r, at, -EBADMSG, "digest count %u exceeds the %u banks declared in the header",
			    count, h->nbanks);
	if (count < h->nbanks)
		return fail(r, at, -EBADMSG,
			    "digest count %u does not cover the %u banks declared in the header", count,
			    h->nbanks);
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *d;
		uint16_t id;
		unsigned j;

		at = r->off;
		if ((e = get_u16(r, "digest algorithm", &id)) < 0)
			return e;
		for (j = 0; j < h->nbanks && h->bank[j].id != id; j++)
			;
		if (j == h->nbanks)
			return fail(r, at, -EBADMSG, "unknown algorithm 0x%04x not declared in header",
				    id);
		if (seen & (1u << j))
			return fail(r, at, -EBADMSG, "algorithm 0x%04x appears twice", id);
		seen |= 1u << j;
		if ((e = get_bytes(r, h->bank[j].size, "digest", &d)) < 0)
			return e;
		if (h->bank[j].alg >= 0) {
			memcpy(set.d[h->bank[j].alg], d, h->bank[j].size);
			set.banks |= HASH_BANK(h->bank[j].alg);
		}
	}
	*ret_set = set;
	return 0;
}

static int parse_record(struct reader *r, const struct header *h, struct event_list *list)
{
	struct digest_set set;
	const uint8_t *data;
	uint32_t pcr, type, size;
	size_t at = r->off;
	int e;

	if ((e = get_u32(r, "pcr index", &pcr)) < 0)
		return e;
	if (pcr >= PCR_COUNT)
		return fail(r, at, -EBADMSG, "pcr index %u out of range (0-%u)", pcr, PCR_COUNT - 1);
	if ((e = get_u32(r, "event type", &type)) < 0 || (e = parse_digests(r, h, &set)) < 0)
		return e;
	at = r->off;
	if ((e = get_u32(r, "event size", &size)) < 0)
		return e;
	if (size > r->end - r->off)
		return fail(r, at, -EBADMSG, "event size %u beyond end of log (%zu bytes left)", size,
			    r->end - r->off);
	if (size > EVENTLOG_MAX_EVENT_DATA)
		return fail(r, at, -E2BIG, "event size %u exceeds the %u byte cap", size,
			    EVENTLOG_MAX_EVENT_DATA);
	if ((e = get_bytes(r, size, "event data", &data)) < 0)
		return e;
	return event_list_append(list, pcr, type, &set, data, size);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int eventlog_decode(const uint8_t *buf, size_t len, struct event_list *ret_events,
		    unsigned *ret_banks, char *err, size_t err_size)
{
	struct reader r = { .buf = buf, .end = len, .err = err, .err_size = err_size };
	struct event_list list = { 0 };
	struct header h = { 0 };
	int e;

	if (err && err_size)
		err[0] = '\0';
	if (len > EVENTLOG_MAX_SIZE)
		return fail(&r, 0, -E2BIG, "log of %zu bytes exceeds the %u byte cap", len,
			    EVENTLOG_MAX_SIZE);
	/* An all-zero buffer is a log nobody wrote to yet (TXT reserves and zeroes it). */
	if (!all_zero(buf, len)) {
		e = parse_header(&r, &h);
		if (e < 0)
			return e;
	}
	/* A record starts with its PCR index and a non-zero digest count, so a zero tail
	 * is padding; the scan stops at the first non-zero byte, inside the next record. */
	while (r.off < len && !all_zero(buf + r.off, len - r.off)) {
		r.record++;
		if (list.count >= EVENTLOG_MAX_EVENTS) {
			e = fail(&r, r.off, -E2BIG, "more than %u events", EVENTLOG_MAX_EVENTS);
			goto fail;
		}
		e = parse_record(&r, &h, &list);
		if (e < 0)
			goto fail;
	}
	*ret_events = list;
	*ret_banks = h.known;
	return 0;
fail:
	event_list_free(&list);
	return e;
}

/* ---- describing ---------------------------------------------------------------------- */

static const struct {
	uint32_t type;
	const char *name;
} type_names[] = {
	{ 0x00000000, "EV_PREBOOT_CERT" },
	{ 0x00000001, "EV_POST_CODE" },
	{ 0x00000002, "EV_UNUSED" },
	{ 0x00000003, "EV_NO_ACTION" },
	{ 0x00000004, "EV_SEPARATOR" },
	{ 0x00000005, "EV_ACTION" },
	{ 0x00000006, "EV_EVENT_TAG" },
	{ 0x00000007, "EV_S_CRTM_CONTENTS" },
	{ 0x00000008, "EV_S_CRTM_VERSION" },
	{ 0x00000009, "EV_CPU_MICROCODE" },
	{ 0x0000000a, "EV_PLATFORM_CONFIG_FLAGS" },
	{ 0x0000000b, "EV_TABLE_OF_DEVICES" },
	{ 0x0000000c, "EV_COMPACT_HASH" },
	{ 0x0000000d, "EV_IPL" },
	{ 0x0000000e, "EV_IPL_PARTITION_DATA" },
	{ 0x0000000f, "EV_NONHOST_CODE" },
	{ 0x00000010, "EV_NONHOST_CONFIG" },
	{ 0x00000011, "EV_NONHOST_INFO" },
	{ 0x00000012, "EV_OMIT_BOOT_DEVICE_EVENTS" },
	{ 0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG" },
	{ 0x80000002, "EV_EFI_VARIABLE_BOOT" },
	{ 0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION" },
	{ 0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER" },
	{ 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER" },
	{ 0x80000006, "EV_EFI_GPT_EVENT" },
	{ 0x80000007, "EV_EFI_ACTION" },
	{ 0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
	{ 0x80000009, "EV_EFI_HANDOFF_TABLES" },
	{ 0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
	{ 0x8000000b, "EV_EFI_HANDOFF_TABLES2" },
	{ 0x80000010, "EV_EFI_HCRTM_EVENT" },
	{ 0x800000e0, "EV_EFI_VARIABLE_AUTHORITY" },
	/* Intel TXT (ACM) DRTM events; TrenchBoot adds SLAUNCH. */
	{ 0x00000401, "TXT_EVTYPE_PCRMAPPING" },
	{ 0x00000402, "TXT_EVTYPE_HASH_START" },
	{ 0x00000403, "TXT_EVTYPE_COMBINED_HASH" },
	{ 0x00000404, "TXT_EVTYPE_MLE_HASH" },
	{ 0x0000040a, "TXT_EVTYPE_BIOSAC_REG_DATA" },
	{ 0x0000040b, "TXT_EVTYPE_CPU_SCRTM_STAT" },
	{ 0x0000040c, "TXT_EVTYPE_LCP_CONTROL_HASH" },
	{ 0x0000040d, "TXT_EVTYPE_ELEMENTS_HASH" },
	{ 0x0000040e, "TXT_EVTYPE_STM_HASH" },
	{ 0x0000040f, "TXT_EVTYPE_OSSINITDATA_CAP_HASH" },
	{ 0x00000410, "TXT_EVTYPE_SINIT_PUBKEY_HASH" },
	{ 0x00000411, "TXT_EVTYPE_LCP_HASH" },
	{ 0x00000412, "TXT_EVTYPE_LCP_DETAILS_HASH" },
	{ 0x00000413, "TXT_EVTYPE_LCP_AUTHORITIES_HASH" },
	{ 0x00000414, "TXT_EVTYPE_NV_INFO_HASH" },
	{ 0x000004ff, "TXT_EVTYPE_CAP_VALUE" },
	{ EVENT_TYPE_SLAUNCH, "TXT_EVTYPE_SLAUNCH" },
};

const char *eventlog_type_name(uint32_t type)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return NULL;
}

/* Length of the valid, printable UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), 0 if there is none. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0x20 && c < 0x7f)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	/* C1 controls (U+0080-U+009F) are not printable either. */
	if (c == 0xc2 && p[1] < 0xa0)
		return 0;
	return len;
}

/* The escaped form of the byte sequence at data[i]: its text in piece, returns its length
 * and sets *ret_n to the number of input bytes it stands for. */
static size_t text_piece(const uint8_t *data, size_t len, size_t i, char piece[5], size_t *ret_n)
{
	size_t n = utf8_len(data + i, len - i);

	if (n == 1 && data[i] == '\\') {
		*ret_n = 1;
		piece[0] = piece[1] = '\\';
		return 2;
	}
	if (n > 0) {
		*ret_n = n;
		memcpy(piece, data + i, n);
		return n;
	}
	*ret_n = 1;
	snprintf(piece, 5, "\\x%02x", data[i]);
	return 4;
}

size_t eventlog_event_text(const struct event *event, char *out, size_t out_size)
{
	static const char ellipsis[] = "...";
	size_t total = 0, o = 0, n, plen;
	char piece[5];
	bool cut;

	if (out_size == 0)
		return 0;
	for (size_t i = 0; i < event->data_len; i += n)
		total += text_piece(event->data, event->data_len, i, piece, &n);
	cut = total >= out_size;
	for (size_t i = 0; i < event->data_len; i += n) {
		plen = text_piece(event->data, event->data_len, i, piece, &n);
		if (cut && o + plen + sizeof(ellipsis) > out_size)
			break;
		memcpy(out + o, piece, plen);
		o += plen;
	}
	if (cut && o + sizeof(ellipsis) <= out_size) {
		memcpy(out + o, ellipsis, sizeof(ellipsis) - 1);
		o += sizeof(ellipsis) - 1;
	}
	out[o] = '\0';
	return o;
}
