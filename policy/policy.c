/* The policy model (schema v1, DESIGN section 5) and its strict parser/validator. */
#include "policy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* The deepest schema v1 nesting is /entries/N/allow/kernel/N; anything deeper is hostile. */
#define POLICY_MAX_DEPTH 8

static void add_error(struct policy_errors *errs, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_error(struct policy_errors *errs, const char *where, const char *fmt, ...)
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
static void child_path(char *out, size_t size, const char *parent, const char *key)
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

static void index_path(char *out, size_t size, const char *parent, size_t i)
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
static bool check_keys(json_object *obj, const char *path, const char *const *allowed,
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
			child_path(p, sizeof(p), path, key);
			add_error(errs, p, "unknown key");
			ok = false;
		}
	}
	for (const char *const *r = required; *r; r++)
		if (!json_object_object_get_ex(obj, *r, NULL)) {
			add_error(errs, path, "missing required key \"%s\"", *r);
			ok = false;
		}
	return ok;
}

static bool expect_type(json_object *o, enum json_type type, const char *path, const char *what,
			struct policy_errors *errs)
{
	if (json_object_get_type(o) == type)
		return true;
	add_error(errs, path, "must be %s, not %s", what, json_type_word(o));
	return false;
}

/* A string without NUL bytes (json-c keeps \u0000 inside), at most max bytes, non-empty. */
static char *get_string(json_object *o, const char *path, size_t max, struct policy_errors *errs)
{
	const char *s;
	size_t len;
	char *copy;

	if (!expect_type(o, json_type_string, path, "a string", errs))
		return NULL;
	s = json_object_get_string(o);
	len = (size_t)json_object_get_string_len(o);
	if (strlen(s) != len) {
		add_error(errs, path, "contains a NUL character");
		return NULL;
	}
	if (len == 0) {
		add_error(errs, path, "must not be empty");
		return NULL;
	}
	if (len > max) {
		add_error(errs, path, "is %zu bytes long, more than the limit of %zu", len, max);
		return NULL;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			add_error(errs, path, "contains a control character at byte %zu", i);
			return NULL;
		}
	copy = strdup(s);
	if (!copy)
		add_error(errs, path, "out of memory");
	return copy;
}

/* Absolute, beneath the boot partition's root: no "..", ".", or empty components. */
static char *get_path(json_object *o, const char *path, struct policy_errors *errs)
{
	char *s = get_string(o, path, POLICY_MAX_PATH, errs);
	const char *c;

	if (!s)
		return NULL;
	if (s[0] != '/') {
		add_error(errs, path, "path must be absolute (start with /), relative to the boot partition");
		goto bad;
	}
	for (c = s + 1;; ) {
		const char *end = strchr(c, '/');
		size_t n = end ? (size_t)(end - c) : strlen(c);

		if (n == 0) {
			add_error(errs, path, "path has an empty component (// or a trailing /)");
			goto bad;
		}
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
			add_error(errs, path, "path must not contain \".\" or \"..\" components");
			goto bad;
		}
		if (!end)
			break;
		c = end + 1;
	}
	return s;
bad:
	free(s);
	return NULL;
}

