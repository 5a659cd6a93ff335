/* slpolicy predict: option parsing and printing around the core's prediction
 * (policy/predict.c), which runs the launch sequence slinit records with. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "pcr.h"
#include "policy.h"
#include "predict.h"
#include "sequence.h"
#include "signature.h"
#include "slpolicy.h"

/* The policy path slinit uses when the command line names none (DESIGN section 1). */
#define DEFAULT_POLICY_PATH "/slaunch/policy.json"

struct predict_args {
	const char *policy, *root, *entry, *format, *sys, *policy_path, *pubkey, *merge;
	unsigned banks;
	uint32_t only; /* --pcrs: the sealing set restricted to these (0: all of it) */
	bool drtm, help;
	struct predict_pcrs pcrs;
};

static void print_prediction(const struct pcr_state *st, const unsigned *pcrs, size_t n,
			     const char *format)
{
	char hex[2 * HASH_MAX_SIZE + 1];
	struct digest_set one;
	bool json = strcmp(format, "json") == 0, first_bank = true;

	if (json)
		printf("{");
	FOR_EACH_BANK(alg, st->banks) {
		if (json)
			printf("%s\"%s\": {", first_bank ? "" : ", ", hash_alg_name(alg));
		for (size_t i = 0; i < n; i++) {
			one.banks = HASH_BANK(alg);
			memcpy(one.d[alg], st->value[alg][pcrs[i]], hash_alg_size(alg));
			digest_hex(&one, alg, hex);
			if (json)
				printf("%s\"%u\": \"%s\"", i ? ", " : "", pcrs[i], hex);
			else if (strcmp(format, "tpm2") == 0)
				fwrite(st->value[alg][pcrs[i]], 1, hash_alg_size(alg), stdout);
			else
				printf("%s:%u=%s\n", hash_alg_name(alg), pcrs[i], hex);
		}
		if (json)
			printf("}");
		first_bank = false;
	}
	if (json)
		printf("}\n");
}

/* --format events: one line per predicted event, "PCR BANK:HEX... DESCRIPTION". */
static void print_events(const struct event_list *events, unsigned banks)
{
	char hex[2 * HASH_MAX_SIZE + 1];

	for (size_t i = 0; i < events->count; i++) {
		const struct event *e = &events->events[i];

		printf("%u", e->pcr);
		FOR_EACH_BANK(alg, banks) {
			digest_hex(&e->digests, alg, hex);
			printf(" %s:%s", hash_alg_name(alg), hex);
		}
		printf(" %.*s\n", (int)e->data_len, (const char *)e->data);
	}
}

static bool raw_format(const char *format)
{
	return strcmp(format, "tpm2") == 0 || strcmp(format, "clevis") == 0;
}

/* The formats a TPM or a verifier checks values against: they must bind what launched. */
static bool binding_format(const char *format)
{
	return raw_format(format) || strcmp(format, "keylime") == 0;
}

/* "17,18,22" into a mask. */
static int parse_pcr_list(const char *s, uint32_t *ret)
{
	uint32_t mask = 0;

	for (;;) {
		char *end;
		unsigned long pcr = strtoul(s, &end, 10);

		if (end == s || pcr >= PCR_COUNT || (*end && *end != ','))
			return -EINVAL;
		mask |= 1u << pcr;
		if (!*end)
			break;
		s = end + 1;
	}
	*ret = mask;
	return 0;
}

