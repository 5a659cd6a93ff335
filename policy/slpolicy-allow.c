/* slpolicy allow: an upgrade's step on the policy: new allowed digests, serial + 1, re-signed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "measure.h"
#include "policy.h"
#include "signature.h"
#include "slpolicy.h"

#define MAX_FILES (1 + POLICY_MAX_INITRDS)

/* Appends "alg:hex" for each bank to the array unless it is there already. */
static void add_digests(json_object *arr, unsigned banks, const struct digest_set *d)
{
	char hex[2 * HASH_MAX_SIZE + 1], item[2 * HASH_MAX_SIZE + 16];

	for (int a = 0; a < HASH_ALG_COUNT; a++) {
		bool found = false;

		if (!(banks & HASH_BANK(a)))
			continue;
		digest_hex(d, (enum hash_alg)a, hex);
		snprintf(item, sizeof(item), "%s:%s", hash_alg_name((enum hash_alg)a), hex);
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			const char *have = json_object_get_string(json_object_array_get_idx(arr, i));
			if (have && strcmp(have, item) == 0)
				found = true;
		}
		if (!found)
			json_object_array_add(arr, json_object_new_string(item));
	}
}

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
	char tmp[4200];
	FILE *f;

	if (policy_parse((const uint8_t *)text, strlen(text), &check, &errs) < 0) {
		for (size_t i = 0; i < errs.count; i++)
			fprintf(stderr, "slpolicy: allow: %s: %s: %s\n", path, errs.errors[i].where,
				errs.errors[i].reason);
		policy_errors_free(&errs);
		return -EINVAL;
	}
	policy_free(&check);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "wxe");
	if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		int r = -errno;
		fprintf(stderr, "slpolicy: %s: %s\n", f ? path : tmp, strerror(errno));
		unlink(tmp);
		return r;
	}
	return 0;
}

int cmd_allow(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },   { "entry", required_argument, NULL, 'e' },
		{ "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
		{ "bank", required_argument, NULL, 'b' },   { "key", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },         { 0 },
	};
	const char *root = NULL, *entry_name = NULL, *key = NULL, *kernel = NULL;
	const char *initrds[POLICY_MAX_INITRDS];
	size_t n_initrds = 0;
	unsigned banks = 0;
	int c, status = EXIT_REFUSED;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'e': entry_name = optarg; break;
		case 'k': kernel = optarg; break;
		case 'K': key = optarg; break;
		case 'i':
			if (slpolicy_add_initrd(initrds, &n_initrds, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'b':
			if (slpolicy_add_bank(&banks, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return usage_error("bad option for allow%s", "");
		}
	}
	if (!root || optind != argc - 1 || (!kernel && !n_initrds))
		return usage_error("allow needs POLICY, --root and a --kernel or --initrd%s", "");
	if (!banks)
		banks = HASH_BANK(HASH_SHA256);

	const char *path = argv[optind];
	uint8_t *buf = NULL;
	size_t len;
	int r = slpolicy_read_file(path, POLICY_MAX_SIZE, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "slpolicy: %s: %s\n", path, strerror(-r));
		return EXIT_REFUSED;
	}
	struct policy_errors errs = { 0 };
	struct policy pol;
	if (policy_parse(buf, len, &pol, &errs) < 0) {
		for (size_t i = 0; i < errs.count; i++)
			printf("%s: %s: %s\n", path, errs.errors[i].where, errs.errors[i].reason);
		policy_errors_free(&errs);
		free(buf);
		return EXIT_REFUSED;
	}
	policy_free(&pol);

	/* Valid per the schema: the tree below has the shape policy_parse just checked. */
	json_object *root_obj = json_tokener_parse((const char *)buf), *entry, *allow, *list, *v;
	int root_fd = slpolicy_open_root(root);
	struct digest_set d;

	if (root_fd < 0)
		goto out;
	entry = root_obj ? find_entry(root_obj, entry_name) : NULL;
	if (!entry) {
		fprintf(stderr, "slpolicy: %s: no entry is named \"%s\"\n", path,
			entry_name ? entry_name : "");
		goto out;
	}
	if (!json_object_object_get_ex(entry, "allow", &allow)) {
		fprintf(stderr, "slpolicy: %s: entry \"%s\" has no allow lists (measured only): "
				"nothing to allow\n", path,
			json_object_get_string(json_object_object_get(entry, "name")));
		goto out;
	}
	for (size_t i = 0; i < (kernel ? 1 : 0) + n_initrds; i++) {
		const char *file = (kernel && i == 0) ? kernel : initrds[i - (kernel ? 1 : 0)];
		const char *field = (kernel && i == 0) ? "kernel" : "initrd";

		r = measure_file_digest(root_fd, file, banks, UINT64_MAX, &d, NULL);
		if (r < 0) {
			fprintf(stderr, "slpolicy: %s (under --root): %s\n", file, strerror(-r));
			goto out;
		}
		if (!json_object_object_get_ex(allow, field, &list)) {
			list = json_object_new_array();
			json_object_object_add(allow, field, list);
		}
		add_digests(list, banks, &d);
	}
	v = json_object_object_get(root_obj, "serial");
	json_object_object_add(root_obj, "serial",
			       json_object_new_int64(json_object_get_int64(v) + 1));

	const char *text = json_object_to_json_string_ext(
		root_obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
				  JSON_C_TO_STRING_NOSLASHESCAPE);
	if (write_policy(path, text) < 0)
		goto out;
	if (key) {
		char sig_path[4200];

		snprintf(sig_path, sizeof(sig_path), "%s%s", path, POLICY_SIGNATURE_SUFFIX);
		if (slpolicy_sign_to(key, path, sig_path) < 0)
			goto out;
	}
	printf("%s: serial %lld\n", path,
	       (long long)json_object_get_int64(json_object_object_get(root_obj, "serial")));
	status = 0;
out:
	if (root_fd >= 0)
		close(root_fd);
	json_object_put(root_obj);
	free(buf);
	return status;
}
