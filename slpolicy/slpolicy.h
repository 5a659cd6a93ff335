/* slpolicy: what the command line tool's source files share (exit codes, usage, commands). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "event.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2

/* The text `slpolicy --help` prints. */
extern const char usage_text[];

/* Prints "slpolicy: <fmt with arg>" and the usage text to stderr; returns EXIT_USAGE. */
int usage_error(const char *fmt, const char *arg);

/* "BANK:N=HEX" as `slpolicy predict` prints it: a known bank name, a decimal PCR index below
 * PCR_COUNT and exactly the bank's digest size in hex digits (either case). Returns 0, or
 * -EINVAL with *ret_reason saying what is wrong. ret_value holds at least HASH_MAX_SIZE bytes. */
int parse_pcr_assignment(const char *s, enum hash_alg *ret_alg, unsigned *ret_pcr,
			 uint8_t *ret_value, const char **ret_reason);

/* Adds a --bank argument to the mask: a bank name hash_alg_from_name knows, or "all".
 * 0, or -EINVAL after printing the usage error "unknown bank NAME" (exit with EXIT_USAGE). */
int slpolicy_add_bank(unsigned *banks, const char *name);

/* Appends an --initrd argument to initrds (room for POLICY_MAX_INITRDS). 0, or -E2BIG after
 * printing the usage error "too many --initrd" (exit with EXIT_USAGE). */
int slpolicy_add_initrd(const char **initrds, size_t *n_initrds, const char *path);

/* The options new and allow share: getopt's 'i' (--initrd PATH, appended in order) and 'b'
 * (--bank BANK). 0 when c was one of them, -1 after a usage error (printed, exit with
 * EXIT_USAGE), 1 when c is neither. */
int slpolicy_file_option(int c, const char *arg, const char **initrds, size_t *n_initrds,
			 unsigned *banks);

/* Opens the --root (or --sys) directory O_RDONLY | O_DIRECTORY; on failure prints
 * "slpolicy: DIR: reason" and returns -1. */
int slpolicy_open_root(const char *root);

/* Reads and validates a policy file; prints every error as "FILE: where: reason". */
struct policy;
int slpolicy_load_policy(const char *path, uint8_t **ret_buf, size_t *ret_len,
			 struct policy *ret);

/* ["sha256:HEX", ...]: the digests of d in each bank of the mask, as allow-lists hold them. */
struct json_object;
struct json_object *slpolicy_digest_array(unsigned banks, const struct digest_set *d);
/* Appends to arr each "sha256:HEX" of d in the banks of the mask that arr does not hold. */
void slpolicy_add_digests(struct json_object *arr, unsigned banks, const struct digest_set *d);

/* slpolicy new --root DIR --kernel PATH [--initrd PATH]... --cmdline STR [--name] [--bank]. */
int cmd_new(int argc, char **argv);
/* slpolicy predict POLICY --root DIR [...]: see the usage text and slpolicy(8). */
int cmd_predict(int argc, char **argv);

/* slpolicy sign --key KEY.pem POLICY [--sig FILE]; verify --pubkey PUB.pem POLICY [--sig]. */
int cmd_sign(int argc, char **argv);
/* Signs the file at policy_path with the PEM Ed25519 key into sig_path; errors are printed. */
int slpolicy_sign_to(const char *key_path, const char *policy_path, const char *sig_path);
/* slpolicy allow POLICY --root DIR [--entry NAME] [--kernel PATH] [--initrd PATH]...
 * [--bank BANK]... [--replace] [--key KEY.pem]: digests added to (or with --replace, put in
 * place of) the entry's allow lists, the i-th --initrd's in its i-th initrd's; serial + 1. */
int cmd_allow(int argc, char **argv);
int cmd_verify(int argc, char **argv);
/* The raw 32-byte Ed25519 key of a PEM public key file; errors are printed. */
int policy_pubkey_load(const char *pem_path, uint8_t ret_key[32]);

/* slpolicy eventlog FILE [--json] | --verify [--pcrs FILE | --sysfs DIR] [--start ...]... */
int cmd_eventlog(int argc, char **argv);

/* slpolicy attest nonce | enroll | trust | verify: remote attestation's verifier. */
int cmd_attest(int argc, char **argv);
int cmd_attest_verify(int argc, char **argv);

/* predict --pcr: collected while parsing options, applied once the banks are known. */
#define PREDICT_MAX_PCR_ARGS ((size_t)PCR_COUNT * HASH_ALG_COUNT)
struct predict_pcrs {
	const char *args[PREDICT_MAX_PCR_ARGS];
	size_t count;
};
struct pcr_state;
int predict_pcrs_collect(struct predict_pcrs *p, const char *arg); /* -E2BIG when full */
/* Sets each "BANK:N=HEX" (or "N=HEX" with exactly one bank) in st. With drtm, only the
 * launcher's PCRs 17, 18 and 20 are inputs, and the same ones in every bank; *ret_given is
 * their mask. On error, a one-line reason in err. */
int predict_pcrs_apply(const struct predict_pcrs *p, unsigned banks, bool drtm,
		       struct pcr_state *st, unsigned *ret_given, char *err, size_t err_size);
/* {"pcr_bank":"sha256","pcr_ids":"17,18,21,22","pcr_digest":"<unpadded base64url>"} */
/* Keylime's tpm_policy: {"N": ["hex", ...], ...} for the PCRs in pcrs, each bank's value; with
 * merge (a previous output), its values are kept and these added (the same PCRs only). */
int predict_print_keylime(const struct pcr_state *st, const unsigned *pcrs, size_t n,
			  const char *merge);
int predict_print_clevis(const struct pcr_state *st, enum hash_alg alg, const unsigned *pcrs,
			 size_t n);
