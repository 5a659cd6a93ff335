/* Policy signatures: Ed25519 (RFC 8032) over the exact bytes of the policy file, checked with
 * nettle by slinit and by `slpolicy verify` alike. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_KEY_SIZE 32       /* raw Ed25519 public key */
#define POLICY_SIGNATURE_SIZE 64 /* raw Ed25519 signature: the whole .sig file */
#define POLICY_SIGNATURE_SUFFIX ".sig"

bool signature_verify(const uint8_t key[POLICY_KEY_SIZE], const uint8_t *msg, size_t len,
		      const uint8_t sig[POLICY_SIGNATURE_SIZE]);

/* A .sig file holds one signature, or up to this many concatenated: an upgrade writes the
 * old policy's and the new one's before it replaces the policy, so that a power cut between
 * the two renames leaves a pair that verifies (README, management environment). */
#define POLICY_MAX_SIGNATURES 4
#define POLICY_SIGNATURES_MAX_SIZE ((size_t)POLICY_MAX_SIGNATURES * POLICY_SIGNATURE_SIZE)
/* True when sigs_len is 64 times 1 to POLICY_MAX_SIGNATURES. */
bool signature_file_size_ok(size_t sigs_len);
/* True when one of the signatures of a .sig file verifies (signature_file_size_ok first). */
bool signature_verify_any(const uint8_t key[POLICY_KEY_SIZE], const uint8_t *msg, size_t len,
			  const uint8_t *sigs, size_t sigs_len);
