/* sll-attest: the attested machine's side of remote attestation. enroll prints the EK
 * certificate and the AK, activate recovers a verifier's credential secret, quote prints
 * signed PCR evidence. The keys are primaries of the endorsement hierarchy, recreated
 * identically on every run: nothing is stored in the TPM or on the machine. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <tss2/tss2_mu.h>

#include "attest-tpm.h"
#include "cleanup.h"
#include "eventlog.h"
#include "fileio.h"
#include "hex.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define FORMAT_VERSION 1
#define DEFAULT_TCTI "device:/dev/tpmrm0"
#define DEFAULT_PCRS "4,7,12,13,17,18,19,20,21,22"
#define NONCE_MIN 8
#define NONCE_MAX 64
/* A credential is two small TPM2Bs in hex: anything near this is not one. */
#define CREDENTIAL_MAX_SIZE 65536

/* Where slinit leaves its event log for the runtime OS, in the order tried. */
static const char *const eventlog_paths[] = { "/sll/eventlog.bin", "/run/sll/eventlog.bin" };

static const char usage_text[] =
	"usage: sll-attest COMMAND [OPTIONS]\n"
	"\n"
	"  enroll [--tcti CONF] [--out FILE]\n"
	"      print the EK certificate (NV 0x01c00002), the EK's and the AK's public areas and\n"
	"      the AK's name, for the verifier's enrollment\n"
	"  activate CREDENTIAL [--tcti CONF] [--out FILE]\n"
	"      recover the secret of a verifier's credential (TPM2_ActivateCredential with the\n"
	"      EK and the AK); prints it as certinfo\n"
	"  quote --nonce HEX [--bank BANK]... [--pcrs LIST] [--eventlog FILE|none]\n"
	"      [--tcti CONF] [--out FILE]\n"
	"      print evidence: the AK's quote of the PCRs (default sha256, PCRs\n"
	"      " DEFAULT_PCRS "), their values and the event log\n"
	"      (default /sll/eventlog.bin, else /run/sll/eventlog.bin)\n"
	"\n"
	"CONF: a tctildr configuration (device:/dev/tpmrm0, swtpm:host=H,port=P); default\n"
	"$TPM2TOOLS_TCTI, else " DEFAULT_TCTI ". Output is JSON on stdout, or in FILE.\n"
	"Exit codes: 0 ok, 1 refused or failed, 2 usage error.\n";

/* Everything any command takes; each command lets through only its own options. */
struct args {
	const char *tcti, *out, *nonce, *pcrs, *eventlog, *positional;
	unsigned banks; /* bit i: attest_banks[i] */
};

static int fail(const char *what, const char *reason)
{
	fprintf(stderr, "sll-attest: %s: %s\n", what, reason);
	return EXIT_REFUSED;
}

static int usage_error(const char *cmd, const char *what, const char *arg)
{
	fprintf(stderr, "sll-attest: %s: %s%s (see sll-attest --help)\n", cmd, what, arg);
	return EXIT_USAGE;
}

static int add_bank(const char *cmd, const char *name, unsigned *banks)
{
	for (unsigned i = 0; i < ATTEST_BANK_COUNT; i++)
		if (strcmp(name, attest_banks[i].name) == 0) {
			*banks |= 1u << i;
			return -1;
		}
	return usage_error(cmd, "unknown bank ", name);
}

/* -1 to go on, or the exit status (--help, usage errors). */
static int parse_args(const char *cmd, const struct option *opts, int argc, char **argv,
		      struct args *a)
{
	int c, r;

	opterr = 0; /* our own one-line messages */
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'h': fputs(usage_text, stdout); return 0;
		case 't': a->tcti = optarg; break;
		case 'o': a->out = optarg; break;
		case 'n': a->nonce = optarg; break;
		case 'p': a->pcrs = optarg; break;
		case 'e': a->eventlog = optarg; break;
		case 'b':
			if ((r = add_bank(cmd, optarg, &a->banks)) >= 0)
				return r;
			break;
		case ':': return usage_error(cmd, "missing value of ", argv[optind - 1]);
		default: return usage_error(cmd, "unknown option ", argv[optind - 1]);
		}
	}
	if (optind < argc)
		a->positional = argv[optind++];
	if (optind < argc)
		return usage_error(cmd, "unexpected argument ", argv[optind]);
	if (!a->tcti || !*a->tcti)
		a->tcti = getenv("TPM2TOOLS_TCTI");
	if (!a->tcti || !*a->tcti)
		a->tcti = DEFAULT_TCTI;
	return -1;
}

