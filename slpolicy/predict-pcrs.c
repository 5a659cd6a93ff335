/* slpolicy predict's sealing set: the launcher's PCRs given with --pcr, and the clevis format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <nettle/base64.h>

#include "hex.h"
#include "measure.h"
#include "pcr.h"
#include "slpolicy.h"

/* The DRTM PCRs slinit does not extend: 17 and 18 (the launcher's), 20 (the SL kernel's). */
#define LAUNCHER_PCRS ((1u << 17) | (1u << 18) | (1u << 20))

int predict_pcrs_collect(struct predict_pcrs *p, const char *arg)
{
	if (p->count == PREDICT_MAX_PCR_ARGS)
		return -E2BIG;
	p->args[p->count++] = arg;
	return 0;
}

/* "N=HEX" without a bank: the one selected bank's. */
static int with_bank(const char *arg, unsigned banks, char *out, size_t size, const char **reason)
{
	if (strchr(arg, ':')) {
		snprintf(out, size, "%s", arg);
		return 0;
	}
	if (banks & (banks - 1)) {
		*reason = "without BANK: it needs exactly one --bank";
		return -EINVAL;
	}
	if ((size_t)snprintf(out, size, "%s:%s", hash_alg_name(hash_alg_first(banks)), arg) >=
	    size) {
		*reason = "too long";
		return -EINVAL;
	}
	return 0;
}

int predict_pcrs_apply(const struct predict_pcrs *p, unsigned banks, bool drtm,
		       struct pcr_state *st, unsigned *ret_given, char *err, size_t err_size)
{
	unsigned given[HASH_ALG_COUNT] = { 0 }, first = 0;
	bool have_first = false;

	for (size_t i = 0; i < p->count; i++) {
		char full[2 * HASH_MAX_SIZE + 16];
		uint8_t value[HASH_MAX_SIZE];
		const char *reason = NULL;
		enum hash_alg alg;
		unsigned pcr;

		if (with_bank(p->args[i], banks, full, sizeof(full), &reason) < 0 ||
		    parse_pcr_assignment(full, &alg, &pcr, value, &reason) < 0) {
			snprintf(err, err_size, "--pcr %s: %s", p->args[i], reason);
			return -EINVAL;
		}
		if (!(banks & HASH_BANK(alg))) {
			snprintf(err, err_size, "--pcr %s: bank %s is not selected with --bank",
				 p->args[i], hash_alg_name(alg));
			return -EINVAL;
		}
		if (drtm && !(LAUNCHER_PCRS & (1u << pcr))) {
			snprintf(err, err_size,
				 "--pcr %s: after a dynamic launch only PCR 17, 18 and 20 are inputs "
				 "(slinit extends 19, 21 and 22 from zero); other PCRs need --no-drtm",
				 p->args[i]);
			return -EINVAL;
		}
		if (given[alg] & (1u << pcr)) {
			snprintf(err, err_size, "--pcr %s: PCR %u of %s is given twice", p->args[i],
				 pcr, hash_alg_name(alg));
			return -EINVAL;
		}
		given[alg] |= 1u << pcr;
		pcr_state_set(st, alg, pcr, value);
	}
	/* A launcher PCR is part of the printed set: it must be known in every printed bank. */
	FOR_EACH_BANK(alg, banks) {
		if (have_first && drtm && given[alg] != first) {
			snprintf(err, err_size,
				 "--pcr: give the same launcher PCRs for every --bank (%s differs)",
				 hash_alg_name(alg));
			return -EINVAL;
		}
		first = given[alg];
		have_first = true;
	}
	*ret_given = first;
	return 0;
}

/* clevis's tpm2 pin config: pcr_digest is the unpadded base64url of the concatenated values,
 * in ascending PCR order (what `tpm2_pcrread -o` writes and tpm2_createpolicy -f reads). */
