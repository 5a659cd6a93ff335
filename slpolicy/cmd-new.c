/* slpolicy new: a policy whose allow-lists hold the digests of the files under --root. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "measure.h"
#include "policy.h"
#include "slpolicy.h"

static int hash_for_new(int root_fd, const char *path, unsigned banks, struct digest_set *d)
{
	int r = measure_object_digest(root_fd, path, banks, d);

	if (r < 0)
		fprintf(stderr, "slpolicy: %s (under --root): %s\n", path, measure_object_error(r));
	return r;
}

/* One entry's files and command line. */
struct entry_args {
	const char *kernel, *cmdline, *name;
	const char *initrds[POLICY_MAX_INITRDS];
	size_t n_initrds;
	bool management;
};

struct new_args {
	const char *root, *request_nv;
	struct entry_args runtime, management;
	unsigned banks;
	bool help;
};

/* 0, or the exit status of a usage error (printed). */
static int parse_args(int argc, char **argv, struct new_args *a)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },   { "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' }, { "cmdline", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },   { "bank", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ "management-kernel", required_argument, NULL, 'K' },
		{ "management-initrd", required_argument, NULL, 'I' },
		{ "management-cmdline", required_argument, NULL, 'C' },
		{ "management-name", required_argument, NULL, 'N' },
		{ "management-request-nv", required_argument, NULL, 'R' },
		{ 0 },
	};
	struct entry_args *m = &a->management;
	int c, r;

	*a = (struct new_args){ .runtime.name = "default",
				.management = { .name = "management", .management = true } };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': a->root = optarg; break;
		case 'k': a->runtime.kernel = optarg; break;
		case 'c': a->runtime.cmdline = optarg; break;
		case 'n': a->runtime.name = optarg; break;
		case 'K': m->kernel = optarg; break;
		case 'C': m->cmdline = optarg; break;
		case 'N': m->name = optarg; break;
		case 'R': a->request_nv = optarg; break;
		case 'I':
			if (slpolicy_add_initrd(m->initrds, &m->n_initrds, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h': a->help = true; return 0;
		default:
			r = slpolicy_file_option(c, optarg, a->runtime.initrds, &a->runtime.n_initrds,
						 &a->banks);
			if (r)
				return r < 0 ? EXIT_USAGE : usage_error("bad option for new%s", "");
		}
	}
	if (!a->root || !a->runtime.kernel || !a->runtime.cmdline || optind != argc)
		return usage_error("new needs --root, --kernel and --cmdline%s", "");
	if ((m->kernel || m->cmdline || m->n_initrds || a->request_nv) && (!m->kernel || !m->cmdline))
		return usage_error("a management entry needs --management-kernel and "
				   "--management-cmdline%s", "");
	if (!a->banks)
		a->banks = HASH_BANK(HASH_SHA256);
	return 0;
}

/* The entry: its name, files and command line, and allow-lists holding the digests of the
 * files under root_fd. NULL when a file cannot be hashed (printed). */
static json_object *new_entry(const struct entry_args *a, unsigned banks, int root_fd)
{
	json_object *entry = json_object_new_object(), *allow = json_object_new_object();
	json_object *initrd_arr = json_object_new_array(), *initrd_allow = json_object_new_array();
	struct digest_set d;
	bool ok = hash_for_new(root_fd, a->kernel, banks, &d) == 0;

	if (ok)
		json_object_object_add(allow, "kernel", slpolicy_digest_array(banks, &d));
	for (size_t i = 0; ok && i < a->n_initrds; i++) {
		ok = hash_for_new(root_fd, a->initrds[i], banks, &d) == 0;
		if (!ok)
			break;
		json_object_array_add(initrd_arr, json_object_new_string(a->initrds[i]));
		/* One allow-list per initrd, in order: no initrd's bytes pass at another's path. */
		json_object_array_add(initrd_allow, slpolicy_digest_array(banks, &d));
	}
	if (ok && a->n_initrds)
		json_object_object_add(allow, "initrd", json_object_get(initrd_allow));
	if (ok) {
		json_object_object_add(entry, "name", json_object_new_string(a->name));
		json_object_object_add(entry, "kernel", json_object_new_string(a->kernel));
		json_object_object_add(entry, "initrd", json_object_get(initrd_arr));
		json_object_object_add(entry, "cmdline", json_object_new_string(a->cmdline));
		json_object_object_add(entry, "allow", json_object_get(allow));
		if (a->management)
			json_object_object_add(entry, "role", json_object_new_string("management"));
	}
	json_object_put(initrd_arr);
	json_object_put(initrd_allow);
	json_object_put(allow);
	if (!ok) {
		json_object_put(entry);
		return NULL;
	}
	return entry;
}

/* What we print must pass our own check: parse it back before printing. 0 or -1. */
static int print_checked(json_object *pol)
{
	const char *text = json_object_to_json_string_ext(
		pol, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct policy_errors errs = { 0 };
	struct policy check;

	if (policy_parse((const uint8_t *)text, strlen(text), &check, &errs) < 0) {
		for (size_t i = 0; i < errs.count; i++)
			fprintf(stderr, "slpolicy: new: %s: %s\n", errs.errors[i].where,
				errs.errors[i].reason);
		policy_errors_free(&errs);
		return -1;
	}
	policy_free(&check);
	printf("%s\n", text);
	return 0;
}

int cmd_new(int argc, char **argv)
{
	struct new_args a;
	json_object *pol, *entries, *entry;
	int r = parse_args(argc, argv, &a);
	_cleanup_close_ int root_fd = -1;

	if (r || a.help) {
		if (a.help)
			fputs(usage_text, stdout);
		return r;
	}
	root_fd = slpolicy_open_root(a.root);
	if (root_fd < 0 || !(entry = new_entry(&a.runtime, a.banks, root_fd)))
		return EXIT_REFUSED;
	entries = json_object_new_array();
	json_object_array_add(entries, entry);
	if (a.management.kernel) {
		if (!(entry = new_entry(&a.management, a.banks, root_fd))) {
			json_object_put(entries);
			return EXIT_REFUSED;
		}
		json_object_array_add(entries, entry);
	}
	pol = json_object_new_object();
	json_object_object_add(pol, "schema", json_object_new_int(1));
	json_object_object_add(pol, "serial", json_object_new_int(1));
	json_object_object_add(pol, "require_drtm", json_object_new_boolean(1));
	json_object_object_add(pol, "on_failure", json_object_new_string("halt"));
	json_object_object_add(pol, "entries", entries);
	if (a.request_nv) {
		json_object *req = json_object_new_object();

		json_object_object_add(req, "nv_index", json_object_new_string(a.request_nv));
		json_object_object_add(pol, "management_request", req);
	}
	r = print_checked(pol);
	json_object_put(pol);
	return r < 0 ? EXIT_REFUSED : 0;
}
