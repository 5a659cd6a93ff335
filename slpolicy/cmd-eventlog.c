/* slpolicy eventlog: print a TCG event log, or replay it and compare with expected PCR values. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "digest.h"
#include "event.h"
#include "eventlog.h"
#include "fileio.h"
#include "hex.h"
#include "pcr.h"
#include "slpolicy.h"

/* Where Linux shows the PCRs of the first TPM: pcr-BANK/N, one file per PCR. */
#define DEFAULT_SYSFS_DIR "/sys/class/tpm/tpm0"
/* A PCR values file: 24 PCRs in 4 banks take about 13 KiB; the rest is room for comments. */
#define PCRS_FILE_MAX_SIZE (1u << 20)
/* Event text on one printed line is cut there; --json carries it whole. */
#define TEXT_LINE_MAX 256

/* Start or expected values: one PCR state, and which PCRs of each bank were given. */
struct pcr_values {
	struct pcr_state st;
	uint32_t given[HASH_ALG_COUNT];
};

struct eventlog_args {
	const char *path, *pcrs_file, *sysfs_dir;
	bool json, verify;
	struct pcr_values start;
};

/* What a verification compares: the log's replay against the expected values. */
struct verify_ctx {
	const struct eventlog_args *args;
	const struct event_list *events;
	unsigned banks;
	uint32_t touched; /* bit per PCR the log extends */
	struct pcr_state replayed;
	struct pcr_values expected;
};

int parse_pcr_assignment(const char *s, enum hash_alg *ret_alg, unsigned *ret_pcr,
			 uint8_t *ret_value, const char **ret_reason)
{
	const char *colon = strchr(s, ':'), *eq = strchr(s, '=');
	uint8_t value[HASH_MAX_SIZE];
	char name[8];
	enum hash_alg alg;
	unsigned pcr = 0;
	size_t size;

	*ret_reason = "expected BANK:N=HEX";
	if (!colon || !eq || eq < colon || (size_t)(colon - s) >= sizeof(name))
		return -EINVAL;
	memcpy(name, s, (size_t)(colon - s));
	name[colon - s] = '\0';
	if (hash_alg_from_name(name, &alg) < 0) {
		*ret_reason = "unknown bank (sha1, sha256, sha384, sha512)";
		return -EINVAL;
	}
	*ret_reason = "the PCR index must be 0 to 23";
	if (eq == colon + 1 || eq - colon > 3)
		return -EINVAL;
	for (const char *p = colon + 1; p < eq; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		pcr = pcr * 10 + (unsigned)(*p - '0');
	}
	if (pcr >= PCR_COUNT)
		return -EINVAL;
	size = hash_alg_size(alg);
	if (strlen(eq + 1) != 2 * size || hex_decode(eq + 1, size, true, value) < 0) {
		*ret_reason = "HEX must be a digest of the bank in hex (sha1: 40 digits, sha256: 64, "
			      "sha384: 96, sha512: 128)";
		return -EINVAL;
	}
	*ret_alg = alg;
	*ret_pcr = pcr;
	memcpy(ret_value, value, size);
	return 0;
}

static int pcr_values_add(struct pcr_values *v, const char *s, const char **ret_reason)
{
	uint8_t value[HASH_MAX_SIZE];
	enum hash_alg alg;
	unsigned pcr;
	int r = parse_pcr_assignment(s, &alg, &pcr, value, ret_reason);

	if (r < 0)
		return r;
	if (v->given[alg] & (1u << pcr)) {
		*ret_reason = "this bank and PCR are given twice";
		return -EEXIST;
	}
	pcr_state_set(&v->st, alg, pcr, value);
	v->given[alg] |= 1u << pcr;
	return 0;
}

/* Lines "BANK:N=HEX" (what `slpolicy predict` prints); blank lines and # comments skipped. */
static int load_pcrs_file(const char *path, struct pcr_values *values)
{
	const char *reason;
	uint8_t *buf;
	size_t len;
	unsigned lineno = 0;
	int r = file_read_all(path, PCRS_FILE_MAX_SIZE, &buf, &len);

	if (r < 0) {
		fprintf(stderr, "slpolicy: %s: %s\n", path,
			r == -E2BIG ? "larger than 1 MiB, not a PCR values file" : strerror(-r));
		return r;
	}
	for (char *line = (char *)buf, *end = (char *)buf + len; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line)), *p = line, *q;

		if (!nl)
			nl = end;
		*nl = '\0';
		lineno++;
		if (strlen(line) != (size_t)(nl - line)) {
			reason = "NUL byte in the line";
			r = -EINVAL;
			break;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		for (q = nl; q > p && isspace((unsigned char)q[-1]);)
			*--q = '\0';
		if (*p && *p != '#') {
			r = pcr_values_add(values, p, &reason);
			if (r < 0)
				break;
		}
		line = nl + 1;
	}
	if (r < 0)
		fprintf(stderr, "slpolicy: %s: line %u: %s\n", path, lineno, reason);
	free(buf);
	return r;
}

