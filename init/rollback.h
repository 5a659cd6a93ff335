/* Anti-rollback (DESIGN section 5): a policy's serial against the floor an admin keeps in a
 * TPM NV index. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "tpm.h"

/* Bytes of the floor in the NV index: an unsigned 64-bit big-endian number. */
#define ROLLBACK_FLOOR_SIZE 8

/* 0 if serial >= the floor in the NV index (its value in *ret_floor). Otherwise -EPERM (an
 * older policy), -ENOENT (no such index), -EACCES (an index anyone could lower or that is
 * not a floor) or -EIO (the TPM failed), with the reason in why. */
int rollback_check(struct tpm *tpm, uint32_t nv_index, int64_t serial, uint64_t *ret_floor,
		   char *why, size_t why_size);
