/* An entry's allow-lists, "allow": {"kernel": [...], "initrd": [[...], ...]}: the digests a
 * verified entry's objects must match, one list for each initrd at its position. */
#include "allow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "pjson.h"

#define NO_INITRDS "the entry has no initrds: leave \"initrd\" out of \"allow\""

/* "sha256:<64 lower-case hex digits>" (and sha1, sha384, sha512). */
static bool parse_digest(json_object *o, const char *path, void *element,
			 struct policy_errors *errs)
{
	struct policy_digest *ret = element;
	const char *s, *colon, *hex;
	char alg_name[8];
	enum hash_alg alg;
	size_t n;

	if (!pjson_type(o, json_type_string, path, "a digest string \"sha256:<hex>\"", errs))
		return false;
	s = json_object_get_string(o);
	colon = strchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(alg_name)) {
		pjson_error(errs, path, "digest must look like \"sha256:<hex>\"");
		return false;
	}
	memcpy(alg_name, s, (size_t)(colon - s));
	alg_name[colon - s] = '\0';
	if (hash_alg_from_name(alg_name, &alg) < 0) {
		pjson_error(errs, path,
			    "unknown digest algorithm \"%s\" (sha1, sha256, sha384, sha512)",
			    alg_name);
		return false;
	}
	hex = colon + 1;
	n = hash_alg_size(alg);
	if ((size_t)json_object_get_string_len(o) != (size_t)(hex - s) + 2 * n) {
		pjson_error(errs, path, "%s digest must have exactly %zu hex digits", alg_name,
			    2 * n);
		return false;
	}
	if (hex_decode(hex, n, false, ret->d) < 0) {
		pjson_error(errs, path, "digest must be lower-case hex digits only");
		return false;
	}
	ret->alg = alg;
	return true;
}

static bool parse_allow_list(json_object *arr, const char *path, struct policy_allow_list *ret,
			     struct policy_errors *errs)
{
	return pjson_array(arr, path, 1, POLICY_MAX_ALLOWED, "digests", sizeof(*ret->digests),
			   (void **)&ret->digests, &ret->count, parse_digest, errs);
}

static bool parse_list_element(json_object *o, const char *path, void *element,
			       struct policy_errors *errs)
{
	return parse_allow_list(o, path, element, errs);
}

static void allow_lists_free(struct policy_allow_list *lists, size_t n)
{
	for (size_t i = 0; lists && i < n; i++)
		free(lists[i].digests);
	free(lists);
}

/* The first form of schema v1, one list of digests for all initrds: accepted only where it
 * cannot let one initrd's bytes stand in for another's, an entry with exactly one initrd. */
static bool parse_flat(json_object *arr, const char *path, struct policy_entry *e,
		       bool initrds_known, struct policy_errors *errs)
{
	struct policy_allow_list list = { 0 };
	size_t n = e->initrd_count;
	bool ok = parse_allow_list(arr, path, &list, errs);

	if (initrds_known && n == 0) {
		pjson_error(errs, path, NO_INITRDS);
		ok = false;
	} else if (initrds_known && n > 1) {
		pjson_error(errs, path,
			    "with %zu initrds, give one allow-list per initrd, in order: "
			    "[[...], [...]%s]", n, n > 2 ? ", ..." : "");
		ok = false;
	}
	if (ok && initrds_known) {
		e->allow_initrds = calloc(1, sizeof(*e->allow_initrds));
		if (e->allow_initrds) {
			e->allow_initrds[0] = list;
			return true;
		}
		pjson_error(errs, path, "out of memory");
		ok = false;
	}
	free(list.digests);
	return ok;
}

/* [[digests of initrd 0], [digests of initrd 1], ...], in the entry's initrd order. */
static bool parse_per_position(json_object *arr, const char *path, struct policy_entry *e,
			       bool initrds_known, struct policy_errors *errs)
{
	struct policy_allow_list *lists = NULL;
	size_t n = 0;
	bool ok = pjson_array(arr, path, 0, POLICY_MAX_INITRDS, "allow-lists", sizeof(*lists),
			      (void **)&lists, &n, parse_list_element, errs);

	if (lists && initrds_known && n != e->initrd_count) {
		if (e->initrd_count == 0)
			pjson_error(errs, path, NO_INITRDS);
		else
			pjson_error(errs, path,
				    "must list one allow-list per initrd (%zu), in order, not %zu",
				    e->initrd_count, n);
		ok = false;
	}
	if (ok && initrds_known) {
		e->allow_initrds = lists;
		return true;
	}
	allow_lists_free(lists, n);
	return ok;
}

/* The flat form is a non-empty array whose first element is not itself an array. */
static bool is_flat(json_object *v)
{
	return json_object_get_type(v) == json_type_array && json_object_array_length(v) > 0 &&
	       json_object_get_type(json_object_array_get_idx(v, 0)) != json_type_array;
}

bool allow_parse(json_object *obj, const char *path, struct policy_entry *e, bool initrds_known,
		 struct policy_errors *errs)
{
	static const char *const keys[] = { "kernel", "initrd", NULL };
	static const char *const required[] = { "kernel", NULL };
	json_object *v;
	bool ok;
	char p[128];

	if (!pjson_type(obj, json_type_object, path, "an object", errs))
		return false;
	ok = pjson_keys(obj, path, keys, required, errs);
	if (json_object_object_get_ex(obj, "kernel", &v)) {
		pjson_child(p, sizeof(p), path, "kernel");
		ok &= parse_allow_list(v, p, &e->allow_kernel, errs);
	}
	if (json_object_object_get_ex(obj, "initrd", &v)) {
		pjson_child(p, sizeof(p), path, "initrd");
		ok &= is_flat(v) ? parse_flat(v, p, e, initrds_known, errs) :
				   parse_per_position(v, p, e, initrds_known, errs);
	} else if (e->initrd_count && json_object_object_get_ex(obj, "kernel", NULL)) {
		/* A verified launch verifies every object it loads. */
		pjson_error(errs, path, "entry has initrds but no \"initrd\" allow-list");
		ok = false;
	}
	e->verified = true;
	return ok;
}

void allow_free(struct policy_entry *e)
{
	free(e->allow_kernel.digests);
	e->allow_kernel = (struct policy_allow_list){ 0 };
	allow_lists_free(e->allow_initrds, e->initrd_count);
	e->allow_initrds = NULL;
}