/* Adds key: lower-case hex of the n bytes at v. */
static int add_hex(json_object *obj, const char *key, const uint8_t *v, size_t n)
{
	_cleanup_free_ char *text = malloc(2 * n + 1);
	json_object *s;

	if (!text)
		return -ENOMEM;
	hex_encode(v, n, text);
	s = json_object_new_string_len(text, (int)(2 * n));
	if (!s || json_object_object_add(obj, key, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

/* {"sll_attest": kind, "version": 1}, the head of every document. */
static json_object *new_document(const char *kind)
{
	json_object *doc = json_object_new_object();

	if (doc &&
	    (json_object_object_add(doc, "sll_attest", json_object_new_string(kind)) < 0 ||
	     json_object_object_add(doc, "version", json_object_new_int(FORMAT_VERSION)) < 0)) {
		json_object_put(doc);
		return NULL;
	}
	return doc;
}

/* FILE.new, then renamed (policy/fileio.c): a reader never sees half a document. */
static int write_file(const char *path, const char *text)
{
	_cleanup_free_ char *line = NULL;
	int r;

	if (asprintf(&line, "%s\n", text) < 0)
		return fail(path, strerror(ENOMEM));
	r = file_write_replace(path, line, strlen(line));
	return r < 0 ? fail(path, strerror(-r)) : 0;
}

/* Prints doc (NULL: out of memory while building it) and releases it. */
static int output(json_object *doc, const char *out)
{
	const char *text = doc ? json_object_to_json_string_ext(
					 doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						      JSON_C_TO_STRING_NOSLASHESCAPE)
			       : NULL;
	int r = 0;

	if (!text)
		r = fail("output", strerror(ENOMEM));
	else if (out)
		r = write_file(out, text);
	else if (puts(text) < 0 || fflush(stdout) != 0)
		r = fail("stdout", strerror(errno));
	json_object_put(doc);
	return r;
}

/* The TPM2B_PUBLIC with its size field, as Tss2_MU_TPM2B_PUBLIC_Marshal writes it. */
static int add_public(json_object *doc, const char *key, const TPM2B_PUBLIC *pub)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t len = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &len) != TSS2_RC_SUCCESS)
		return -EINVAL;
	return add_hex(doc, key, buf, len);
}

