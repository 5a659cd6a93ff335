/* Writing the TCG crypto-agile event log slinit hands over: the Spec ID Event03 header, then
 * one TCG_PCR_EVENT2 record per event. */
#include "eventlog.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* TCG_EfiSpecIdEvent up to and including numberOfAlgorithms. */
#define SPEC_ID_FIXED_SIZE 28u

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

	FOR_EACH_BANK(alg, banks)
		n++;
	return n;
}

/* Bytes of a TPML_DIGEST_VALUES body for these banks, without its count. */
static size_t digests_size(unsigned banks)
{
	size_t n = 0;

	FOR_EACH_BANK(alg, banks)
		n += 2 + hash_alg_size(alg);
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
	static const char signature[EVENTLOG_SPEC_ID_SIGNATURE_SIZE] = EVENTLOG_SPEC_ID_SIGNATURE;
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
	FOR_EACH_BANK(alg, banks) {
		p = put_u16(p, hash_alg_tpm_id(alg));
		p = put_u16(p, (uint16_t)hash_alg_size(alg));
	}
	return put_u8(p, 0); /* vendorInfoSize */
}

static uint8_t *put_record(uint8_t *p, const struct event *e, unsigned banks)
{
	p = put_u32(p, e->pcr);
	p = put_u32(p, e->type);
	p = put_u32(p, bank_count(banks));
	FOR_EACH_BANK(alg, banks) {
		p = put_u16(p, hash_alg_tpm_id(alg));
		p = put_bytes(p, e->digests.d[alg], hash_alg_size(alg));
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
