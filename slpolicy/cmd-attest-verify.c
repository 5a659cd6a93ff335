/* slpolicy attest verify: an evidence file from sll-attest quote, checked against the enrolled
 * AK (attest-quote.c), then its event log against the launches the accepted policies predict
 * (policy/predict.c, as slpolicy predict) and the launcher's PCRs the admin gave. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "attest-verdict.h"
#include "cleanup.h"
#include "fileio.h"
#include "hex.h"
#include "policy.h"
#include "predict.h"
#include "signature.h"
#include "slpolicy.h"

#define MAX_POLICIES 16
#define MAX_PCR_VALUES 64
#define DEFAULT_POLICY_PATH "/slaunch/policy.json"

struct pcr_value {
	enum hash_alg alg;
	unsigned pcr;
	uint8_t value[HASH_MAX_SIZE];
};

struct verify_args {
	const char *evidence, *machine, *nonce_hex, *root, *sys, *pubkey, *policy_path, *batch;
	const char *policies[MAX_POLICIES];
	size_t n_policies;
	const char *pcr_args[MAX_PCR_VALUES];
	size_t n_pcr_args;
	struct pcr_value pcrs[MAX_PCR_VALUES];
	unsigned banks;
	bool drtm, json;
	int64_t min_serial;
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len;
};

/* The launcher's PCRs (not in SLL's log) the verifier must be given expected values for:
 * with DRTM the SL image (17) and what the launch measured of its command line (18); without,
 * the boot application (4) and Secure Boot (7). */
static uint32_t launcher_pcrs(bool drtm)
{
	return drtm ? (1u << 17) | (1u << 18) : (1u << 4) | (1u << 7);
}

static uint32_t required_pcrs(bool drtm)
{
	uint32_t sll = 0;

	for (unsigned pcr = PCR_AUTHORITY; pcr <= PCR_LAUNCH; pcr++)
		if (pcr != 20)
			sll |= 1u << sequence_pcr(drtm, pcr);
	return launcher_pcrs(drtm) | sll;
}

static int parse_pcr_values(struct verify_args *a)
{
	const char *why;
	char buf[256];

	for (size_t i = 0; i < a->n_pcr_args; i++) {
		const char *s = a->pcr_args[i];
		struct pcr_value *v = &a->pcrs[i];

		if (!strchr(s, ':') && !(a->banks & (a->banks - 1))) {
			snprintf(buf, sizeof(buf), "%s:%s", hash_alg_name(hash_alg_first(a->banks)),
				 s);
			s = buf;
		}
		if (parse_pcr_assignment(s, &v->alg, &v->pcr, v->value, &why) < 0)
			return usage_error("--pcr: %s", why);
		if (!(launcher_pcrs(a->drtm) & (1u << v->pcr)) || !(a->banks & HASH_BANK(v->alg)))
			return usage_error("--pcr %s: only the launcher's PCRs (17, 18 with DRTM; 4, 7 "
					   "without) in a --bank are given", a->pcr_args[i]);
	}
	FOR_EACH_BANK(alg, a->banks) {
		for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++) {
			bool given = false;

			if (!(launcher_pcrs(a->drtm) & (1u << pcr)))
				continue;
			for (size_t i = 0; i < a->n_pcr_args; i++)
				given |= a->pcrs[i].alg == alg && a->pcrs[i].pcr == pcr;
			if (!given)
				return usage_error("attest verify needs --pcr %s (the launcher's PCRs: "
						   "without them any SL image, launched by anything, "
						   "reproduces the SLL PCRs; take them with tpm2_pcrread in "
						   "a launched runtime OS)", a->drtm ? "17=HEX and --pcr "
						   "18=HEX" : "4=HEX and --pcr 7=HEX");
		}
	}
	return 0;
}

static int parse_nonce(const char *hex, uint8_t *out, size_t *ret_len)
{
	size_t len = strlen(hex);

	if (len % 2 || len / 2 < ATTEST_NONCE_MIN || len / 2 > ATTEST_NONCE_MAX ||
	    hex_decode(hex, len / 2, true, out) < 0)
		return -EINVAL;
	*ret_len = len / 2;
	return 0;
}

