/* Anti-rollback (DESIGN section 5): a policy's serial against the floor an admin keeps in a
 * TPM NV index that the image names (or, in older setups, the policy itself). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tpm.h"

/* Bytes of the floor in the NV index: an unsigned 64-bit big-endian number (an NV counter's
 * value has the same form). */
#define ROLLBACK_FLOOR_SIZE 8

/* Where the image built with ROLLBACK_NV= names its floor: "0x01XXXXXX counter|ordinary\n". */
#define ROLLBACK_IMAGE_FILE "/etc/sll/rollback-nv"

enum rollback_kind {
	ROLLBACK_KIND_ANY,      /* named by the policy: an ordinary index or a counter */
	ROLLBACK_KIND_ORDINARY, /* TPM2_NT_ORDINARY, 8 bytes, written by owner or platform */
	ROLLBACK_KIND_COUNTER,  /* TPM2_NT_COUNTER: only goes up, even for the owner */
};

struct rollback_floor {
	uint32_t nv_index; /* 0: no floor */
	enum rollback_kind kind;
};

/* Parses the text of ROLLBACK_IMAGE_FILE; -EINVAL with the reason in why. */
int rollback_parse_image(const char *text, struct rollback_floor *ret, char *why,
			 size_t why_size);

/* 0 if serial >= the floor (its value in *ret_floor). Otherwise -EPERM (an older policy),
 * -ENOENT (no such index), -EACCES (an index anyone could lower, or not of the kind the
 * image names) or -EIO (the TPM failed), with the reason in why. */
int rollback_check(struct tpm *tpm, const struct rollback_floor *floor, int64_t serial,
		   uint64_t *ret_floor, char *why, size_t why_size);