static bool valid_name(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

typedef bool (*parse_element_fn)(json_object *obj, const char *path, void *element,
				 struct policy_errors *errs);

/* Parses an array with one callback per element into a calloc'ed vector; every element is
 * parsed (and every problem reported) even after a bad one. */
static bool parse_array(json_object *arr, const char *path, size_t min, size_t max,
			const char *what, size_t element_size, void **ret_vec, size_t *ret_count,
			parse_element_fn parse_one, struct policy_errors *errs)
{
	size_t n;
	bool ok = true;
	char p[128], type_word[64];

	snprintf(type_word, sizeof(type_word), "an array of %s", what);
	if (!expect_type(arr, json_type_array, path, type_word, errs))
		return false;
	n = json_object_array_length(arr);
	if (min && (n < min || n > max)) {
		add_error(errs, path, "must list %zu to %zu %s, not %zu", min, max, what, n);
		return false;
	}
	if (n > max) {
		add_error(errs, path, "lists %zu %s, more than the limit of %zu", n, what, max);
		return false;
	}
	/* One more element than needed, so that an empty array still has a vector. */
	if (!(*ret_vec = calloc(n + 1, element_size))) {
		add_error(errs, path, "out of memory");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		index_path(p, sizeof(p), path, i);
		(*ret_count)++;
		ok &= parse_one(json_object_array_get_idx(arr, i), p,
				(char *)*ret_vec + i * element_size, errs);
	}
	return ok;
}

/* "sha256:<64 lower-case hex digits>" (and sha1, sha384, sha512). */
static bool parse_digest(json_object *o, const char *path, void *element,
			 struct policy_errors *errs)
{
	struct policy_digest *ret = element;
	const char *s, *colon, *hex;
	char alg_name[8];
	enum hash_alg alg;
	size_t n;

	if (!expect_type(o, json_type_string, path, "a digest string \"sha256:<hex>\"", errs))
		return false;
	s = json_object_get_string(o);
	colon = strchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(alg_name)) {
		add_error(errs, path, "digest must look like \"sha256:<hex>\"");
		return false;
	}
	memcpy(alg_name, s, (size_t)(colon - s));
	alg_name[colon - s] = '\0';
	if (hash_alg_from_name(alg_name, &alg) < 0) {
		add_error(errs, path, "unknown digest algorithm \"%s\" (sha1, sha256, sha384, sha512)",
			  alg_name);
		return false;
	}
	hex = colon + 1;
	n = hash_alg_size(alg);
	if ((size_t)json_object_get_string_len(o) != (size_t)(hex - s) + 2 * n) {
		add_error(errs, path, "%s digest must have exactly %zu hex digits", alg_name, 2 * n);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			add_error(errs, path, "digest must be lower-case hex digits only");
			return false;
		}
		ret->d[i] = (uint8_t)(hi << 4 | lo);
	}
	ret->alg = alg;
	return true;
}

static bool parse_allow_list(json_object *arr, const char *path, struct policy_allow_list *ret,
			     struct policy_errors *errs)
{
	return parse_array(arr, path, 1, POLICY_MAX_ALLOWED, "digests", sizeof(*ret->digests),
			   (void **)&ret->digests, &ret->count, parse_digest, errs);
}

static bool parse_allow(json_object *obj, const char *path, struct policy_entry *e,
			struct policy_errors *errs)
{
	static const char *const keys[] = { "kernel", "initrd", NULL };
	static const char *const required[] = { "kernel", NULL };
	json_object *v;
	bool ok;
	char p[128];

	if (!expect_type(obj, json_type_object, path, "an object", errs))
		return false;
	ok = check_keys(obj, path, keys, required, errs);
	if (json_object_object_get_ex(obj, "kernel", &v)) {
		child_path(p, sizeof(p), path, "kernel");
		ok &= parse_allow_list(v, p, &e->allow_kernel, errs);
	}
	if (json_object_object_get_ex(obj, "initrd", &v)) {
		child_path(p, sizeof(p), path, "initrd");
		ok &= parse_allow_list(v, p, &e->allow_initrd, errs);
	}
	e->verified = true;
	return ok;
}

static bool parse_path_element(json_object *o, const char *path, void *element,
			       struct policy_errors *errs)
{
	char **ret = element;

	*ret = get_path(o, path, errs);
	return *ret != NULL;
}

static bool parse_initrds(json_object *arr, const char *path, struct policy_entry *e,
			  struct policy_errors *errs)
{
	bool ok = parse_array(arr, path, 0, POLICY_MAX_INITRDS, "initrds", sizeof(*e->initrds),
			      (void **)&e->initrds, &e->initrd_count, parse_path_element, errs);
	char p[128];

	for (size_t i = 0; i < e->initrd_count; i++)
		for (size_t j = 0; j < i; j++)
			if (e->initrds[i] && e->initrds[j] && strcmp(e->initrds[i], e->initrds[j]) == 0) {
				index_path(p, sizeof(p), path, i);
				add_error(errs, p, "initrd \"%s\" is listed twice", e->initrds[i]);
				ok = false;
			}
	return ok;
}

static bool parse_entry(json_object *obj, const char *path, void *element,
			struct policy_errors *errs)
{
	struct policy_entry *e = element;
	static const char *const keys[] = { "name", "kernel", "initrd", "cmdline", "allow", NULL };
	static const char *const required[] = { "name", "kernel", "cmdline", NULL };
	json_object *v;
	bool ok;
	char p[128];