static int parse_option(int c, struct verify_args *a)
{
	char *end;

	switch (c) {
	case 'e': a->machine = optarg; return 0;
	case 'n': a->nonce_hex = optarg; return 0;
	case 'B': a->batch = optarg; return 0;
	case 'r': a->root = optarg; return 0;
	case 'S': a->sys = optarg; return 0;
	case 'K': a->pubkey = optarg; return 0;
	case 'P': a->policy_path = optarg; return 0;
	case 'D': a->drtm = false; return 0;
	case 'b': return slpolicy_add_bank(&a->banks, optarg) < 0 ? EXIT_USAGE : 0;
	case 'f':
		if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
			return usage_error("unknown --format %s (text, json)", optarg);
		a->json = strcmp(optarg, "json") == 0;
		return 0;
	case 'm':
		errno = 0;
		a->min_serial = strtoll(optarg, &end, 10);
		return errno || *end || end == optarg ? usage_error("bad --min-serial %s", optarg) : 0;
	case 'p':
		if (a->n_policies == MAX_POLICIES)
			return usage_error("more than %s --policy", "16");
		a->policies[a->n_policies++] = optarg;
		return 0;
	case 'c':
		if (a->n_pcr_args == MAX_PCR_VALUES)
			return usage_error("more than %s --pcr", "64");
		a->pcr_args[a->n_pcr_args++] = optarg;
		return 0;
	default: return usage_error("bad option for attest verify%s", "");
	}
}

static int parse_args(int argc, char **argv, struct verify_args *a)
{
	static const struct option opts[] = {
		{ "machine", required_argument, NULL, 'e' }, { "nonce", required_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'p' },  { "root", required_argument, NULL, 'r' },
		{ "sys", required_argument, NULL, 'S' },     { "pubkey", required_argument, NULL, 'K' },
		{ "policy-path", required_argument, NULL, 'P' }, { "no-drtm", no_argument, NULL, 'D' },
		{ "bank", required_argument, NULL, 'b' },    { "pcr", required_argument, NULL, 'c' },
		{ "min-serial", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'f' },  { "batch", required_argument, NULL, 'B' },
		{ 0 },
	};
	int c, r;

	*a = (struct verify_args){ .policy_path = DEFAULT_POLICY_PATH, .drtm = true,
				   .min_serial = INT64_MIN };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if ((r = parse_option(c, a)) != 0)
			return r;
	if (!a->n_policies || !a->root ||
	    (a->batch ? optind != argc || a->machine || a->nonce_hex :
			optind != argc - 1 || !a->machine || !a->nonce_hex))
		return usage_error("attest verify needs EVIDENCE.json, --machine FILE and --nonce HEX "
				   "(or --batch FILE instead of all three), --policy FILE and --root "
				   "DIR%s", "");
	if (!a->batch) {
		a->evidence = argv[optind];
		if (parse_nonce(a->nonce_hex, a->nonce, &a->nonce_len) < 0)
			return usage_error("--nonce %s: not 8 to 64 bytes of hex", a->nonce_hex);
	}
	if (!a->banks)
		a->banks = HASH_BANK(HASH_SHA256);
	return parse_pcr_values(a);
}

/* The accepted policies, each entry's launch predicted as slinit records it. */
struct accepted {
	struct {
		uint8_t *buf;
		size_t len;
		struct policy pol;
	} pols[MAX_POLICIES];
	size_t n_pols;
	struct attest_candidate cands[MAX_POLICIES * POLICY_MAX_ENTRIES];
	size_t n_cands;
};

/* With --pubkey, a policy is accepted only with a POLICY.sig that key verifies, as slinit
 * would: otherwise its launch never happens on an image built with that key. */
static int check_signed(const char *file, const uint8_t *buf, size_t len, const uint8_t *key,
			const char *pubkey)
{
	_cleanup_free_ char *sig_path = NULL;
	_cleanup_free_ uint8_t *sig = NULL;
	size_t sig_len = 0;

	if (asprintf(&sig_path, "%s%s", file, POLICY_SIGNATURE_SUFFIX) < 0)
		return -ENOMEM;
	if (file_read_all(sig_path, POLICY_SIGNATURES_MAX_SIZE, &sig,
			  &sig_len) < 0 || !signature_verify_any(key, buf, len, sig, sig_len)) {
		fprintf(stderr, "slpolicy: %s: no signature %s that %s verifies: not accepted\n",
			file, sig_path, pubkey);
		return -EBADMSG;
	}
	return 0;
}

