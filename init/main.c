/* slinit, PID 1 of the Secure Launch kernel: the steps of DESIGN section 1, in order,
 * stopping at the first failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/magic.h>

#include "beneath.h"
#include "bootdev.h"
#include "cleanup.h"
#include "collectors.h"
#include "fileio.h"
#include "launch.h"
#include "load.h"
#include "log.h"
#include "logfile.h"
#include "memstat.h"
#include "mounts.h"
#include "options.h"
#include "policy.h"
#include "power.h"
#include "recorder.h"
#include "request.h"
#include "rollback.h"
#include "sequence.h"
#include "signature.h"
#include "tpm.h"

/* The policy-signing public key, raw 32 bytes, when the image was built with one. */
#define POLICY_KEY_FILE "/etc/sll/policy.pub"

struct slinit {
	struct sl_options opts;
	struct recorder rec;
	struct policy policy;
	bool have_policy;
	bool have_key;
	uint8_t key[POLICY_KEY_SIZE];
	struct rollback_floor image_floor; /* ROLLBACK_NV= of the build; nv_index 0: none */
	bool capped;
	bool management_requested; /* the runtime OS asked for the management entry, once */
	bool journal_dirty; /* ext4 /boot whose journal needs replaying: never written */
	int root_fd;
	long start_ms;
	long step_ms;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* With sl.debug: how long the step that just ended took, for the boot time breakdown. */
static void step_done(struct slinit *s, const char *step)
{
	long now = now_ms();

	log_debug("step %s: %ld ms", step, now - s->step_ms);
	s->step_ms = now;
}

__attribute__((noreturn)) static void halt(struct slinit *s)
{
	power_off(s->opts.halt_delay);
}

/* Extends what was recorded since the last commit; a TPM error halts (never the recovery
 * entry: the TPM and the log may disagree). */
static void commit_or_halt(struct slinit *s)
{
	struct failure f = { .reason = "" };

	if (recorder_commit(&s->rec, &f) < 0) {
		log_failure_report(&f);
		halt(s);
	}
}

static int launch_entry(struct slinit *s, const struct policy_entry *e, struct launch *l,
			struct failure *ret);
static void write_log_copy(struct slinit *s, const struct launch *l);

/* DESIGN section 6: "halt", or "cap" 19, 21 and 22 with the failure event and boot the
 * policy's recovery entry, itself verified and measured after the cap. */
__attribute__((noreturn)) static void fail(struct slinit *s, const char *what)
{
	const struct policy_entry *recovery;
	struct launch l;
	struct failure f = { .reason = "" };

	/* After a TPM error the TPM and the log may disagree: never go on extending. */
	if (!s->have_policy || s->policy.on_failure != POLICY_ON_FAILURE_CAP || s->capped ||
	    !s->rec.tpm || s->rec.failed)
		halt(s);
	s->capped = true;
	if (sequence_failure(&s->rec.seq, what) < 0)
		halt(s);
	commit_or_halt(s);
	recovery = policy_find_entry(&s->policy, s->policy.recovery);
	log_info("PCRs 19, 21, 22 capped; booting the recovery entry \"%s\"", recovery->name);
	if (launch_entry(s, recovery, &l, &f) < 0) {
		if (s->rec.failed)
			log_failure_report(&f);
		else
			log_failure(recovery->name, "recovery entry: %s", f.reason);
		halt(s);
	}
	write_log_copy(s, &l);
	close(s->root_fd);
	bootdev_unmount();
	kexec_execute();
	log_failure("kexec", "reboot(LINUX_REBOOT_CMD_KEXEC) failed: %s", strerror(errno));
	halt(s);
}

static void start(struct slinit *s)
{
	char cmdline[4096] = "", err[256];
	int fd;
	ssize_t n;

	s->start_ms = s->step_ms = now_ms();
	if (mounts_pseudo_filesystems() < 0)
		halt(s);
	log_open_console();
	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, cmdline, sizeof(cmdline) - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		log_failure("/proc/cmdline", "cannot read it: %s", strerror(errno));
		halt(s);
	}
	cmdline[n] = '\0';
	/* Defaults hold even when the options are refused, so the failure can be shown. */
	s->opts.halt_delay = OPTIONS_DEFAULT_HALT_DELAY;
	if (options_parse(cmdline, &s->opts, err, sizeof(err)) < 0) {
		log_failure("kernel command line", "%s", err);
		halt(s);
	}
	log_set_debug(s->opts.debug);
	/* json-c's default string hash is seeded from /dev/urandom, which blocks for about a
	 * second here, before the kernel's RNG is ready. A policy is small, size-capped and
	 * measured: hash flooding is no concern, so the process uses the unseeded hash. */
	json_global_set_string_hash(JSON_C_STR_HASH_PERLLIKE);
	/* tpm2-tss logs its own errors to the console; slinit reports each failure in one line
	 * of its own, so the library speaks only with sl.debug. */
	if (!s->opts.debug)
		setenv("TSS2_LOG", "all+none", 1);
	log_info("Secure Launch init, PID %d", (int)getpid());
	step_done(s, "start");
}