	if (!expect_type(obj, json_type_object, path, "an object", errs))
		return false;
	ok = check_keys(obj, path, keys, required, errs);
	if (json_object_object_get_ex(obj, "name", &v)) {
		child_path(p, sizeof(p), path, "name");
		e->name = get_string(v, p, POLICY_MAX_NAME, errs);
		if (e->name && !valid_name(e->name)) {
			add_error(errs, p, "name may only use letters, digits, '-', '_' and '.'");
			ok = false;
		}
		ok &= e->name != NULL;
	}
	if (json_object_object_get_ex(obj, "kernel", &v)) {
		child_path(p, sizeof(p), path, "kernel");
		e->kernel = get_path(v, p, errs);
		ok &= e->kernel != NULL;
	}
	if (json_object_object_get_ex(obj, "initrd", &v)) {
		child_path(p, sizeof(p), path, "initrd");
		ok &= parse_initrds(v, p, e, errs);
	}
	if (json_object_object_get_ex(obj, "cmdline", &v)) {
		child_path(p, sizeof(p), path, "cmdline");
		e->cmdline = get_string(v, p, POLICY_MAX_CMDLINE, errs);
		ok &= e->cmdline != NULL;
	}
	if (json_object_object_get_ex(obj, "allow", &v)) {
		child_path(p, sizeof(p), path, "allow");
		ok &= parse_allow(v, p, e, errs);
		/* A verified launch verifies every object it loads. */
		if (e->verified && e->initrd_count && !e->allow_initrd.digests &&
		    json_object_object_get_ex(v, "kernel", NULL)) {
			add_error(errs, p, "entry has initrds but no \"initrd\" allow-list");
			ok = false;
		}
	}
	return ok;
}

static bool parse_dmi_types(json_object *arr, const char *path, struct policy_collector *c,
			    struct policy_errors *errs)
{
	size_t n;
	char p[128];

	if (!expect_type(arr, json_type_array, path, "an array of SMBIOS types", errs))
		return false;
	n = json_object_array_length(arr);
	if (n == 0 || n > 256) {
		add_error(errs, path, "must list 1 to 256 SMBIOS structure types");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(arr, i);
		int64_t v;

		index_path(p, sizeof(p), path, i);
		if (!expect_type(t, json_type_int, p, "an integer", errs))
			return false;
		v = json_object_get_int64(t);
		if (v < 0 || v > 255) {
			add_error(errs, p, "SMBIOS type must be 0 to 255");
			return false;
		}
		c->dmi_types[v] = 1;
	}
	c->dmi_all_types = false;
	return true;
}

/* An integer from min to max, or an error naming the range. */
static bool get_bounded_int(json_object *o, const char *path, int64_t min, int64_t max,
			    int64_t *ret, struct policy_errors *errs)
{
	if (!expect_type(o, json_type_int, path, "an integer", errs))
		return false;
	*ret = json_object_get_int64(o);
	if (*ret < min || *ret > max) {
		add_error(errs, path, "must be %" PRId64 " to %" PRId64, min, max);
		return false;
	}
	return true;
}

/* {"type": "storage", "disk": "/dev/vda"[, "partition": N, "bytes": N]} */
static bool parse_storage(json_object *obj, const char *path, struct policy_collector *c,
			  struct policy_errors *errs)
{
	static const char *const keys[] = { "type", "disk", "partition", "bytes", NULL };
	static const char *const required[] = { "type", "disk", NULL };
	json_object *v;
	int64_t n;
	bool ok = check_keys(obj, path, keys, required, errs);
	bool has_part = json_object_object_get_ex(obj, "partition", NULL);
	bool has_bytes = json_object_object_get_ex(obj, "bytes", NULL);
	char p[128];

