/* Digests of one input in every requested PCR bank, computed in a single pass (nettle). */
#include "digest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/nettle-meta.h>

#include "hex.h"

static const struct hash_alg_info {
	const char *name;
	uint16_t tpm_id;
	const struct nettle_hash *nettle;
} algs[HASH_ALG_COUNT] = {
	[HASH_SHA1] = { "sha1", 0x0004, &nettle_sha1 },
	[HASH_SHA256] = { "sha256", 0x000B, &nettle_sha256 },
	[HASH_SHA384] = { "sha384", 0x000C, &nettle_sha384 },
	[HASH_SHA512] = { "sha512", 0x000D, &nettle_sha512 },
};

struct digest_ctx {
	unsigned banks;
	void *state[HASH_ALG_COUNT];
};

const char *hash_alg_name(enum hash_alg alg)
{
	return algs[alg].name;
}

size_t hash_alg_size(enum hash_alg alg)
{
	return algs[alg].nettle->digest_size;
}

uint16_t hash_alg_tpm_id(enum hash_alg alg)
{
	return algs[alg].tpm_id;
}

int hash_alg_from_tpm_id(uint16_t id, enum hash_alg *ret_alg)
{
	for (int a = 0; a < HASH_ALG_COUNT; a++)
		if (algs[a].tpm_id == id) {
			*ret_alg = (enum hash_alg)a;
			return 0;
		}
	return -EOPNOTSUPP;
}

enum hash_alg hash_alg_first(unsigned banks)
{
	FOR_EACH_BANK(alg, banks)
		return alg;
	return HASH_SHA256;
}

int hash_alg_from_name(const char *name, enum hash_alg *ret_alg)
{
	for (int a = 0; a < HASH_ALG_COUNT; a++)
		if (strcmp(algs[a].name, name) == 0) {
			*ret_alg = (enum hash_alg)a;
			return 0;
		}
	return -EINVAL;
}

int digest_ctx_new(unsigned banks, struct digest_ctx **ret_ctx)
{
	struct digest_ctx *ctx;

	if (banks == 0 || (banks & ~HASH_ALL_BANKS))
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->banks = banks;
	FOR_EACH_BANK(a, banks) {
		ctx->state[a] = malloc(algs[a].nettle->context_size);
		if (!ctx->state[a]) {
			digest_ctx_free(ctx);
			return -ENOMEM;
		}
		algs[a].nettle->init(ctx->state[a]);
	}
	*ret_ctx = ctx;
	return 0;
}

void digest_ctx_update(struct digest_ctx *ctx, const void *data, size_t len)
{
	for (int a = 0; a < HASH_ALG_COUNT; a++)
		if (ctx->state[a])
			algs[a].nettle->update(ctx->state[a], len, data);
}

void digest_ctx_final(struct digest_ctx *ctx, struct digest_set *ret_set)
{
	memset(ret_set, 0, sizeof(*ret_set));
	ret_set->banks = ctx->banks;
	for (int a = 0; a < HASH_ALG_COUNT; a++)
		if (ctx->state[a])
			algs[a].nettle->digest(ctx->state[a], algs[a].nettle->digest_size,
					       ret_set->d[a]);
}

void digest_ctx_free(struct digest_ctx *ctx)
{
	if (!ctx)
		return;
	for (int a = 0; a < HASH_ALG_COUNT; a++)
		free(ctx->state[a]);
	free(ctx);
}

int digest_buffer(unsigned banks, const void *data, size_t len, struct digest_set *ret_set)
{
	struct digest_ctx *ctx;
	int r = digest_ctx_new(banks, &ctx);

	if (r < 0)
		return r;
	digest_ctx_update(ctx, data, len);
	digest_ctx_final(ctx, ret_set);
	digest_ctx_free(ctx);
	return 0;
}

void digest_hex(const struct digest_set *set, enum hash_alg alg, char *out)
{
	hex_encode(set->d[alg], hash_alg_size(alg), out);
}
