/* slpolicy attest: nonce, enroll, trust (here) and verify (cmd-attest-verify.c). Enrollment
 * is two steps around the machine's `sll-attest activate`: enroll checks the EK certificate
 * and makes a credential for the AK; trust checks the secret the TPM recovered from it and
 * writes the machine file verify trusts. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "cleanup.h"
#include "fileio.h"
#include "hex.h"
#include "slpolicy.h"

#define MAX_CA 16
#define SECRET_SIZE 32

static int print_nonce(void)
{
	uint8_t nonce[32];
	char hex[2 * sizeof(nonce) + 1];

	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		fprintf(stderr, "slpolicy: attest nonce: no random bytes\n");
		return EXIT_REFUSED;
	}
	hex_encode(nonce, sizeof(nonce), hex);
	printf("%s\n", hex);
	return 0;
}

static void add_hex(struct json_object *o, const char *field, const uint8_t *v, size_t n)
{
	_cleanup_free_ char *hex = malloc(2 * n + 1);

	if (!hex)
		abort(); /* a few KiB: out of memory here is not a state worth handling */
	hex_encode(v, n, hex);
	json_object_object_add(o, field, json_object_new_string(hex));
}

static void add_public(struct json_object *o, const char *field, const TPM2B_PUBLIC *pub)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t len = 0;

	attest_public_marshal(pub, buf, &len);
	add_hex(o, field, buf, len);
}

static struct json_object *new_doc(const char *kind)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "sll_attest", json_object_new_string(kind));
	json_object_object_add(o, "version", json_object_new_int(ATTEST_VERSION));
	return o;
}

/* Writes the document to path (through path.tmp and a rename) and frees it. */
static int write_doc(struct json_object *o, const char *path)
{
	_cleanup_free_ char *text = NULL;
	int r = asprintf(&text, "%s\n", json_object_to_json_string_ext(
				 o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));

	r = r < 0 ? -ENOMEM : file_write_replace(path, text, strlen(text));

	json_object_put(o);
	if (r < 0)
		fprintf(stderr, "slpolicy: %s: %s\n", path, strerror(-r));
	return r;
}

static int sha256_hex(const uint8_t *v, size_t n, char out[65])
{
	struct digest_set d;

	if (digest_buffer(HASH_BANK(HASH_SHA256), v, n, &d) < 0)
		return -ENOMEM;
	digest_hex(&d, HASH_SHA256, out);
	return 0;
}

struct enroll_args {
	const char *machine, *credential, *pending;
	const char *ca[MAX_CA];
	size_t n_ca;
};

static int parse_enroll(int argc, char **argv, struct enroll_args *a)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ "credential", required_argument, NULL, 'o' },
		{ "pending", required_argument, NULL, 'p' },
		{ 0 },
	};
	int c;

	*a = (struct enroll_args){ 0 };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c' && a->n_ca < MAX_CA)
			a->ca[a->n_ca++] = optarg;
		else if (c == 'o')
			a->credential = optarg;
		else if (c == 'p')
			a->pending = optarg;
		else
			return usage_error("bad option for attest enroll (or over %s --ca)", "16");
	}
	if (optind != argc - 1 || !a->n_ca || !a->credential || !a->pending)
		return usage_error("attest enroll needs ENROLL.json, --ca FILE, --credential FILE "
				   "and --pending FILE%s", "");
	a->machine = argv[optind];
	return 0;
}

/* The machine's enroll document, checked: its EK certificate, EK and AK. */
static int load_enroll(const struct enroll_args *a, TPM2B_PUBLIC *ek, TPM2B_PUBLIC *ak,
		       char cert_sha256[65])
{
	_cleanup_free_ uint8_t *cert = NULL;
	struct json_object *doc = NULL;
	struct attest_error err = { "" };
	size_t cert_len;
	int r;

	r = attest_doc_load(a->machine, "enroll", &doc, &err);
	if (r >= 0)
		r = attest_doc_public(doc, "ek_public", ek, &err);
	if (r >= 0)
		r = attest_doc_public(doc, "ak_public", ak, &err);
	if (r >= 0)
		r = attest_doc_hex(doc, "ek_certificate", 1, 65536, &cert, &cert_len, &err);
	if (r >= 0)
		r = attest_ek_check(cert, cert_len, a->ca, a->n_ca, ek, &err);
	if (r >= 0)
		r = attest_ak_check(ak, &err);
	if (r >= 0)
		r = sha256_hex(cert, cert_len, cert_sha256);
	json_object_put(doc);
	if (r < 0)
		printf("%s: %s\n", a->machine, err.why);
	return r;
}