	if (json_object_object_get_ex(obj, "disk", &v)) {
		child_path(p, sizeof(p), path, "disk");
		if (json_object_get_type(v) == json_type_string &&
		    strncmp(json_object_get_string(v), "/dev/", 5) != 0) {
			add_error(errs, p, "disk must be a device path under /dev/ (e.g. /dev/vda)");
			ok = false;
		} else {
			c->path = get_path(v, p, errs);
			ok &= c->path != NULL;
		}
	}
	if (has_part != has_bytes) {
		add_error(errs, path, "missing required key \"%s\"", has_part ? "bytes" : "partition");
		ok = false;
	}
	if (json_object_object_get_ex(obj, "partition", &v)) {
		child_path(p, sizeof(p), path, "partition");
		if (get_bounded_int(v, p, 1, POLICY_MAX_PARTITION, &n, errs))
			c->partition = (unsigned)n;
		else
			ok = false;
	}
	if (json_object_object_get_ex(obj, "bytes", &v)) {
		child_path(p, sizeof(p), path, "bytes");
		if (get_bounded_int(v, p, 1, POLICY_MAX_STORAGE_BYTES, &n, errs))
			c->bytes = (size_t)n;
		else
			ok = false;
	}
	return ok;
}

static bool parse_collector(json_object *obj, const char *path, void *element,
			    struct policy_errors *errs)
{
	struct policy_collector *c = element;
	static const char *const dmi_keys[] = { "type", "types", NULL };
	static const char *const plain_keys[] = { "type", NULL };
	static const char *const file_keys[] = { "type", "path", NULL };
	static const char *const type_required[] = { "type", NULL };
	static const char *const file_required[] = { "type", "path", NULL };
	json_object *v;
	const char *type;
	char p[128];

	if (!expect_type(obj, json_type_object, path, "an object", errs))
		return false;
	if (!json_object_object_get_ex(obj, "type", &v)) {
		add_error(errs, path, "missing required key \"type\"");
		return false;
	}
	child_path(p, sizeof(p), path, "type");
	char *type_copy = get_string(v, p, 16, errs);
	if (!type_copy)
		return false;
	type = json_object_get_string(v);
	free(type_copy);
	if (strcmp(type, "dmi") == 0) {
		c->type = COLLECTOR_DMI;
		c->dmi_all_types = true;
		if (!check_keys(obj, path, dmi_keys, type_required, errs))
			return false;
		if (json_object_object_get_ex(obj, "types", &v)) {
			child_path(p, sizeof(p), path, "types");
			return parse_dmi_types(v, p, c, errs);
		}
		return true;
	}
	if (strcmp(type, "cpuid") == 0) {
		c->type = COLLECTOR_CPUID;
		return check_keys(obj, path, plain_keys, type_required, errs);
	}
	if (strcmp(type, "file") == 0) {
		c->type = COLLECTOR_FILE;
		if (!check_keys(obj, path, file_keys, file_required, errs))
			return false;
		json_object_object_get_ex(obj, "path", &v);
		child_path(p, sizeof(p), path, "path");
		c->path = get_path(v, p, errs);
		return c->path != NULL;
	}
	if (strcmp(type, "storage") == 0) {
		c->type = COLLECTOR_STORAGE;
		return parse_storage(obj, path, c, errs);
	}
	add_error(errs, p, "unknown collector type (dmi, cpuid, file, storage)");
	return false;
}

static bool parse_eventlog(json_object *obj, const char *path, struct policy *pol,
			   struct policy_errors *errs)
{
	static const char *const keys[] = { "path", NULL };
	json_object *v;
	char p[128];

	if (!expect_type(obj, json_type_object, path, "an object", errs) ||
	    !check_keys(obj, path, keys, keys, errs))
		return false;
	json_object_object_get_ex(obj, "path", &v);
	child_path(p, sizeof(p), path, "path");
	pol->eventlog_path = get_path(v, p, errs);
	return pol->eventlog_path != NULL;
}

/* "anti_rollback": {"nv_index": "0x01XXXXXX"}: a TPM NV index handle (TPM_HT_NV_INDEX). */
static bool parse_anti_rollback(json_object *obj, const char *path, struct policy *pol,
				struct policy_errors *errs)
{
	static const char *const keys[] = { "nv_index", NULL };
	json_object *v;
	char p[128], *s;
	bool ok = true;

