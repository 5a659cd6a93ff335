/* slpolicy attest: the verifier's side of remote attestation (docs/attestation.md). The
 * machine's tool, sll-attest, writes JSON documents holding TPM structures in hex; these
 * modules parse them (attest-doc.c, attest-evidence.c), check the TPM's signature and the
 * quoted PCRs (attest-quote.c), enroll a machine (attest-enroll.c: the EK certificate chain,
 * the AK's template, TPM2_MakeCredential in software), and compare the launch the event log
 * records with the accepted policies' predictions (attest-verdict.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <tss2/tss2_tpm2_types.h>

#include "digest.h"
#include "event.h"
#include "pcr.h"

#define ATTEST_VERSION 1
#define ATTEST_NONCE_MIN 8
#define ATTEST_NONCE_MAX 64
/* The largest document sll-attest writes: an event log of EVENTLOG_MAX_SIZE in hex. */
#define ATTEST_DOC_MAX_SIZE ((32u << 20) + 65536u)

/* One refusal line: which field and why (the caller names the file). */
struct attest_error {
	char why[768];
};
int attest_fail(struct attest_error *err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* --- documents (attest-doc.c) --- */
struct json_object;
/* Parses buf as one JSON object whose "sll_attest" is kind and "version" ATTEST_VERSION. */
int attest_doc_parse(const uint8_t *buf, size_t len, const char *kind,
		     struct json_object **ret_doc, struct attest_error *err);
/* Reads and parses the file path (at most ATTEST_DOC_MAX_SIZE bytes). */
int attest_doc_load(const char *path, const char *kind, struct json_object **ret_doc,
		    struct attest_error *err);
/* The field's hex string decoded into a malloc()ed buffer of min..max bytes. */
int attest_doc_hex(struct json_object *doc, const char *field, size_t min, size_t max,
		   uint8_t **ret_buf, size_t *ret_len, struct attest_error *err);
/* The same, into a fixed buffer of at most max bytes. */
int attest_doc_hex_into(struct json_object *doc, const char *field, size_t min, size_t max,
			uint8_t *out, size_t *ret_len, struct attest_error *err);
/* A marshalled TPM2B_PUBLIC: exactly the field's bytes, nothing after it. */
int attest_doc_public(struct json_object *doc, const char *field, TPM2B_PUBLIC *ret,
		      struct attest_error *err);
/* The name the TPM gives an object: nameAlg (big endian) || H_nameAlg(TPMT_PUBLIC). */
int attest_public_name(const TPM2B_PUBLIC *pub, TPM2B_NAME *ret_name);
/* Marshalled TPM2B_PUBLIC bytes (with the size field) into out (sizeof(TPM2B_PUBLIC)). */
int attest_public_marshal(const TPM2B_PUBLIC *pub, uint8_t *out, size_t *ret_len);

/* --- evidence (attest-evidence.c) --- */
struct attest_evidence {
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len;
	TPM2B_PUBLIC ak_public;
	uint8_t *quote; /* the TPMS_ATTEST bytes the AK signed */
	size_t quote_len;
	TPMS_ATTEST attest; /* quote, unmarshalled */
	TPMT_SIGNATURE signature;
	struct pcr_state pcrs;             /* the values reported, in pcrs.banks */
	uint32_t pcr_present[HASH_ALG_COUNT]; /* which PCRs each bank reports */
	uint8_t *eventlog;                 /* NULL: no "eventlog" field */
	size_t eventlog_len;
};
/* Parses an evidence document (attacker-controlled input): every field present, well formed,
 * fully consumed. Checks nothing cryptographic. */
int attest_evidence_parse(const uint8_t *buf, size_t len, struct attest_evidence *ret,
			  struct attest_error *err);
void attest_evidence_free(struct attest_evidence *ev);

/* --- the quote (attest-quote.c) --- */
/* What the verifier requires the quote to cover: these PCRs in these banks. */
struct attest_require {
	unsigned banks;
	uint32_t pcrs; /* mask */
};
/* The AK's template: a restricted ECDSA P-256 (SHA-256) signing key fixed to its TPM. */
int attest_ak_check(const TPM2B_PUBLIC *ak, struct attest_error *err);
/* In order: the evidence's AK is the enrolled one; its signature over the quote verifies; the
 * quote is a TPM-generated quote of this nonce; the reported PCR values are exactly the quoted
 * ones (the quote's PCR digest); it covers what req asks for. */
int attest_quote_check(const struct attest_evidence *ev, const TPM2B_PUBLIC *enrolled_ak,
		       const uint8_t *nonce, size_t nonce_len, const struct attest_require *req,
		       struct attest_error *err);

/* A public key of OpenSSL type ("RSA", "EC") from the builder's parameters, or NULL. */
EVP_PKEY *attest_public_pkey(const char *type, OSSL_PARAM_BLD *bld);

/* --- enrollment (attest-enroll.c) --- */
/* The EK certificate (DER) chains to one of the CA files (PEM, each may hold several
 * certificates), and its RSA key is ek's. */
int attest_ek_check(const uint8_t *cert, size_t cert_len, const char *const *ca_files,
		    size_t n_ca, const TPM2B_PUBLIC *ek, struct attest_error *err);
/* TPM2_MakeCredential in software: secret wrapped so that only the TPM holding ek, with the
 * object named ak_name loaded, can recover it (TPM2_ActivateCredential). */
int attest_make_credential(const TPM2B_PUBLIC *ek, const TPM2B_NAME *ak_name,
			   const uint8_t *secret, size_t secret_len, TPM2B_ID_OBJECT *ret_blob,
			   TPM2B_ENCRYPTED_SECRET *ret_secret, struct attest_error *err);
