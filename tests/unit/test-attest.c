/* The attestation verifier's evidence parsing, quote checks and verdict, on evidence made here
 * as a TPM would: a P-256 AK (OpenSSL), a TPMS_ATTEST marshalled with tss2-mu and signed, the
 * quoted PCRs replayed from a launch sequence's event log. Each refusal is provoked by the
 * change an attacker would make. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <json-c/json.h>
#include <tss2/tss2_mu.h>

#include "attest-verdict.h"
#include "check.h"
#include "eventlog.h"
#include "hex.h"
#include "policy.h"

#define AK_ATTRS                                                                            \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
	 TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

static const uint8_t nonce[16] = "fresh-challenge";

/* What one evidence document is made of; tests change one thing before building it. */
struct fixture {
	EVP_PKEY *key;
	TPM2B_PUBLIC ak;
	TPMS_ATTEST attest;
	struct pcr_state pcrs; /* sha256 and sha1, PCRs 17-22 quoted */
	uint8_t *log;
	size_t log_len;
	struct sequence seq; /* the launch the log records */
	struct policy pol;
	char *policy_text;
	bool corrupt_signature;
	const char *extra_pcr; /* one more "pcrs" member */
};

static TPM2B_PUBLIC public_of(EVP_PKEY *key)
{
	TPM2B_PUBLIC p = { 0 };
	uint8_t point[65];
	size_t len = 0;

	EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len);
	p.publicArea.type = TPM2_ALG_ECC;
	p.publicArea.nameAlg = TPM2_ALG_SHA256;
	p.publicArea.objectAttributes = AK_ATTRS;
	p.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	p.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
	p.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	p.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p.publicArea.unique.ecc.x.size = p.publicArea.unique.ecc.y.size = 32;
	memcpy(p.publicArea.unique.ecc.x.buffer, point + 1, 32);
	memcpy(p.publicArea.unique.ecc.y.buffer, point + 33, 32);
	return p;
}

/* A launch of a one-entry policy, its log encoded, its PCRs the quoted values. */
static void make_launch(struct fixture *f, bool capped)
{
	static const char text[] =
		"{\"schema\": 1, \"serial\": 7, \"entries\": [{\"name\": \"linux\", "
		"\"kernel\": \"/vmlinuz\", \"cmdline\": \"console=ttyS0\"}]}";
	struct policy_errors errs = { 0 };
	struct digest_set kernel;
	const unsigned banks = HASH_BANK(HASH_SHA1) | HASH_BANK(HASH_SHA256);

	f->policy_text = strdup(text);
	CHECK(policy_parse((const uint8_t *)text, strlen(text), &f->pol, &errs) == 0, "policy");
	digest_buffer(banks, "kernel bytes", 12, &kernel);
	sequence_init(&f->seq, banks, true);
	sequence_policy(&f->seq, (const uint8_t *)text, strlen(text), "/slaunch/policy.json");
	if (capped)
		sequence_failure(&f->seq, "kernel /vmlinuz: not allowed");
	sequence_entry(&f->seq, &f->pol.entries[0], &kernel, NULL);
	sequence_separator(&f->seq);
	CHECK(eventlog_encode(&f->seq.events, banks, &f->log, &f->log_len) == 0, "encode");
	pcr_state_init(&f->pcrs, banks, 0);
	pcr_replay(&f->pcrs, &f->seq.events);
	/* The launcher's PCRs: any value the test then expects. */
	FOR_EACH_BANK(alg, banks) {
		memset(f->pcrs.value[alg][17], 0x17, hash_alg_size(alg));
		memset(f->pcrs.value[alg][18], 0x18, hash_alg_size(alg));
	}
}

