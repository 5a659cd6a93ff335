/* libFuzzer target for the attestation verifier's input: an evidence document (any bytes) is
 * parsed, its quote checked against its own AK (so the signature check runs on any key and
 * signature the input carries), and its event log replayed against the quoted PCRs. Never
 * crashes; every refusal is one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest-verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* As slpolicy attest does: tss2-mu's own log lines off. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TSS2_LOG", "all+none", 1);
	return 0;
}

static void one_line(const char *why)
{
	if (!*why || strchr(why, '\n')) {
		fprintf(stderr, "not one line: \"%s\"\n", why);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attest_require req = { .banks = HASH_BANK(HASH_SHA256), .pcrs = 0x3fu << 17 };
	struct attest_error err = { "" };
	struct attest_verdict v;
	struct attest_evidence ev;
	struct event_list log = { 0 };

	if (attest_evidence_parse(data, size, &ev, &err) < 0) {
		one_line(err.why);
		return 0;
	}
	/* The nonce the evidence claims: the fuzzer reaches the checks after it. */
	if (attest_quote_check(&ev, &ev.ak_public, ev.nonce, ev.nonce_len, &req, &err) < 0)
		one_line(err.why);
	if (attest_verdict_decide(&ev, HASH_BANK(HASH_SHA256), true, NULL, 0, 0, &log, &v) == 0)
		one_line(v.reason);
	event_list_free(&log);
	attest_evidence_free(&ev);
	return 0;
}