/* The options of the commands that take none of their own (enroll, activate). */
static const struct option tpm_out_opts[] = {
	{ "tcti", required_argument, NULL, 't' },
	{ "out", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static int cmd_enroll(int argc, char **argv)
{
	struct args a = { 0 };
	struct attest_tpm *tpm = NULL;
	_cleanup_free_ uint8_t *cert = NULL;
	size_t cert_len = 0;
	TPM2B_PUBLIC ek_pub = { 0 }, ak_pub = { 0 };
	TPM2B_NAME ak_name = { 0 };
	TPM2_HANDLE ek = 0, ak = 0;
	json_object *doc;
	int r = parse_args("enroll", tpm_out_opts, argc, argv, &a);

	if (r >= 0)
		return r;
	if (a.positional)
		return usage_error("enroll", "unexpected argument ", a.positional);
	if (attest_tpm_open(a.tcti, &tpm) < 0)
		return EXIT_REFUSED;
	r = attest_read_ek_cert(tpm, &cert, &cert_len);
	if (r == 0)
		r = attest_create_ek(tpm, &ek, &ek_pub);
	if (r == 0)
		r = attest_create_ak(tpm, &ak, &ak_pub, &ak_name);
	attest_tpm_close(tpm);
	if (r < 0)
		return EXIT_REFUSED;
	doc = new_document("enroll");
	if (doc && (add_hex(doc, "ek_certificate", cert, cert_len) < 0 ||
		    add_public(doc, "ek_public", &ek_pub) < 0 ||
		    add_public(doc, "ak_public", &ak_pub) < 0 ||
		    add_hex(doc, "ak_name", ak_name.name, ak_name.size) < 0)) {
		json_object_put(doc);
		doc = NULL;
	}
	return output(doc, a.out);
}

/* A field of the credential: hex of a marshalled TPM2B, nothing after it. unmarshal is
 * Tss2_MU_<type>_Unmarshal. */
typedef TSS2_RC (*unmarshal_fn)(const uint8_t *buf, size_t len, size_t *off, void *dest);

static int credential_field(const char *path, json_object *doc, const char *key, const char *type,
			    unmarshal_fn unmarshal, void *dest)
{
	/* Room for any marshalled TPM2B_ID_OBJECT or TPM2B_ENCRYPTED_SECRET, and then some. */
	uint8_t bytes[2 * sizeof(TPM2B_ENCRYPTED_SECRET)];
	char what[4200], reason[80];
	json_object *v;
	size_t n, off = 0;

	snprintf(what, sizeof(what), "%s: %s", path, key);
	if (!json_object_object_get_ex(doc, key, &v))
		return fail(what, "missing");
	if (!json_object_is_type(v, json_type_string))
		return fail(what, "not a string");
	n = (size_t)json_object_get_string_len(v) / 2;
	if ((size_t)json_object_get_string_len(v) % 2 ||
	    hex_decode(json_object_get_string(v), n < sizeof(bytes) ? n : sizeof(bytes), true,
		       bytes) < 0)
		return fail(what, "bad hex");
	if (n > sizeof(bytes)) {
		snprintf(reason, sizeof(reason), "%zu bytes: longer than any %s", n, type);
		return fail(what, reason);
	}
	if (unmarshal(bytes, n, &off, dest) != TSS2_RC_SUCCESS) {
		snprintf(reason, sizeof(reason), "not a marshalled %s", type);
		return fail(what, reason);
	}
	if (off != n) {
		snprintf(reason, sizeof(reason), "%zu trailing bytes after the %s", n - off, type);
		return fail(what, reason);
	}
	return 0;
}

/* The document's kind and version, and no key it does not know. */
static int check_head(const char *path, json_object *doc, const char *kind, const char *const *keys)
{
	char what[4200];
	json_object *v;

	json_object_object_foreach(doc, key, val) {
		bool known = false;

		(void)val;
		for (const char *const *k = keys; *k; k++)
			known |= strcmp(key, *k) == 0;
		snprintf(what, sizeof(what), "%s: %s", path, key);
		if (!known)
			return fail(what, "unknown field");
	}
	snprintf(what, sizeof(what), "%s: sll_attest", path);
	if (!json_object_object_get_ex(doc, "sll_attest", &v))
		return fail(what, "missing");
	if (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), kind) != 0) {
		char reason[80];

		snprintf(reason, sizeof(reason), "not \"%s\"", kind);
		return fail(what, reason);
	}
	snprintf(what, sizeof(what), "%s: version", path);
	if (!json_object_object_get_ex(doc, "version", &v))
		return fail(what, "missing");
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != FORMAT_VERSION)
		return fail(what, "unsupported version (this sll-attest reads version 1)");
	return 0;
}

static json_object *parse_json_file(const char *path, size_t cap)
{
	_cleanup_free_ uint8_t *buf = NULL;
	json_object *doc;
	json_tokener *tok;
	size_t len = 0;
	int r = file_read_all(path, cap, &buf, &len);

	if (r < 0) {
		fail(path, r == -E2BIG ? "too large" : strerror(-r));
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		fail(path, strerror(ENOMEM));
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	doc = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	if (!doc || json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(doc, json_type_object)) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		fail(path, !doc && jerr != json_tokener_success ? json_tokener_error_desc(jerr)
			   : doc && json_tokener_get_parse_end(tok) != len
				   ? "data after the JSON document"
				   : "not a JSON object");
		json_object_put(doc);
		doc = NULL;
	}
	json_tokener_free(tok);
	return doc;
}

static TSS2_RC unmarshal_id_object(const uint8_t *buf, size_t len, size_t *off, void *dest)
{
	return Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(buf, len, off, dest);
}

static TSS2_RC unmarshal_secret(const uint8_t *buf, size_t len, size_t *off, void *dest)
{
	return Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(buf, len, off, dest);
}

static int load_credential(const char *path, TPM2B_ID_OBJECT *blob, TPM2B_ENCRYPTED_SECRET *secret)
{
	static const char *const keys[] = { "sll_attest", "version", "credential_blob", "secret",
					    NULL };
	json_object *doc = parse_json_file(path, CREDENTIAL_MAX_SIZE);
	int r;

	if (!doc)
		return EXIT_REFUSED;
	r = check_head(path, doc, "credential", keys);
	if (r == 0)
		r = credential_field(path, doc, "credential_blob", "TPM2B_ID_OBJECT",
				     unmarshal_id_object, blob);
	if (r == 0)
		r = credential_field(path, doc, "secret", "TPM2B_ENCRYPTED_SECRET",
				     unmarshal_secret, secret);
	json_object_put(doc);
	return r;
}

