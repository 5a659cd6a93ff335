/* An evidence document (sll-attest quote): attacker-controlled input, parsed strictly. Nothing
 * here is trusted yet: attest-quote.c checks the signature and the quoted PCRs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "cleanup.h"
#include "eventlog.h"
#include "hex.h"

/* A member name of the attacker's document, for a refusal line: at most 16 characters, each
 * not printable ASCII as '?'. */
static const char *key_text(const char *key, char out[17])
{
	size_t i = 0;

	for (; i < 16 && key[i]; i++)
		out[i] = (char)(key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?');
	out[i] = '\0';
	return out;
}

/* "N": a decimal PCR index below PCR_COUNT, no sign, no leading zero. */
static int parse_pcr_index(const char *s, unsigned *ret)
{
	unsigned v = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 2)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v >= PCR_COUNT)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* One bank's {"N": HEX, ...}. */
static int parse_bank(struct json_object *bank, const char *name, enum hash_alg alg,
		      struct attest_evidence *ev, struct attest_error *err)
{
	size_t size = hash_alg_size(alg);
	char text[17];

	if (!json_object_is_type(bank, json_type_object))
		return attest_fail(err, -EBADMSG, "/pcrs/%s: not an object", name);
	json_object_object_foreach(bank, key, val) {
		unsigned pcr;

		if (parse_pcr_index(key, &pcr) < 0)
			return attest_fail(err, -EBADMSG, "/pcrs/%s/%s: not a PCR index (0-23)",
					   name, key_text(key, text));
		if (!json_object_is_type(val, json_type_string) ||
		    (size_t)json_object_get_string_len(val) != 2 * size ||
		    hex_decode(json_object_get_string(val), size, true,
			       ev->pcrs.value[alg][pcr]) < 0)
			return attest_fail(err, -EBADMSG, "/pcrs/%s/%u: not %zu bytes of hex", name,
					   pcr, size);
		ev->pcr_present[alg] |= 1u << pcr;
	}
	return 0;
}

static int parse_pcrs(struct json_object *doc, struct attest_evidence *ev,
		      struct attest_error *err)
{
	struct json_object *pcrs;
	char text[17];
	int r;

	if (!json_object_object_get_ex(doc, "pcrs", &pcrs) ||
	    !json_object_is_type(pcrs, json_type_object))
		return attest_fail(err, -EBADMSG, "/pcrs: missing, or not an object");
	pcr_state_init(&ev->pcrs, 0, 0);
	json_object_object_foreach(pcrs, name, bank) {
		enum hash_alg alg;

		if (hash_alg_from_name(name, &alg) < 0)
			return attest_fail(err, -EBADMSG, "/pcrs/%s: not a bank (sha1, sha256, "
					   "sha384, sha512)", key_text(name, text));
		r = parse_bank(bank, name, alg, ev, err);
		if (r < 0)
			return r;
		ev->pcrs.banks |= HASH_BANK(alg);
	}
	return 0;
}

static int parse_quote(struct json_object *doc, struct attest_evidence *ev,
		       struct attest_error *err)
{
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	size_t len, off = 0;
	int r;

	r = attest_doc_hex(doc, "quote", 1, sizeof(TPMS_ATTEST), &ev->quote, &ev->quote_len, err);
	if (r < 0)
		return r;
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(ev->quote, ev->quote_len, &off, &ev->attest) !=
		    TSS2_RC_SUCCESS || off != ev->quote_len)
		return attest_fail(err, -EBADMSG, "/quote: not a TPMS_ATTEST (or bytes after it)");
	r = attest_doc_hex_into(doc, "signature", 2, sizeof(sig), sig, &len, err);
	if (r < 0)
		return r;
	off = 0;
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig, len, &off, &ev->signature) != TSS2_RC_SUCCESS ||
	    off != len)
		return attest_fail(err, -EBADMSG, "/signature: not a TPMT_SIGNATURE (or bytes after "
				   "it)");
	return 0;
}

int attest_evidence_parse(const uint8_t *buf, size_t len, struct attest_evidence *ret,
			  struct attest_error *err)
{
	struct attest_evidence ev = { 0 };
	struct json_object *doc = NULL;
	int r;

	r = attest_doc_parse(buf, len, "evidence", &doc, err);
	if (r >= 0)
		r = attest_doc_hex_into(doc, "nonce", ATTEST_NONCE_MIN, ATTEST_NONCE_MAX, ev.nonce,
					&ev.nonce_len, err);
	if (r >= 0)
		r = attest_doc_public(doc, "ak_public", &ev.ak_public, err);
	if (r >= 0)
		r = parse_quote(doc, &ev, err);
	if (r >= 0)
		r = parse_pcrs(doc, &ev, err);
	/* No event log is a valid answer (a machine that keeps none); the verdict then says so. */
	if (r >= 0 && json_object_object_get_ex(doc, "eventlog", NULL))
		r = attest_doc_hex(doc, "eventlog", 0, EVENTLOG_MAX_SIZE, &ev.eventlog,
				   &ev.eventlog_len, err);
	json_object_put(doc);
	if (r < 0) {
		attest_evidence_free(&ev);
		return r;
	}
	*ret = ev;
	return 0;
}

void attest_evidence_free(struct attest_evidence *ev)
{
	free(ev->quote);
	free(ev->eventlog);
	ev->quote = ev->eventlog = NULL;
}
