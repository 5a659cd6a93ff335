/* slpolicy: the admin's tool to write, check and predict SLL policies (same core as slinit). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "collect.h"
#include "digest.h"
#include "event.h"
#include "measure.h"
#include "pcr.h"
#include "policy.h"
#include "signature.h"
#include "slpolicy.h"

/* The policy path slinit uses when the command line names none (DESIGN section 1). */
#define DEFAULT_POLICY_PATH "/slaunch/policy.json"

const char usage_text[] =
	"usage: slpolicy COMMAND [OPTIONS]\n"
	"\n"
	"  check POLICY\n"
	"      validate a policy; prints \"ok\" or one line per error: POLICY: where: reason\n"
	"  new --root DIR --kernel PATH [--initrd PATH]... --cmdline STR [--name NAME]\n"
	"      [--bank BANK]...\n"
	"      print a policy whose allow-lists hold the digests of the files under DIR\n"
	"      (the boot partition's contents; PATHs are relative to its root)\n"
	"  predict POLICY --root DIR [--sys DIR] [--entry NAME] [--bank BANK|all]...\n"
	"      [--policy-path PATH] [--pubkey PUB.pem] [--pcr [BANK:]N=HEX]... [--no-drtm]\n"
	"      [--format text|json|tpm2|clevis|events]\n"
	"      print the PCR values slinit will leave after launching the entry (with\n"
	"      --pubkey, for an image built with that policy key: PCR 19 too); --sys: the\n"
	"      target's captured system tree (sll-collect) for dmi, cpuid and storage collectors;\n"
	"      --pcr gives the launcher's PCRs 17, 18 (and 20), which are then part of the\n"
	"      sealing set (with --no-drtm: the current values of PCR 12 and 13); tpm2: the raw\n"
	"      values in PCR order for tpm2_createpolicy -f; clevis: the tpm2 pin's configuration\n"
	"  allow POLICY --root DIR [--entry NAME] [--kernel PATH] [--initrd PATH]...\n"
	"      [--bank BANK]... [--replace] [--key KEY.pem]\n"
	"      add the digests of the files under DIR to the entry's allow lists (an upgrade):\n"
	"      --kernel to allow.kernel, the i-th --initrd to the list of the entry's i-th\n"
	"      initrd; with --replace, they replace the digests of those lists (the old\n"
	"      kernel or initrd is no longer allowed); raise the serial by one, rewrite POLICY;\n"
	"      with --key, sign it again (POLICY.sig)\n"
	"  sign --key KEY.pem POLICY [--sig FILE]\n"
	"      write POLICY.sig, the Ed25519 signature slinit checks when it has a key\n"
	"  verify --pubkey PUB.pem POLICY [--sig FILE]\n"
	"      check POLICY.sig as slinit will; prints \"ok\"\n"
	"  eventlog FILE [--json]\n"
	"  eventlog FILE --verify [--pcrs FILE | --sysfs DIR] [--start BANK:N=HEX]...\n"
	"      print a TCG event log, or replay it and compare with the expected PCR values\n"
	"      (lines BANK:N=HEX, or the live ones: --sysfs /sys/class/tpm/tpm0 by default)\n"
	"\n"
	"Exit codes: 0 ok, 1 refused or invalid input, 2 usage error.\n";

int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "slpolicy: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return EXIT_USAGE;
}

