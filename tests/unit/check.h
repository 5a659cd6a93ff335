/* What every unit test shares: a CHECK that counts and reports, and the FIPS test vectors. */
#pragma once

#include <stdio.h>

#include "digest.h"

static int failures, checks;

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		checks++;                                                                  \
		if (!(cond)) {                                                             \
			failures++;                                                        \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);               \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
		}                                                                          \
	} while (0)

/* The test's last line, "NAME: ok (N checks)" or "NAME: N of M checks FAILED", and its exit
 * status. */
static inline int check_summary(const char *name)
{
	if (failures) {
		fprintf(stderr, "%s: %d of %d checks FAILED\n", name, failures, checks);
		return 1;
	}
	printf("%s: ok (%d checks)\n", name, checks);
	return 0;
}

/* Digests of "abc" as published in FIPS 180-2 appendices A-D. */
static const char *const abc_hex[HASH_ALG_COUNT] = {
	[HASH_SHA1] = "a9993e364706816aba3e25717850c26c9cd0d89d",
	[HASH_SHA256] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	[HASH_SHA384] = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
			"8086072ba1e7cc2358baeca134c825a7",
	[HASH_SHA512] = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
};