static void fixture_init(struct fixture *f, bool capped)
{
	TPMS_QUOTE_INFO *q = &f->attest.attested.quote;

	*f = (struct fixture){ .key = EVP_EC_gen("P-256") };
	f->ak = public_of(f->key);
	make_launch(f, capped);
	f->attest.magic = TPM2_GENERATED_VALUE;
	f->attest.type = TPM2_ST_ATTEST_QUOTE;
	f->attest.extraData.size = sizeof(nonce);
	memcpy(f->attest.extraData.buffer, nonce, sizeof(nonce));
	q->pcrSelect.count = 2;
	q->pcrSelect.pcrSelections[0] = (TPMS_PCR_SELECTION){ TPM2_ALG_SHA1, 3, { 0, 0, 0x7e } };
	q->pcrSelect.pcrSelections[1] = (TPMS_PCR_SELECTION){ TPM2_ALG_SHA256, 3, { 0, 0, 0x7e } };
}

static void fixture_free(struct fixture *f)
{
	EVP_PKEY_free(f->key);
	free(f->log);
	free(f->policy_text);
	sequence_free(&f->seq);
	policy_free(&f->pol);
}

/* pcrDigest: SHA-256 over the selected values, banks in selection order, PCRs ascending. */
static void set_pcr_digest(struct fixture *f)
{
	struct digest_ctx *ctx;
	struct digest_set d;

	digest_ctx_new(HASH_BANK(HASH_SHA256), &ctx);
	for (unsigned pcr = 17; pcr <= 22; pcr++)
		digest_ctx_update(ctx, f->pcrs.value[HASH_SHA1][pcr], 20);
	for (unsigned pcr = 17; pcr <= 22; pcr++)
		digest_ctx_update(ctx, f->pcrs.value[HASH_SHA256][pcr], 32);
	digest_ctx_final(ctx, &d);
	digest_ctx_free(ctx);
	f->attest.attested.quote.pcrDigest.size = 32;
	memcpy(f->attest.attested.quote.pcrDigest.buffer, d.d[HASH_SHA256], 32);
}

static TPMT_SIGNATURE sign(const struct fixture *f, const uint8_t *msg, size_t len)
{
	TPMT_SIGNATURE s = { .sigAlg = TPM2_ALG_ECDSA };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	const uint8_t *p = der;
	size_t der_len = sizeof(der);
	ECDSA_SIG *sig;

	EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, f->key);
	EVP_DigestSign(md, der, &der_len, msg, len);
	EVP_MD_CTX_free(md);
	sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	s.signature.ecdsa.hash = TPM2_ALG_SHA256;
	s.signature.ecdsa.signatureR.size = 32;
	s.signature.ecdsa.signatureS.size = 32;
	BN_bn2binpad(ECDSA_SIG_get0_r(sig), s.signature.ecdsa.signatureR.buffer, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(sig), s.signature.ecdsa.signatureS.buffer, 32);
	ECDSA_SIG_free(sig);
	return s;
}

static void add_hex(struct json_object *o, const char *field, const uint8_t *v, size_t n)
{
	char *hex = malloc(2 * n + 1);

	hex_encode(v, n, hex);
	json_object_object_add(o, field, json_object_new_string(hex));
	free(hex);
}

/* The evidence document sll-attest quote writes, from the fixture (malloc()ed text). */
static char *build(struct fixture *f)
{
	uint8_t quote[sizeof(TPMS_ATTEST)], sig[sizeof(TPMT_SIGNATURE)], pub[sizeof(TPM2B_PUBLIC)];
	size_t quote_len = 0, sig_len = 0, pub_len = 0;
	struct json_object *o = json_object_new_object(), *pcrs = json_object_new_object();
	char hex[2 * HASH_MAX_SIZE + 1], *text;
	TPMT_SIGNATURE s;

	Tss2_MU_TPMS_ATTEST_Marshal(&f->attest, quote, sizeof(quote), &quote_len);
	s = sign(f, quote, quote_len);
	if (f->corrupt_signature)
		s.signature.ecdsa.signatureS.buffer[5] ^= 1;
	Tss2_MU_TPMT_SIGNATURE_Marshal(&s, sig, sizeof(sig), &sig_len);
	Tss2_MU_TPM2B_PUBLIC_Marshal(&f->ak, pub, sizeof(pub), &pub_len);
	json_object_object_add(o, "sll_attest", json_object_new_string("evidence"));
	json_object_object_add(o, "version", json_object_new_int(1));
	add_hex(o, "nonce", nonce, sizeof(nonce));
	add_hex(o, "ak_public", pub, pub_len);
	add_hex(o, "quote", quote, quote_len);
	add_hex(o, "signature", sig, sig_len);
	if (f->log)
		add_hex(o, "eventlog", f->log, f->log_len);
	FOR_EACH_BANK(alg, f->pcrs.banks) {
		struct json_object *bank = json_object_new_object();
		char key[4];

		for (unsigned pcr = 17; pcr <= 22; pcr++) {
			hex_encode(f->pcrs.value[alg][pcr], hash_alg_size(alg), hex);
			snprintf(key, sizeof(key), "%u", pcr);
			json_object_object_add(bank, key, json_object_new_string(hex));
		}
		if (f->extra_pcr && alg == HASH_SHA256)
			json_object_object_add(bank, f->extra_pcr, json_object_new_string(hex));
		json_object_object_add(pcrs, hash_alg_name(alg), bank);
	}
	json_object_object_add(o, "pcrs", pcrs);
	text = strdup(json_object_to_json_string(o));
	json_object_put(o);
	return text;
}