/* PCRs 17-22 take extends only from locality 2, which the SL kernel's TPM driver requests
 * only on TIS TPMs (kernel-config/patches/0001). On a CRB TPM (firmware TPMs: Intel PTT, AMD
 * fTPM) every extend would fail: say why at once. */
static void require_locality2_driver(struct slinit *s)
{
	char driver[64];

	if (tpm_driver(driver, sizeof(driver)) < 0 || strcmp(driver, "tpm_crb") != 0)
		return;
	log_failure("TPM", "%s is a CRB TPM (tpm_crb, as firmware TPMs are): this SL kernel uses "
		    "locality 2, which PCRs 17-22 need, only on TIS TPMs (tpm_tis)",
		    tpm_device(s->rec.tpm));
	halt(s);
}

static void open_tpm(struct slinit *s)
{
	char names[64] = "";
	unsigned banks;
	bool drtm;
	int r = tpm_open(&s->rec.tpm);

	if (r < 0) {
		log_failure("TPM", "no TPM device (/dev/tpmrm0, /dev/tpm0): %s", strerror(-r));
		halt(s);
	}
	if (tpm_active_banks(s->rec.tpm, &banks) < 0) {
		log_failure("TPM", "reading PCR banks: %s", tpm_last_error(s->rec.tpm));
		halt(s);
	}
	FOR_EACH_BANK(alg, banks)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 names[0] ? " " : "", hash_alg_name(alg));
	/* TrenchBoot kernels say so in securityfs; else PCR 19 tells (tpm_drtm_reset). */
	drtm = access("/sys/kernel/security/slaunch", F_OK) == 0;
	if (!drtm && tpm_drtm_reset(s->rec.tpm, banks, PCR_AUTHORITY, &drtm) < 0) {
		log_failure("TPM", "reading PCR %u: %s", PCR_AUTHORITY, tpm_last_error(s->rec.tpm));
		halt(s);
	}
	sequence_init(&s->rec.seq, banks, drtm);
	if (s->rec.seq.drtm)
		require_locality2_driver(s);
	recorder_open_drtm_log(&s->rec);
	log_info("TPM %s, banks %s, %s", tpm_device(s->rec.tpm), names,
		 s->rec.seq.drtm ? "dynamic launch detected" : "no dynamic launch");
	step_done(s, "tpm");
}

static void mount_boot(struct slinit *s)
{
	struct failure f = { .reason = "" };
	struct statfs fs;
	char dev[300];

	if (bootdev_mount(&s->opts, dev, sizeof(dev), &f) < 0) {
		log_failure_report(&f);
		halt(s);
	}
	s->root_fd = bootdev_open_root();
	if (s->root_fd < 0) {
		log_failure(BOOT_MOUNT, "cannot open it: %s", strerror(-s->root_fd));
		halt(s);
	}
	log_info("boot partition %s mounted read-only", dev);
	if (statfs(BOOT_MOUNT, &fs) == 0 && fs.f_type == EXT4_SUPER_MAGIC)
		s->journal_dirty = bootdev_journal_needs_recovery(dev) != 0;
	step_done(s, "boot partition");
}

/* A file the build put into the image (the key, the floor): its length, -1 if the image has
 * none (an empty file is not none). A file that cannot be read or holds more than size bytes
 * halts. */
static ssize_t read_built_in(struct slinit *s, const char *path, const char *what, void *buf,
			     size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		if (errno == ENOENT)
			return -1;
		log_failure(path, "cannot open the built-in %s: %s", what, strerror(errno));
		halt(s);
	}
	n = read(fd, buf, size);
	if (n < 0 || read(fd, &(uint8_t){ 0 }, 1) != 0) {
		log_failure(path, "the built-in %s cannot be read or is longer than %zu bytes", what,
			    size);
		halt(s);
	}
	return n;
}

/* With a key built in, a signed policy is mandatory; the key's digest goes into PCR 19
 * before the policy is read, so the PCRs say which authority the launch obeyed. */
