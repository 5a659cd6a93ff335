/* sll-attest's TPM commands over tpm2-tss's SAPI and tctildr (see attest-tpm.h). */
#include "attest-tpm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

/* The TCG EK Credential Profile's NV index of the RSA 2048 EK certificate. */
#define EK_CERT_NV_INDEX 0x01c00002u
/* Used when the TPM does not tell its TPM_PT_NV_BUFFER_MAX (every TPM reads 512 bytes). */
#define NV_CHUNK_FALLBACK 512u
/* Reads, quote, reads: tried again while an extend slips in between. */
#define QUOTE_ATTEMPTS 3
/* EK, AK and one policy session at most. */
#define MAX_HANDLES 4
/* How often a command the TPM asks to send again (TPM_RC_RETRY, _TESTING, _YIELDED) is sent:
 * ESYS does this itself, SAPI leaves it to the caller. */
#define TPM_TRIES 20

/* rc of call, sent again while the TPM asks for it. */
#define TPM_RUN(call)                                                                              \
	__extension__({                                                                            \
		TSS2_RC rc_;                                                                       \
		int tries_ = 0;                                                                    \
		while (rc_is_retry(rc_ = (call)) && ++tries_ < TPM_TRIES)                          \
			retry_pause();                                                             \
		rc_;                                                                               \
	})

const struct attest_bank attest_banks[ATTEST_BANK_COUNT] = {
	{ "sha1", TPM2_ALG_SHA1, 20 },
	{ "sha256", TPM2_ALG_SHA256, 32 },
	{ "sha384", TPM2_ALG_SHA384, 48 },
	{ "sha512", TPM2_ALG_SHA512, 64 },
};

struct attest_tpm {
	TSS2_TCTI_CONTEXT *tcti;
	TSS2_SYS_CONTEXT *sys;
	TPM2_HANDLE handles[MAX_HANDLES];
	size_t n_handles;
};

/* An empty password session: the endorsement hierarchy, the AK and the EK certificate's
 * index all have an empty authorisation value. */
#define PW_SESSION { .sessionHandle = TPM2_RH_PW }

/* PolicySecret(TPM_RH_ENDORSEMENT), the EK's authPolicy in the profile's default templates. */
#define EK_AUTH_POLICY                                                                             \
	{ 0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5,      \
	  0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b,      \
	  0x33, 0x14, 0x69, 0xaa }

/* Template L-1 of the TCG EK Credential Profile: the key an EK certificate certifies. */
static const TPM2B_PUBLIC ek_template = {
	.publicArea = {
		.type = TPM2_ALG_RSA,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
				    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
		.authPolicy = { .size = 32, .buffer = EK_AUTH_POLICY },
		.parameters.rsaDetail = {
			.symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
				       .mode.aes = TPM2_ALG_CFB },
			.scheme = { .scheme = TPM2_ALG_NULL },
			.keyBits = 2048,
			.exponent = 0,
		},
		.unique.rsa = { .size = 256 },
	},
};

/* The AK: a restricted ECDSA P-256 signing key, usable with an empty password. */
static const TPM2B_PUBLIC ak_template = {
	.publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
				    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT,
		.parameters.eccDetail = {
			.symmetric = { .algorithm = TPM2_ALG_NULL },
			.scheme = { .scheme = TPM2_ALG_ECDSA,
				    .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
			.curveID = TPM2_ECC_NIST_P256,
			.kdf = { .scheme = TPM2_ALG_NULL },
		},
	},
};

static bool rc_is_retry(TSS2_RC rc)
{
	return rc == TPM2_RC_RETRY || rc == TPM2_RC_TESTING || rc == TPM2_RC_YIELDED;
}

static void retry_pause(void)
{
	const struct timespec ms10 = { .tv_nsec = 10000000L };

	nanosleep(&ms10, NULL);
}

static int tpm_fail(const char *what, TSS2_RC rc)
{
	fprintf(stderr, "sll-attest: %s: %s (0x%x)\n", what, Tss2_RC_Decode(rc), rc);
	return -1;
}

static int fail(const char *what, const char *reason)
{
	fprintf(stderr, "sll-attest: %s: %s\n", what, reason);
	return -1;
}