/* Parses and checks the fixture's evidence as slpolicy attest verify does, with the fixture's
 * own AK enrolled unless enrolled says otherwise; the refusal (or "") into why. */
static int check(struct fixture *f, const TPM2B_PUBLIC *enrolled, unsigned banks, uint32_t pcrs,
		 struct attest_evidence *ev, char *why, size_t why_size)
{
	struct attest_require req = { .banks = banks, .pcrs = pcrs };
	struct attest_error err = { "" };
	char *text;
	int r;

	set_pcr_digest(f);
	text = build(f);
	r = attest_evidence_parse((const uint8_t *)text, strlen(text), ev, &err);
	free(text);
	if (r == 0) {
		r = attest_quote_check(ev, enrolled ? enrolled : &f->ak, nonce, sizeof(nonce), &req,
				       &err);
		if (r < 0)
			attest_evidence_free(ev);
	}
	snprintf(why, why_size, "%s", err.why);
	return r;
}

#define SHA256_ONLY HASH_BANK(HASH_SHA256)
#define LAUNCH_PCRS (0x3fu << 17)

/* The refusal of the fixture (changed by the caller) contains what. */
static void expect_refused(struct fixture *f, const TPM2B_PUBLIC *enrolled, unsigned banks,
			   uint32_t pcrs, const char *what)
{
	struct attest_evidence ev;
	char why[1024];

	CHECK(check(f, enrolled, banks, pcrs, &ev, why, sizeof(why)) < 0 && strstr(why, what),
	      "refused with \"%s\": got \"%s\"", what, why);
}

static void test_quote_checks(void)
{
	struct attest_evidence ev;
	struct fixture f, other;
	char why[1024];

	fixture_init(&f, false);
	CHECK(check(&f, NULL, SHA256_ONLY, LAUNCH_PCRS, &ev, why, sizeof(why)) == 0,
	      "a well-made quote is accepted: %s", why);
	attest_evidence_free(&ev);
	CHECK(attest_ak_check(&f.ak, &(struct attest_error){ "" }) == 0, "the AK template passes");

	fixture_init(&other, false);
	expect_refused(&f, &other.ak, SHA256_ONLY, LAUNCH_PCRS, "not the AK enrolled");
	fixture_free(&other);

	f.corrupt_signature = true;
	expect_refused(&f, NULL, SHA256_ONLY, LAUNCH_PCRS, "/signature: does not verify");
	f.corrupt_signature = false;

	f.attest.extraData.buffer[0] ^= 1;
	expect_refused(&f, NULL, SHA256_ONLY, LAUNCH_PCRS, "a replayed or stale quote");
	f.attest.extraData.buffer[0] ^= 1;

	f.attest.magic ^= 1;
	expect_refused(&f, NULL, SHA256_ONLY, LAUNCH_PCRS, "not a quote the TPM generated");
	f.attest.magic ^= 1;

	expect_refused(&f, NULL, HASH_BANK(HASH_SHA384), LAUNCH_PCRS,
		       "does not cover PCR 17 in bank sha384 (the quote has no such bank)");
	expect_refused(&f, NULL, SHA256_ONLY, LAUNCH_PCRS | (1u << 4),
		       "does not cover PCR 4 in bank sha256");
	f.extra_pcr = "23";
	expect_refused(&f, NULL, SHA256_ONLY, LAUNCH_PCRS, "reports PCRs the quote does not cover");
	f.extra_pcr = NULL;
	fixture_free(&f);
}