/* 0, or the exit status of a usage error (printed). */
static int parse_args(int argc, char **argv, struct predict_args *a)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },   { "entry", required_argument, NULL, 'e' },
		{ "bank", required_argument, NULL, 'b' },   { "no-drtm", no_argument, NULL, 'D' },
		{ "pcr", required_argument, NULL, 'p' },    { "format", required_argument, NULL, 'f' },
		{ "policy-path", required_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
		{ "pubkey", required_argument, NULL, 'K' }, { "sys", required_argument, NULL, 'S' },
		{ "merge", required_argument, NULL, 'M' }, { "pcrs", required_argument, NULL, 'L' },
		{ 0 },
	};
	int c;

	*a = (struct predict_args){ .format = "text", .policy_path = DEFAULT_POLICY_PATH,
				    .drtm = true };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': a->root = optarg; break;
		case 'e': a->entry = optarg; break;
		case 'D': a->drtm = false; break;
		case 'f': a->format = optarg; break;
		case 'P': a->policy_path = optarg; break;
		case 'K': a->pubkey = optarg; break;
		case 'S': a->sys = optarg; break;
		case 'M': a->merge = optarg; break;
		case 'L':
			if (parse_pcr_list(optarg, &a->only) < 0)
				return usage_error("--pcrs %s: not a list of PCRs 0-23 (17,18,22)",
						   optarg);
			break;
		case 'b':
			if (slpolicy_add_bank(&a->banks, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'p':
			if (predict_pcrs_collect(&a->pcrs, optarg) < 0)
				return usage_error("too many --pcr%s", "");
			break;
		case 'h': a->help = true; return 0;
		default: return usage_error("bad option for predict%s", "");
		}
	}
	if (!a->root || optind != argc - 1)
		return usage_error("predict needs POLICY and --root DIR%s", "");
	a->policy = argv[optind];
	if (strcmp(a->format, "text") != 0 && strcmp(a->format, "json") != 0 &&
	    !binding_format(a->format) && strcmp(a->format, "events") != 0)
		return usage_error("unknown --format %s (text, json, tpm2, clevis, keylime, events)",
				   a->format);
	if (a->merge && strcmp(a->format, "keylime") != 0)
		return usage_error("--merge is for --format keylime%s", "");
	if (!a->banks)
		a->banks = HASH_BANK(HASH_SHA256);
	if (raw_format(a->format) && (a->banks & (a->banks - 1)))
		return usage_error("--format tpm2 and clevis take exactly one --bank%s", "");
	return 0;
}

/* A raw sealing set (what tpm2-tools and clevis seal to) must bind what launched: with DRTM
 * the launcher's PCRs 17 (the SL image, as the DCE measured it) and 18 (on TrenchBoot kernels
 * the launch's own command line and boot parameters); without, 4 (the boot application,
 * sll.efi's Authenticode digest) and 7 (the Secure Boot state): PCRs 12 and 13 alone can be
 * extended to the predicted values by any code at locality 0 after booting something else.
 * 0, or the exit status of the refusal (printed). */
static int check_binding(const struct predict_args *a, unsigned given)
{
	unsigned want = a->drtm ? (1u << 17) | (1u << 18) : (1u << 4) | (1u << 7);

	if (a->only && (a->only & want) != want)
		given &= a->only; /* a set without them binds nothing either */
	if (!binding_format(a->format) || (given & want) == want)
		return 0;
	if (a->drtm)
		return usage_error("--format %s needs --pcr 17=HEX and --pcr 18=HEX: without them "
				   "any SL image, launched by anything, reproduces PCRs 21 and 22, and "
				   "18 binds the launch's command line and boot parameters (take both "
				   "with tpm2_pcrread in a launched runtime OS)", a->format);
	return usage_error("--no-drtm --format %s needs --pcr 4=HEX and --pcr 7=HEX: PCRs 12 and "
			   "13 alone can be extended to the predicted values by any code at "
			   "locality 0 after booting something else; 4 (the boot application, "
			   "sll.efi) and 7 (Secure Boot) bind what booted (tpm2_pcrread on this "
			   "machine)", a->format);
}

/* Collectors other than "file" read the target machine: predicting them needs its capture. */
static int check_sys_given(const struct predict_args *a, const struct policy *pol)
{
	for (size_t i = 0; i < pol->collector_count && !a->sys; i++)
		if (pol->collectors[i].type != COLLECTOR_FILE) {
			fprintf(stderr, "slpolicy: %s: /collectors/%zu: a %s collector measures the "
				"target machine: predicting PCR 21 needs --sys DIR (a capture made "
				"there with sll-collect)\n", a->policy, i,
				collect_type_name(pol->collectors[i].type));
			return -1;
		}
	return 0;
}

static void report_failure(const struct predict_args *a, const struct predict_input *in,
			   const struct predict_error *err)
{
	const struct policy_collector *c = &in->policy->collectors[err->collector];

	if (err->failure == PREDICT_FAILED_COLLECTOR)
		fprintf(stderr, "slpolicy: %s: /collectors/%zu: %s: %s%s\n", a->policy,
			err->collector, collect_type_name(c->type), err->why,
			c->type == COLLECTOR_FILE ? "" : " (under --sys)");
	else
		fprintf(stderr, "slpolicy: entry \"%s\": cannot hash its files under %s: %s\n",
			in->entry->name, a->root, err->why);
}

