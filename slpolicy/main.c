/* slpolicy: the admin's tool to write, check and predict SLL policies (same core as slinit). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "collect.h"
#include "digest.h"
#include "event.h"
#include "measure.h"
#include "pcr.h"
#include "policy.h"
#include "signature.h"
#include "slpolicy.h"

/* The policy path slinit uses when the command line names none (DESIGN section 1). */
#define DEFAULT_POLICY_PATH "/slaunch/policy.json"

const char usage_text[] =
	"usage: slpolicy COMMAND [OPTIONS]\n"
	"\n"
	"  check POLICY\n"
	"      validate a policy; prints \"ok\" or one line per error: POLICY: where: reason\n"
	"  new --root DIR --kernel PATH [--initrd PATH]... --cmdline STR [--name NAME]\n"
	"      [--bank BANK]... [--management-kernel PATH [--management-initrd PATH]...\n"
	"      --management-cmdline STR [--management-name NAME]\n"
	"      [--management-request-nv 0x01XXXXXX]]\n"
	"      print a policy whose allow-lists hold the digests of the files under DIR\n"
	"      (the boot partition's contents; PATHs are relative to its root); --management-*:\n"
	"      a second entry, \"role\": \"management\", launched only on request (the TPM NV\n"
	"      index the runtime OS sets for the next boot, or sl.entry=)\n"
	"  predict POLICY --root DIR [--sys DIR] [--entry NAME] [--bank BANK|all]...\n"
	"      [--policy-path PATH] [--pubkey PUB.pem] [--pcr [BANK:]N=HEX]... [--no-drtm]\n"
	"      [--format text|json|tpm2|clevis|keylime|events] [--merge KEYLIME.json]\n"
	"      [--pcrs LIST]\n"
	"      print the PCR values slinit will leave after launching the entry (with\n"
	"      --pubkey, for an image built with that policy key: PCR 19 too); --sys: the\n"
	"      target's captured system tree (sll-collect) for dmi, cpuid and storage collectors;\n"
	"      --pcr gives the launcher's PCRs 17, 18 (and 20), which are then part of the\n"
	"      sealing set (with --no-drtm: PCR 4 and 7 of the machine, and the current values of\n"
	"      PCR 12 and 13); tpm2: the raw values in PCR order for tpm2_createpolicy -f; clevis:\n"
	"      the tpm2 pin's configuration; keylime: Keylime's tpm_policy (--merge: add to a\n"
	"      previous one, e.g. the current state's); these need --pcr 17 and 18 (--no-drtm:\n"
	"      4 and 7); --pcrs 17,18,19,22: only those PCRs of the sealing set (e.g. the\n"
	"      management entry's approval keys, which must survive policy changes: not 21)\n"
	"  allow POLICY --root DIR [--entry NAME] [--kernel PATH] [--initrd PATH]...\n"
	"      [--bank BANK]... [--replace | --move] [--key KEY.pem]\n"
	"      add the digests of the files under DIR to the entry's allow lists (an upgrade):\n"
	"      --kernel to allow.kernel, the i-th --initrd to the list of the entry's i-th\n"
	"      initrd; with --replace, they replace the digests of those lists (the old\n"
	"      kernel or initrd is no longer allowed); with --move, the entry's kernel and\n"
	"      initrds also become those paths (a new version installed beside the old one);\n"
	"      raise the serial by one, rewrite POLICY;\n"
	"      with --key, sign it again (POLICY.sig)\n"
	"  sign --key KEY.pem POLICY [--sig FILE]\n"
	"      write POLICY.sig, the Ed25519 signature slinit checks when it has a key\n"
	"  verify --pubkey PUB.pem POLICY [--sig FILE]\n"
	"      check POLICY.sig as slinit will; prints \"ok\"\n"
	"  eventlog FILE [--json]\n"
	"  eventlog FILE --verify [--pcrs FILE | --sysfs DIR] [--start BANK:N=HEX]...\n"
	"      print a TCG event log, or replay it and compare with the expected PCR values\n"
	"      (lines BANK:N=HEX, or the live ones: --sysfs /sys/class/tpm/tpm0 by default)\n"
	"  attest nonce\n"
	"      print a fresh challenge (32 random bytes in hex) for sll-attest quote --nonce\n"
	"  attest enroll ENROLL.json --ca CA.pem... --credential OUT.json --pending OUT.json\n"
	"      check a machine's EK certificate (sll-attest enroll) against the CAs and its\n"
	"      AK's template; write the credential for sll-attest activate\n"
	"  attest trust PENDING.json ACTIVATED.json --out MACHINE.json\n"
	"      check the secret the machine's TPM recovered; write the machine's trusted AK\n"
	"  attest verify EVIDENCE.json --machine MACHINE.json --nonce HEX --policy POLICY...\n"
	"      --root DIR [--sys DIR] [--pubkey PUB.pem] [--policy-path PATH] [--no-drtm]\n"
	"      [--bank BANK]... --pcr [BANK:]N=HEX... [--min-serial N] [--format text|json]\n"
	"      check a quote (sll-attest quote) and name what launched: the policy, entry,\n"
	"      kernel and initrds, or the first event no accepted launch has; --pcr: the\n"
	"      launcher's PCRs 17 and 18 (--no-drtm: 4 and 7), repeatable for several values\n"
	"\n"
	"Exit codes: 0 ok, 1 refused or invalid input, 2 usage error.\n";

static int cmd_check(int argc, char **argv)
{
	struct policy pol;
	uint8_t *buf;
	size_t len;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc != 2)
		return usage_error("check takes one POLICY file%s", "");
	if (slpolicy_load_policy(argv[1], &buf, &len, &pol) < 0)
		return EXIT_REFUSED;
	printf("ok\n");
	policy_free(&pol);
	free(buf);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "check", cmd_check },
	{ "new", cmd_new },
	{ "predict", cmd_predict },
	{ "eventlog", cmd_eventlog },
	{ "attest", cmd_attest },
	{ "sign", cmd_sign },
	{ "allow", cmd_allow },
	{ "verify", cmd_verify },
};

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("missing COMMAND%s", "");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return usage_error("unknown command %s", argv[1]);
}