static int predict_entries(const struct verify_args *a, struct accepted *acc, size_t p,
			   const uint8_t *key, const struct collect_sources *src)
{
	const struct policy *pol = &acc->pols[p].pol;

	for (size_t i = 0; i < pol->entry_count; i++) {
		struct attest_candidate *c = &acc->cands[acc->n_cands];
		struct predict_input in = {
			.key = key, .policy_bytes = acc->pols[p].buf, .policy_len = acc->pols[p].len,
			.policy_path = a->policy_path, .policy = pol, .entry = &pol->entries[i],
			.sources = *src,
		};
		struct predict_error err;

		*c = (struct attest_candidate){ .policy_file = a->policies[p], .serial = pol->serial,
						.below_floor = pol->serial < a->min_serial,
						.entry = &pol->entries[i] };
		sequence_init(&c->seq, a->banks, a->drtm);
		if (predict_launch(&c->seq, &in, &err) < 0) {
			/* An entry whose files are not under --root (e.g. a recovery kernel kept
			 * elsewhere) cannot be accepted; the others still can. */
			fprintf(stderr, "slpolicy: %s: entry \"%s\": not predicted, not accepted: %s\n",
				a->policies[p], pol->entries[i].name, err.why);
			sequence_free(&c->seq);
			continue;
		}
		acc->n_cands++;
	}
	return 0;
}

static int load_accepted(const struct verify_args *a, struct accepted *acc,
			 const struct collect_sources *src)
{
	uint8_t key[POLICY_KEY_SIZE];

	if (a->pubkey && policy_pubkey_load(a->pubkey, key) < 0)
		return -1;
	for (size_t p = 0; p < a->n_policies; p++) {
		if (slpolicy_load_policy(a->policies[p], &acc->pols[p].buf, &acc->pols[p].len,
					 &acc->pols[p].pol) < 0)
			return -1;
		acc->n_pols++;
		if (a->pubkey && check_signed(a->policies[p], acc->pols[p].buf, acc->pols[p].len,
					      key, a->pubkey) < 0)
			return -1;
		for (size_t i = 0; i < acc->pols[p].pol.collector_count && src->sys_fd < 0; i++)
			if (acc->pols[p].pol.collectors[i].type != COLLECTOR_FILE) {
				fprintf(stderr, "slpolicy: %s: /collectors/%zu: measures the target "
					"machine: give --sys DIR (its sll-collect capture)\n",
					a->policies[p], i);
				return -1;
			}
		predict_entries(a, acc, p, a->pubkey ? key : NULL, src);
	}
	if (acc->n_cands == 0) {
		fprintf(stderr, "slpolicy: attest verify: no launch of the given policies could be "
			"predicted from the files under %s\n", a->root);
		return -1;
	}
	return 0;
}

static void free_accepted(struct accepted *acc)
{
	for (size_t i = 0; i < acc->n_cands; i++)
		sequence_free(&acc->cands[i].seq);
	for (size_t p = 0; p < acc->n_pols; p++) {
		policy_free(&acc->pols[p].pol);
		free(acc->pols[p].buf);
	}
}

/* The launcher's PCRs hold one of the values the admin gave. 0, or a refusal in v. */
static int check_launcher(const struct verify_args *a, const struct attest_evidence *ev,
			  struct attest_verdict *v)
{
	char got[2 * HASH_MAX_SIZE + 1];

	FOR_EACH_BANK(alg, a->banks) {
		for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++) {
			bool ok = false;

			if (!(launcher_pcrs(a->drtm) & (1u << pcr)))
				continue;
			for (size_t i = 0; i < a->n_pcr_args; i++)
				ok |= a->pcrs[i].alg == alg && a->pcrs[i].pcr == pcr &&
				      memcmp(a->pcrs[i].value, ev->pcrs.value[alg][pcr],
					     hash_alg_size(alg)) == 0;
			if (ok)
				continue;
			hex_encode(ev->pcrs.value[alg][pcr], hash_alg_size(alg), got);
			snprintf(v->reason, sizeof(v->reason), "PCR %u (%s) is %s, none of the --pcr "
				 "values: %s", pcr, hash_alg_name(alg), got, a->drtm ?
				 "another SL image, or another launcher, ran" :
				 "another boot application, or another Secure Boot state");
			return -1;
		}
	}
	return 0;
}

/* One evidence file to check: the machine that sent it and the nonce it answers. */
struct verify_job {
	const char *evidence, *machine;
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len;
};

/* The evidence, quote first: nothing in it is read as fact before its signature verified. */
static int check_evidence(const struct verify_args *a, const struct verify_job *job,
			  const TPM2B_PUBLIC *ak, struct attest_evidence *ev,
			  struct attest_verdict *v)
{
	struct attest_require req = { .banks = a->banks, .pcrs = required_pcrs(a->drtm) };
	_cleanup_free_ uint8_t *buf = NULL;
	struct attest_error err = { "" };
	size_t len;
	int r = file_read_all(job->evidence, ATTEST_DOC_MAX_SIZE, &buf, &len);

