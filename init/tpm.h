/* TPM access for slinit over tpm2-tss (SAPI + device TCTI): banks, PCR read, PCR extend. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct tpm;

/* Opens /dev/tpmrm0, else /dev/tpm0. 0, or -ENODEV when there is no TPM. */
int tpm_open(struct tpm **ret_tpm);
void tpm_close(struct tpm *tpm);
const char *tpm_device(const struct tpm *tpm);

/* Why the last call failed, decoded from the TPM response code (or "" if it was not the TPM). */
const char *tpm_last_error(const struct tpm *tpm);

/* Banks with at least one PCR allocated. -EOPNOTSUPP if an active bank uses an algorithm
 * slinit cannot hash: such a bank could not be extended, so it must not be ignored. */
int tpm_active_banks(struct tpm *tpm, unsigned *ret_banks);

int tpm_pcr_read(struct tpm *tpm, enum hash_alg alg, unsigned pcr, uint8_t ret_value[HASH_MAX_SIZE]);

/* Whether a dynamic launch reset the DRTM PCRs: it leaves them zero; without one they stay
 * all-ones, and a PCR cannot return to zero by extends. pcr is one slinit has not extended
 * yet (19). 0 with *ret_reset, or -errno (tpm_last_error). */
int tpm_drtm_reset(struct tpm *tpm, unsigned banks, unsigned pcr, bool *ret_reset);
/* The kernel driver bound to the TPM slinit opens (tpm_tis, tpm_crb, ...), from sysfs; -errno
 * if it cannot be told. */
int tpm_driver(char *ret_name, size_t size);

/* TPM commands sent so far (for the boot report). */
unsigned tpm_command_count(const struct tpm *tpm);

/* One TPM2_PCR_Extend carrying a digest for every bank in digests->banks. */
int tpm_pcr_extend(struct tpm *tpm, unsigned pcr, const struct digest_set *digests);

/* The attributes (TPMA_NV_*) and data size of an NV index; -ENOENT if it is not defined. */
int tpm_nv_read_public(struct tpm *tpm, uint32_t index, uint32_t *ret_attributes,
		       uint16_t *ret_size);
/* Reads the first size bytes of an NV index, authorised by the index's empty password. */
int tpm_nv_read(struct tpm *tpm, uint32_t index, uint8_t *buf, uint16_t size);
/* Writes size bytes at offset 0 of an NV index, authorised by the index's empty password. */
int tpm_nv_write(struct tpm *tpm, uint32_t index, const uint8_t *buf, uint16_t size);
