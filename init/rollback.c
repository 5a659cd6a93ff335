/* Anti-rollback: the policy's serial must not be lower than the floor in a TPM NV index. */
#include "rollback.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include <tss2/tss2_tpm2_types.h>

/* Refuses an index that does not hold a floor only the owner or platform can change: with
 * TPMA_NV_AUTHWRITE or POLICYWRITE, whoever knows the index's own secret (often empty) or
 * satisfies its policy could lower it, and slinit cannot tell which. */
static int check_attributes(uint32_t index, uint32_t attrs, uint16_t size, char *why,
			    size_t why_size)
{
	const char *problem = NULL;

	if (((attrs & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT) != TPM2_NT_ORDINARY)
		problem = "is not an ordinary index (TPM2_NT_ORDINARY)";
	else if (size != ROLLBACK_FLOOR_SIZE)
		problem = "is not 8 bytes long";
	else if (attrs & (TPMA_NV_AUTHWRITE | TPMA_NV_POLICYWRITE))
		problem = "can be written with its own authorisation (authwrite or policywrite): "
			  "a floor must be writable only by the owner or the platform";
	else if (!(attrs & (TPMA_NV_OWNERWRITE | TPMA_NV_PPWRITE)))
		problem = "is writable neither by the owner nor by the platform";
	else if (!(attrs & TPMA_NV_AUTHREAD))
		problem = "cannot be read with its own empty authorisation (needs authread)";
	else if (!(attrs & TPMA_NV_WRITTEN))
		problem = "was never written: write the floor into it first";
	if (!problem)
		return 0;
	snprintf(why, why_size, "TPM NV index 0x%08" PRIx32 " %s", index, problem);
	return -EACCES;
}

int rollback_check(struct tpm *tpm, uint32_t nv_index, int64_t serial, uint64_t *ret_floor,
		   char *why, size_t why_size)
{
	uint8_t buf[ROLLBACK_FLOOR_SIZE];
	uint32_t attrs = 0;
	uint16_t size = 0;
	uint64_t floor = 0;
	int r;

	r = tpm_nv_read_public(tpm, nv_index, &attrs, &size);
	if (r == -ENOENT) {
		snprintf(why, why_size, "the TPM has no NV index 0x%08" PRIx32
			 " (provision it, or remove anti_rollback from the policy)", nv_index);
		return r;
	}
	if (r < 0) {
		snprintf(why, why_size, "%s", tpm_last_error(tpm));
		return -EIO;
	}
	r = check_attributes(nv_index, attrs, size, why, why_size);
	if (r < 0)
		return r;
	if (tpm_nv_read(tpm, nv_index, buf, sizeof(buf)) < 0) {
		snprintf(why, why_size, "%s", tpm_last_error(tpm));
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		floor = floor << 8 | buf[i];
	*ret_floor = floor;
	if (serial < 0 || (uint64_t)serial < floor) {
		snprintf(why, why_size, "serial %" PRId64 " is below the anti-rollback floor %" PRIu64
			 " in TPM NV index 0x%08" PRIx32 ": an older policy, refused", serial, floor,
			 nv_index);
		return -EPERM;
	}
	return 0;
}
