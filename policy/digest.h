/* Digests of one input in every requested PCR bank, computed in a single pass (nettle). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The hash algorithms a PCR bank can use. Values index arrays; the TPM ids are the TCG
 * algorithm registry's (TPM2_ALG_*), kept here so the pure core needs no TSS headers. */
enum hash_alg {
	HASH_SHA1,
	HASH_SHA256,
	HASH_SHA384,
	HASH_SHA512,
	HASH_ALG_COUNT,
};

#define HASH_MAX_SIZE 64
#define HASH_ALL_BANKS ((1u << HASH_ALG_COUNT) - 1)
#define HASH_BANK(alg) (1u << (alg))

/* A digest per bank; only the banks in the mask are valid. */
struct digest_set {
	unsigned banks;
	uint8_t d[HASH_ALG_COUNT][HASH_MAX_SIZE];
};

const char *hash_alg_name(enum hash_alg alg);      /* "sha256" */
size_t hash_alg_size(enum hash_alg alg);           /* 32 */
uint16_t hash_alg_tpm_id(enum hash_alg alg);       /* 0x000B */
int hash_alg_from_tpm_id(uint16_t id, enum hash_alg *ret_alg); /* -EOPNOTSUPP if unknown */
int hash_alg_from_name(const char *name, enum hash_alg *ret_alg); /* -EINVAL if unknown */

/* The first bank of a non-empty mask. */
enum hash_alg hash_alg_first(unsigned banks);

/* Runs the statement after it for each bank alg of the mask, in enum order (the empty
 * branch keeps a following "else" from binding to the macro's "if"). alg names the declared
 * variable: it cannot be parenthesised. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define FOR_EACH_BANK(alg, banks)                                                  \
	for (enum hash_alg alg = HASH_SHA1; alg < HASH_ALG_COUNT; alg++)            \
		if (!((banks) & HASH_BANK(alg))) {                                  \
		} else
/* NOLINTEND(bugprone-macro-parentheses) */

/* Streaming: feed the same bytes to every bank in the mask. */
struct digest_ctx;
int digest_ctx_new(unsigned banks, struct digest_ctx **ret_ctx);
void digest_ctx_update(struct digest_ctx *ctx, const void *data, size_t len);
void digest_ctx_final(struct digest_ctx *ctx, struct digest_set *ret_set);
void digest_ctx_free(struct digest_ctx *ctx);

/* One-shot digest of a buffer in every bank of the mask. */
int digest_buffer(unsigned banks, const void *data, size_t len, struct digest_set *ret_set);

/* Lower-case hex of one bank's digest into out (at least 2 * HASH_MAX_SIZE + 1 bytes). */
void digest_hex(const struct digest_set *set, enum hash_alg alg, char *out);
