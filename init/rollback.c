/* Anti-rollback: the policy's serial must not be lower than the floor in a TPM NV index. */
#include "rollback.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

int rollback_parse_image(const char *text, struct rollback_floor *ret, char *why,
			 size_t why_size)
{
	static const struct {
		const char *name;
		enum rollback_kind kind;
	} kinds[] = { { "counter", ROLLBACK_KIND_COUNTER }, { "ordinary", ROLLBACK_KIND_ORDINARY } };
	char hex[9], kind[16], end;

	/* Exactly "0x01" + 6 hex digits, one space, a kind, one newline: build.sh writes it. */
	if (sscanf(text, "0x%8[0-9a-f] %15[a-z]%c", hex, kind, &end) == 3 && end == '\n' &&
	    strlen(hex) == 8 && strncmp(hex, "01", 2) == 0 && text[strlen(text) - 1] == '\n' &&
	    strchr(text, '\n') == text + strlen(text) - 1)
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strcmp(kind, kinds[i].name) == 0) {
				ret->nv_index = (uint32_t)strtoul(hex, NULL, 16);
				ret->kind = kinds[i].kind;
				return 0;
			}
	snprintf(why, why_size, "must be \"0x01XXXXXX counter\" or \"0x01XXXXXX ordinary\"");
	return -EINVAL;
}

static const char *kind_problem(enum rollback_kind want, uint32_t type)
{
	switch (want) {
	case ROLLBACK_KIND_COUNTER:
		return type == TPM2_NT_COUNTER ? NULL :
		       "is not an NV counter (TPM2_NT_COUNTER), the kind this image names";
	case ROLLBACK_KIND_ORDINARY:
		return type == TPM2_NT_ORDINARY ? NULL :
		       "is not an ordinary index (TPM2_NT_ORDINARY), the kind this image names";
	case ROLLBACK_KIND_ANY:
		break;
	}
	return type == TPM2_NT_ORDINARY || type == TPM2_NT_COUNTER ? NULL :
	       "is neither an ordinary index nor an NV counter";
}

/* What makes an index unfit to hold a floor only the owner or platform can change, or NULL:
 * with TPMA_NV_AUTHWRITE or POLICYWRITE, whoever knows the index's own secret (often empty) or
 * satisfies its policy could lower an ordinary index (or raise a counter out of reach of
 * every policy), and slinit cannot tell who. */
static const char *attribute_problem(uint32_t type, uint32_t attrs, uint16_t size)
{
	if (size != ROLLBACK_FLOOR_SIZE)
		return "is not 8 bytes long";
	if (attrs & (TPMA_NV_AUTHWRITE | TPMA_NV_POLICYWRITE))
		return "can be written with its own authorisation (authwrite or policywrite): "
		       "a floor must be writable only by the owner or the platform";
	if (!(attrs & (TPMA_NV_OWNERWRITE | TPMA_NV_PPWRITE)))
		return "is writable neither by the owner nor by the platform";
	if (!(attrs & TPMA_NV_AUTHREAD))
		return "cannot be read with its own empty authorisation (needs authread)";
	if (!(attrs & TPMA_NV_WRITTEN))
		return type == TPM2_NT_COUNTER ?
			       "was never incremented: tpm2_nvincrement it once first" :
			       "was never written: write the floor into it first";
	return NULL;
}

/* The kind the image names is enforced first: an owner who may undefine a counter must not
 * be able to put an ordinary index, which can be written lower, in its place. */
static int check_attributes(const struct rollback_floor *f, uint32_t attrs, uint16_t size,
			    char *why, size_t why_size)
{
	uint32_t type = (attrs & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT;
	const char *problem = kind_problem(f->kind, type);

	if (!problem)
		problem = attribute_problem(type, attrs, size);
	if (!problem)
		return 0;
	snprintf(why, why_size, "TPM NV index 0x%08" PRIx32 " %s", f->nv_index, problem);
	return -EACCES;
}

int rollback_check(struct tpm *tpm, const struct rollback_floor *f, int64_t serial,
		   uint64_t *ret_floor, char *why, size_t why_size)
{
	uint32_t nv_index = f->nv_index;
	uint8_t buf[ROLLBACK_FLOOR_SIZE];
	uint32_t attrs = 0;
	uint16_t size = 0;
	uint64_t floor = 0;
	int r;

	r = tpm_nv_read_public(tpm, nv_index, &attrs, &size);
	if (r == -ENOENT) {
		snprintf(why, why_size, "the TPM has no NV index 0x%08" PRIx32
			 " (provision the anti-rollback floor first: README, Anti-rollback)",
			 nv_index);
		return r;
	}
	if (r < 0) {
		snprintf(why, why_size, "%s", tpm_last_error(tpm));
		return -EIO;
	}
	r = check_attributes(f, attrs, size, why, why_size);
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