	if (!expect_type(obj, json_type_object, path, "an object", errs) ||
	    !check_keys(obj, path, keys, keys, errs))
		return false;
	json_object_object_get_ex(obj, "nv_index", &v);
	child_path(p, sizeof(p), path, "nv_index");
	s = get_string(v, p, 16, errs);
	if (!s)
		return false;
	if (strlen(s) != 10 || strncmp(s, "0x01", 4) != 0 || strspn(s + 2, "0123456789abcdefABCDEF") != 8) {
		add_error(errs, p, "must be a TPM NV index handle written 0x01XXXXXX (8 hex digits)");
		ok = false;
	} else {
		pol->rollback_nv_index = (uint32_t)strtoul(s + 2, NULL, 16);
	}
	free(s);
	return ok;
}

static bool parse_top(json_object *root, struct policy *pol, struct policy_errors *errs)
{
	static const char *const keys[] = { "schema", "serial", "require_drtm", "on_failure",
					    "recovery", "collectors", "entries", "eventlog",
					    "anti_rollback", NULL };
	static const char *const required[] = { "schema", "serial", "entries", NULL };
	json_object *v;
	bool ok;

	if (!expect_type(root, json_type_object, "", "an object", errs))
		return false;
	ok = check_keys(root, "", keys, required, errs);

	if (json_object_object_get_ex(root, "schema", &v) &&
	    (!expect_type(v, json_type_int, "/schema", "an integer", errs) ||
	     json_object_get_int64(v) != 1)) {
		if (json_object_get_type(v) == json_type_int)
			add_error(errs, "/schema", "unsupported schema version %" PRId64 " (this is v1)",
				  json_object_get_int64(v));
		ok = false;
	}
	if (json_object_object_get_ex(root, "serial", &v)) {
		if (!expect_type(v, json_type_int, "/serial", "an integer", errs))
			ok = false;
		else if ((pol->serial = json_object_get_int64(v)) < 0 ||
			 pol->serial == INT64_MAX /* json-c saturates larger numbers */) {
			add_error(errs, "/serial", "must be 0 to %" PRId64, INT64_MAX - 1);
			ok = false;
		}
	}
	pol->require_drtm = true;
	if (json_object_object_get_ex(root, "require_drtm", &v)) {
		if (expect_type(v, json_type_boolean, "/require_drtm", "true or false", errs))
			pol->require_drtm = json_object_get_boolean(v);
		else
			ok = false;
	}
	pol->on_failure = POLICY_ON_FAILURE_HALT;
	if (json_object_object_get_ex(root, "on_failure", &v)) {
		char *s = get_string(v, "/on_failure", 16, errs);

		if (s && strcmp(s, "cap") == 0)
			pol->on_failure = POLICY_ON_FAILURE_CAP;
		else if (!s || strcmp(s, "halt") != 0) {
			if (s)
				add_error(errs, "/on_failure", "must be \"halt\" or \"cap\"");
			ok = false;
		}
		free(s);
	}
	if (json_object_object_get_ex(root, "recovery", &v)) {
		pol->recovery = get_string(v, "/recovery", POLICY_MAX_NAME, errs);
		ok &= pol->recovery != NULL;
	}
	if (json_object_object_get_ex(root, "collectors", &v))
		ok &= parse_array(v, "/collectors", 0, POLICY_MAX_COLLECTORS, "collectors",
				  sizeof(*pol->collectors), (void **)&pol->collectors,
				  &pol->collector_count, parse_collector, errs);
	if (json_object_object_get_ex(root, "entries", &v)) {
		if (json_object_get_type(v) == json_type_array && json_object_array_length(v) == 0) {
			add_error(errs, "/entries", "must list at least one entry");
			ok = false;
		} else {
			ok &= parse_array(v, "/entries", 0, POLICY_MAX_ENTRIES, "entries",
					  sizeof(*pol->entries), (void **)&pol->entries,
					  &pol->entry_count, parse_entry, errs);
		}
	}
	if (json_object_object_get_ex(root, "eventlog", &v))
		ok &= parse_eventlog(v, "/eventlog", pol, errs);
	if (json_object_object_get_ex(root, "anti_rollback", &v))
		ok &= parse_anti_rollback(v, "/anti_rollback", pol, errs);
	return ok;
}

