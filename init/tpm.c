/* TPM access for slinit over tpm2-tss (SAPI + device TCTI): banks, PCR read, PCR extend. */
#include "tpm.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_rc.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_tcti_device.h>

struct tpm {
	const char *device;
	TSS2_TCTI_CONTEXT *tcti;
	TSS2_SYS_CONTEXT *sys;
	TSS2_RC last_rc;
	unsigned commands;
	char last_error[160];
};

static const char *const tpm_devices[] = { "/dev/tpmrm0", "/dev/tpm0" };

/* Records a failed TSS call and maps it to an errno for the caller. */
static int tpm_fail(struct tpm *tpm, const char *call, TSS2_RC rc)
{
	tpm->last_rc = rc;
	if ((rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER)
		snprintf(tpm->last_error, sizeof(tpm->last_error), "%s: %s (0x%x)", call,
			 Tss2_RC_Decode(rc), rc);
	else /* the TSS, not the TPM: no (valid) answer came back */
		snprintf(tpm->last_error, sizeof(tpm->last_error),
			 "%s: no valid answer from the TPM, the device failed or vanished (%s, 0x%x)",
			 call, Tss2_RC_Decode(rc), rc);
	return -EIO;
}

static int tpm_open_device(const char *device, struct tpm **ret_tpm)
{
	struct tpm *tpm;
	size_t size = 0;
	TSS2_RC rc;

	tpm = calloc(1, sizeof(*tpm));
	if (!tpm)
		return -ENOMEM;
	tpm->device = device;

	/* tpm2-tss contexts are sized first, then allocated, then initialised. */
	rc = Tss2_Tcti_Device_Init(NULL, &size, device);
	if (rc == TSS2_RC_SUCCESS && (tpm->tcti = calloc(1, size)))
		rc = Tss2_Tcti_Device_Init(tpm->tcti, &size, device);
	if (!tpm->tcti || rc != TSS2_RC_SUCCESS) {
		free(tpm->tcti);
		free(tpm);
		return -ENODEV;
	}

	TSS2_ABI_VERSION abi = TSS2_ABI_VERSION_CURRENT;
	size = Tss2_Sys_GetContextSize(0);
	tpm->sys = calloc(1, size);
	if (!tpm->sys) {
		tpm_close(tpm);
		return -ENOMEM;
	}
	rc = Tss2_Sys_Initialize(tpm->sys, size, tpm->tcti, &abi);
	if (rc != TSS2_RC_SUCCESS) {
		free(tpm->sys);
		tpm->sys = NULL;
		tpm_close(tpm);
		return -EIO;
	}
	*ret_tpm = tpm;
	return 0;
}

int tpm_open(struct tpm **ret_tpm)
{
	for (size_t i = 0; i < sizeof(tpm_devices) / sizeof(tpm_devices[0]); i++)
		if (tpm_open_device(tpm_devices[i], ret_tpm) == 0)
			return 0;
	return -ENODEV;
}

void tpm_close(struct tpm *tpm)
{
	if (!tpm)
		return;
	if (tpm->sys) {
		Tss2_Sys_Finalize(tpm->sys);
		free(tpm->sys);
	}
	if (tpm->tcti) {
		Tss2_Tcti_Finalize(tpm->tcti);
		free(tpm->tcti);
	}
	free(tpm);
}

const char *tpm_device(const struct tpm *tpm)
{
	return tpm->device;
}

/* /dev/tpm0 and /dev/tpmrm0, the devices slinit opens, are both chip tpm0's. */
int tpm_driver(char *ret_name, size_t size)
{
	char link[PATH_MAX];
	const char *base;
	ssize_t n;

	n = readlink("/sys/class/tpm/tpm0/device/driver", link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	base = strrchr(link, '/');
	snprintf(ret_name, size, "%s", base ? base + 1 : link);
	return 0;
}

unsigned tpm_command_count(const struct tpm *tpm)
{
	return tpm->commands;
}

const char *tpm_last_error(const struct tpm *tpm)
{
	return tpm->last_error;
}

int tpm_active_banks(struct tpm *tpm, unsigned *ret_banks)
{
	TPMS_CAPABILITY_DATA cap = { 0 };
	TPMI_YES_NO more = 0;
	unsigned banks = 0;
	TSS2_RC rc;

	tpm->commands++;
	rc = Tss2_Sys_GetCapability(tpm->sys, NULL, TPM2_CAP_PCRS, 0, TPM2_NUM_PCR_BANKS, &more,
				    &cap, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(tpm, "TPM2_GetCapability(PCRS)", rc);

	const TPML_PCR_SELECTION *sel = &cap.data.assignedPCR;
	for (uint32_t i = 0; i < sel->count && i < TPM2_NUM_PCR_BANKS; i++) {
		const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
		bool allocated = false;
		enum hash_alg alg;

		for (unsigned b = 0; b < s->sizeofSelect && b < sizeof(s->pcrSelect); b++)
			allocated |= s->pcrSelect[b] != 0;
		if (!allocated)
			continue;
		if (hash_alg_from_tpm_id(s->hash, &alg) < 0) {
			snprintf(tpm->last_error, sizeof(tpm->last_error),
				 "active PCR bank with unsupported hash algorithm 0x%04x", s->hash);
			return -EOPNOTSUPP;
		}
		banks |= HASH_BANK(alg);
	}
	if (!banks) {
		snprintf(tpm->last_error, sizeof(tpm->last_error), "no active PCR bank");
		return -ENODATA;
	}
	*ret_banks = banks;
	return 0;
}

int tpm_pcr_read(struct tpm *tpm, enum hash_alg alg, unsigned pcr, uint8_t ret_value[HASH_MAX_SIZE])
{
	TPML_PCR_SELECTION in = { .count = 1 };
	TPML_PCR_SELECTION out = { 0 };
	TPML_DIGEST values = { 0 };
	UINT32 update_counter;
	TSS2_RC rc;

	if (pcr >= TPM2_MAX_PCRS)
		return -EINVAL;
	in.pcrSelections[0].hash = hash_alg_tpm_id(alg);
	in.pcrSelections[0].sizeofSelect = 3;
	in.pcrSelections[0].pcrSelect[pcr / 8] = (uint8_t)(1u << (pcr % 8));

	tpm->commands++;
	rc = Tss2_Sys_PCR_Read(tpm->sys, NULL, &in, &update_counter, &out, &values, NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(tpm, "TPM2_PCR_Read", rc);
	if (values.count != 1 || values.digests[0].size != hash_alg_size(alg)) {
		snprintf(tpm->last_error, sizeof(tpm->last_error),
			 "TPM2_PCR_Read: PCR %u %s not returned", pcr, hash_alg_name(alg));
		return -EIO;
	}
	memcpy(ret_value, values.digests[0].buffer, values.digests[0].size);
	return 0;
}

int tpm_pcr_extend(struct tpm *tpm, unsigned pcr, const struct digest_set *digests)
{
	/* PCRs need no authorisation value: an empty password session. */
	TSS2L_SYS_AUTH_COMMAND auth = {
		.count = 1,
		.auths = { { .sessionHandle = TPM2_RH_PW } },
	};
	TSS2L_SYS_AUTH_RESPONSE auth_rsp = { 0 };
	TPML_DIGEST_VALUES values = { 0 };
	TSS2_RC rc;

	if (pcr >= TPM2_MAX_PCRS)
		return -EINVAL;
	FOR_EACH_BANK(alg, digests->banks) {
		TPMT_HA *ha = &values.digests[values.count++];

		ha->hashAlg = hash_alg_tpm_id(alg);
		memcpy(&ha->digest, digests->d[alg], hash_alg_size(alg));
	}
	if (values.count == 0)
		return -EINVAL;

	tpm->commands++;
	rc = Tss2_Sys_PCR_Extend(tpm->sys, pcr, &auth, &values, &auth_rsp);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(tpm, "TPM2_PCR_Extend", rc);
	return 0;
}

/* A format-1 response code naming a handle: the index does not exist. */
static bool tpm_rc_is_handle(TSS2_RC rc)
{
	return (rc & TPM2_RC_FMT1) && (rc & 0x3f) == (TPM2_RC_HANDLE & 0x3f);
}

int tpm_nv_read_public(struct tpm *tpm, uint32_t index, uint32_t *ret_attributes,
		       uint16_t *ret_size)
{
	TPM2B_NV_PUBLIC pub = { 0 };
	TPM2B_NAME name = { .size = sizeof(name.name) };
	TSS2_RC rc;

	tpm->commands++;
	rc = Tss2_Sys_NV_ReadPublic(tpm->sys, index, NULL, &pub, &name, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		tpm_fail(tpm, "TPM2_NV_ReadPublic", rc);
		return tpm_rc_is_handle(rc) ? -ENOENT : -EIO;
	}
	if (pub.nvPublic.nvIndex != index) {
		snprintf(tpm->last_error, sizeof(tpm->last_error),
			 "TPM2_NV_ReadPublic: answered for index 0x%08x", pub.nvPublic.nvIndex);
		return -EIO;
	}
	*ret_attributes = pub.nvPublic.attributes;
	*ret_size = pub.nvPublic.dataSize;
	return 0;
}

int tpm_nv_read(struct tpm *tpm, uint32_t index, uint8_t *buf, uint16_t size)
{
	/* Authorised by the index itself with an empty password (TPMA_NV_AUTHREAD). */
	TSS2L_SYS_AUTH_COMMAND auth = {
		.count = 1,
		.auths = { { .sessionHandle = TPM2_RH_PW } },
	};
	TSS2L_SYS_AUTH_RESPONSE auth_rsp = { 0 };
	TPM2B_MAX_NV_BUFFER data = { 0 };
	TSS2_RC rc;

	if (size > sizeof(data.buffer))
		return -EINVAL;
	tpm->commands++;
	rc = Tss2_Sys_NV_Read(tpm->sys, index, index, &auth, size, 0, &data, &auth_rsp);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_fail(tpm, "TPM2_NV_Read", rc);
	if (data.size != size) {
		snprintf(tpm->last_error, sizeof(tpm->last_error),
			 "TPM2_NV_Read: %u bytes returned, %u asked for", data.size, size);
		return -EIO;
	}
	memcpy(buf, data.buffer, size);
	return 0;
}

int tpm_nv_write(struct tpm *tpm, uint32_t index, const uint8_t *buf, uint16_t size)
{
	/* Authorised by the index itself with an empty password (TPMA_NV_AUTHWRITE). */
	TSS2L_SYS_AUTH_COMMAND auth = {
		.count = 1,
		.auths = { { .sessionHandle = TPM2_RH_PW } },
	};
	TSS2L_SYS_AUTH_RESPONSE auth_rsp = { 0 };
	TPM2B_MAX_NV_BUFFER data = { .size = size };
	TSS2_RC rc;

	if (size > sizeof(data.buffer))
		return -EINVAL;
	memcpy(data.buffer, buf, size);
	tpm->commands++;
	rc = Tss2_Sys_NV_Write(tpm->sys, index, index, &auth, &data, 0, &auth_rsp);
	return rc == TSS2_RC_SUCCESS ? 0 : tpm_fail(tpm, "TPM2_NV_Write", rc);
}

int tpm_drtm_reset(struct tpm *tpm, unsigned banks, unsigned pcr, bool *ret_reset)
{
	uint8_t v[HASH_MAX_SIZE];
	enum hash_alg alg = hash_alg_first(banks);
	int r = tpm_pcr_read(tpm, alg, pcr, v);

	if (r < 0)
		return r;
	*ret_reset = true;
	for (size_t i = 0; i < hash_alg_size(alg); i++)
		*ret_reset &= v[i] == 0;
	return 0;
}
