/* libFuzzer target: the policy signature check (an attacker controls the .sig file and the
 * policy; with a key built in, slinit verifies before it parses). Input: 32 bytes of public
 * key, 64 bytes of signature, then the message. Any bytes must be handled without a crash,
 * and the check must hold both ways: a genuine signature of the message by a fixed key
 * verifies, and the same signature with one bit flipped (chosen by the input) does not
 * (checked for one input in 16, chosen by its first byte: signing is slow). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/eddsa.h>

#include "signature.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t secret[ED25519_KEY_SIZE] = { 0x5e, 0x11, 0x5e, 0x11 };
	uint8_t pub[ED25519_KEY_SIZE], sig[ED25519_SIGNATURE_SIZE];
	size_t bit;

	if (size < POLICY_KEY_SIZE + POLICY_SIGNATURE_SIZE)
		return 0;
	/* Hostile key and signature over a hostile message: no crash, any answer. */
	(void)signature_verify(data, data + POLICY_KEY_SIZE + POLICY_SIGNATURE_SIZE,
			       size - POLICY_KEY_SIZE - POLICY_SIGNATURE_SIZE, data + POLICY_KEY_SIZE);

	if (data[0] & 0xf0)
		return 0;
	/* The whole input as the message, signed for real. */
	ed25519_sha512_public_key(pub, secret);
	ed25519_sha512_sign(pub, secret, size, data, sig);
	if (!signature_verify(pub, data, size, sig))
		abort();
	bit = (size_t)data[1] * 2 % (8 * sizeof(sig)) + (data[2] & 1);
	sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	if (signature_verify(pub, data, size, sig))
		abort();
	return 0;
}