/* DIR/pcr-BANK/N as Linux's TPM driver shows it: the value in hex, then a newline. */
static int read_sysfs_pcr(const char *path, enum hash_alg alg, uint8_t *ret_value)
{
	char buf[2 * HASH_MAX_SIZE + 3];
	size_t n = hash_alg_size(alg), len;
	ssize_t got;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = read(fd, buf, sizeof(buf));
	if (got < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return r;
	len = (size_t)got;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	if (len != 2 * n || hex_decode(buf, n, true, ret_value) < 0)
		return -EBADMSG;
	return 0;
}

static void sysfs_path(const char *dir, enum hash_alg alg, unsigned pcr, char *out, size_t size)
{
	snprintf(out, size, "%s/pcr-%s/%u", dir, hash_alg_name(alg), pcr);
}

/* The values of the PCRs the log touches; a missing file leaves its PCR without a value. */
static int load_sysfs(struct verify_ctx *v)
{
	const char *dir = v->args->sysfs_dir;
	char path[PATH_MAX];
	uint8_t value[HASH_MAX_SIZE];
	struct stat s;
	int r;

	r = stat(dir, &s) < 0 ? -errno : S_ISDIR(s.st_mode) ? 0 : -ENOTDIR;
	if (r < 0) {
		fprintf(stderr, "slpolicy: %s: %s (a TPM's sysfs directory is needed, or --pcrs FILE)\n",
			dir, strerror(-r));
		return r;
	}
	FOR_EACH_BANK(alg, v->banks) {
		for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++) {
			if (!(v->touched & (1u << pcr)))
				continue;
			sysfs_path(dir, alg, pcr, path, sizeof(path));
			r = read_sysfs_pcr(path, alg, value);
			if (r == -ENOENT)
				continue;
			if (r < 0) {
				fprintf(stderr, "slpolicy: %s: %s\n", path,
					r == -EBADMSG ? "not a PCR value in hex" : strerror(-r));
				return r;
			}
			pcr_state_set(&v->expected.st, alg, pcr, value);
			v->expected.given[alg] |= 1u << pcr;
		}
	}
	return 0;
}

/* One line per event: "<index> pcr <n> <type> <bank>:<hex>... "<text>"". */
static void print_event(FILE *out, const char *indent, size_t index, const struct event *e,
			unsigned banks)
{
	const char *name = eventlog_type_name(e->type);
	char hex[2 * HASH_MAX_SIZE + 1], text[TEXT_LINE_MAX];

	fprintf(out, "%s%zu pcr %u ", indent, index, e->pcr);
	if (name)
		fputs(name, out);
	else
		fprintf(out, "0x%04x", e->type);
	FOR_EACH_BANK(alg, banks) {
		digest_hex(&e->digests, alg, hex);
		fprintf(out, " %s:%s", hash_alg_name(alg), hex);
	}
	eventlog_event_text(e, text, sizeof(text));
	fprintf(out, " \"%s\"\n", text);
}

static int print_text(const struct event_list *events, unsigned banks)
{
	/* Records are numbered as tpm2_eventlog does: 0 is the Spec ID header. */
	for (size_t i = 0; i < events->count; i++)
		print_event(stdout, "", i + 1, &events->events[i], banks);
	printf("banks:");
	FOR_EACH_BANK(alg, banks)
		printf(" %s", hash_alg_name(alg));
	printf("%s\n", banks ? "" : " none");
	return 0;
}

static json_object *event_json(size_t index, const struct event *e, unsigned banks)
{
	json_object *ev = json_object_new_object(), *digests = json_object_new_object();
	const char *name = eventlog_type_name(e->type);
	char hex[2 * HASH_MAX_SIZE + 1];
	size_t text_size = 4 * e->data_len + 1; /* \xNN: at most 4 bytes of text per byte */
	char *text = malloc(text_size);

	if (!ev || !digests || !text) {
		json_object_put(ev);
		json_object_put(digests);
		free(text);
		return NULL;
	}
	eventlog_event_text(e, text, text_size);
	FOR_EACH_BANK(alg, banks) {
		digest_hex(&e->digests, alg, hex);
		json_object_object_add(digests, hash_alg_name(alg), json_object_new_string(hex));
	}
	json_object_object_add(ev, "index", json_object_new_int64((int64_t)index));
	json_object_object_add(ev, "pcr", json_object_new_int64(e->pcr));
	json_object_object_add(ev, "type", json_object_new_int64(e->type));
	json_object_object_add(ev, "type_name", name ? json_object_new_string(name) : NULL);
	json_object_object_add(ev, "digests", digests);
	json_object_object_add(ev, "data", json_object_new_string(text));
	free(text);
	return ev;
}

