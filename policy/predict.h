/* A launch predicted from files: the events slinit will record for an entry, through the
 * same launch sequence (policy/sequence.c), with digests of the files under a root directory
 * instead of the bytes slinit loads. Used by slpolicy predict, later by the attestation
 * verifier, and by the tests. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "policy.h"
#include "sequence.h"

struct predict_input {
	const uint8_t *key; /* the image's policy key (32 raw bytes), or NULL */
	const uint8_t *policy_bytes;
	size_t policy_len;
	const char *policy_path; /* where slinit reads it: the event's description */
	const struct policy *policy;
	const struct policy_entry *entry;
	struct collect_sources sources; /* boot_fd: the boot partition's files */
};

/* What stopped a prediction, for the caller's one line. */
enum predict_failure {
	PREDICT_FAILED_RECORDING, /* appending an event: why */
	PREDICT_FAILED_COLLECTOR, /* the collector at index collector: why */
	PREDICT_FAILED_OBJECT,    /* hashing the entry's kernel or an initrd: error (-errno) */
};

struct predict_error {
	enum predict_failure failure;
	size_t collector;
	int error;
	char why[512];
};

/* Appends to seq (initialised with the banks and the DRTM mode to predict) every event of
 * the launch of in->entry: key, policy, collectors, kernel, initrds, cmdline, separator. */
int predict_launch(struct sequence *seq, const struct predict_input *in,
		   struct predict_error *ret_err);
