/* slinit, PID 1 of the Secure Launch kernel. Skeleton: proves the TPM path end to end
 * (mounts, TPM, active banks, PCRs 17-23, one test event into PCRs 22 and 23). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "log.h"
#include "mounts.h"
#include "power.h"
#include "tpm.h"

/* Seconds the failure reason stays on screen before power-off. */
#define FAILURE_DELAY 10

/* The PCRs the skeleton reports: the DRTM ones and the debug PCR. */
#define FIRST_PCR 17
#define LAST_PCR 23

/* The skeleton's event: its digest is the hash of exactly these bytes, no NUL. */
static const char test_event[] = "sll: test event";

static _Noreturn void fail(void)
{
	power_off(FAILURE_DELAY);
}

static void print_banks(unsigned banks)
{
	char names[64] = "";

	for (int a = 0; a < HASH_ALG_COUNT; a++)
		if (banks & HASH_BANK(a)) {
			if (names[0])
				strcat(names, " ");
			strcat(names, hash_alg_name((enum hash_alg)a));
		}
	log_info("active PCR banks: %s", names);
}

/* Prints "pcr <phase> <bank> <index> <hex>" for every active bank: the test harness parses it. */
static int print_pcrs(struct tpm *tpm, unsigned banks, const char *phase, unsigned first,
		      unsigned last)
{
	for (int a = 0; a < HASH_ALG_COUNT; a++) {
		if (!(banks & HASH_BANK(a)))
			continue;
		for (unsigned pcr = first; pcr <= last; pcr++) {
			struct digest_set value = { .banks = HASH_BANK(a) };
			char hex[2 * HASH_MAX_SIZE + 1];
			int r = tpm_pcr_read(tpm, (enum hash_alg)a, pcr, value.d[a]);

			if (r < 0) {
				log_failure("TPM", "reading PCR %u: %s", pcr, tpm_last_error(tpm));
				return r;
			}
			digest_hex(&value, (enum hash_alg)a, hex);
			log_info("pcr %s %s %u %s", phase, hash_alg_name((enum hash_alg)a), pcr, hex);
		}
	}
	return 0;
}

static int extend_test_event(struct tpm *tpm, unsigned banks, unsigned pcr)
{
	struct digest_set digests;
	int r = digest_buffer(banks, test_event, strlen(test_event), &digests);

	if (r < 0) {
		log_failure("test event", "hashing: %s", strerror(-r));
		return r;
	}
	r = tpm_pcr_extend(tpm, pcr, &digests);
	if (r < 0) {
		log_failure("TPM", "extending PCR %u: %s", pcr, tpm_last_error(tpm));
		return r;
	}
	log_info("extended PCR %u: %s", pcr, test_event);
	return 0;
}

int main(void)
{
	struct tpm *tpm;
	unsigned banks;
	int r;

	if (mounts_pseudo_filesystems() < 0)
		fail();
	log_open_console();
	log_info("Secure Launch init, PID %d", (int)getpid());

	r = tpm_open(&tpm);
	if (r < 0) {
		log_failure("TPM", "no TPM device (/dev/tpmrm0, /dev/tpm0): %s", strerror(-r));
		fail();
	}
	log_info("TPM: %s", tpm_device(tpm));
	r = tpm_active_banks(tpm, &banks);
	if (r < 0) {
		log_failure("TPM", "reading PCR banks: %s", tpm_last_error(tpm));
		fail();
	}
	print_banks(banks);

	if (print_pcrs(tpm, banks, "before", FIRST_PCR, LAST_PCR) < 0 ||
	    extend_test_event(tpm, banks, 23) < 0 || extend_test_event(tpm, banks, 22) < 0 ||
	    print_pcrs(tpm, banks, "after", 22, 23) < 0)
		fail();

	tpm_close(tpm);
	log_info("skeleton done");
	power_off(0);
}