/* Remembered for the flush at close, whatever happens after. */
static int track(struct attest_tpm *tpm, TPM2_HANDLE handle)
{
	if (tpm->n_handles == MAX_HANDLES) {
		Tss2_Sys_FlushContext(tpm->sys, handle);
		return fail("TPM", "too many transient handles");
	}
	tpm->handles[tpm->n_handles++] = handle;
	return 0;
}

int attest_tpm_open(const char *conf, struct attest_tpm **ret_tpm)
{
	TSS2_ABI_VERSION abi = TSS2_ABI_VERSION_CURRENT;
	struct attest_tpm *tpm = calloc(1, sizeof(*tpm));
	char what[300];
	size_t size;
	TSS2_RC rc;

	if (!tpm)
		return fail("TPM", strerror(ENOMEM));
	snprintf(what, sizeof(what), "TCTI %s", conf);
	rc = Tss2_TctiLdr_Initialize(conf, &tpm->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		free(tpm);
		return tpm_fail(what, rc);
	}
	/* SAPI contexts are sized first, then allocated, then initialised. */
	size = Tss2_Sys_GetContextSize(0);
	tpm->sys = calloc(1, size);
	if (!tpm->sys) {
		attest_tpm_close(tpm);
		return fail("TPM", strerror(ENOMEM));
	}
	rc = Tss2_Sys_Initialize(tpm->sys, size, tpm->tcti, &abi);
	if (rc != TSS2_RC_SUCCESS) {
		free(tpm->sys);
		tpm->sys = NULL;
		attest_tpm_close(tpm);
		return tpm_fail(what, rc);
	}
	*ret_tpm = tpm;
	return 0;
}

void attest_tpm_close(struct attest_tpm *tpm)
{
	if (!tpm)
		return;
	/* Nothing to report on failure: the TPM is gone or the handle already was. */
	while (tpm->sys && tpm->n_handles > 0)
		Tss2_Sys_FlushContext(tpm->sys, tpm->handles[--tpm->n_handles]);
	if (tpm->sys) {
		Tss2_Sys_Finalize(tpm->sys);
		free(tpm->sys);
	}
	Tss2_TctiLdr_Finalize(&tpm->tcti);
	free(tpm);
}

static int create_primary(struct attest_tpm *tpm, const char *what, const TPM2B_PUBLIC *tmpl,
			  TPM2_HANDLE *ret_handle, TPM2B_PUBLIC *ret_pub, TPM2B_NAME *ret_name)
{
	TSS2L_SYS_AUTH_COMMAND auth = { .count = 1, .auths = { PW_SESSION } };
	TSS2L_SYS_AUTH_RESPONSE rsp = { 0 };
	TPM2B_SENSITIVE_CREATE sensitive = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION creation_pcrs = { 0 };
	TPM2B_CREATION_DATA creation = { 0 };
	TPM2B_DIGEST creation_hash = { 0 };
	TPMT_TK_CREATION ticket = { 0 };
	TPM2B_NAME name = { 0 };
	TPM2_HANDLE handle = 0;
	TSS2_RC rc;

	*ret_pub = (TPM2B_PUBLIC){ 0 };
	rc = TPM_RUN(Tss2_Sys_CreatePrimary(tpm->sys, TPM2_RH_ENDORSEMENT, &auth, &sensitive, tmpl,
					    &outside, &creation_pcrs, &handle, ret_pub, &creation,
					    &creation_hash, &ticket, &name, &rsp));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(what, rc);
	if (track(tpm, handle) < 0)
		return -1;
	*ret_handle = handle;
	if (ret_name)
		*ret_name = name;
	return 0;
}

int attest_create_ek(struct attest_tpm *tpm, TPM2_HANDLE *ret_handle, TPM2B_PUBLIC *ret_pub)
{
	return create_primary(tpm, "TPM2_CreatePrimary (EK)", &ek_template, ret_handle, ret_pub,
			      NULL);
}

