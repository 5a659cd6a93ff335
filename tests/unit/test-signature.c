/* Unit test of policy/signature.c against the RFC 8032 section 7.1 test vectors. */
#include <string.h>

#include "check.h"
#include "signature.h"

static void unhex(const char *hex, uint8_t *out)
{
	for (size_t i = 0; hex[2 * i]; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

static const struct {
	const char *pub, *msg, *sig;
} vectors[] = {
	/* TEST 1: the empty message */
	{ "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
	  "1cf9b46bd25bf5f0595bbe24655141438e7a100b" },
	/* TEST 2: one byte, 0x72 */
	{ "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	  "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
	  "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00" },
};

/* A .sig file of several signatures (an upgrade in progress): one that verifies is enough;
 * sizes other than 1 to 4 times 64 bytes are refused outright. */
static void test_several(void)
{
	uint8_t pub[POLICY_KEY_SIZE], sigs[5 * POLICY_SIGNATURE_SIZE] = { 0 }, msg[1];

	unhex(vectors[1].pub, pub);
	unhex(vectors[1].msg, msg);
	unhex(vectors[1].sig, sigs + POLICY_SIGNATURE_SIZE); /* the second of the pair */
	CHECK(signature_verify_any(pub, msg, 1, sigs, 2 * POLICY_SIGNATURE_SIZE),
	      "[another, this policy's]: verifies");
	memcpy(sigs, sigs + POLICY_SIGNATURE_SIZE, POLICY_SIGNATURE_SIZE);
	memset(sigs + POLICY_SIGNATURE_SIZE, 0, POLICY_SIGNATURE_SIZE);
	CHECK(signature_verify_any(pub, msg, 1, sigs, 2 * POLICY_SIGNATURE_SIZE),
	      "[this policy's, another]: verifies");
	CHECK(!signature_verify_any(pub, msg, 1, sigs + POLICY_SIGNATURE_SIZE,
				    2 * POLICY_SIGNATURE_SIZE), "[another, another]: refused");
	CHECK(!signature_verify_any(pub, msg, 1, sigs, 5 * POLICY_SIGNATURE_SIZE),
	      "five signatures: refused, even with a good one");
	CHECK(!signature_verify_any(pub, msg, 1, sigs, POLICY_SIGNATURE_SIZE + 1) &&
	      !signature_verify_any(pub, msg, 1, sigs, 0), "65 bytes, 0 bytes: refused");
}

int main(void)
{
	test_several();
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t pub[POLICY_KEY_SIZE], sig[POLICY_SIGNATURE_SIZE], msg[8] = { 0 };
		size_t len = strlen(vectors[i].msg) / 2;

		unhex(vectors[i].pub, pub);
		unhex(vectors[i].sig, sig);
		unhex(vectors[i].msg, msg);
		CHECK(signature_verify(pub, msg, len, sig), "RFC 8032 test %zu verifies", i + 1);
		sig[10] ^= 1;
		CHECK(!signature_verify(pub, msg, len, sig), "test %zu: flipped signature bit", i + 1);
		sig[10] ^= 1;
		msg[0] ^= 1;
		CHECK(!signature_verify(pub, msg, len + (len == 0), sig),
		      "test %zu: another message", i + 1);
		msg[0] ^= 1;
		pub[0] ^= 1;
		CHECK(!signature_verify(pub, msg, len, sig), "test %zu: another key", i + 1);
	}
	return check_summary("test-signature");
}
