/* The quote: who signed it (the enrolled AK), what it answers (the nonce) and which PCR values
 * it vouches for. Signatures are checked with OpenSSL, the TPM structures come from tss2-mu. */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "cleanup.h"

#define AK_REQUIRED_ATTRS                                                                   \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
	 TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

int attest_ak_check(const TPM2B_PUBLIC *ak, struct attest_error *err)
{
	const TPMT_PUBLIC *p = &ak->publicArea;

	if (p->type != TPM2_ALG_ECC || p->nameAlg != TPM2_ALG_SHA256 ||
	    p->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
	    p->parameters.eccDetail.scheme.scheme != TPM2_ALG_ECDSA ||
	    p->parameters.eccDetail.scheme.details.ecdsa.hashAlg != TPM2_ALG_SHA256)
		return attest_fail(err, -EBADMSG, "/ak_public: not an ECC P-256 key signing ECDSA with "
				   "SHA-256 (sll-attest's AK)");
	/* Restricted: the TPM signs with it only digests it computed itself (never one that
	 * starts with TPM_GENERATED_VALUE), so a quote it signed cannot be forged. */
	if ((p->objectAttributes & AK_REQUIRED_ATTRS) != AK_REQUIRED_ATTRS ||
	    (p->objectAttributes & TPMA_OBJECT_DECRYPT))
		return attest_fail(err, -EBADMSG, "/ak_public: attributes 0x%08x: not a restricted signing key "
				   "fixed to its TPM (fixedTPM, fixedParent, sensitiveDataOrigin, "
				   "restricted, sign; not decrypt)", (unsigned)p->objectAttributes);
	if (p->unique.ecc.x.size != 32 || p->unique.ecc.y.size != 32)
		return attest_fail(err, -EBADMSG, "/ak_public: not a P-256 point");
	return 0;
}

