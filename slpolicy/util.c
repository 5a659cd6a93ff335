/* What slpolicy's commands share: usage errors, option values, opening and loading. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cleanup.h"
#include "fileio.h"
#include "policy.h"
#include "slpolicy.h"

int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "slpolicy: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return EXIT_USAGE;
}

/* Loads and validates; prints every error as "FILE: where: reason". */
int slpolicy_load_policy(const char *path, uint8_t **ret_buf, size_t *ret_len, struct policy *ret)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	/* One byte over the cap still reaches policy_parse, which refuses it in its words. */
	int r = file_read_all(path, POLICY_MAX_SIZE + 1, &buf, &len);

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
		return r;
	}
	policy_errors_free(&errs);
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
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

int slpolicy_file_option(int c, const char *arg, const char **initrds, size_t *n_initrds,
			 unsigned *banks)
{
	if (c == 'i')
		return slpolicy_add_initrd(initrds, n_initrds, arg) < 0 ? -1 : 0;
	if (c == 'b')
		return slpolicy_add_bank(banks, arg) < 0 ? -1 : 0;
	return 1;
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

void slpolicy_add_digests(json_object *arr, unsigned banks, const struct digest_set *d)
{
	char hex[2 * HASH_MAX_SIZE + 1], item[2 * HASH_MAX_SIZE + 16];

	FOR_EACH_BANK(alg, banks) {
		bool found = false;

		digest_hex(d, alg, hex);
		snprintf(item, sizeof(item), "%s:%s", hash_alg_name(alg), hex);
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			const char *have = json_object_get_string(json_object_array_get_idx(arr, i));

			if (have && strcmp(have, item) == 0)
				found = true;
		}
		if (!found)
			json_object_array_add(arr, json_object_new_string(item));
	}
}

json_object *slpolicy_digest_array(unsigned banks, const struct digest_set *d)
{
	json_object *arr = json_object_new_array();

	slpolicy_add_digests(arr, banks, d);
	return arr;
}