/* Cross-field rules, once every field parsed. */
static bool check_policy(const struct policy *pol, struct policy_errors *errs)
{
	bool ok = true;
	char p[128];

	for (size_t i = 0; i < pol->entry_count; i++)
		for (size_t j = 0; j < i; j++)
			if (pol->entries[i].name && pol->entries[j].name &&
			    strcmp(pol->entries[i].name, pol->entries[j].name) == 0) {
				snprintf(p, sizeof(p), "/entries/%zu/name", i);
				add_error(errs, p, "entry name \"%s\" is used twice", pol->entries[i].name);
				ok = false;
			}
	if (pol->on_failure == POLICY_ON_FAILURE_CAP && !pol->recovery) {
		add_error(errs, "/recovery", "on_failure \"cap\" needs a recovery entry name");
		ok = false;
	}
	if (pol->recovery && !policy_find_entry(pol, pol->recovery)) {
		add_error(errs, "/recovery", "no entry is named \"%s\"", pol->recovery);
		ok = false;
	}
	return ok;
}

/* Line and column (1-based) of a byte offset, for syntax errors. */
static void offset_position(const uint8_t *buf, size_t len, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

int policy_parse(const uint8_t *buf, size_t len, struct policy *ret_policy,
		 struct policy_errors *errs)
{
	struct policy pol = { 0 };
	json_tokener *tok;
	json_object *root;
	bool ok;

	if (len > POLICY_MAX_SIZE) {
		add_error(errs, "/", "policy is %zu bytes, more than the limit of %u", len,
			  POLICY_MAX_SIZE);
		return -E2BIG;
	}
	/* json-c's default string hash is seeded from /dev/urandom, which blocks for about a
	 * second in slinit, before the kernel's RNG is ready. A policy is small, size-capped and
	 * measured: hash flooding is no concern, so use the unseeded hash. */
	json_global_set_string_hash(JSON_C_STR_HASH_PERLLIKE);
	tok = json_tokener_new_ex(POLICY_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8 |
					    JSON_TOKENER_REJECT_DUPLICATE_KEYS);
	root = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	if (!root || json_tokener_get_parse_end(tok) != len) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);
		size_t line, col, end = json_tokener_get_parse_end(tok);
		char where[64];

		/* json-c's parse end is the offending byte (or the end of the data). */
		offset_position(buf, len, end, &line, &col);
		snprintf(where, sizeof(where), "line %zu, column %zu", line, col);
		add_error(errs, where, "%s",
			  jerr == json_tokener_continue ? "unexpected end of data" :
			  jerr == json_tokener_success  ? "unexpected data after the JSON document" :
							  json_tokener_error_desc(jerr));
		json_object_put(root);
		json_tokener_free(tok);
		return -EBADMSG;
	}
	json_tokener_free(tok);

	ok = parse_top(root, &pol, errs);
	json_object_put(root);
	/* Cross-field rules run on whatever parsed, so every problem is reported at once. */
	ok &= check_policy(&pol, errs);
	if (!ok) {
		policy_free(&pol);
		return -EBADMSG;
	}
	*ret_policy = pol;
	return 0;
}

static void allow_list_free(struct policy_allow_list *l)
{
	free(l->digests);
}

void policy_free(struct policy *policy)
{
	for (size_t i = 0; i < policy->entry_count; i++) {
		struct policy_entry *e = &policy->entries[i];

		free(e->name);
		free(e->kernel);
		for (size_t j = 0; j < e->initrd_count; j++)
			free(e->initrds[j]);
		free(e->initrds);
		free(e->cmdline);
		allow_list_free(&e->allow_kernel);
		allow_list_free(&e->allow_initrd);
	}
	free(policy->entries);
	for (size_t i = 0; i < policy->collector_count; i++)
		free(policy->collectors[i].path);
	free(policy->collectors);
	free(policy->recovery);
	free(policy->eventlog_path);
	*policy = (struct policy){ 0 };
}

const struct policy_entry *policy_find_entry(const struct policy *policy, const char *name)
{
	for (size_t i = 0; i < policy->entry_count; i++)
		if (policy->entries[i].name && strcmp(policy->entries[i].name, name) == 0)
			return &policy->entries[i];
	return NULL;
}

bool policy_allow_list_matches(const struct policy_allow_list *list, const struct digest_set *set)
{
	for (size_t i = 0; i < list->count; i++) {
		const struct policy_digest *d = &list->digests[i];

		if ((set->banks & HASH_BANK(d->alg)) &&
		    memcmp(set->d[d->alg], d->d, hash_alg_size(d->alg)) == 0)
			return true;
	}
	return false;
}
