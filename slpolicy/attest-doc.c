/* The JSON documents sll-attest and slpolicy attest exchange: one object with "sll_attest"
 * (its kind), "version", and TPM structures as lower- or upper-case hex strings. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "cleanup.h"
#include "fileio.h"
#include "hex.h"

int attest_fail(struct attest_error *err, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->why, sizeof(err->why), fmt, ap);
	va_end(ap);
	return r;
}

int attest_doc_parse(const uint8_t *buf, size_t len, const char *kind,
		     struct json_object **ret_doc, struct attest_error *err)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc, *v;
	int r = 0;

	if (!tok)
		return attest_fail(err, -ENOMEM, "out of memory");
	doc = len ? json_tokener_parse_ex(tok, (const char *)buf, (int)len) : NULL;
	if (!doc || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)len)
		r = attest_fail(err, -EBADMSG, "/: not one JSON document");
	json_tokener_free(tok);
	if (r < 0) {
		json_object_put(doc);
		return r;
	}
	if (!json_object_is_type(doc, json_type_object))
		r = attest_fail(err, -EBADMSG, "/: not a JSON object");
	else if (!json_object_object_get_ex(doc, "sll_attest", &v) ||
		 !json_object_is_type(v, json_type_string) ||
		 strcmp(json_object_get_string(v), kind) != 0)
		r = attest_fail(err, -EBADMSG, "/sll_attest: not \"%s\" (is this an sll-attest %s "
				"file?)", kind, kind);
	else if (!json_object_object_get_ex(doc, "version", &v) ||
		 !json_object_is_type(v, json_type_int) || json_object_get_int64(v) != ATTEST_VERSION)
		r = attest_fail(err, -EBADMSG, "/version: not %d", ATTEST_VERSION);
	if (r < 0) {
		json_object_put(doc);
		return r;
	}
	*ret_doc = doc;
	return 0;
}

int attest_doc_load(const char *path, const char *kind, struct json_object **ret_doc,
		    struct attest_error *err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len;
	int r = file_read_all(path, ATTEST_DOC_MAX_SIZE, &buf, &len);

	if (r < 0)
		return attest_fail(err, r, "%s", strerror(-r));
	return attest_doc_parse(buf, len, kind, ret_doc, err);
}

/* The field's string and its decoded length (half of it), within min..max bytes. */
static int hex_field(struct json_object *doc, const char *field, size_t min, size_t max,
		     const char **ret_s, size_t *ret_n, struct attest_error *err)
{
	struct json_object *v;
	size_t len;

	if (!json_object_object_get_ex(doc, field, &v) || !json_object_is_type(v, json_type_string))
		return attest_fail(err, -EBADMSG, "/%s: missing, or not a string", field);
	*ret_s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len % 2 || len / 2 < min || len / 2 > max)
		return attest_fail(err, -EBADMSG, "/%s: %zu hex digits: not %zu to %zu bytes", field, len, min, max);
	*ret_n = len / 2;
	return 0;
}

int attest_doc_hex_into(struct json_object *doc, const char *field, size_t min, size_t max,
			uint8_t *out, size_t *ret_len, struct attest_error *err)
{
	const char *s = NULL;
	size_t n = 0;
	int r = hex_field(doc, field, min, max, &s, &n, err);

	if (r < 0)
		return r;
	if (hex_decode(s, n, true, out) < 0)
		return attest_fail(err, -EBADMSG, "/%s: not hex", field);
	*ret_len = n;
	return 0;
}

int attest_doc_hex(struct json_object *doc, const char *field, size_t min, size_t max,
		   uint8_t **ret_buf, size_t *ret_len, struct attest_error *err)
{
	_cleanup_free_ uint8_t *buf = NULL;
	const char *s = NULL;
	size_t n = 0;
	int r = hex_field(doc, field, min, max, &s, &n, err);

	if (r < 0)
		return r;
	buf = malloc(n ? n : 1);
	if (!buf)
		return attest_fail(err, -ENOMEM, "/%s: out of memory", field);
	if (hex_decode(s, n, true, buf) < 0)
		return attest_fail(err, -EBADMSG, "/%s: not hex", field);
	*ret_buf = TAKE_PTR(buf);
	*ret_len = n;
	return 0;
}

int attest_doc_public(struct json_object *doc, const char *field, TPM2B_PUBLIC *ret,
		      struct attest_error *err)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t len = 0, off = 0;
	int r = attest_doc_hex_into(doc, field, 2, sizeof(buf), buf, &len, err);

	if (r < 0)
		return r;
	*ret = (TPM2B_PUBLIC){ 0 };
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, ret) != TSS2_RC_SUCCESS || off != len)
		return attest_fail(err, -EBADMSG, "/%s: not a TPM2B_PUBLIC (or bytes after it)",
				   field);
	return 0;
}

int attest_public_marshal(const TPM2B_PUBLIC *pub, uint8_t *out, size_t *ret_len)
{
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, out, sizeof(TPM2B_PUBLIC), &off) != TSS2_RC_SUCCESS)
		return -EINVAL;
	*ret_len = off;
	return 0;
}

int attest_public_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *ret_name)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	struct digest_set d;
	size_t off = 0;

	/* The verifier only takes SHA-256 names: the EK and AK templates it accepts use it. */
	if (pub->publicArea.nameAlg != TPM2_ALG_SHA256 ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
		return -EINVAL;
	if (digest_buffer(HASH_BANK(HASH_SHA256), buf, off, &d) < 0)
		return -ENOMEM;
	ret_name->size = 2 + 32;
	ret_name->name[0] = TPM2_ALG_SHA256 >> 8;
	ret_name->name[1] = TPM2_ALG_SHA256 & 0xff;
	memcpy(ret_name->name + 2, d.d[HASH_SHA256], 32);
	return 0;
}
