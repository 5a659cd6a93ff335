/* Strict reading of the policy's JSON: typed getters that report each problem at its JSON
 * pointer (shared by policy.c and allow.c). */
#include "pjson.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pjson_error(struct policy_errors *errs, const char *where, const char *fmt, ...)
{
	struct policy_error *e;
	va_list ap;

	if (errs->count == errs->capacity) {
		size_t cap = errs->capacity ? 2 * errs->capacity : 8;
		struct policy_error *v = realloc(errs->errors, cap * sizeof(*v));
		if (!v)
			return; /* the caller still fails: count > 0 is not required for that */
		errs->errors = v;
		errs->capacity = cap;
	}
	e = &errs->errors[errs->count++];
	snprintf(e->where, sizeof(e->where), "%s", where[0] ? where : "/");
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

void policy_errors_free(struct policy_errors *errs)
{
	free(errs->errors);
	*errs = (struct policy_errors){ 0 };
}

/* A JSON pointer to parent/key (RFC 6901 escaping); unprintable bytes become '?'. */
void pjson_child(char *out, size_t size, const char *parent, const char *key)
{
	size_t n = (size_t)snprintf(out, size, "%s/", parent);

	for (const char *k = key; *k && n + 3 < size; k++) {
		unsigned char c = (unsigned char)*k;
		if (c == '~' || c == '/') {
			out[n++] = '~';
			out[n++] = c == '~' ? '0' : '1';
		} else {
			out[n++] = (char)((c < 0x20 || c == 0x7f) ? '?' : c);
		}
	}
	out[n < size ? n : size - 1] = '\0';
}

void pjson_index(char *out, size_t size, const char *parent, size_t i)
{
	/* Paths are bounded by POLICY_MAX_DEPTH; a truncated one still names the spot. */
	if (snprintf(out, size, "%s/%zu", parent, i) >= (int)size)
		out[size - 2] = '~';
}

static const char *json_type_word(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a number with a fraction";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "unknown";
}

/* Every key must be one of the allowed ones, and the required ones must be present. */
bool pjson_keys(json_object *obj, const char *path, const char *const *allowed,
		const char *const *required, struct policy_errors *errs)
{
	bool ok = true;
	char p[128];

	json_object_object_foreach(obj, key, val) {
		bool known = false;
		(void)val;
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(*a, key) == 0;
		if (!known) {
			pjson_child(p, sizeof(p), path, key);
			pjson_error(errs, p, "unknown key");
			ok = false;
		}
	}
	for (const char *const *r = required; *r; r++)
		if (!json_object_object_get_ex(obj, *r, NULL)) {
			pjson_error(errs, path, "missing required key \"%s\"", *r);
			ok = false;
		}
	return ok;
}

bool pjson_type(json_object *o, enum json_type type, const char *path, const char *what,
		struct policy_errors *errs)
{
	if (json_object_get_type(o) == type)
		return true;
	pjson_error(errs, path, "must be %s, not %s", what, json_type_word(o));
	return false;
}

/* A string without NUL bytes (json-c keeps \u0000 inside), at most max bytes, non-empty. */
char *pjson_string(json_object *o, const char *path, size_t max, struct policy_errors *errs)
{
	const char *s;
	size_t len;
	char *copy;

	if (!pjson_type(o, json_type_string, path, "a string", errs))
		return NULL;
	s = json_object_get_string(o);
	len = (size_t)json_object_get_string_len(o);
	if (strlen(s) != len) {
		pjson_error(errs, path, "contains a NUL character");
		return NULL;
	}
	if (len == 0) {
		pjson_error(errs, path, "must not be empty");
		return NULL;
	}
	if (len > max) {
		pjson_error(errs, path, "is %zu bytes long, more than the limit of %zu", len, max);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			pjson_error(errs, path, "contains a control character at byte %zu", i);
			return NULL;
		}
	copy = strdup(s);
	if (!copy)
		pjson_error(errs, path, "out of memory");
	return copy;
}

bool pjson_array(json_object *arr, const char *path, size_t min, size_t max, const char *what,
		 size_t element_size, void **ret_vec, size_t *ret_count, pjson_element_fn parse_one,
		 struct policy_errors *errs)
{
	size_t n;
	bool ok = true;
	char p[128], type_word[64];

	snprintf(type_word, sizeof(type_word), "an array of %s", what);
	if (!pjson_type(arr, json_type_array, path, type_word, errs))
		return false;
	n = json_object_array_length(arr);
	if (min && (n < min || n > max)) {
		pjson_error(errs, path, "must list %zu to %zu %s, not %zu", min, max, what, n);
		return false;
	}
	if (n > max) {
		pjson_error(errs, path, "lists %zu %s, more than the limit of %zu", n, what, max);
		return false;
	}
	/* One more element than needed, so that an empty array still has a vector. */
	if (!(*ret_vec = calloc(n + 1, element_size))) {
		pjson_error(errs, path, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		pjson_index(p, sizeof(p), path, i);
		(*ret_count)++;
		ok &= parse_one(json_object_array_get_idx(arr, i), p,
				(char *)*ret_vec + i * element_size, errs);
	}
	return ok;
}


bool pjson_nv_index_object(json_object *obj, const char *path, uint32_t *ret,
			   struct policy_errors *errs)
{
	static const char *const keys[] = { "nv_index", NULL };
	json_object *v;
	char p[128];

	if (!pjson_type(obj, json_type_object, path, "an object", errs) ||
	    !pjson_keys(obj, path, keys, keys, errs))
		return false;
	json_object_object_get_ex(obj, "nv_index", &v);
	pjson_child(p, sizeof(p), path, "nv_index");
	return pjson_nv_index(v, p, ret, errs);
}

bool pjson_nv_index(json_object *o, const char *path, uint32_t *ret, struct policy_errors *errs)
{
	char *s = pjson_string(o, path, 16, errs);
	bool ok = s && strlen(s) == 10 && strncmp(s, "0x01", 4) == 0 &&
		  strspn(s + 2, "0123456789abcdefABCDEF") == 8;

	if (ok)
		*ret = (uint32_t)strtoul(s + 2, NULL, 16);
	else if (s)
		pjson_error(errs, path, "must be a TPM NV index handle written 0x01XXXXXX (8 hex "
			    "digits)");
	free(s);
	return ok;
}