static void load_policy_key(struct slinit *s)
{
	ssize_t n = read_built_in(s, POLICY_KEY_FILE, "key", s->key, sizeof(s->key));

	if (n < 0)
		return;
	if (n != (ssize_t)sizeof(s->key)) {
		log_failure(POLICY_KEY_FILE, "the built-in key must be exactly %d raw bytes",
			    POLICY_KEY_SIZE);
		halt(s);
	}
	s->have_key = true;
	if (sequence_policy_key(&s->rec.seq, s->key, sizeof(s->key)) < 0)
		halt(s);
	commit_or_halt(s);
	log_info("signed policies only: built-in Ed25519 key recorded in PCR %u",
		 recorder_pcr(&s->rec, PCR_AUTHORITY));
}

/* POLICY.sig: the 64 bytes of an Ed25519 signature over the policy's bytes, or up to four of
 * them (an upgrade in progress, signature.h). Checked before the policy is parsed, so the
 * parser only ever sees what the admin signed. */
static void check_signature(struct slinit *s, const uint8_t *buf, size_t len)
{
	char sig_path[sizeof(s->opts.policy) + sizeof(POLICY_SIGNATURE_SUFFIX)];
	uint8_t sig[POLICY_SIGNATURES_MAX_SIZE + 1];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(sig_path, sizeof(sig_path), "%s%s", s->opts.policy, POLICY_SIGNATURE_SUFFIX);
	fd = beneath_open_regular(s->root_fd, sig_path);
	if (fd < 0) {
		log_failure(sig_path, "%s; this image only accepts signed policies (slpolicy sign)",
			    fd == -ENOENT ? "missing" : strerror(-fd));
		halt(s);
	}
	n = read(fd, sig, sizeof(sig));
	if (n < 0) {
		log_failure(sig_path, "reading: %s", strerror(errno));
		halt(s);
	}
	if (!signature_file_size_ok((size_t)n)) {
		log_failure(sig_path, "must be 64 bytes (a raw Ed25519 signature), or up to %d of "
			    "them", POLICY_MAX_SIGNATURES);
		halt(s);
	}
	if (!signature_verify_any(s->key, buf, len, sig, (size_t)n)) {
		log_failure(sig_path, "signature does not match the policy and the built-in key");
		halt(s);
	}
	log_info("policy signature verified");
}

/* Reads the policy once, extends its exact bytes into PCR 21, then parses them. */
static void load_policy(struct slinit *s)
{
	struct policy_errors errs = { 0 };
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_close_ int fd = beneath_open_regular(s->root_fd, s->opts.policy);
	size_t len = 0;
	int r;

	if (fd < 0) {
		log_failure(s->opts.policy, "cannot open the policy on the boot partition: %s",
			    fd == -ELOOP ? "it is a symbolic link" : strerror(-fd));
		halt(s);
	}
	r = fd_read_all(fd, POLICY_MAX_SIZE, &buf, &len);
	if (r == -E2BIG) {
		log_failure(s->opts.policy, "larger than the %u-byte limit", POLICY_MAX_SIZE);
		halt(s);
	}
	if (r < 0) {
		log_failure(s->opts.policy, "reading: %s", strerror(-r));
		halt(s);
	}
	log_debug("policy read (%zu bytes)", len);
	if (sequence_policy(&s->rec.seq, buf, len, s->opts.policy) < 0)
		halt(s);
	commit_or_halt(s);
	if (s->have_key)
		check_signature(s, buf, len);
	r = policy_parse(buf, len, &s->policy, &errs);
	log_debug("policy parsed");
	if (r < 0) {
		/* One line: the first problem; slpolicy check lists them all. */
		log_failure(s->opts.policy, "%s: %s (run slpolicy check for all errors)",
			    errs.count ? errs.errors[0].where : "/",
			    errs.count ? errs.errors[0].reason : strerror(-r));
		policy_errors_free(&errs);
		halt(s);
	}
	s->have_policy = true;
	log_info("policy %s: serial %lld, %zu entr%s, on_failure %s", s->opts.policy,
		 (long long)s->policy.serial, s->policy.entry_count,
		 s->policy.entry_count == 1 ? "y" : "ies",
		 s->policy.on_failure == POLICY_ON_FAILURE_CAP ? "cap" : "halt");
	step_done(s, "policy");
}