int attest_create_ak(struct attest_tpm *tpm, TPM2_HANDLE *ret_handle, TPM2B_PUBLIC *ret_pub,
		     TPM2B_NAME *ret_name)
{
	return create_primary(tpm, "TPM2_CreatePrimary (AK)", &ak_template, ret_handle, ret_pub,
			      ret_name);
}

/* TPM_RC_HANDLE on a handle: the NV index is not defined. */
static bool rc_is_no_handle(TSS2_RC rc)
{
	return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) &&
	       (rc & 0x3f) == (TPM2_RC_HANDLE & 0x3f);
}

/* The largest NV_Read this TPM answers. */
static uint16_t nv_chunk(struct attest_tpm *tpm)
{
	TPMS_CAPABILITY_DATA cap = { 0 };
	TPMI_YES_NO more = 0;
	TSS2_RC rc;

	rc = TPM_RUN(Tss2_Sys_GetCapability(tpm->sys, NULL, TPM2_CAP_TPM_PROPERTIES,
					    TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap, NULL));
	if (rc != TSS2_RC_SUCCESS || cap.data.tpmProperties.count < 1 ||
	    cap.data.tpmProperties.tpmProperty[0].property != TPM2_PT_NV_BUFFER_MAX ||
	    cap.data.tpmProperties.tpmProperty[0].value == 0)
		return NV_CHUNK_FALLBACK;
	if (cap.data.tpmProperties.tpmProperty[0].value > TPM2_MAX_NV_BUFFER_SIZE)
		return TPM2_MAX_NV_BUFFER_SIZE;
	return (uint16_t)cap.data.tpmProperties.tpmProperty[0].value;
}

static int nv_read(struct attest_tpm *tpm, TPMI_RH_NV_AUTH auth_handle, uint8_t *buf, uint16_t size)
{
	TSS2L_SYS_AUTH_COMMAND auth = { .count = 1, .auths = { PW_SESSION } };
	uint16_t chunk = nv_chunk(tpm);

	for (uint16_t off = 0; off < size;) {
		uint16_t n = size - off < chunk ? size - off : chunk;
		TSS2L_SYS_AUTH_RESPONSE rsp = { 0 };
		TPM2B_MAX_NV_BUFFER data = { 0 };
		TSS2_RC rc;

		rc = TPM_RUN(Tss2_Sys_NV_Read(tpm->sys, auth_handle, EK_CERT_NV_INDEX, &auth, n,
					      off, &data, &rsp));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail("TPM2_NV_Read (EK certificate)", rc);
		if (data.size != n)
			return fail("TPM2_NV_Read (EK certificate)", "short read");
		memcpy(buf + off, data.buffer, n);
		off += n;
	}
	return 0;
}

int attest_read_ek_cert(struct attest_tpm *tpm, uint8_t **ret_buf, size_t *ret_len)
{
	TPM2B_NV_PUBLIC pub = { 0 };
	TPM2B_NAME name = { 0 };
	TPMI_RH_NV_AUTH auth_handle;
	uint8_t *buf;
	TSS2_RC rc;

	rc = TPM_RUN(Tss2_Sys_NV_ReadPublic(tpm->sys, EK_CERT_NV_INDEX, NULL, &pub, &name, NULL));
	if (rc_is_no_handle(rc))
		return fail("enroll", "no EK certificate at NV index 0x01c00002");
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail("TPM2_NV_ReadPublic (EK certificate)", rc);
	if (!(pub.nvPublic.attributes & TPMA_NV_WRITTEN) || pub.nvPublic.dataSize == 0)
		return fail("enroll", "no EK certificate at NV index 0x01c00002 (never written)");
	/* The profile's indices are readable with their own empty auth; else ask the owner. */
	auth_handle = pub.nvPublic.attributes & TPMA_NV_AUTHREAD ? EK_CERT_NV_INDEX : TPM2_RH_OWNER;
	buf = malloc(pub.nvPublic.dataSize);
	if (!buf)
		return fail("enroll", strerror(ENOMEM));
	if (nv_read(tpm, auth_handle, buf, pub.nvPublic.dataSize) < 0) {
		free(buf);
		return -1;
	}
	*ret_buf = buf;
	*ret_len = pub.nvPublic.dataSize;
	return 0;
}