	if (r < 0)
		snprintf(err.why, sizeof(err.why), "%s", strerror(-r));
	else if ((r = attest_evidence_parse(buf, len, ev, &err)) >= 0)
		r = attest_quote_check(ev, ak, job->nonce, job->nonce_len, &req, &err);
	if (r < 0) {
		snprintf(v->reason, sizeof(v->reason), "%s", err.why);
		return -1;
	}
	return check_launcher(a, ev, v);
}

static int load_machine(const char *path, TPM2B_PUBLIC *ak)
{
	struct json_object *doc = NULL;
	struct attest_error err = { "" };
	int r = attest_doc_load(path, "machine", &doc, &err);

	if (r >= 0)
		r = attest_doc_public(doc, "ak_public", ak, &err);
	json_object_put(doc);
	if (r < 0)
		fprintf(stderr, "slpolicy: %s: %s\n", path, err.why);
	return r;
}

/* Prints the job's verdict: 0 accepted, EXIT_REFUSED otherwise (a bad machine file too). */
static int verify_one(const struct verify_args *a, const struct accepted *acc,
		      const struct verify_job *job)
{
	struct attest_evidence ev = { 0 };
	struct attest_verdict v = { 0 };
	struct event_list log = { 0 };
	TPM2B_PUBLIC ak;
	int r = EXIT_REFUSED;

	if (load_machine(job->machine, &ak) < 0)
		return EXIT_REFUSED;
	if (check_evidence(a, job, &ak, &ev, &v) == 0 &&
	    attest_verdict_decide(&ev, a->banks, a->drtm, acc->cands, acc->n_cands, a->min_serial,
				  &log, &v) < 0)
		fprintf(stderr, "slpolicy: attest verify: out of memory\n");
	else {
		attest_verdict_print(&v, a->banks, a->json, job->evidence);
		r = v.accepted ? 0 : EXIT_REFUSED;
	}
	event_list_free(&log);
	attest_evidence_free(&ev);
	return r;
}

/* --batch FILE: one job a line, "EVIDENCE MACHINE NONCE" (a fleet's answers, checked against
 * predictions made once). EXIT_REFUSED if any is refused or a line is malformed. */
static int verify_batch(const struct verify_args *a, const struct accepted *acc)
{
	char *line = NULL, ev[4096], machine[4096], nonce[2 * ATTEST_NONCE_MAX + 2];
	FILE *f = fopen(a->batch, "re");
	size_t cap = 0, n = 0;
	int r = 0;

	if (!f) {
		fprintf(stderr, "slpolicy: %s: %s\n", a->batch, strerror(errno));
		return EXIT_REFUSED;
	}
	while (getline(&line, &cap, f) > 0) {
		struct verify_job job;

		n++;
		if (sscanf(line, "%4095s %4095s %129s", ev, machine, nonce) != 3 ||
		    parse_nonce(nonce, job.nonce, &job.nonce_len) < 0) {
			fprintf(stderr, "slpolicy: %s: line %zu: not EVIDENCE MACHINE NONCE\n",
				a->batch, n);
			r = EXIT_REFUSED;
			continue;
		}
		job.evidence = ev;
		job.machine = machine;
		if (verify_one(a, acc, &job) != 0)
			r = EXIT_REFUSED;
	}
	free(line);
	fclose(f);
	return r;
}

static int verify(const struct verify_args *a, struct accepted *acc)
{
	struct collect_sources src = { .boot_fd = -1, .sys_fd = -1 };
	struct verify_job job = { .evidence = a->evidence, .machine = a->machine,
				  .nonce_len = a->nonce_len };
	int r = EXIT_REFUSED;

	memcpy(job.nonce, a->nonce, sizeof(job.nonce));
	if ((src.boot_fd = slpolicy_open_root(a->root)) >= 0 &&
	    (!a->sys || (src.sys_fd = slpolicy_open_root(a->sys)) >= 0) &&
	    load_accepted(a, acc, &src) == 0)
		r = a->batch ? verify_batch(a, acc) : verify_one(a, acc, &job);
	if (src.sys_fd >= 0)
		close(src.sys_fd);
	if (src.boot_fd >= 0)
		close(src.boot_fd);
	return r;
}

int cmd_attest_verify(int argc, char **argv)
{
	struct verify_args a;
	struct accepted *acc;
	int r = parse_args(argc, argv, &a);

	if (r)
		return r;
	/* Up to a thousand candidates' event lists: on the heap. */
	acc = calloc(1, sizeof(*acc));
	if (!acc)
		return EXIT_REFUSED;
	r = verify(&a, acc);
	free_accepted(acc);
	free(acc);
	return r;
}