/* The evidence's PCR values changed after the TPM signed their digest. */
static void test_altered_pcrs(void)
{
	struct attest_evidence ev;
	struct fixture f;
	char *text;
	struct attest_error err = { "" };
	struct attest_require req = { SHA256_ONLY, LAUNCH_PCRS };

	fixture_init(&f, false);
	set_pcr_digest(&f);
	f.pcrs.value[HASH_SHA256][22][0] ^= 1;
	text = build(&f);
	CHECK(attest_evidence_parse((const uint8_t *)text, strlen(text), &ev, &err) == 0, "parse");
	CHECK(attest_quote_check(&ev, &f.ak, nonce, sizeof(nonce), &req, &err) < 0 &&
		      strstr(err.why, "not the ones the TPM quoted"), "altered PCR: %s", err.why);
	attest_evidence_free(&ev);
	free(text);
	fixture_free(&f);
}

/* Malformed documents: each refused with the field it names. */
static void test_parse_refusals(void)
{
	static const struct {
		const char *from, *to, *what;
	} edits[] = {
		{ "\"evidence\"", "\"enroll\"", "/sll_attest" },
		{ "\"version\": 1", "\"version\": 2", "/version" },
		{ "\"17\"", "\"017\"", "/pcrs/sha1/017: not a PCR index" },
		{ "\"sha256\": {", "\"sm3\": {", "/pcrs/sm3: not a bank" },
		{ "\"quote\": \"", "\"quote\": \"00", "/quote: not a TPMS_ATTEST" },
		{ "\"signature\": \"", "\"signature\": \"zz", "/signature: not hex" },
		{ "\"nonce\": \"", "\"nonce\": \"00\", \"x\": \"", "/nonce: 2 hex digits: not 8 to 64 bytes" },
		{ "{", "[", "not one JSON document" },
	};
	struct fixture f;

	fixture_init(&f, false);
	set_pcr_digest(&f);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *text = build(&f), *at = strstr(text, edits[i].from), *edited;
		struct attest_error err = { "" };
		struct attest_evidence ev;

		CHECK(at != NULL, "fixture holds %s", edits[i].from);
		if (!at) {
			free(text);
			continue;
		}
		CHECK(asprintf(&edited, "%.*s%s%s", (int)(at - text), text, edits[i].to,
			       at + strlen(edits[i].from)) > 0, "asprintf");
		CHECK(attest_evidence_parse((const uint8_t *)edited, strlen(edited), &ev, &err) < 0 &&
			      strstr(err.why, edits[i].what),
		      "edit %s -> %s refused with \"%s\": got \"%s\"", edits[i].from, edits[i].to,
		      edits[i].what, err.why);
		free(edited);
		free(text);
	}
	fixture_free(&f);
}

static void test_ak_template(void)
{
	struct attest_error err = { "" };
	struct fixture f;
	TPM2B_PUBLIC ak;

	fixture_init(&f, false);
	ak = f.ak;
	ak.publicArea.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	CHECK(attest_ak_check(&ak, &err) < 0 && strstr(err.why, "not a restricted signing key"),
	      "an unrestricted key (it could sign a forged quote) is refused: %s", err.why);
	ak = f.ak;
	ak.publicArea.objectAttributes &= ~TPMA_OBJECT_FIXEDTPM;
	CHECK(attest_ak_check(&ak, &err) < 0, "a key that can leave its TPM is refused");
	ak = f.ak;
	ak.publicArea.objectAttributes |= TPMA_OBJECT_DECRYPT;
	CHECK(attest_ak_check(&ak, &err) < 0, "a decrypting key is refused");
	ak = f.ak;
	ak.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA1;
	CHECK(attest_ak_check(&ak, &err) < 0, "an ECDSA-SHA1 AK is refused");
	fixture_free(&f);
}