static int cmd_activate(int argc, char **argv)
{
	struct args a = { 0 };
	struct attest_tpm *tpm = NULL;
	TPM2B_ID_OBJECT blob = { 0 };
	TPM2B_ENCRYPTED_SECRET secret = { 0 };
	TPM2B_PUBLIC ek_pub = { 0 }, ak_pub = { 0 };
	TPM2B_DIGEST certinfo = { 0 };
	TPM2_HANDLE ek = 0, ak = 0;
	json_object *doc;
	int r = parse_args("activate", tpm_out_opts, argc, argv, &a);

	if (r >= 0)
		return r;
	if (!a.positional)
		return usage_error("activate", "missing CREDENTIAL file", "");
	if (load_credential(a.positional, &blob, &secret) != 0)
		return EXIT_REFUSED;
	if (attest_tpm_open(a.tcti, &tpm) < 0)
		return EXIT_REFUSED;
	r = attest_create_ek(tpm, &ek, &ek_pub);
	if (r == 0)
		r = attest_create_ak(tpm, &ak, &ak_pub, NULL);
	if (r == 0)
		r = attest_activate(tpm, ak, ek, &blob, &secret, &certinfo);
	attest_tpm_close(tpm);
	if (r < 0)
		return EXIT_REFUSED;
	doc = new_document("activated");
	if (doc && add_hex(doc, "certinfo", certinfo.buffer, certinfo.size) < 0) {
		json_object_put(doc);
		doc = NULL;
	}
	return output(doc, a.out);
}

/* "4,7,12-13": numbers and ranges below ATTEST_PCR_COUNT. */
static int parse_pcr_list(const char *s, uint32_t *ret_mask)
{
	uint32_t mask = 0;

	for (const char *p = s;; p++) {
		unsigned long lo, hi;
		char *end;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		lo = hi = strtoul(p, &end, 10);
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			hi = strtoul(p, &end, 10);
		}
		if (lo > hi || hi >= ATTEST_PCR_COUNT)
			return -EINVAL;
		for (unsigned long i = lo; i <= hi; i++)
			mask |= 1u << i;
		p = end;
		if (*p == '\0')
			break;
		if (*p != ',')
			return -EINVAL;
	}
	*ret_mask = mask;
	return 0;
}

/* The quote's inputs, checked before the TPM is opened. */
struct quote_input {
	TPM2B_DATA nonce;
	TPML_PCR_SELECTION sel;
	unsigned bank_index[ATTEST_BANK_COUNT]; /* of each selection, in attest_banks */
	uint32_t pcrs;
	uint8_t *eventlog; /* NULL: --eventlog none */
	size_t eventlog_len;
};

static int quote_selection(const struct args *a, struct quote_input *in)
{
	unsigned banks = a->banks ? a->banks : 1u << 1; /* sha256 */
	size_t n = a->nonce ? strlen(a->nonce) : 0;

	if (!a->nonce)
		return usage_error("quote", "--nonce HEX is required", "");
	if (n % 2 || n / 2 < NONCE_MIN || n / 2 > NONCE_MAX ||
	    hex_decode(a->nonce, n / 2, true, in->nonce.buffer) < 0)
		return usage_error("quote", "--nonce: not 8 to 64 bytes of hex: ", a->nonce);
	in->nonce.size = (UINT16)(n / 2);
	if (parse_pcr_list(a->pcrs ? a->pcrs : DEFAULT_PCRS, &in->pcrs) < 0)
		return usage_error("quote",
				   "--pcrs: not a list of PCRs 0-23 such as 4,7,17-22: ", a->pcrs);
	for (unsigned i = 0; i < ATTEST_BANK_COUNT; i++) {
		TPMS_PCR_SELECTION *s = &in->sel.pcrSelections[in->sel.count];

		if (!(banks & (1u << i)))
			continue;
		s->hash = attest_banks[i].alg;
		s->sizeofSelect = 3;
		for (unsigned b = 0; b < 3; b++)
			s->pcrSelect[b] = (uint8_t)(in->pcrs >> (8 * b));
		in->bank_index[in->sel.count++] = i;
	}
	return -1;
}

/* --eventlog FILE, none, or the first of eventlog_paths there is. */
static int quote_eventlog(const char *arg, struct quote_input *in)
{
	const char *path = arg;
	int r;

	if (arg && strcmp(arg, "none") == 0)
		return 0;
	for (size_t i = 0; !path && i < sizeof(eventlog_paths) / sizeof(eventlog_paths[0]); i++)
		if (access(eventlog_paths[i], F_OK) == 0)
			path = eventlog_paths[i];
	if (!path)
		return fail("quote", "no event log: give --eventlog FILE, or --eventlog none");
	r = file_read_all(path, EVENTLOG_MAX_SIZE, &in->eventlog, &in->eventlog_len);
	if (r == -E2BIG)
		return fail(path, "larger than the event log limit of 16 MiB");
	if (r < 0)
		return fail(path, strerror(-r));
	return 0;
}

