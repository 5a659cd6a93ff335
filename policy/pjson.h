/* Strict reading of the policy's JSON: typed getters that report each problem at its JSON
 * pointer. Only for the policy parser (policy.c, allow.c); its users see struct policy. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "policy.h"

/* Adds one error (where: a JSON pointer, "" for the root); on out of memory it is dropped. */
void pjson_error(struct policy_errors *errs, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* out = parent/key, a JSON pointer (RFC 6901 escaping; unprintable bytes become '?'). */
void pjson_child(char *out, size_t size, const char *parent, const char *key);
/* out = parent/i. */
void pjson_index(char *out, size_t size, const char *parent, size_t i);

/* Every key of obj must be one of allowed, and each of required must be present. */
bool pjson_keys(json_object *obj, const char *path, const char *const *allowed,
		const char *const *required, struct policy_errors *errs);
/* True if o has the type; otherwise "must be <what>, not <its type>". */
bool pjson_type(json_object *o, enum json_type type, const char *path, const char *what,
		struct policy_errors *errs);
/* A malloc'ed copy of a non-empty string of at most max bytes without NUL or control
 * characters; NULL after reporting why not. */
char *pjson_string(json_object *o, const char *path, size_t max, struct policy_errors *errs);

typedef bool (*pjson_element_fn)(json_object *obj, const char *path, void *element,
				 struct policy_errors *errs);

/* Parses an array of min (0: no minimum) to max elements with one callback per element into
 * a calloc'ed vector (*ret_count counts the elements tried, so that the caller frees what
 * they hold); every element is parsed, and every problem reported, even after a bad one. */
bool pjson_array(json_object *arr, const char *path, size_t min, size_t max, const char *what,
		 size_t element_size, void **ret_vec, size_t *ret_count, pjson_element_fn parse_one,
		 struct policy_errors *errs);

/* A TPM NV index handle written "0x01XXXXXX" (8 hex digits, TPM_HT_NV_INDEX) into *ret. */
bool pjson_nv_index(json_object *o, const char *path, uint32_t *ret, struct policy_errors *errs);
/* {"nv_index": "0x01XXXXXX"} and nothing else (anti_rollback, management_request). */
bool pjson_nv_index_object(json_object *obj, const char *path, uint32_t *ret,
			   struct policy_errors *errs);
