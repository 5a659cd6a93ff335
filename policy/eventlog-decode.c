/* Reading a TCG crypto-agile event log written by anyone (slinit, TrenchBoot, firmware):
 * attacker-controlled input, checked field by field. */
#include "eventlog.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	static const char signature[EVENTLOG_SPEC_ID_SIGNATURE_SIZE] = EVENTLOG_SPEC_ID_SIGNATURE;
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