/* {"sha256": {"4": HEX, ...}, ...}: banks in selection order, PCRs ascending. */
static json_object *pcrs_json(const struct quote_input *in, const struct attest_pcr_values *v)
{
	json_object *all = json_object_new_object();

	for (uint32_t i = 0; all && i < in->sel.count; i++) {
		const struct attest_bank *bank = &attest_banks[in->bank_index[i]];
		json_object *one = json_object_new_object();
		char key[4];

		if (!one || json_object_object_add(all, bank->name, one) < 0) {
			json_object_put(one);
			json_object_put(all);
			return NULL;
		}
		for (unsigned pcr = 0; pcr < ATTEST_PCR_COUNT; pcr++) {
			if (!(in->pcrs & (1u << pcr)))
				continue;
			snprintf(key, sizeof(key), "%u", pcr);
			if (add_hex(one, key, v->v[i][pcr].buffer, v->v[i][pcr].size) < 0) {
				json_object_put(all);
				return NULL;
			}
		}
	}
	return all;
}

static json_object *evidence_json(const struct quote_input *in, const TPM2B_PUBLIC *ak_pub,
				  const TPM2B_ATTEST *quote, const TPMT_SIGNATURE *sig,
				  const struct attest_pcr_values *values)
{
	json_object *doc = new_document("evidence"), *pcrs;
	uint8_t sig_buf[sizeof(TPMT_SIGNATURE)];
	size_t sig_len = 0;

	if (!doc)
		return NULL;
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sig_buf, sizeof(sig_buf), &sig_len) !=
		    TSS2_RC_SUCCESS ||
	    add_hex(doc, "nonce", in->nonce.buffer, in->nonce.size) < 0 ||
	    add_public(doc, "ak_public", ak_pub) < 0 ||
	    add_hex(doc, "quote", quote->attestationData, quote->size) < 0 ||
	    add_hex(doc, "signature", sig_buf, sig_len) < 0 || !(pcrs = pcrs_json(in, values)) ||
	    json_object_object_add(doc, "pcrs", pcrs) < 0 ||
	    (in->eventlog && add_hex(doc, "eventlog", in->eventlog, in->eventlog_len) < 0)) {
		json_object_put(doc);
		return NULL;
	}
	return doc;
}

static int cmd_quote(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nonce", required_argument, NULL, 'n' },
		{ "bank", required_argument, NULL, 'b' },
		{ "pcrs", required_argument, NULL, 'p' },
		{ "eventlog", required_argument, NULL, 'e' },
		{ "tcti", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct args a = { 0 };
	struct quote_input in = { 0 };
	struct attest_tpm *tpm = NULL;
	struct attest_pcr_values values;
	TPM2B_PUBLIC ak_pub = { 0 };
	TPM2B_ATTEST quote;
	TPMT_SIGNATURE sig;
	TPM2_HANDLE ak = 0;
	int r = parse_args("quote", opts, argc, argv, &a);

	if (r >= 0)
		return r;
	if (a.positional)
		return usage_error("quote", "unexpected argument ", a.positional);
	if ((r = quote_selection(&a, &in)) >= 0)
		return r;
	if (quote_eventlog(a.eventlog, &in) != 0)
		return EXIT_REFUSED;
	if (attest_tpm_open(a.tcti, &tpm) < 0) {
		free(in.eventlog);
		return EXIT_REFUSED;
	}
	r = attest_create_ak(tpm, &ak, &ak_pub, NULL);
	if (r == 0)
		r = attest_quote(tpm, ak, &in.nonce, &in.sel, &quote, &sig, &values);
	attest_tpm_close(tpm);
	if (r == 0)
		r = output(evidence_json(&in, &ak_pub, &quote, &sig, &values), a.out);
	else
		r = EXIT_REFUSED;
	free(in.eventlog);
	return r;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "enroll", cmd_enroll },
	{ "activate", cmd_activate },
	{ "quote", cmd_quote },
};

int main(int argc, char **argv)
{
	/* tpm2-tss logs its own failures on stderr: ours are the one line each (TSS2_LOG set
	 * by the user still wins, to debug). */
	setenv("TSS2_LOG", "all+none", 0);
	if (argc < 2)
		return usage_error("usage", "missing COMMAND", "");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage_error("usage", "unknown command ", argv[1]);
}
