/* Enrolling a machine: its EK certificate chains to a CA the admin trusts, and
 * TPM2_MakeCredential, computed here in software (TPM 2.0 Part 1, "Credential Protection"),
 * wraps a secret only the TPM holding that EK can unwrap, and only for the AK it was made for.
 * OpenSSL does the X.509, RSA-OAEP, the KDF (SP 800-108 counter mode: the TPM's KDFa),
 * AES-CFB and the HMAC. */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <tss2/tss2_mu.h>

#include "attest.h"

#define EK_REQUIRED_ATTRS                                                                   \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
	 TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)

/* What MakeCredential below relies on: an RSA 2048 storage key wrapping with AES-128 CFB and
 * naming with SHA-256, as the TCG EK profile's default template (L-1) is. */
static int check_ek_template(const TPM2B_PUBLIC *ek, struct attest_error *err)
{
	const TPMT_PUBLIC *p = &ek->publicArea;
	const TPMT_SYM_DEF_OBJECT *sym = &p->parameters.rsaDetail.symmetric;

	if (p->type != TPM2_ALG_RSA || p->nameAlg != TPM2_ALG_SHA256 ||
	    p->parameters.rsaDetail.keyBits != 2048 || p->unique.rsa.size != 256 ||
	    (p->parameters.rsaDetail.exponent != 0 && p->parameters.rsaDetail.exponent != 65537) ||
	    sym->algorithm != TPM2_ALG_AES || sym->keyBits.aes != 128 || sym->mode.aes != TPM2_ALG_CFB)
		return attest_fail(err, -EBADMSG, "/ek_public: not an RSA 2048 EK with SHA-256 and "
				   "AES-128 CFB (the TCG EK profile's default template)");
	if ((p->objectAttributes & EK_REQUIRED_ATTRS) != EK_REQUIRED_ATTRS)
		return attest_fail(err, -EBADMSG, "/ek_public: attributes 0x%08x: not a restricted "
				   "decryption key fixed to its TPM", (unsigned)p->objectAttributes);
	return 0;
}

static EVP_PKEY *ek_pkey(const TPM2B_PUBLIC *ek)
{
	const TPM2B_PUBLIC_KEY_RSA *n = &ek->publicArea.unique.rsa;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn_n = BN_bin2bn(n->buffer, n->size, NULL), *bn_e = BN_new();
	EVP_PKEY *pkey = NULL;

	if (bld && bn_n && bn_e && BN_set_word(bn_e, 65537) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		pkey = attest_public_pkey("RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return pkey;
}

static int verify_chain(X509 *cert, const char *const *ca_files, size_t n_ca,
			struct attest_error *err)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int r = 0;

	if (!store || !ctx)
		r = attest_fail(err, -ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < n_ca; i++)
		if (X509_STORE_load_file(store, ca_files[i]) != 1)
			r = attest_fail(err, -EINVAL, "--ca %s: no PEM certificate in it", ca_files[i]);
	if (r == 0 && (X509_STORE_CTX_init(ctx, store, cert, NULL) != 1 ||
		       X509_verify_cert(ctx) != 1))
		r = attest_fail(err, -EBADMSG, "/ek_certificate: does not chain to the CAs given "
				"(--ca): %s", X509_verify_cert_error_string(
					X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return r;
}

/* The certificate's key is the EK the machine reported (its modulus, byte for byte). */
static int check_same_key(X509 *cert, const TPM2B_PUBLIC *ek, struct attest_error *err)
{
	EVP_PKEY *key = X509_get0_pubkey(cert);
	BIGNUM *n = NULL;
	uint8_t mod[256];
	int ok;

	ok = key && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	     BN_num_bytes(n) == 256 && BN_bn2binpad(n, mod, sizeof(mod)) == 256 &&
	     memcmp(mod, ek->publicArea.unique.rsa.buffer, 256) == 0;
	BN_free(n);
	if (!ok)
		return attest_fail(err, -EBADMSG, "/ek_certificate: certifies another key than "
				   "/ek_public");
	return 0;
}

int attest_ek_check(const uint8_t *der, size_t der_len, const char *const *ca_files,
		    size_t n_ca, const TPM2B_PUBLIC *ek, struct attest_error *err)
{
	const unsigned char *p = der;
	X509 *cert;
	int r = check_ek_template(ek, err);

	if (r < 0)
		return r;
	cert = d2i_X509(NULL, &p, (long)der_len);
	if (!cert || p != der + der_len) {
		X509_free(cert);
		return attest_fail(err, -EBADMSG, "/ek_certificate: not one DER X.509 certificate");
	}
	r = verify_chain(cert, ca_files, n_ca, err);
	if (r == 0)
		r = check_same_key(cert, ek, err);
	X509_free(cert);
	return r;
}

/* KDFa(SHA-256, key, label, context, bits) of TPM 2.0 Part 1: SP 800-108 in counter mode with
 * HMAC, the label followed by one 00 byte, the output length in bits after the context. */
static int kdfa(const uint8_t *key, size_t key_len, const char *label, const uint8_t *context,
		size_t context_len, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, (char *)"counter", 0),
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, (char *)"HMAC", 0),
		OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)label, strlen(label)),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)context, context_len),
		OSSL_PARAM_construct_end(),
	};
	int ok = ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1;

	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ok ? 0 : -EIO;
}

