/* slpolicy sign / verify: the admin side of signed policies. OpenSSL reads the PEM keys
 * (`openssl genpkey -algorithm ed25519`) and signs; verifying is the core's, as in slinit. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cleanup.h"
#include "fileio.h"
#include "policy.h"
#include "signature.h"
#include "slpolicy.h"

int policy_pubkey_load(const char *pem_path, uint8_t ret_key[POLICY_KEY_SIZE])
{
	FILE *f = fopen(pem_path, "re");
	EVP_PKEY *pkey;
	size_t len = POLICY_KEY_SIZE;
	int ok;

	if (!f) {
		int e = errno ? errno : EIO;

		fprintf(stderr, "slpolicy: %s: %s\n", pem_path, strerror(e));
		return -e;
	}
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	ok = pkey && EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 &&
	     EVP_PKEY_get_raw_public_key(pkey, ret_key, &len) == 1 && len == POLICY_KEY_SIZE;
	EVP_PKEY_free(pkey);
	if (!ok) {
		fprintf(stderr, "slpolicy: %s: not a PEM Ed25519 public key "
			"(openssl pkey -in key.pem -pubout -out key.pub.pem)\n", pem_path);
		return -EINVAL;
	}
	return 0;
}

static int sign_with(const char *key_path, const uint8_t *msg, size_t len,
		     uint8_t sig[POLICY_SIGNATURE_SIZE])
{
	FILE *f = fopen(key_path, "re");
	EVP_PKEY *pkey;
	EVP_MD_CTX *ctx = NULL;
	size_t sig_len = POLICY_SIGNATURE_SIZE;
	int ok;

	if (!f) {
		fprintf(stderr, "slpolicy: %s: %s\n", key_path, strerror(errno));
		return -errno;
	}
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
		fprintf(stderr, "slpolicy: %s: not a PEM Ed25519 private key "
			"(openssl genpkey -algorithm ed25519 -out key.pem)\n", key_path);
		EVP_PKEY_free(pkey);
		return -EINVAL;
	}
	/* Ed25519 signs the message itself (no separate digest: "pure" EdDSA, RFC 8032). */
	ok = (ctx = EVP_MD_CTX_new()) && EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	     EVP_DigestSign(ctx, sig, &sig_len, msg, len) == 1 && sig_len == POLICY_SIGNATURE_SIZE;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	if (!ok) {
		fprintf(stderr, "slpolicy: %s: signing failed\n", key_path);
		return -EIO;
	}
	return 0;
}

int slpolicy_sign_to(const char *key_path, const char *policy_path, const char *sig_path)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t sig[POLICY_SIGNATURE_SIZE];
	size_t len;
	FILE *out;
	int r = file_read_all(policy_path, POLICY_MAX_SIZE, &buf, &len);

	if (r < 0) {
		fprintf(stderr, "slpolicy: %s: %s\n", policy_path, strerror(-r));
		return r;
	}
	r = sign_with(key_path, buf, len, sig);
	if (r < 0)
		return r;
	out = fopen(sig_path, "wbe");
	if (!out || fwrite(sig, 1, sizeof(sig), out) != sizeof(sig) || fclose(out) != 0) {
		fprintf(stderr, "slpolicy: %s: %s\n", sig_path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Parses "COMMAND --KEYOPT FILE POLICY [--sig FILE]"; sig defaults to POLICY.sig. */
static int parse_key_args(int argc, char **argv, const char *keyopt, const char **ret_key,
			  const char **ret_policy, char *sig, size_t sig_size)
{
	const struct option opts[] = {
		{ keyopt, required_argument, NULL, 'k' },
		{ "sig", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sig_arg = NULL;
	int c;

	*ret_key = NULL;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': *ret_key = optarg; break;
		case 's': sig_arg = optarg; break;
		case 'h': fputs(usage_text, stdout); return 1;
		default: return usage_error("bad option for %s", argv[0]);
		}
	}
	if (!*ret_key || optind != argc - 1)
		return usage_error("%s needs a key option and one POLICY", argv[0]);
	*ret_policy = argv[optind];
	snprintf(sig, sig_size, "%s", sig_arg ? sig_arg : *ret_policy);
	if (!sig_arg)
		strncat(sig, POLICY_SIGNATURE_SUFFIX, sig_size - strlen(sig) - 1);
	return 0;
}

int cmd_sign(int argc, char **argv)
{
	char sig_path[4200];
	const char *key, *policy;
	int r = parse_key_args(argc, argv, "key", &key, &policy, sig_path, sizeof(sig_path));

	if (r)
		return r == 1 ? 0 : r;
	if (slpolicy_sign_to(key, policy, sig_path) < 0)
		return EXIT_REFUSED;
	printf("%s\n", sig_path);
	return 0;
}

int cmd_verify(int argc, char **argv)
{
	char sig_path[4200];
	const char *pub = NULL, *policy = NULL;
	_cleanup_free_ uint8_t *buf = NULL, *sig = NULL;
	uint8_t key[POLICY_KEY_SIZE];
	size_t len, sig_len;
	int r = parse_key_args(argc, argv, "pubkey", &pub, &policy, sig_path, sizeof(sig_path));
	bool ok;

	if (r)
		return r == 1 ? 0 : r;
	if (policy_pubkey_load(pub, key) < 0)
		return EXIT_REFUSED;
	if ((r = file_read_all(policy, POLICY_MAX_SIZE, &buf, &len)) < 0) {
		fprintf(stderr, "slpolicy: %s: %s\n", policy, strerror(-r));
		return EXIT_REFUSED;
	}
	if ((r = file_read_all(sig_path, POLICY_SIGNATURES_MAX_SIZE, &sig,
			       &sig_len)) < 0 || !signature_file_size_ok(sig_len)) {
		fprintf(stderr, "slpolicy: %s: %s\n", sig_path,
			r < 0 && r != -E2BIG ? strerror(-r) : "must be 64 bytes, or up to 4 times 64");
		return EXIT_REFUSED;
	}
	ok = signature_verify_any(key, buf, len, sig, sig_len);
	if (!ok) {
		printf("%s: signature does not match the policy and the key\n", sig_path);
		return EXIT_REFUSED;
	}
	printf("ok\n");
	return 0;
}