int predict_print_clevis(const struct pcr_state *st, enum hash_alg alg, const unsigned *pcrs,
			 size_t n)
{
	size_t size = hash_alg_size(alg), raw_len = n * size;
	uint8_t raw[PCR_COUNT * HASH_MAX_SIZE];
	char b64[BASE64_ENCODE_LENGTH(PCR_COUNT * HASH_MAX_SIZE) + BASE64_ENCODE_FINAL_LENGTH + 1];
	char ids[PCR_COUNT * 4] = "";
	struct base64_encode_ctx ctx;
	size_t len;

	for (size_t i = 0; i < n; i++) {
		memcpy(raw + i * size, st->value[alg][pcrs[i]], size);
		snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%u", i ? "," : "",
			 pcrs[i]);
	}
	base64url_encode_init(&ctx);
	len = base64_encode_update(&ctx, b64, raw_len, raw);
	len += base64_encode_final(&ctx, b64 + len);
	while (len && b64[len - 1] == '=')
		len--;
	b64[len] = '\0';

	json_object *cfg = json_object_new_object();
	if (!cfg)
		return -ENOMEM;
	json_object_object_add(cfg, "pcr_bank", json_object_new_string(hash_alg_name(alg)));
	json_object_object_add(cfg, "pcr_ids", json_object_new_string(ids));
	json_object_object_add(cfg, "pcr_digest", json_object_new_string(b64));
	printf("%s\n", json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(cfg);
	return 0;
}

/* The previous allow-list of --merge: {"N": ["hex", ...], ...} and nothing else. */
static json_object *load_keylime(const char *path)
{
	json_object *doc = json_object_from_file(path);
	const char *why = NULL;

	if (!doc || !json_object_is_type(doc, json_type_object))
		why = "not a JSON object";
	else {
		json_object_object_foreach(doc, key, val) {
			char *end;
			unsigned long pcr = strtoul(key, &end, 10);

			if (*end || end == key || pcr >= PCR_COUNT ||
			    !json_object_is_type(val, json_type_array))
				why = "a member is not \"PCR\": [values]";
			for (size_t i = 0; !why && i < json_object_array_length(val); i++)
				if (!json_object_is_type(json_object_array_get_idx(val, i),
							 json_type_string))
					why = "a value is not a string";
		}
	}
	if (why) {
		fprintf(stderr, "slpolicy: --merge %s: %s\n", path, why);
		json_object_put(doc);
		return NULL;
	}
	return doc;
}

static void add_unique(json_object *list, const char *hex)
{
	for (size_t i = 0; i < json_object_array_length(list); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(list, i)), hex) == 0)
			return;
	json_object_array_add(list, json_object_new_string(hex));
}

int predict_print_keylime(const struct pcr_state *st, const unsigned *pcrs, size_t n,
			  const char *merge)
{
	json_object *doc = merge ? load_keylime(merge) : json_object_new_object();
	char key[4], hex[2 * HASH_MAX_SIZE + 1];

	if (!doc)
		return -EINVAL;
	/* A PCR only one state lists would be checked against that state's values alone. */
	if (merge && (size_t)json_object_object_length(doc) != n)
		goto other_pcrs;
	for (size_t i = 0; i < n; i++) {
		json_object *list;

		snprintf(key, sizeof(key), "%u", pcrs[i]);
		if (!json_object_object_get_ex(doc, key, &list)) {
			if (merge)
				goto other_pcrs;
			list = json_object_new_array();
			json_object_object_add(doc, key, list);
		}
		FOR_EACH_BANK(alg, st->banks) {
			hex_encode(st->value[alg][pcrs[i]], hash_alg_size(alg), hex);
			add_unique(list, hex);
		}
	}
	printf("%s\n", json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(doc);
	return 0;
other_pcrs:
	fprintf(stderr, "slpolicy: --merge %s: lists other PCRs than this prediction: Keylime "
		"would check the PCRs only one of them has against that one's values alone\n",
		merge);
	json_object_put(doc);
	return -EINVAL;
}
