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

struct new_args {
	const char *root, *kernel, *cmdline, *name;
	const char *initrds[POLICY_MAX_INITRDS];
	size_t n_initrds;
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
		{ "help", no_argument, NULL, 'h' },         { 0 },
	};
	int c, r;

	*a = (struct new_args){ .name = "default" };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': a->root = optarg; break;
		case 'k': a->kernel = optarg; break;
		case 'c': a->cmdline = optarg; break;
		case 'n': a->name = optarg; break;
		case 'h': a->help = true; return 0;
		default:
			r = slpolicy_file_option(c, optarg, a->initrds, &a->n_initrds, &a->banks);
			if (r)
				return r < 0 ? EXIT_USAGE : usage_error("bad option for new%s", "");
		}
	}
	if (!a->root || !a->kernel || !a->cmdline || optind != argc)
		return usage_error("new needs --root, --kernel and --cmdline%s", "");
	if (!a->banks)
		a->banks = HASH_BANK(HASH_SHA256);
	return 0;
}

/* The entry: its name, files and command line, and allow-lists holding the digests of the
 * files under root_fd. NULL when a file cannot be hashed (printed). */
static json_object *new_entry(const struct new_args *a, int root_fd)
{
	json_object *entry = json_object_new_object(), *allow = json_object_new_object();
	json_object *initrd_arr = json_object_new_array(), *initrd_allow = json_object_new_array();
	struct digest_set d;
	bool ok = hash_for_new(root_fd, a->kernel, a->banks, &d) == 0;

	if (ok)
		json_object_object_add(allow, "kernel", slpolicy_digest_array(a->banks, &d));
	for (size_t i = 0; ok && i < a->n_initrds; i++) {
		ok = hash_for_new(root_fd, a->initrds[i], a->banks, &d) == 0;
		if (!ok)
			break;
		json_object_array_add(initrd_arr, json_object_new_string(a->initrds[i]));
		/* One allow-list per initrd, in order: no initrd's bytes pass at another's path. */
		json_object_array_add(initrd_allow, slpolicy_digest_array(a->banks, &d));
	}
	if (ok && a->n_initrds)
		json_object_object_add(allow, "initrd", json_object_get(initrd_allow));
	if (ok) {
		json_object_object_add(entry, "name", json_object_new_string(a->name));
		json_object_object_add(entry, "kernel", json_object_new_string(a->kernel));
		json_object_object_add(entry, "initrd", json_object_get(initrd_arr));
		json_object_object_add(entry, "cmdline", json_object_new_string(a->cmdline));
		json_object_object_add(entry, "allow", json_object_get(allow));
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
	if (root_fd < 0 || !(entry = new_entry(&a, root_fd)))
		return EXIT_REFUSED;
	pol = json_object_new_object();
	entries = json_object_new_array();
	json_object_array_add(entries, entry);
	json_object_object_add(pol, "schema", json_object_new_int(1));
	json_object_object_add(pol, "serial", json_object_new_int(1));
	json_object_object_add(pol, "require_drtm", json_object_new_boolean(1));
	json_object_object_add(pol, "on_failure", json_object_new_string("halt"));
	json_object_object_add(pol, "entries", entries);
	r = print_checked(pol);
	json_object_put(pol);
	return r < 0 ? EXIT_REFUSED : 0;
}