EVP_PKEY *attest_public_pkey(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
	EVP_PKEY *pkey = NULL;

	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* The AK's public point as an OpenSSL key. */
static EVP_PKEY *ak_pkey(const TPM2B_PUBLIC *ak)
{
	const TPMS_ECC_POINT *q = &ak->publicArea.unique.ecc;
	uint8_t point[1 + 2 * 32] = { 0x04 }; /* uncompressed: 04 || x || y */
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;

	memcpy(point + 1, q->x.buffer, 32);
	memcpy(point + 33, q->y.buffer, 32);
	if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		pkey = attest_public_pkey("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* ECDSA (r, s) of the TPM as the DER signature OpenSSL verifies. */
static int ecdsa_der(const TPMS_SIGNATURE_ECC *s, uint8_t **ret_der, int *ret_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(s->signatureR.buffer, s->signatureR.size, NULL);
	BIGNUM *ss = BN_bin2bn(s->signatureS.buffer, s->signatureS.size, NULL);
	int len = -1;

	*ret_der = NULL;
	if (sig && r && ss && ECDSA_SIG_set0(sig, r, ss) == 1) {
		r = ss = NULL; /* owned by sig */
		len = i2d_ECDSA_SIG(sig, ret_der);
	}
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(sig);
	*ret_len = len;
	return len > 0 ? 0 : -ENOMEM;
}

static int check_signature(const struct attest_evidence *ev, const TPM2B_PUBLIC *ak,
			   struct attest_error *err)
{
	const TPMT_SIGNATURE *s = &ev->signature;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pkey;
	uint8_t *der;
	int der_len, ok = 0;

	if (s->sigAlg != TPM2_ALG_ECDSA || s->signature.ecdsa.hash != TPM2_ALG_SHA256)
		return attest_fail(err, -EBADMSG, "/signature: not ECDSA with SHA-256 (the AK's "
				   "scheme)");
	pkey = ak_pkey(ak);
	if (!pkey)
		return attest_fail(err, -EBADMSG, "/ak_public: not a point on P-256");
	if (ecdsa_der(&s->signature.ecdsa, &der, &der_len) == 0 && (md = EVP_MD_CTX_new()) &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1)
		ok = EVP_DigestVerify(md, der, (size_t)der_len, ev->quote, ev->quote_len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	if (!ok)
		return attest_fail(err, -EBADMSG, "/signature: does not verify with the enrolled "
				   "AK: the quote was altered or not signed by this machine's TPM");
	return 0;
}

/* Same bytes, marshalled: the evidence's AK is the one enrollment proved to be in the TPM. */
static bool same_public(const TPM2B_PUBLIC *a, const TPM2B_PUBLIC *b)
{
	uint8_t ba[sizeof(TPM2B_PUBLIC)], bb[sizeof(TPM2B_PUBLIC)];
	size_t la, lb;

	return attest_public_marshal(a, ba, &la) == 0 && attest_public_marshal(b, bb, &lb) == 0 &&
	       la == lb && memcmp(ba, bb, la) == 0;
}

/* The quoted selection as masks per bank; refuses what the verifier cannot read. */
static int quoted_selection(const TPML_PCR_SELECTION *sel, uint32_t quoted[HASH_ALG_COUNT],
			    struct attest_error *err)
{
	memset(quoted, 0, sizeof(uint32_t) * HASH_ALG_COUNT);
	for (uint32_t i = 0; i < sel->count; i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
		enum hash_alg alg;
		uint32_t mask = 0;

		if (hash_alg_from_tpm_id(s->hash, &alg) < 0)
			return attest_fail(err, -EBADMSG, "/quote: selects bank 0x%04x, which the "
					   "verifier does not know", s->hash);
		for (unsigned b = 0; b < s->sizeofSelect; b++)
			mask |= (uint32_t)s->pcrSelect[b] << (8 * b);
		if (s->sizeofSelect > 3 || quoted[alg])
			return attest_fail(err, -EBADMSG, "/quote: selects PCRs above 23, or bank %s "
					   "twice", hash_alg_name(alg));
		quoted[alg] = mask;
	}
	return 0;
}

/* H_sha256 of the reported values in the quote's selection order: what the TPM signed. */
static int check_pcr_digest(const struct attest_evidence *ev, const uint32_t quoted[],
			    struct attest_error *err)
{
	const TPML_PCR_SELECTION *sel = &ev->attest.attested.quote.pcrSelect;
	const TPM2B_DIGEST *signed_digest = &ev->attest.attested.quote.pcrDigest;
	struct digest_ctx *ctx;
	struct digest_set d;

	FOR_EACH_BANK(alg, HASH_ALL_BANKS) {
		if (ev->pcr_present[alg] & ~quoted[alg])
			return attest_fail(err, -EBADMSG, "/pcrs/%s: reports PCRs the quote does not "
					   "cover", hash_alg_name(alg));
		if (quoted[alg] & ~ev->pcr_present[alg])
			return attest_fail(err, -EBADMSG, "/pcrs/%s: lacks PCRs the quote covers",
					   hash_alg_name(alg));
	}
	if (digest_ctx_new(HASH_BANK(HASH_SHA256), &ctx) < 0)
		return attest_fail(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < sel->count; i++) {
		enum hash_alg alg;

		hash_alg_from_tpm_id(sel->pcrSelections[i].hash, &alg);
		for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++)
			if (quoted[alg] & (1u << pcr))
				digest_ctx_update(ctx, ev->pcrs.value[alg][pcr], hash_alg_size(alg));
	}
	digest_ctx_final(ctx, &d);
	digest_ctx_free(ctx);
	if (signed_digest->size != 32 || memcmp(signed_digest->buffer, d.d[HASH_SHA256], 32) != 0)
		return attest_fail(err, -EBADMSG, "/pcrs: the values are not the ones the TPM "
				   "quoted (the quote's PCR digest differs): altered evidence");
	return 0;
}

static int check_required(const uint32_t quoted[], const struct attest_require *req,
			  struct attest_error *err)
{
	FOR_EACH_BANK(alg, req->banks) {
		uint32_t missing = req->pcrs & ~quoted[alg];

		if (missing)
			return attest_fail(err, -EBADMSG, "/quote: does not cover PCR %d in bank %s%s",
					   __builtin_ctz(missing), hash_alg_name(alg),
					   quoted[alg] ? "" : " (the quote has no such bank)");
	}
	return 0;
}

int attest_quote_check(const struct attest_evidence *ev, const TPM2B_PUBLIC *enrolled_ak,
		       const uint8_t *nonce, size_t nonce_len, const struct attest_require *req,
		       struct attest_error *err)
{
	const TPMS_ATTEST *a = &ev->attest;
	uint32_t quoted[HASH_ALG_COUNT];
	int r;

	if (!same_public(&ev->ak_public, enrolled_ak))
		return attest_fail(err, -EBADMSG, "/ak_public: not the AK enrolled for this machine "
				   "(a quote from another TPM, or from a key never activated "
				   "against this machine's EK)");
	r = check_signature(ev, enrolled_ak, err);
	if (r < 0)
		return r;
	if (a->magic != TPM2_GENERATED_VALUE || a->type != TPM2_ST_ATTEST_QUOTE)
		return attest_fail(err, -EBADMSG, "/quote: not a quote the TPM generated (magic "
				   "0x%08x, type 0x%04x)", (unsigned)a->magic, a->type);
	if (a->extraData.size != nonce_len || memcmp(a->extraData.buffer, nonce, nonce_len) != 0 ||
	    ev->nonce_len != nonce_len || memcmp(ev->nonce, nonce, nonce_len) != 0)
		return attest_fail(err, -EBADMSG, "/quote: answers another challenge than this "
				   "nonce: a replayed or stale quote");
	r = quoted_selection(&a->attested.quote.pcrSelect, quoted, err);
	if (r < 0)
		return r;
	r = check_pcr_digest(ev, quoted, err);
	if (r < 0)
		return r;
	return check_required(quoted, req, err);
}