static int print_json(const struct event_list *events, unsigned banks)
{
	json_object *doc = json_object_new_object(), *bank_arr = json_object_new_array();
	json_object *event_arr = json_object_new_array();
	int r = 0;

	if (!doc || !bank_arr || !event_arr) {
		r = -ENOMEM;
		goto out;
	}
	FOR_EACH_BANK(alg, banks)
		json_object_array_add(bank_arr, json_object_new_string(hash_alg_name(alg)));
	for (size_t i = 0; i < events->count; i++) {
		json_object *ev = event_json(i + 1, &events->events[i], banks);
		if (!ev) {
			r = -ENOMEM;
			goto out;
		}
		json_object_array_add(event_arr, ev);
	}
	json_object_object_add(doc, "banks", json_object_get(bank_arr));
	json_object_object_add(doc, "events", json_object_get(event_arr));
	printf("%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	json_object_put(bank_arr);
	json_object_put(event_arr);
	json_object_put(doc);
	return r;
}

static void report_mismatch(const struct verify_ctx *v, enum hash_alg alg, unsigned pcr)
{
	char got[2 * HASH_MAX_SIZE + 1], want[2 * HASH_MAX_SIZE + 1];
	size_t n = hash_alg_size(alg);

	hex_encode(v->replayed.value[alg][pcr], n, got);
	hex_encode(v->expected.st.value[alg][pcr], n, want);
	fprintf(stderr, "slpolicy: %s: PCR %u (%s) differs: log replays to %s, expected %s\n",
		v->args->path, pcr, hash_alg_name(alg), got, want);
	if (v->args->start.given[alg] & (1u << pcr)) {
		hex_encode(v->args->start.st.value[alg][pcr], n, got);
		fprintf(stderr, "  start %s:%s (--start)\n", hash_alg_name(alg), got);
	}
	for (size_t i = 0; i < v->events->count; i++) {
		const struct event *e = &v->events->events[i];
		if (e->pcr == pcr && e->type != EVENT_TYPE_NO_ACTION)
			print_event(stderr, "  ", i + 1, e, HASH_BANK(alg));
	}
}

static void report_missing(const struct verify_ctx *v, enum hash_alg alg, unsigned pcr)
{
	char path[PATH_MAX];

	fprintf(stderr, "slpolicy: %s: PCR %u (%s) is extended by the log but has no expected "
		"value ", v->args->path, pcr, hash_alg_name(alg));
	if (v->args->pcrs_file) {
		fprintf(stderr, "in %s\n", v->args->pcrs_file);
		return;
	}
	sysfs_path(v->args->sysfs_dir, alg, pcr, path, sizeof(path));
	fprintf(stderr, "(%s does not exist)\n", path);
}

/* Checks the log is something to verify, and the start values fit its banks. */
static int verify_prepare(struct verify_ctx *v, size_t *ret_replayed)
{
	const char *path = v->args->path;
	size_t replayed = 0;

	for (size_t i = 0; i < v->events->count; i++) {
		if (v->events->events[i].type == EVENT_TYPE_NO_ACTION)
			continue;
		v->touched |= 1u << v->events->events[i].pcr;
		replayed++;
	}
	if (!v->banks || !v->touched) {
		fprintf(stderr, "slpolicy: %s: %s: nothing to verify\n", path,
			!v->banks ? "the log has no bank slpolicy knows (sha1, sha256, sha384, sha512)"
				  : "the log extends no PCR");
		return -ENODATA;
	}
	for (int a = 0; a < HASH_ALG_COUNT; a++) {
		if (v->args->start.given[a] && !(v->banks & HASH_BANK(a))) {
			fprintf(stderr, "slpolicy: %s: --start %s:...: the log has no %s bank\n",
				path, hash_alg_name((enum hash_alg)a), hash_alg_name((enum hash_alg)a));
			return -EINVAL;
		}
	}
	*ret_replayed = replayed;
	return 0;
}

static int verify(const struct eventlog_args *args, const struct event_list *events,
		  unsigned banks)
{
	struct verify_ctx *v = calloc(1, sizeof(*v));
	size_t replayed = 0;
	bool failed = false;
	int r;

	if (!v)
		return -ENOMEM;
	*v = (struct verify_ctx){ .args = args, .events = events, .banks = banks };
	r = verify_prepare(v, &replayed);
	if (r < 0)
		goto out;
	/* Zero (the DRTM reset value) unless --start says otherwise. */
	v->replayed = args->start.st;
	v->replayed.banks = banks;
	r = pcr_replay(&v->replayed, events);
	if (r < 0) {
		fprintf(stderr, "slpolicy: %s: cannot replay: %s\n", args->path, strerror(-r));
		goto out;
	}
	pcr_state_init(&v->expected.st, 0, 0);
	r = args->pcrs_file ? load_pcrs_file(args->pcrs_file, &v->expected) : load_sysfs(v);
	if (r < 0)
		goto out;
	for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++) {
		if (!(v->touched & (1u << pcr)))
			continue;
		FOR_EACH_BANK(alg, banks) {
			if (!(v->expected.given[alg] & (1u << pcr))) {
				report_missing(v, alg, pcr);
				failed = true;
			} else if (memcmp(v->replayed.value[alg][pcr], v->expected.st.value[alg][pcr],
					  hash_alg_size(alg)) != 0) {
				report_mismatch(v, alg, pcr);
				failed = true;
			}
		}
	}
	if (failed) {
		r = -EBADMSG;
		goto out;
	}
	printf("ok: %zu events, PCRs", replayed);
	for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++)
		if (v->touched & (1u << pcr))
			printf(" %u", pcr);
	printf(" match in");
	FOR_EACH_BANK(alg, banks)
		printf(" %s", hash_alg_name(alg));
	printf("\n");