static int cmd_enroll(int argc, char **argv)
{
	uint8_t secret[SECRET_SIZE], buf[sizeof(TPM2B_ID_OBJECT) + sizeof(TPM2B_ENCRYPTED_SECRET)];
	TPM2B_PUBLIC ek, ak;
	TPM2B_NAME name;
	TPM2B_ID_OBJECT blob;
	TPM2B_ENCRYPTED_SECRET wrapped;
	struct attest_error err = { "" };
	struct enroll_args a;
	struct json_object *o;
	char cert_sha256[65], secret_sha256[65];
	size_t len = 0;
	int r = parse_enroll(argc, argv, &a);

	if (r)
		return r;
	if (load_enroll(&a, &ek, &ak, cert_sha256) < 0)
		return EXIT_REFUSED;
	if (attest_public_name(&ak, &name) < 0 || RAND_bytes(secret, sizeof(secret)) != 1 ||
	    sha256_hex(secret, sizeof(secret), secret_sha256) < 0 ||
	    attest_make_credential(&ek, &name, secret, sizeof(secret), &blob, &wrapped, &err) < 0) {
		fprintf(stderr, "slpolicy: attest enroll: cannot make the credential\n");
		return EXIT_REFUSED;
	}
	o = new_doc("credential");
	Tss2_MU_TPM2B_ID_OBJECT_Marshal(&blob, buf, sizeof(buf), &len);
	add_hex(o, "credential_blob", buf, len);
	len = 0;
	Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&wrapped, buf, sizeof(buf), &len);
	add_hex(o, "secret", buf, len);
	if (write_doc(o, a.credential) < 0)
		return EXIT_REFUSED;
	/* Pending: what trust needs, and only the secret's hash (the answer must come from the
	 * TPM, not from this file). */
	o = new_doc("pending");
	add_public(o, "ek_public", &ek);
	add_public(o, "ak_public", &ak);
	json_object_object_add(o, "ek_certificate_sha256", json_object_new_string(cert_sha256));
	json_object_object_add(o, "secret_sha256", json_object_new_string(secret_sha256));
	return write_doc(o, a.pending) < 0 ? EXIT_REFUSED : 0;
}

/* slpolicy attest trust PENDING ACTIVATED --out MACHINE */
static int cmd_trust(int argc, char **argv)
{
	static const struct option opts[] = { { "out", required_argument, NULL, 'o' }, { 0 } };
	struct json_object *pending = NULL, *activated = NULL, *v, *o;
	uint8_t secret[64];
	char secret_sha256[65];
	struct attest_error err = { "" };
	TPM2B_PUBLIC ek, ak;
	const char *out = NULL, *file;
	size_t len;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'o')
			return usage_error("bad option for attest trust%s", "");
		out = optarg;
	}
	if (optind != argc - 2 || !out)
		return usage_error("attest trust needs PENDING.json ACTIVATED.json --out FILE%s", "");
	file = argv[optind];
	r = attest_doc_load(file, "pending", &pending, &err);
	if (r >= 0 && (r = attest_doc_public(pending, "ek_public", &ek, &err)) >= 0 &&
	    (r = attest_doc_public(pending, "ak_public", &ak, &err)) >= 0) {
		file = argv[optind + 1];
		r = attest_doc_load(file, "activated", &activated, &err);
	}
	if (r >= 0)
		r = attest_doc_hex_into(activated, "certinfo", 1, sizeof(secret), secret, &len, &err);
	if (r < 0) {
		printf("%s: %s\n", file, err.why);
	} else if (sha256_hex(secret, len, secret_sha256) < 0 ||
		   !json_object_object_get_ex(pending, "secret_sha256", &v) ||
		   strcmp(json_object_get_string(v), secret_sha256) != 0) {
		printf("%s: /certinfo: not the secret of the credential: the AK is not in the TPM "
		       "that holds this EK\n", file);
		r = -EBADMSG;
	} else {
		o = new_doc("machine");
		add_public(o, "ek_public", &ek);
		add_public(o, "ak_public", &ak);
		json_object_object_get_ex(pending, "ek_certificate_sha256", &v);
		json_object_object_add(o, "ek_certificate_sha256", json_object_get(v));
		r = write_doc(o, out);
	}
	json_object_put(pending);
	json_object_put(activated);
	return r < 0 ? EXIT_REFUSED : 0;
}

int cmd_attest(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	/* tss2-mu logs why it cannot unmarshal a structure on stderr: the refusal is our one
	 * line (TSS2_LOG set by the user still wins, to debug). */
	setenv("TSS2_LOG", "all+none", 0);
	if (strcmp(sub, "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(sub, "nonce") == 0 && argc == 2)
		return print_nonce();
	if (strcmp(sub, "enroll") == 0)
		return cmd_enroll(argc - 1, argv + 1);
	if (strcmp(sub, "trust") == 0)
		return cmd_trust(argc - 1, argv + 1);
	if (strcmp(sub, "verify") == 0)
		return cmd_attest_verify(argc - 1, argv + 1);
	return usage_error("attest needs nonce, enroll, trust or verify%s", "");
}