/* An unsalted, unbound policy session satisfying the EK's PolicySecret(TPM_RH_ENDORSEMENT). */
static int ek_policy_session(struct attest_tpm *tpm, TPMI_SH_AUTH_SESSION *ret_session)
{
	TSS2L_SYS_AUTH_COMMAND auth = { .count = 1, .auths = { PW_SESSION } };
	TSS2L_SYS_AUTH_RESPONSE rsp = { 0 };
	TPM2B_NONCE caller = { .size = 32 }, nonce_tpm = { 0 }, empty_nonce = { 0 };
	TPM2B_ENCRYPTED_SECRET salt = { 0 };
	TPMT_SYM_DEF symmetric = { .algorithm = TPM2_ALG_NULL };
	TPM2B_DIGEST cp_hash = { 0 };
	TPM2B_TIMEOUT timeout = { 0 };
	TPMT_TK_AUTH ticket = { 0 };
	TPMI_SH_AUTH_SESSION session = 0;
	TSS2_RC rc;

	if (getrandom(caller.buffer, caller.size, 0) != caller.size)
		return fail("getrandom", strerror(errno));
	rc = TPM_RUN(Tss2_Sys_StartAuthSession(tpm->sys, TPM2_RH_NULL, TPM2_RH_NULL, NULL, &caller,
					       &salt, TPM2_SE_POLICY, &symmetric, TPM2_ALG_SHA256,
					       &session, &nonce_tpm, NULL));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail("TPM2_StartAuthSession", rc);
	if (track(tpm, session) < 0)
		return -1;
	/* No expiration: the TPM's nonce and a cpHash are not needed. */
	rc = TPM_RUN(Tss2_Sys_PolicySecret(tpm->sys, TPM2_RH_ENDORSEMENT, session, &auth,
					   &empty_nonce, &cp_hash, &empty_nonce, 0, &timeout,
					   &ticket, &rsp));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail("TPM2_PolicySecret (endorsement)", rc);
	*ret_session = session;
	return 0;
}

int attest_activate(struct attest_tpm *tpm, TPM2_HANDLE ak, TPM2_HANDLE ek,
		    const TPM2B_ID_OBJECT *blob, const TPM2B_ENCRYPTED_SECRET *secret,
		    TPM2B_DIGEST *ret_certinfo)
{
	TSS2L_SYS_AUTH_RESPONSE rsp = { 0 };
	TPMI_SH_AUTH_SESSION session;
	TSS2_RC rc;

	if (ek_policy_session(tpm, &session) < 0)
		return -1;
	/* continueSession: the session stays loaded and close flushes it, as on errors. */
	TSS2L_SYS_AUTH_COMMAND auth = {
		.count = 2,
		.auths = { PW_SESSION,
			   { .sessionHandle = session,
			     .sessionAttributes = TPMA_SESSION_CONTINUESESSION } },
	};
	*ret_certinfo = (TPM2B_DIGEST){ 0 };
	rc = TPM_RUN(Tss2_Sys_ActivateCredential(tpm->sys, ak, ek, &auth, blob, secret,
						 ret_certinfo, &rsp));
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail("TPM2_ActivateCredential", rc);
	return 0;
}

static const struct attest_bank *bank_of(TPMI_ALG_HASH alg)
{
	for (size_t i = 0; i < ATTEST_BANK_COUNT; i++)
		if (attest_banks[i].alg == alg)
			return &attest_banks[i];
	return NULL;
}

static uint32_t select_mask(const TPMS_PCR_SELECTION *s)
{
	uint32_t mask = 0;

	for (unsigned b = 0; b < s->sizeofSelect && b < 3; b++)
		mask |= (uint32_t)s->pcrSelect[b] << (8 * b);
	return mask;
}

/* Why a PCR_Read answered nothing for a bank we asked: the bank (or a PCR) not allocated. */
static int not_allocated(const struct attest_bank *bank, uint32_t want, uint32_t left)
{
	char reason[120];
	unsigned pcr = 0;

	if (left == want) {
		snprintf(reason, sizeof(reason), "bank %s is not allocated in this TPM",
			 bank->name);
		return fail("quote", reason);
	}
	while (!(left & (1u << pcr)))
		pcr++;
	snprintf(reason, sizeof(reason), "PCR %u is not allocated in bank %s of this TPM", pcr,
		 bank->name);
	return fail("quote", reason);
}