out:
	free(v);
	return r;
}

static int parse_args(int argc, char **argv, struct eventlog_args *a)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },	     { "verify", no_argument, NULL, 'v' },
		{ "pcrs", required_argument, NULL, 'p' },  { "sysfs", required_argument, NULL, 's' },
		{ "start", required_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char msg[256];
	const char *reason;
	bool start = false;
	int c;

	pcr_state_init(&a->start.st, 0, 0);
	opterr = 0; /* one line from us instead of getopt's own */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': a->json = true; break;
		case 'v': a->verify = true; break;
		case 'p': a->pcrs_file = optarg; break;
		case 's': a->sysfs_dir = optarg; break;
		case 'S':
			if (pcr_values_add(&a->start, optarg, &reason) < 0) {
				snprintf(msg, sizeof(msg), "bad --start %s: %s", optarg, reason);
				return usage_error("%s", msg);
			}
			start = true;
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default:
			return usage_error("eventlog: unknown option or missing argument: %s",
					   argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return usage_error("eventlog takes one FILE%s", "");
	if (a->pcrs_file && a->sysfs_dir)
		return usage_error("--pcrs and --sysfs exclude each other%s", "");
	if (!a->verify && (a->pcrs_file || a->sysfs_dir || start))
		return usage_error("--pcrs, --sysfs and --start go with --verify%s", "");
	if (a->verify && a->json)
		return usage_error("--json does not go with --verify%s", "");
	if (a->verify && !a->pcrs_file && !a->sysfs_dir)
		a->sysfs_dir = DEFAULT_SYSFS_DIR;
	a->path = argv[optind];
	return -1; /* go on */
}

/* Reads and decodes the log; prints why not as "slpolicy: FILE: offset N: record M: reason". */
static int load_log(const char *path, struct event_list *ret_events, unsigned *ret_banks)
{
	char err[256] = "";
	uint8_t *buf;
	size_t len;
	int r = file_read_all(path, EVENTLOG_MAX_SIZE, &buf, &len);

	if (r < 0) {
		fprintf(stderr, "slpolicy: %s: %s\n", path,
			r == -E2BIG ? "larger than the 16 MiB an event log may have" : strerror(-r));
		return r;
	}
	r = eventlog_decode(buf, len, ret_events, ret_banks, err, sizeof(err));
	free(buf);
	if (r < 0)
		fprintf(stderr, "slpolicy: %s: %s\n", path, err[0] ? err : strerror(-r));
	return r;
}

int cmd_eventlog(int argc, char **argv)
{
	struct eventlog_args *args = calloc(1, sizeof(*args));
	struct event_list events = { 0 };
	unsigned banks = 0;
	int r, status = EXIT_REFUSED;

	if (!args) {
		fprintf(stderr, "slpolicy: %s\n", strerror(ENOMEM));
		return EXIT_REFUSED;
	}
	status = parse_args(argc, argv, args);
	if (status >= 0)
		goto out;
	status = EXIT_REFUSED;
	if (load_log(args->path, &events, &banks) < 0)
		goto out;
	if (args->verify)
		r = verify(args, &events, banks);
	else
		r = args->json ? print_json(&events, banks) : print_text(&events, banks);
	if (r == -ENOMEM)
		fprintf(stderr, "slpolicy: %s: %s\n", args->path, strerror(ENOMEM));
	if (r >= 0)
		status = 0;
	event_list_free(&events);
out:
	free(args);
	return status;
}
