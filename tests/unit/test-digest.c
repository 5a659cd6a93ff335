/* Unit test of policy/digest.c against the FIPS 180-2 / RFC 6234 test vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "digest.h"


static void test_one_shot_all_banks(void)
{
	struct digest_set set;
	char hex[2 * HASH_MAX_SIZE + 1];

	CHECK(digest_buffer(HASH_ALL_BANKS, "abc", 3, &set) == 0, "digest_buffer");
	CHECK(set.banks == HASH_ALL_BANKS, "banks mask kept");
	for (int a = 0; a < HASH_ALG_COUNT; a++) {
		digest_hex(&set, (enum hash_alg)a, hex);
		CHECK(strcmp(hex, abc_hex[a]) == 0, "%s(abc) = %s", hash_alg_name((enum hash_alg)a), hex);
	}
}

/* Feeding the bytes in pieces gives the same digest as one buffer. */
static void test_streaming_matches_one_shot(void)
{
	static unsigned char data[100000];
	struct digest_set whole, pieces;
	struct digest_ctx *ctx;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	CHECK(digest_buffer(HASH_BANK(HASH_SHA256) | HASH_BANK(HASH_SHA1), data, sizeof(data),
			    &whole) == 0, "one shot");
	CHECK(digest_ctx_new(HASH_BANK(HASH_SHA256) | HASH_BANK(HASH_SHA1), &ctx) == 0, "ctx");
	for (size_t off = 0; off < sizeof(data); off += 4093) {
		size_t n = sizeof(data) - off < 4093 ? sizeof(data) - off : 4093;
		digest_ctx_update(ctx, data + off, n);
	}
	digest_ctx_final(ctx, &pieces);
	digest_ctx_free(ctx);
	CHECK(memcmp(&whole, &pieces, sizeof(whole)) == 0, "streamed digest differs");
}

static void test_algorithm_ids(void)
{
	enum hash_alg alg;

	CHECK(hash_alg_from_tpm_id(0x000B, &alg) == 0 && alg == HASH_SHA256, "TPM2_ALG_SHA256");
	CHECK(hash_alg_from_tpm_id(0x0012, &alg) < 0, "SM3 is not supported");
	CHECK(hash_alg_from_name("sha384", &alg) == 0 && alg == HASH_SHA384, "name sha384");
	CHECK(hash_alg_from_name("md5", &alg) < 0, "md5 rejected");
	CHECK(hash_alg_size(HASH_SHA1) == 20 && hash_alg_size(HASH_SHA512) == 64, "sizes");
	CHECK(digest_ctx_new(0, &(struct digest_ctx *){ NULL }) < 0, "empty bank mask rejected");
}

int main(void)
{
	test_one_shot_all_banks();
	test_streaming_matches_one_shot();
	test_algorithm_ids();
	return check_summary("test-digest");
}