/* TPM2_PCR_Read answers at most 8 digests: asked again for what is left until all is read. */
static int read_bank(struct attest_tpm *tpm, const TPMS_PCR_SELECTION *want,
		     TPM2B_DIGEST ret[ATTEST_PCR_COUNT])
{
	const struct attest_bank *bank = bank_of(want->hash);
	uint32_t left = select_mask(want);

	while (left) {
		TPML_PCR_SELECTION in = { .count = 1 }, got = { 0 };
		TPML_DIGEST values = { 0 };
		UINT32 update_counter = 0;
		uint32_t read = 0;
		uint32_t n = 0;
		TSS2_RC rc;

		in.pcrSelections[0] = (TPMS_PCR_SELECTION){ .hash = want->hash, .sizeofSelect = 3 };
		for (unsigned b = 0; b < 3; b++)
			in.pcrSelections[0].pcrSelect[b] = (uint8_t)(left >> (8 * b));
		rc = TPM_RUN(Tss2_Sys_PCR_Read(tpm->sys, NULL, &in, &update_counter, &got, &values,
					       NULL));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail("TPM2_PCR_Read", rc);
		if (got.count == 1 && got.pcrSelections[0].hash == want->hash)
			read = select_mask(&got.pcrSelections[0]);
		if (read == 0)
			return not_allocated(bank, select_mask(want), left);
		if ((read & ~left) || (uint32_t)__builtin_popcount(read) != values.count)
			return fail("TPM2_PCR_Read", "the TPM answered other PCRs than asked");
		for (unsigned pcr = 0; pcr < ATTEST_PCR_COUNT; pcr++) {
			if (!(read & (1u << pcr)))
				continue;
			if (values.digests[n].size != bank->size)
				return fail("TPM2_PCR_Read", "a digest of the wrong size");
			ret[pcr] = values.digests[n++];
		}
		left &= ~read;
	}
	return 0;
}

static int read_pcrs(struct attest_tpm *tpm, const TPML_PCR_SELECTION *sel,
		     struct attest_pcr_values *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (uint32_t i = 0; i < sel->count && i < ATTEST_BANK_COUNT; i++)
		if (read_bank(tpm, &sel->pcrSelections[i], ret->v[i]) < 0)
			return -1;
	return 0;
}

int attest_quote(struct attest_tpm *tpm, TPM2_HANDLE ak, const TPM2B_DATA *nonce,
		 const TPML_PCR_SELECTION *sel, TPM2B_ATTEST *ret_quote, TPMT_SIGNATURE *ret_sig,
		 struct attest_pcr_values *ret_values)
{
	TSS2L_SYS_AUTH_COMMAND auth = { .count = 1, .auths = { PW_SESSION } };
	TPMT_SIG_SCHEME quote_scheme = { .scheme = TPM2_ALG_ECDSA,
					 .details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
	struct attest_pcr_values after;

	for (int attempt = 0; attempt < QUOTE_ATTEMPTS; attempt++) {
		TSS2L_SYS_AUTH_RESPONSE rsp = { 0 };
		TSS2_RC rc;

		if (read_pcrs(tpm, sel, ret_values) < 0)
			return -1;
		*ret_quote = (TPM2B_ATTEST){ 0 };
		*ret_sig = (TPMT_SIGNATURE){ 0 };
		rc = TPM_RUN(Tss2_Sys_Quote(tpm->sys, ak, &auth, nonce, &quote_scheme, sel,
					    ret_quote, ret_sig, &rsp));
		if (rc != TSS2_RC_SUCCESS)
			return tpm_fail("TPM2_Quote", rc);
		if (read_pcrs(tpm, sel, &after) < 0)
			return -1;
		/* Both zeroed before the reads: equal bytes are equal values. */
		if (memcmp(ret_values, &after, sizeof(after)) == 0)
			return 0;
	}
	return fail("quote", "the PCRs changed during each of 3 quotes");
}
