/* Policy signatures: Ed25519 (RFC 8032) over the exact bytes of the policy file, checked with
 * nettle by slinit and by `slpolicy verify` alike. */
#include "signature.h"

#include <nettle/eddsa.h>

bool signature_verify(const uint8_t key[POLICY_KEY_SIZE], const uint8_t *msg, size_t len,
		      const uint8_t sig[POLICY_SIGNATURE_SIZE])
{
	return ed25519_sha512_verify(key, len, msg, sig) == 1;
}
