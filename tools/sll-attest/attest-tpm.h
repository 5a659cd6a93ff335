/* sll-attest's TPM side over tpm2-tss's SAPI: the TCTI, the EK and AK templates and the
 * commands of enroll, activate and quote. Each function prints its one error line
 * ("sll-attest: what: reason") itself and returns -1; the caller only exits. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_sys.h>

/* The PCR banks sll-attest quotes, in the order a selection lists them. */
#define ATTEST_BANK_COUNT 4
#define ATTEST_PCR_COUNT 24

struct attest_bank {
	const char *name; /* "sha256" */
	TPMI_ALG_HASH alg;
	uint16_t size;
};
extern const struct attest_bank attest_banks[ATTEST_BANK_COUNT];

struct attest_tpm;

/* Opens the TPM through tctildr's configuration string conf ("device:/dev/tpmrm0"). */
int attest_tpm_open(const char *conf, struct attest_tpm **ret_tpm);
/* Flushes every object and session the functions below created (there may be no resource
 * manager to do it, e.g. swtpm reached directly), then closes the TCTI. NULL is fine. */
void attest_tpm_close(struct attest_tpm *tpm);

/* The EK of the TCG EK Credential Profile's default RSA 2048 template (L-1), and the AK
 * (ECC P-256 restricted signing key): primaries of the endorsement hierarchy, the same keys
 * on every call, flushed at close. ret_name may be NULL. */
int attest_create_ek(struct attest_tpm *tpm, TPM2_HANDLE *ret_handle, TPM2B_PUBLIC *ret_pub);
int attest_create_ak(struct attest_tpm *tpm, TPM2_HANDLE *ret_handle, TPM2B_PUBLIC *ret_pub,
		     TPM2B_NAME *ret_name);

/* The RSA 2048 EK certificate's DER bytes from NV index 0x01c00002 (malloc'ed). */
int attest_read_ek_cert(struct attest_tpm *tpm, uint8_t **ret_buf, size_t *ret_len);

/* TPM2_ActivateCredential with the AK as the object and the EK (through PolicySecret of
 * the endorsement hierarchy) as the decrypting key: the credential's secret. */
int attest_activate(struct attest_tpm *tpm, TPM2_HANDLE ak, TPM2_HANDLE ek,
		    const TPM2B_ID_OBJECT *blob, const TPM2B_ENCRYPTED_SECRET *secret,
		    TPM2B_DIGEST *ret_certinfo);

/* PCR values by the position of their bank in the selection, then by PCR number. */
struct attest_pcr_values {
	TPM2B_DIGEST v[ATTEST_BANK_COUNT][ATTEST_PCR_COUNT];
};

/* TPM2_Quote of sel with the AK (qualifyingData = nonce, ECDSA SHA256) between two reads of
 * the PCRs, retried while the reads differ (an extend in between); the values are those the
 * quote covers. A bank the TPM has not allocated is refused. */
int attest_quote(struct attest_tpm *tpm, TPM2_HANDLE ak, const TPM2B_DATA *nonce,
		 const TPML_PCR_SELECTION *sel, TPM2B_ATTEST *ret_quote, TPMT_SIGNATURE *ret_sig,
		 struct attest_pcr_values *ret_values);