/* After the floor: an old policy's on_failure "cap" must not boot its recovery entry. */
static void check_drtm(struct slinit *s)
{
	if (s->policy.require_drtm && !s->rec.seq.drtm) {
		log_failure("policy", "require_drtm is true but this is not a dynamic launch");
		fail(s, "no dynamic launch");
	}
	if (!s->rec.seq.drtm)
		log_info("no DRTM: recording into PCR 12 (policy) and PCR 13 (launch), as the "
			 "policy allows");
}

/* ROLLBACK_NV= of the build: the floor is named by the image, as the key is, so that a policy
 * signed before anti-rollback was used (or one without anti_rollback) cannot switch it off. */
static void load_image_floor(struct slinit *s)
{
	char text[64] = "", why[128];

	if (read_built_in(s, ROLLBACK_IMAGE_FILE, "anti-rollback floor", text,
			  sizeof(text) - 1) < 0)
		return;
	if (rollback_parse_image(text, &s->image_floor, why, sizeof(why)) < 0) {
		log_failure(ROLLBACK_IMAGE_FILE, "%s", why);
		halt(s);
	}
}

/* The floor the image names, else (older setups) the one the policy names. */
static bool rollback_floor(struct slinit *s, struct rollback_floor *ret)
{
	uint32_t named = s->policy.rollback_nv_index;

	if (s->image_floor.nv_index && named && named != s->image_floor.nv_index) {
		log_failure(s->opts.policy, "/anti_rollback/nv_index: 0x%08x, but this image keeps "
			    "its anti-rollback floor in TPM NV index 0x%08x", (unsigned)named,
			    (unsigned)s->image_floor.nv_index);
		halt(s);
	}
	*ret = s->image_floor;
	if (!ret->nv_index)
		*ret = (struct rollback_floor){ .nv_index = named, .kind = ROLLBACK_KIND_ANY };
	return ret->nv_index != 0;
}

/* Right after the signature: an older policy is refused before anything it says is acted on
 * (require_drtm, collectors, entries): halt, not its recovery entry, which would be the old
 * entry the floor exists to keep out. */
static void check_rollback(struct slinit *s)
{
	struct rollback_floor f;
	char why[256];
	uint64_t floor;
	int r;

	if (!rollback_floor(s, &f))
		return;
	r = rollback_check(s->rec.tpm, &f, s->policy.serial, &floor, why, sizeof(why));
	if (r == -EPERM)
		log_failure(s->opts.policy, "/serial: %s", why);
	else if (r < 0 && f.kind != ROLLBACK_KIND_ANY)
		log_failure("anti-rollback floor of the image", "%s", why);
	else if (r < 0)
		log_failure(s->opts.policy, "/anti_rollback: %s", why);
	if (r < 0)
		halt(s);
	log_info("anti-rollback: serial %lld >= floor %llu in TPM NV index 0x%08x%s",
		 (long long)s->policy.serial, (unsigned long long)floor, (unsigned)f.nv_index,
		 f.kind == ROLLBACK_KIND_COUNTER ? " (counter)" : "");
	step_done(s, "anti-rollback");
}

static void run_collectors(struct slinit *s)
{
	size_t n = s->policy.collector_count;
	struct failure f = { .reason = "" };

	if (!n)
		return;
	if (collectors_run(&s->rec, &s->policy, s->root_fd, &f) < 0) {
		log_failure_report(&f);
		fail(s, "collector");
	}
	log_info("%zu collector%s recorded in PCR %u", n, n == 1 ? "" : "s",
		 recorder_pcr(&s->rec, PCR_CONFIG));
	step_done(s, "collectors");
}

static int launch_entry(struct slinit *s, const struct policy_entry *e, struct launch *l,
			struct failure *ret)
{
	char why[512] = "";
	int r = launch_read(s->root_fd, e, s->rec.seq.banks, l, why, sizeof(why));

	if (r < 0) {
		failure_set(ret, e->name, "%s", why);
		return r;
	}
	step_done(s, "read and verify");
	r = launch_commit(&s->rec, e, l, ret);
	if (r < 0)
		return r;
	log_info("entry \"%s\": kernel %s loaded, %s, PCR %u extended", e->name, e->kernel,
		 e->verified ? "verified" : "measured only", recorder_pcr(&s->rec, PCR_LAUNCH));
	step_done(s, "measure and load");
	return 0;
}

/* The copy of the log on /boot, when the policy asks for one (logfile.c). */
static void write_log_copy(struct slinit *s, const struct launch *l)
{
	if (logfile_copy(s->root_fd, s->policy.eventlog_path, s->journal_dirty, l->log,
			 l->log_len))
		step_done(s, "event log copy");
}

/* After a verified entry was refused, a measured-only one would boot whatever is there: that
 * downgrade of trust happens only when the policy says "measured_fallback": true. */