/* The verdict on the fixture's (checked) evidence against one candidate: the launch slinit
 * would record for kernel bytes kernel_bytes, the policy's serial, and the floor. */
static void verdict_of(struct fixture *f, const char *kernel_bytes, int64_t floor,
		       struct attest_verdict *v, char *why, size_t why_size)
{
	struct attest_candidate cand = { .policy_file = "policy.json", .serial = f->pol.serial,
					 .entry = &f->pol.entries[0] };
	const unsigned banks = HASH_BANK(HASH_SHA1) | HASH_BANK(HASH_SHA256);
	const char *text = f->policy_text;
	struct event_list log = { 0 };
	struct attest_evidence ev;
	struct digest_set kernel;

	cand.below_floor = cand.serial < floor;
	digest_buffer(banks, kernel_bytes, strlen(kernel_bytes), &kernel);
	sequence_init(&cand.seq, banks, true);
	sequence_policy(&cand.seq, (const uint8_t *)text, strlen(text), "/slaunch/policy.json");
	sequence_entry(&cand.seq, &f->pol.entries[0], &kernel, NULL);
	sequence_separator(&cand.seq);
	CHECK(check(f, NULL, SHA256_ONLY, LAUNCH_PCRS, &ev, why, why_size) == 0, "quote: %s", why);
	CHECK(attest_verdict_decide(&ev, SHA256_ONLY, true, &cand, 1, floor, &log, v) == 0,
	      "decide");
	snprintf(why, why_size, "%s", v->reason);
	CHECK(!v->accepted || v->match == &cand, "the match is the candidate");
	v->match = NULL;
	event_list_free(&log);
	attest_evidence_free(&ev);
	sequence_free(&cand.seq);
}

static void test_verdicts(void)
{
	struct attest_verdict v;
	struct fixture f;
	char why[1024];

	fixture_init(&f, false);
	verdict_of(&f, "kernel bytes", INT64_MIN, &v, why, sizeof(why));
	CHECK(v.accepted, "the predicted launch is accepted: %s", why);
	verdict_of(&f, "other kernel", INT64_MIN, &v, why, sizeof(why));
	CHECK(!v.accepted && strstr(why, "event 2 (PCR 22, \"sll: kernel /vmlinuz\") differs from "
				       "every accepted launch"), "another kernel: %s", why);
	verdict_of(&f, "kernel bytes", 8, &v, why, sizeof(why));
	CHECK(!v.accepted && strstr(why, "(serial 7), below the anti-rollback floor 8"),
	      "a policy under the floor: %s", why);

	/* A log whose kernel digest was swapped for the accepted one's after the launch. */
	f.seq.events.events[1].digests.d[HASH_SHA256][0] ^= 1;
	free(f.log);
	eventlog_encode(&f.seq.events, f.seq.banks, &f.log, &f.log_len);
	verdict_of(&f, "kernel bytes", INT64_MIN, &v, why, sizeof(why));
	CHECK(!v.accepted && strstr(why, "does not replay to the quoted PCR 22 (sha256)"),
	      "an altered log: %s", why);
	free(f.log);
	f.log = NULL;
	verdict_of(&f, "kernel bytes", INT64_MIN, &v, why, sizeof(why));
	CHECK(!v.accepted && strstr(why, "/eventlog: missing"), "no log: %s", why);
	fixture_free(&f);

	fixture_init(&f, true);
	verdict_of(&f, "kernel bytes", INT64_MIN, &v, why, sizeof(why));
	CHECK(!v.accepted && strstr(why, "the launch failed and capped its PCRs (event 2: \"sll: "
				       "failure: kernel /vmlinuz: not allowed\")"),
	      "a capped launch: %s", why);
	fixture_free(&f);
}

int main(void)
{
	test_quote_checks();
	test_altered_pcrs();
	test_parse_refusals();
	test_ak_template();
	test_verdicts();
	return check_summary("test-attest");
}