int slpolicy_read_file(const char *path, size_t cap, uint8_t **ret_buf, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf;
	size_t len;
	int r = 0;

	if (!f)
		return -errno;
	buf = malloc(cap + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	errno = 0;
	len = fread(buf, 1, cap + 1, f);
	if (ferror(f))
		r = errno ? -errno : -EIO;
	else if (len > cap)
		r = -E2BIG;
	fclose(f);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* Loads and validates; prints every error as "FILE: where: reason". */
static int load_policy(const char *path, uint8_t **ret_buf, size_t *ret_len, struct policy *ret)
{
	struct policy_errors errs = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;
	/* One byte over the cap still reaches policy_parse, which refuses it in its words. */
	int r = slpolicy_read_file(path, POLICY_MAX_SIZE + 1, &buf, &len);

	if (r == -E2BIG) {
		printf("%s: /: policy is more than the limit of %u bytes\n", path, POLICY_MAX_SIZE);
		return r;
	}
	if (r < 0) {
		fprintf(stderr, "slpolicy: %s: %s\n", path, strerror(-r));
		return r;
	}
	r = policy_parse(buf, len, ret, &errs);
	if (r < 0) {
		for (size_t i = 0; i < errs.count; i++)
			printf("%s: %s: %s\n", path, errs.errors[i].where, errs.errors[i].reason);
		if (errs.count == 0)
			printf("%s: /: %s\n", path, strerror(-r));
		policy_errors_free(&errs);
		free(buf);
		return r;
	}
	policy_errors_free(&errs);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	struct policy pol;
	uint8_t *buf;
	size_t len;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc != 2)
		return usage_error("check takes one POLICY file%s", "");
	if (load_policy(argv[1], &buf, &len, &pol) < 0)
		return EXIT_REFUSED;
	printf("ok\n");
	policy_free(&pol);
	free(buf);
	return 0;
}

int slpolicy_add_bank(unsigned *banks, const char *name)
{
	enum hash_alg alg;

	if (strcmp(name, "all") == 0) {
		*banks |= HASH_ALL_BANKS;
		return 0;
	}
	if (hash_alg_from_name(name, &alg) < 0) {
		usage_error("unknown bank %s", name);
		return -EINVAL;
	}
	*banks |= HASH_BANK(alg);
	return 0;
}

int slpolicy_add_initrd(const char **initrds, size_t *n_initrds, const char *path)
{
	if (*n_initrds == POLICY_MAX_INITRDS) {
		usage_error("too many --initrd (max 16)%s", "");
		return -E2BIG;
	}
	initrds[(*n_initrds)++] = path;
	return 0;
}

int slpolicy_open_root(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		fprintf(stderr, "slpolicy: %s: %s\n", root, strerror(errno));
	return fd;
}

static json_object *digest_array(unsigned banks, const struct digest_set *d)
{
	json_object *arr = json_object_new_array();
	char hex[2 * HASH_MAX_SIZE + 1], item[2 * HASH_MAX_SIZE + 16];

	for (int a = 0; a < HASH_ALG_COUNT; a++) {
		if (!(banks & HASH_BANK(a)))
			continue;
		digest_hex(d, (enum hash_alg)a, hex);
		snprintf(item, sizeof(item), "%s:%s", hash_alg_name((enum hash_alg)a), hex);
		json_object_array_add(arr, json_object_new_string(item));
	}
	return arr;
}

static int hash_for_new(int root_fd, const char *path, unsigned banks, struct digest_set *d)
{
	int r = measure_object_digest(root_fd, path, banks, d);

	if (r < 0)
		fprintf(stderr, "slpolicy: %s (under --root): %s\n", path, measure_object_error(r));
	return r;
}

static int cmd_new(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },   { "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' }, { "cmdline", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },   { "bank", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },         { 0 },
	};
	const char *root = NULL, *kernel = NULL, *cmdline = NULL, *name = "default";
	const char *initrds[POLICY_MAX_INITRDS];
	size_t n_initrds = 0;
	unsigned banks = 0;
	int c, root_fd, status = EXIT_REFUSED;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'k': kernel = optarg; break;
		case 'c': cmdline = optarg; break;
		case 'n': name = optarg; break;
		case 'i':
			if (slpolicy_add_initrd(initrds, &n_initrds, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'b':
			if (slpolicy_add_bank(&banks, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return usage_error("bad option for new%s", "");
		}
	}
	if (!root || !kernel || !cmdline || optind != argc)
		return usage_error("new needs --root, --kernel and --cmdline%s", "");
	if (!banks)
		banks = HASH_BANK(HASH_SHA256);
	root_fd = slpolicy_open_root(root);
	if (root_fd < 0)
		return EXIT_REFUSED;

	json_object *pol = json_object_new_object(), *entry = json_object_new_object();
	json_object *entries = json_object_new_array(), *allow = json_object_new_object();
	json_object *initrd_arr = json_object_new_array(), *initrd_allow = json_object_new_array();
	struct digest_set d;

	if (hash_for_new(root_fd, kernel, banks, &d) < 0)
		goto out;
	json_object_object_add(allow, "kernel", digest_array(banks, &d));
	for (size_t i = 0; i < n_initrds; i++) {
		if (hash_for_new(root_fd, initrds[i], banks, &d) < 0)
			goto out;
		json_object_array_add(initrd_arr, json_object_new_string(initrds[i]));
		/* One allow-list per initrd, in order: no initrd's bytes pass at another's path. */
		json_object_array_add(initrd_allow, digest_array(banks, &d));
	}
	if (n_initrds)
		json_object_object_add(allow, "initrd", json_object_get(initrd_allow));

	json_object_object_add(entry, "name", json_object_new_string(name));
	json_object_object_add(entry, "kernel", json_object_new_string(kernel));
	json_object_object_add(entry, "initrd", json_object_get(initrd_arr));
	json_object_object_add(entry, "cmdline", json_object_new_string(cmdline));
	json_object_object_add(entry, "allow", json_object_get(allow));
	json_object_array_add(entries, json_object_get(entry));
	json_object_object_add(pol, "schema", json_object_new_int(1));
	json_object_object_add(pol, "serial", json_object_new_int(1));
	json_object_object_add(pol, "require_drtm", json_object_new_boolean(1));
	json_object_object_add(pol, "on_failure", json_object_new_string("halt"));
	json_object_object_add(pol, "entries", json_object_get(entries));

	/* What we print must pass our own check: parse it back before printing. */
	const char *text = json_object_to_json_string_ext(
		pol, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct policy_errors errs = { 0 };
	struct policy check;
	if (policy_parse((const uint8_t *)text, strlen(text), &check, &errs) < 0) {
		for (size_t i = 0; i < errs.count; i++)
			fprintf(stderr, "slpolicy: new: %s: %s\n", errs.errors[i].where,
				errs.errors[i].reason);
		policy_errors_free(&errs);
		goto out;
	}
	policy_free(&check);
	printf("%s\n", text);
	status = 0;
out:
	json_object_put(initrd_arr);
	json_object_put(initrd_allow);
	json_object_put(allow);
	json_object_put(entry);
	json_object_put(entries);
	json_object_put(pol);
	close(root_fd);
	return status;
}

/* Without DRTM, 17-22 stay locked: 19 and 21 go to PCR 12, 22 to PCR 13 (DESIGN section 3). */
static void map_no_drtm(struct event_list *events)
{
	for (size_t i = 0; i < events->count; i++) {
		uint32_t *pcr = &events->events[i].pcr;
		*pcr = (*pcr == PCR_LAUNCH) ? 13 : 12;
	}
}

static void print_prediction(const struct pcr_state *st, const unsigned *pcrs, size_t n,
			     const char *format)
{
	char hex[2 * HASH_MAX_SIZE + 1];
	struct digest_set one;
	bool first_bank = true;

	if (strcmp(format, "json") == 0)
		printf("{");
	for (int a = 0; a < HASH_ALG_COUNT; a++) {
		enum hash_alg alg = (enum hash_alg)a;

		if (!(st->banks & HASH_BANK(alg)))
			continue;
		if (strcmp(format, "json") == 0)
			printf("%s\"%s\": {", first_bank ? "" : ", ", hash_alg_name(alg));
		for (size_t i = 0; i < n; i++) {
			one.banks = HASH_BANK(alg);
			memcpy(one.d[alg], st->value[alg][pcrs[i]], hash_alg_size(alg));
			digest_hex(&one, alg, hex);
			if (strcmp(format, "json") == 0)
				printf("%s\"%u\": \"%s\"", i ? ", " : "", pcrs[i], hex);
			else if (strcmp(format, "tpm2") == 0)
				fwrite(st->value[alg][pcrs[i]], 1, hash_alg_size(alg), stdout);
			else
				printf("%s:%u=%s\n", hash_alg_name(alg), pcrs[i], hex);
		}
		if (strcmp(format, "json") == 0)
			printf("}");
		first_bank = false;
	}
	if (strcmp(format, "json") == 0)
		printf("}\n");
}

/* PCR 21's collector events, from the boot partition (root_fd) and the --sys tree. */
static int predict_collectors(struct event_list *events, unsigned banks, const struct policy *pol,
			      const char *path, int root_fd, const char *sys)
{
	struct collect_sources src = { .boot_fd = root_fd, .sys_fd = -1 };
	size_t failed = 0;
	char why[512];
	int r;

	if (sys && (src.sys_fd = slpolicy_open_root(sys)) < 0)
		return src.sys_fd;
	r = collect_all(events, banks, pol, &src, &failed, why, sizeof(why));
	if (r < 0)
		fprintf(stderr, "slpolicy: %s: /collectors/%zu: %s: %s%s\n", path, failed,
			collect_type_name(pol->collectors[failed].type), why,
			pol->collectors[failed].type == COLLECTOR_FILE ? "" : " (under --sys)");
	if (src.sys_fd >= 0)
		close(src.sys_fd);
	return r;
}

/* --format events: one line per predicted event, "PCR BANK:HEX... DESCRIPTION". */
static void print_events(const struct event_list *events, unsigned banks)
{
	char hex[2 * HASH_MAX_SIZE + 1];

	for (size_t i = 0; i < events->count; i++) {
		const struct event *e = &events->events[i];

		printf("%u", e->pcr);
		for (int a = 0; a < HASH_ALG_COUNT; a++)
			if (banks & HASH_BANK(a)) {
				digest_hex(&e->digests, (enum hash_alg)a, hex);
				printf(" %s:%s", hash_alg_name((enum hash_alg)a), hex);
			}
		printf(" %.*s\n", (int)e->data_len, (const char *)e->data);
	}
}

static int cmd_predict(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },   { "entry", required_argument, NULL, 'e' },
		{ "bank", required_argument, NULL, 'b' },   { "no-drtm", no_argument, NULL, 'D' },
		{ "pcr", required_argument, NULL, 'p' },    { "format", required_argument, NULL, 'f' },
		{ "policy-path", required_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
		{ "pubkey", required_argument, NULL, 'K' }, { "sys", required_argument, NULL, 'S' },
		{ 0 },
	};
	const char *root = NULL, *entry_name = NULL, *format = "text", *sys = NULL;
	const char *policy_path = DEFAULT_POLICY_PATH, *pubkey = NULL;
	unsigned banks = 0, launcher = 0, set[PCR_COUNT];
	struct predict_pcrs pcr_args = { 0 };
	char pcr_err[256];
	bool drtm = true;
	struct pcr_state st;
	int c;

	pcr_state_init(&st, 0, 0);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'e': entry_name = optarg; break;
		case 'D': drtm = false; break;
		case 'f': format = optarg; break;
		case 'P': policy_path = optarg; break;
		case 'K': pubkey = optarg; break;
		case 'S': sys = optarg; break;
		case 'b':
			if (slpolicy_add_bank(&banks, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'p':
			if (predict_pcrs_collect(&pcr_args, optarg) < 0)
				return usage_error("too many --pcr%s", "");
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return usage_error("bad option for predict%s", "");
		}
	}
	if (!root || optind != argc - 1)
		return usage_error("predict needs POLICY and --root DIR%s", "");
	bool raw_format = strcmp(format, "tpm2") == 0 || strcmp(format, "clevis") == 0;
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && !raw_format &&
	    strcmp(format, "events") != 0)
		return usage_error("unknown --format %s (text, json, tpm2, clevis, events)", format);
	if (!banks)
		banks = HASH_BANK(HASH_SHA256);
	if (raw_format && (banks & (banks - 1)))
		return usage_error("--format tpm2 and clevis take exactly one --bank%s", "");
	if (predict_pcrs_apply(&pcr_args, banks, drtm, &st, &launcher, pcr_err,
			       sizeof(pcr_err)) < 0)
		return usage_error("%s", pcr_err);
	if (drtm && raw_format && !(launcher & (1u << 17)))
		fprintf(stderr, "slpolicy: warning: no --pcr 17=HEX: any SL image can reproduce "
				"PCRs 21 and 22; seal to the launcher's PCR 17 and 18 too\n");

	const char *path = argv[optind];
	struct policy pol;
	struct event_list events = { 0 };
	const struct policy_entry *entry;
	uint8_t *buf;
	size_t len;
	int root_fd, r, status = EXIT_REFUSED;

	if (load_policy(path, &buf, &len, &pol) < 0)
		return EXIT_REFUSED;
	entry = entry_name ? policy_find_entry(&pol, entry_name) : &pol.entries[0];
	if (!entry) {
		fprintf(stderr, "slpolicy: %s: no entry is named \"%s\"\n", path, entry_name);
		goto out_policy;
	}
	for (size_t i = 0; i < pol.collector_count && !sys; i++)
		if (pol.collectors[i].type != COLLECTOR_FILE) {
			fprintf(stderr, "slpolicy: %s: /collectors/%zu: a %s collector measures the "
				"target machine: predicting PCR 21 needs --sys DIR (a capture made "
				"there with sll-collect)\n", path, i,
				collect_type_name(pol.collectors[i].type));
			goto out_policy;
		}
	if (pubkey) {
		uint8_t key[POLICY_KEY_SIZE];

		/* slinit records the built-in key first, before it reads the policy. */
		if (policy_pubkey_load(pubkey, key) < 0 ||
		    measure_policy_key(&events, banks, key, sizeof(key)) < 0)
			goto out_events;
	}
	root_fd = slpolicy_open_root(root);
	if (root_fd < 0)
		goto out_events;
	r = measure_policy(&events, banks, buf, len, policy_path);
	if (r >= 0 && pol.collector_count &&
	    predict_collectors(&events, banks, &pol, path, root_fd, sys) < 0) {
		close(root_fd);
		goto out_events;
	}
	if (r >= 0)
		r = measure_predict_entry(&events, banks, root_fd, entry);
	close(root_fd);
	if (r < 0) {
		fprintf(stderr, "slpolicy: entry \"%s\": cannot hash its files under %s: %s\n",
			entry->name, root, measure_object_error(r));
		goto out_events;
	}

	static const unsigned os_pcrs[] = { 12, 13 };
	st.banks = banks;
	if (!drtm)
		map_no_drtm(&events);
	if (pcr_replay(&st, &events) < 0)
		goto out_events;
	/* PCR 19 only matters (and is only printed) for an image with a policy key. */
	size_t n_set = predict_sealing_set(launcher, pubkey != NULL, set);
	const unsigned *pcrs = drtm ? set : os_pcrs;
	size_t n_pcrs = drtm ? n_set : 2;
	if (strcmp(format, "events") == 0) {
		print_events(&events, banks);
	} else if (strcmp(format, "clevis") == 0) {
		enum hash_alg alg = HASH_SHA1;
		while (!(banks & HASH_BANK(alg)))
			alg++;
		if (predict_print_clevis(&st, alg, pcrs, n_pcrs) < 0)
			goto out_events;
	} else {
		print_prediction(&st, pcrs, n_pcrs, format);
	}
	status = 0;
out_events:
	event_list_free(&events);
out_policy:
	policy_free(&pol);
	free(buf);
	return status;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "check", cmd_check },
	{ "new", cmd_new },
	{ "predict", cmd_predict },
	{ "eventlog", cmd_eventlog },
	{ "sign", cmd_sign },
	{ "allow", cmd_allow },
	{ "verify", cmd_verify },
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("missing COMMAND%s", "");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage_error("unknown command %s", argv[1]);
}
