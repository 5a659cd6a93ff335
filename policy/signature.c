/* Policy signatures: Ed25519 (RFC 8032) over the exact bytes of the policy file, checked with
 * nettle by slinit and by `slpolicy verify` alike. */
#include "signature.h"

#include <nettle/eddsa.h>

bool signature_verify(const uint8_t key[POLICY_KEY_SIZE], const uint8_t *msg, size_t len,
		      const uint8_t sig[POLICY_SIGNATURE_SIZE])
{
	return ed25519_sha512_verify(key, len, msg, sig) == 1;
}

bool signature_file_size_ok(size_t sigs_len)
{
	return sigs_len && sigs_len % POLICY_SIGNATURE_SIZE == 0 &&
	       sigs_len <= POLICY_SIGNATURES_MAX_SIZE;
}

bool signature_verify_any(const uint8_t key[POLICY_KEY_SIZE], const uint8_t *msg, size_t len,
			  const uint8_t *sigs, size_t sigs_len)
{
	if (!signature_file_size_ok(sigs_len))
		return false;
	for (size_t off = 0; off < sigs_len; off += POLICY_SIGNATURE_SIZE)
		if (signature_verify(key, msg, len, sigs + off))
			return true;
	return false;
}
