/* slpolicy allow: an upgrade's step on the policy: new allowed digests, serial + 1, re-signed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "fileio.h"
#include "measure.h"
#include "policy.h"
#include "signature.h"
#include "slpolicy.h"

struct allow_args {
	const char *policy, *root, *entry_name, *key, *kernel;
	const char *initrds[POLICY_MAX_INITRDS]; /* the i-th goes to the entry's i-th initrd */
	size_t n_initrds;
	unsigned banks;
	bool replace; /* the new digests instead of the old ones, not beside them */
	/* The entry's kernel and initrds become these paths (with replace): a new version
	 * installed beside the old one, switched to by this one policy write. */
	bool move;
};

static json_object *find_entry(json_object *root, const char *name)
{
	json_object *entries;

	if (!json_object_object_get_ex(root, "entries", &entries))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(entries); i++) {
		json_object *e = json_object_array_get_idx(entries, i), *n;
		if (!name)
			return e;
		if (json_object_object_get_ex(e, "name", &n) &&
		    strcmp(json_object_get_string(n), name) == 0)
			return e;
	}
	return NULL;
}

/* The new policy text, checked by the same parser as slinit's, written beside and renamed. */
static int write_policy(const char *path, const char *text)
{
	struct policy_errors errs = { 0 };
	struct policy check;
	_cleanup_free_ char *buf = NULL;
	int r;

	if (policy_parse((const uint8_t *)text, strlen(text), &check, &errs) < 0) {
		for (size_t i = 0; i < errs.count; i++)
			fprintf(stderr, "slpolicy: allow: %s: %s: %s\n", path, errs.errors[i].where,
				errs.errors[i].reason);
		policy_errors_free(&errs);
		return -EINVAL;
	}
	policy_free(&check);
	r = asprintf(&buf, "%s\n", text) < 0 ? -ENOMEM : file_write_replace(path, buf, strlen(buf));
	if (r < 0)
		fprintf(stderr, "slpolicy: %s: %s\n", path, strerror(-r));
	return r;
}

/* -1 to go on, or the exit status (usage errors, --help). */
static int parse_args(int argc, char **argv, struct allow_args *a)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },   { "entry", required_argument, NULL, 'e' },
		{ "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
		{ "bank", required_argument, NULL, 'b' },   { "key", required_argument, NULL, 'K' },
		{ "replace", no_argument, NULL, 'R' },      { "help", no_argument, NULL, 'h' },
		{ "move", no_argument, NULL, 'm' },
		{ 0 },
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': a->root = optarg; break;
		case 'e': a->entry_name = optarg; break;
		case 'k': a->kernel = optarg; break;
		case 'K': a->key = optarg; break;
		case 'R': a->replace = true; break;
		case 'm': a->move = a->replace = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default:
			r = slpolicy_file_option(c, optarg, a->initrds, &a->n_initrds, &a->banks);
			if (r)
				return r < 0 ? EXIT_USAGE : usage_error("bad option for allow%s", "");
		}
	}
	if (!a->root || optind != argc - 1 || (!a->kernel && !a->n_initrds))
		return usage_error("allow needs POLICY, --root and a --kernel or --initrd%s", "");
	if (!a->banks)
		a->banks = HASH_BANK(HASH_SHA256);
	a->policy = argv[optind];
	return -1;
}

/* The policy file, read and valid (errors printed as `check` does); its tree, or NULL. */
static json_object *load_valid(const char *path)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct policy pol;
	json_object *root;
	size_t len;

	if (slpolicy_load_policy(path, &buf, &len, &pol) < 0)
		return NULL;
	policy_free(&pol);
	/* Valid: the tree has the shape policy_parse just checked. */
	root = json_tokener_parse((const char *)buf);
	if (!root)
		fprintf(stderr, "slpolicy: %s: cannot parse it again\n", path);
	return root;
}

/* The digests of file (under --root) into list: beside its digests, or with replace instead. */
static int put_digests(int root_fd, const char *file, unsigned banks, bool replace,
		       json_object *list)
{
	struct digest_set d;
	int r = measure_object_digest(root_fd, file, banks, &d);

	if (r < 0) {
		fprintf(stderr, "slpolicy: %s (under --root): %s\n", file, measure_object_error(r));
		return r;
	}
	if (replace)
		json_object_array_del_idx(list, 0, json_object_array_length(list));
	slpolicy_add_digests(list, banks, &d);
	return 0;
}

