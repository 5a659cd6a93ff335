/* The management request (see request.h). */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "log.h"

/* What the runtime OS needs to set the request and slinit to read and clear it: an ordinary
 * 8-byte index both may write with its own (empty) authorisation. */
static const char *unusable(uint32_t attrs, uint16_t size)
{
	uint32_t type = (attrs & TPMA_NV_TPM2_NT_MASK) >> TPMA_NV_TPM2_NT_SHIFT;

	if (type != TPM2_NT_ORDINARY)
		return "is not an ordinary index";
	if (size != REQUEST_SIZE)
		return "is not 8 bytes long";
	if (!(attrs & TPMA_NV_AUTHREAD) || !(attrs & TPMA_NV_AUTHWRITE))
		return "cannot be read and written with its own authorisation (authread, authwrite)";
	return NULL;
}

int request_take(struct tpm *tpm, uint32_t index, char *why, size_t why_size)
{
	static const uint8_t cleared[REQUEST_SIZE];
	uint8_t value[REQUEST_SIZE];
	const char *problem;
	uint32_t attrs;
	uint16_t size;
	int r = tpm_nv_read_public(tpm, index, &attrs, &size);

	if (r < 0) {
		snprintf(why, why_size, "%s", r == -ENOENT ? "is not defined" : tpm_last_error(tpm));
		return r;
	}
	if ((problem = unusable(attrs, size))) {
		snprintf(why, why_size, "%s", problem);
		return -EINVAL;
	}
	/* Never written: nobody asked yet. */
	if (!(attrs & TPMA_NV_WRITTEN))
		return 0;
	if (tpm_nv_read(tpm, index, value, sizeof(value)) < 0) {
		snprintf(why, why_size, "%s", tpm_last_error(tpm));
		return -EIO;
	}
	if (memcmp(value, cleared, sizeof(value)) == 0)
		return 0;
	/* Cleared first: a request that stays set would bring the management entry back at
	 * every boot; one that cannot be cleared is not honoured. */
	if (tpm_nv_write(tpm, index, cleared, sizeof(cleared)) < 0) {
		snprintf(why, why_size, "set, but could not be cleared: %s", tpm_last_error(tpm));
		return -EIO;
	}
	return 1;
}

bool request_consume(struct tpm *tpm, uint32_t index)
{
	char why[256];
	int r = request_take(tpm, index, why, sizeof(why));

	if (r < 0)
		log_info("warning: management request: TPM NV index 0x%08x %s: booting the runtime "
			 "entries", (unsigned)index, why);
	else if (r > 0)
		log_info("management environment requested (TPM NV index 0x%08x, now cleared)",
			 (unsigned)index);
	return r > 0;
}