static bool downgrade_refused(struct slinit *s, const struct policy_entry *e,
			      const char *refused_verified)
{
	if (!refused_verified || e->verified || s->policy.measured_fallback)
		return false;
	log_info("entry \"%s\" is measured only: not tried after the verified entry \"%s\" was "
		 "refused (the policy does not set measured_fallback)", e->name, refused_verified);
	return true;
}

/* The runtime OS's request for the management entry, taken (cleared) now and honoured by
 * launch(); not with sl.entry=, which decides alone. */
static void take_management_request(struct slinit *s)
{
	if (s->policy.management_nv_index && !s->opts.entry[0]) {
		s->management_requested = request_consume(s->rec.tpm,
							  s->policy.management_nv_index);
		step_done(s, "management request");
	}
}

/* Launches e: true. False when it was refused before anything was measured (f says why);
 * a failure after measuring (TPM, kexec) is the launch's failure (fail()). */
static bool try_entry(struct slinit *s, const struct policy_entry *e, struct failure *f)
{
	struct launch l = { .kernel_fd = -1, .initrd_fd = -1 };
	size_t measured = s->rec.seq.events.count;

	if (launch_entry(s, e, &l, f) == 0) {
		write_log_copy(s, &l);
		return true;
	}
	launch_close(&l); /* its memfds would crowd out the next entry or the recovery */
	if (s->rec.seq.events.count != measured) {
		log_failure_report(f);
		fail(s, e->name);
	}
	return false;
}

/* The requested management entry: launched, or refused before anything was measured (then
 * the runtime entries boot as without the request: never anything unverified). */
static bool launch_management(struct slinit *s)
{
	const struct policy_entry *e = policy_management_entry(&s->policy);
	struct failure f = { .reason = "" };

	if (try_entry(s, e, &f))
		return true;
	log_info("management entry \"%s\" refused: %s; booting the runtime entries", e->name,
		 f.reason);
	return false;
}

/* Entries the loop below does not try: those sl.entry= does not name; a management entry
 * without sl.entry= (it runs only on request, see launch_management); a measured-only entry
 * after a verified one was refused, unless the policy allows it. */
static bool skip_entry(struct slinit *s, const struct policy_entry *e,
		       const char *refused_verified)
{
	if (s->opts.entry[0] && strcmp(e->name, s->opts.entry) != 0)
		return true;
	if (!s->opts.entry[0] && e->management)
		return true;
	return downgrade_refused(s, e, refused_verified);
}

/* sl.entry= or the first entry whose objects verify (a fallback keeps fleets bootable). */
static void launch(struct slinit *s)
{
	const char *refused_verified = NULL;
	struct failure f = { .reason = "" };

	if (s->management_requested && launch_management(s))
		return;
	for (size_t i = 0; i < s->policy.entry_count; i++) {
		const struct policy_entry *e = &s->policy.entries[i];

		if (skip_entry(s, e, refused_verified))
			continue;
		if (try_entry(s, e, &f))
			return;
		if (s->opts.entry[0]) { /* the one entry asked for */
			log_failure_report(&f);
			fail(s, e->name);
		}
		log_info("entry \"%s\" refused: %s; trying the next one", e->name, f.reason);
		if (e->verified && !refused_verified)
			refused_verified = e->name;
	}
	if (s->opts.entry[0])
		log_failure("sl.entry", "no entry is named \"%s\"", s->opts.entry);
	else if (s->policy.entry_count == 1)
		log_failure(s->policy.entries[0].name, "%s", f.reason);
	else
		log_failure("policy", "no entry verified (last one: %s)", f.reason);
	fail(s, "no entry verified");
}

int main(void)
{
	struct slinit s = { .root_fd = -1, .rec = { .drtm_log_fd = -1 } };

	start(&s);
	open_tpm(&s);
	mount_boot(&s);
	load_policy_key(&s);
	load_image_floor(&s);
	load_policy(&s);
	check_rollback(&s);
	check_drtm(&s);
	take_management_request(&s);
	run_collectors(&s);
	launch(&s);

	close(s.root_fd);
	bootdev_unmount();
	memstat_log_debug("before kexec");
	log_info("launching after %ld ms, %u TPM commands", now_ms() - s.start_ms,
		 tpm_command_count(s.rec.tpm));
	kexec_execute();
	log_failure("kexec", "reboot(LINUX_REBOOT_CMD_KEXEC) failed: %s", strerror(errno));
	fail(&s, "kexec failed");
}