/* allow.initrd in the per-position form, n lists: a flat list of digests (the first form of
 * schema v1, valid for one initrd only) becomes the first initrd's list. */
static json_object *initrd_lists(json_object *allow, size_t n)
{
	json_object *lists = json_object_object_get(allow, "initrd"), *first;

	if (!lists) {
		lists = json_object_new_array();
		json_object_object_add(allow, "initrd", lists);
	}
	first = json_object_array_get_idx(lists, 0);
	if (first && json_object_get_type(first) != json_type_array) {
		json_object *nested = json_object_new_array();

		json_object_array_add(nested, json_object_get(lists));
		json_object_object_add(allow, "initrd", nested);
		lists = nested;
	}
	while (json_object_array_length(lists) < n)
		json_object_array_add(lists, json_object_new_array());
	return lists;
}

static int update_entry(const struct allow_args *a, json_object *entry, int root_fd)
{
	const char *name = json_object_get_string(json_object_object_get(entry, "name"));
	json_object *allow, *paths, *lists;
	size_t n = 0;
	int r;

	if (!json_object_object_get_ex(entry, "allow", &allow)) {
		fprintf(stderr, "slpolicy: %s: entry \"%s\" has no allow lists (measured only): "
				"nothing to allow\n", a->policy, name);
		return -EINVAL;
	}
	if (json_object_object_get_ex(entry, "initrd", &paths))
		n = json_object_array_length(paths);
	if (a->n_initrds > n) {
		fprintf(stderr,
			"slpolicy: %s: entry \"%s\" has %zu initrd%s, not %zu: the i-th --initrd "
			"gives the digest of its i-th initrd\n",
			a->policy, name, n, n == 1 ? "" : "s", a->n_initrds);
		return -EINVAL;
	}
	if (a->kernel && (r = put_digests(root_fd, a->kernel, a->banks, a->replace,
					  json_object_object_get(allow, "kernel"))) < 0)
		return r;
	if (a->kernel && a->move)
		json_object_object_add(entry, "kernel", json_object_new_string(a->kernel));
	lists = n ? initrd_lists(allow, n) : NULL;
	for (size_t i = 0; i < a->n_initrds; i++) {
		if ((r = put_digests(root_fd, a->initrds[i], a->banks, a->replace,
				     json_object_array_get_idx(lists, i))) < 0)
			return r;
		if (a->move)
			json_object_array_put_idx(paths, i, json_object_new_string(a->initrds[i]));
	}
	return 0;
}

/* The updated policy (serial + 1) written, and signed again with --key. */
static int write_next(const struct allow_args *a, json_object *root)
{
	const char *text;
	int64_t serial = json_object_get_int64(json_object_object_get(root, "serial")) + 1;

	json_object_object_add(root, "serial", json_object_new_int64(serial));
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							    JSON_C_TO_STRING_SPACED |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (write_policy(a->policy, text) < 0)
		return -EINVAL;
	if (a->key) {
		char sig_path[4200];

		snprintf(sig_path, sizeof(sig_path), "%s%s", a->policy, POLICY_SIGNATURE_SUFFIX);
		if (slpolicy_sign_to(a->key, a->policy, sig_path) < 0)
			return -EINVAL;
	}
	printf("%s: serial %lld\n", a->policy, (long long)serial);
	return 0;
}

int cmd_allow(int argc, char **argv)
{
	struct allow_args a = { 0 };
	json_object *root, *entry;
	int root_fd, status = parse_args(argc, argv, &a);

	if (status >= 0)
		return status;
	root = load_valid(a.policy);
	if (!root)
		return EXIT_REFUSED;
	status = EXIT_REFUSED;
	root_fd = slpolicy_open_root(a.root);
	if (root_fd < 0)
		goto out;
	entry = find_entry(root, a.entry_name);
	if (!entry)
		fprintf(stderr, "slpolicy: %s: no entry is named \"%s\"\n", a.policy,
			a.entry_name ? a.entry_name : "");
	else if (update_entry(&a, entry, root_fd) == 0 && write_next(&a, root) == 0)
		status = 0;
	close(root_fd);
out:
	json_object_put(root);
	return status;
}
