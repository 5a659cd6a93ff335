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