/* The seed, encrypted to the EK with RSA-OAEP (SHA-256, label "IDENTITY" and its NUL). */
static int wrap_seed(const TPM2B_PUBLIC *ek, const uint8_t *seed, size_t seed_len,
		     TPM2B_ENCRYPTED_SECRET *ret)
{
	static const char label[] = "IDENTITY";
	EVP_PKEY *pkey = ek_pkey(ek);
	EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new(pkey, NULL) : NULL;
	void *l = OPENSSL_memdup(label, sizeof(label)); /* owned by ctx once set */
	size_t out_len = sizeof(ret->secret);
	int ok = ctx && l && EVP_PKEY_encrypt_init(ctx) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
		 EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
		 EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1 &&
		 EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, sizeof(label)) == 1;

	if (ok)
		l = NULL;
	ok = ok && EVP_PKEY_encrypt(ctx, ret->secret, &out_len, seed, seed_len) == 1;
	ret->size = (UINT16)out_len;
	OPENSSL_free(l);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	return ok ? 0 : -EIO;
}

/* encIdentity = AES-128-CFB(symKey, IV 0, TPM2B_DIGEST(secret)). */
static int encrypt_identity(const uint8_t sym_key[16], const uint8_t *plain, int len,
			    uint8_t *out)
{
	static const uint8_t iv[16];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, m = 0;
	int ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_cfb128(), NULL, sym_key, iv) == 1 &&
		 EVP_EncryptUpdate(ctx, out, &n, plain, len) == 1 &&
		 EVP_EncryptFinal_ex(ctx, out + n, &m) == 1 && n + m == len;

	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static int hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len,
		       const uint8_t *b, size_t b_len, uint8_t out[32])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t len = 0;
	int ok = ctx && EVP_MAC_init(ctx, key, key_len, params) == 1 &&
		 EVP_MAC_update(ctx, a, a_len) == 1 && EVP_MAC_update(ctx, b, b_len) == 1 &&
		 EVP_MAC_final(ctx, out, &len, 32) == 1 && len == 32;

	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -EIO;
}

int attest_make_credential(const TPM2B_PUBLIC *ek, const TPM2B_NAME *ak_name,
			   const uint8_t *secret, size_t secret_len, TPM2B_ID_OBJECT *ret_blob,
			   TPM2B_ENCRYPTED_SECRET *ret_secret, struct attest_error *err)
{
	uint8_t seed[32], sym_key[16], hmac_key[32], plain[2 + 64];
	uint8_t *integrity = ret_blob->credential, *enc = ret_blob->credential + 2 + 32;
	TPM2B_DIGEST cred = { .size = (UINT16)secret_len };
	size_t plain_len = 0;
	int r = check_ek_template(ek, err);

	if (r < 0)
		return r;
	if (secret_len == 0 || secret_len > 32)
		return attest_fail(err, -EINVAL, "a credential secret of %zu bytes", secret_len);
	memcpy(cred.buffer, secret, secret_len);
	if (Tss2_MU_TPM2B_DIGEST_Marshal(&cred, plain, sizeof(plain), &plain_len) != TSS2_RC_SUCCESS)
		return attest_fail(err, -EINVAL, "cannot marshal the secret");
	if (RAND_bytes(seed, sizeof(seed)) != 1 ||
	    wrap_seed(ek, seed, sizeof(seed), ret_secret) < 0 ||
	    kdfa(seed, sizeof(seed), "STORAGE", ak_name->name, ak_name->size, sym_key,
		 sizeof(sym_key)) < 0 ||
	    kdfa(seed, sizeof(seed), "INTEGRITY", NULL, 0, hmac_key, sizeof(hmac_key)) < 0 ||
	    encrypt_identity(sym_key, plain, (int)plain_len, enc) < 0 ||
	    hmac_sha256(hmac_key, sizeof(hmac_key), enc, plain_len, ak_name->name, ak_name->size,
			integrity + 2) < 0)
		return attest_fail(err, -EIO, "MakeCredential: OpenSSL failed");
	/* TPM2B_ID_OBJECT: TPM2B_DIGEST(outer HMAC) || encIdentity. */
	integrity[0] = 0;
	integrity[1] = 32;
	ret_blob->size = (UINT16)(2 + 32 + plain_len);
	return 0;
}