/* The sealing set's PCRs that --pcrs keeps (all without it); returns how many. */
static size_t restrict_set(unsigned *pcrs, size_t n, uint32_t only)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!only || (only & (1u << pcrs[i])))
			pcrs[k++] = pcrs[i];
	return k;
}

/* Runs the prediction for the loaded policy and prints it: 0 or -1 (reported). */
static int predict_and_print(const struct predict_args *a, struct predict_input *in,
			     struct pcr_state *st, unsigned launcher)
{
	unsigned pcrs[PCR_COUNT];
	struct predict_error err;
	struct sequence seq;
	size_t n;
	int r;

	sequence_init(&seq, a->banks, a->drtm);
	r = predict_launch(&seq, in, &err);
	if (r < 0)
		report_failure(a, in, &err);
	st->banks = a->banks;
	if (r >= 0 && (r = pcr_replay(st, &seq.events)) >= 0) {
		/* PCR 19 only matters (and is only printed) for an image with a policy key. */
		n = restrict_set(pcrs, sequence_sealing_set(a->drtm, launcher, in->key != NULL, pcrs),
				 a->only);
		if (strcmp(a->format, "events") == 0)
			print_events(&seq.events, a->banks);
		else if (strcmp(a->format, "clevis") == 0)
			r = predict_print_clevis(st, hash_alg_first(a->banks), pcrs, n);
		else if (strcmp(a->format, "keylime") == 0)
			r = predict_print_keylime(st, pcrs, n, a->merge);
		else
			print_prediction(st, pcrs, n, a->format);
	}
	sequence_free(&seq);
	return r < 0 ? -1 : 0;
}

/* Loads the policy, the key and the roots into in, then predicts: 0 or -1 (reported). */
static int load_and_predict(const struct predict_args *a, struct pcr_state *st,
			    unsigned launcher)
{
	uint8_t key[POLICY_KEY_SIZE], *buf;
	struct predict_input in = { .policy_path = a->policy_path };
	struct collect_sources *src = &in.sources;
	struct policy pol;
	int r = -1;

	if (slpolicy_load_policy(a->policy, &buf, &in.policy_len, &pol) < 0)
		return -1;
	in.policy_bytes = buf;
	in.policy = &pol;
	in.entry = a->entry ? policy_find_entry(&pol, a->entry) : &pol.entries[0];
	*src = (struct collect_sources){ .boot_fd = -1, .sys_fd = -1 };
	if (!in.entry)
		fprintf(stderr, "slpolicy: %s: no entry is named \"%s\"\n", a->policy, a->entry);
	else if (check_sys_given(a, &pol) == 0 &&
		 (!a->pubkey || policy_pubkey_load(a->pubkey, key) == 0) &&
		 (src->boot_fd = slpolicy_open_root(a->root)) >= 0 &&
		 (!a->sys || !pol.collector_count ||
		  (src->sys_fd = slpolicy_open_root(a->sys)) >= 0)) {
		in.key = a->pubkey ? key : NULL;
		r = predict_and_print(a, &in, st, launcher);
	}
	if (src->sys_fd >= 0)
		close(src->sys_fd);
	if (src->boot_fd >= 0)
		close(src->boot_fd);
	policy_free(&pol);
	free(buf);
	return r;
}

int cmd_predict(int argc, char **argv)
{
	struct predict_args a;
	struct pcr_state st;
	unsigned launcher = 0;
	char pcr_err[256];
	int r = parse_args(argc, argv, &a);

	if (r || a.help) {
		if (a.help)
			fputs(usage_text, stdout);
		return r;
	}
	pcr_state_init(&st, 0, 0);
	if (predict_pcrs_apply(&a.pcrs, a.banks, a.drtm, &st, &launcher, pcr_err,
			       sizeof(pcr_err)) < 0)
		return usage_error("%s", pcr_err);
	if ((r = check_binding(&a, launcher)) != 0)
		return r;
	return load_and_predict(&a, &st, launcher) < 0 ? EXIT_REFUSED : 0;
}
