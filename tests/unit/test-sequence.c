/* Unit test of the launch sequence (policy/sequence.c): the order it enforces, the PCR of
 * every event with and without DRTM, and that slinit's inputs (the digests launch_read
 * computes while copying the objects into memfds) and slpolicy predict's (policy/predict.c,
 * hashing the files) give the very same event list. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "collect.h"
#include "launch.h"
#include "pcr.h"
#include "policy.h"
#include "predict.h"
#include "sequence.h"

#define BANKS (HASH_BANK(HASH_SHA256) | HASH_BANK(HASH_SHA384))

static const uint8_t key[32] = { 1, 2, 3 };

static bool has_desc(const struct event *e, const char *desc)
{
	return e->data_len == strlen(desc) && memcmp(e->data, desc, e->data_len) == 0;
}

static const struct policy_entry test_entry = {
	.name = "e", .kernel = "/vmlinuz", .cmdline = "quiet", .initrd_count = 0,
};

/* Each step refuses to follow a step DESIGN section 3 does not put before it, appending
 * nothing; the legal order records the PCRs of DESIGN section 3. */
static void test_order(void)
{
	static const unsigned pcrs[] = { 19, 21, 21, 22, 22, 22, 19, 21, 22, 22, 22, 22 };
	static const uint8_t policy[] = "{}";
	struct digest_set d;
	struct sequence s;

	digest_buffer(BANKS, "x", 1, &d);
	sequence_init(&s, BANKS, true);
	CHECK(sequence_collector(&s, &d, "cpuid") == -EPROTO, "collector before the policy");
	CHECK(sequence_entry(&s, &test_entry, &d, NULL) == -EPROTO, "entry before the policy");
	CHECK(sequence_separator(&s) == -EPROTO, "separator first");
	CHECK(sequence_failure(&s, "x") == -EPROTO, "cap before the policy");
	CHECK(s.events.count == 0, "refused steps append nothing");

	CHECK(sequence_policy_key(&s, key, sizeof(key)) == 0, "key first");
	CHECK(sequence_policy_key(&s, key, sizeof(key)) == -EPROTO, "key twice");
	CHECK(sequence_policy(&s, policy, 2, "/p") == 0, "policy after the key");
	CHECK(sequence_policy(&s, policy, 2, "/p") == -EPROTO, "policy twice");
	CHECK(sequence_policy_key(&s, key, sizeof(key)) == -EPROTO, "key after the policy");
	CHECK(sequence_separator(&s) == -EPROTO, "separator without an entry");
	CHECK(sequence_collector(&s, &d, "cpuid") == 0, "collector");
	CHECK(sequence_entry(&s, &test_entry, &d, NULL) == 0, "entry");
	CHECK(sequence_collector(&s, &d, "cpuid") == -EPROTO, "collector after the entry");
	CHECK(sequence_entry(&s, &test_entry, &d, NULL) == -EPROTO, "a second entry uncapped");
	CHECK(sequence_separator(&s) == 0, "separator");
	CHECK(sequence_separator(&s) == -EPROTO, "separator twice");
	CHECK(sequence_failure(&s, "kexec failed") == 0, "cap after a launch");
	CHECK(sequence_failure(&s, "again") == -EPROTO, "cap twice");
	CHECK(sequence_entry(&s, &test_entry, &d, NULL) == 0, "the recovery entry after a cap");
	CHECK(sequence_separator(&s) == 0, "its separator");

	CHECK(s.events.count == sizeof(pcrs) / sizeof(pcrs[0]), "%zu events", s.events.count);
	for (size_t i = 0; i < s.events.count && i < sizeof(pcrs) / sizeof(pcrs[0]); i++)
		CHECK(s.events.events[i].pcr == pcrs[i] &&
		      s.events.events[i].type == EVENT_TYPE_SLAUNCH, "event %zu: PCR %u", i,
		      s.events.events[i].pcr);
	CHECK(has_desc(&s.events.events[3], "sll: kernel /vmlinuz") &&
	      has_desc(&s.events.events[4], "sll: cmdline") &&
	      has_desc(&s.events.events[6], "sll: failure: kexec failed"), "descriptions");
	sequence_free(&s);
}

/* Without DRTM every event goes to PCR 12 (19, 21) or 13 (22), and the sealing set says so. */
static void test_pcr_mapping(void)
{
	unsigned set[PCR_COUNT];
	size_t n;

	CHECK(sequence_pcr(true, 19) == 19 && sequence_pcr(true, 21) == 21 &&
	      sequence_pcr(true, 22) == 22, "DRTM: the SLL PCRs");
	CHECK(sequence_pcr(false, 19) == 12 && sequence_pcr(false, 21) == 12 &&
	      sequence_pcr(false, 22) == 13, "no DRTM: 12 and 13");
	n = sequence_sealing_set(true, (1u << 17) | (1u << 18), true, set);
	CHECK(n == 5 && set[0] == 17 && set[1] == 18 && set[2] == 19 && set[3] == 21 &&
	      set[4] == 22, "DRTM set with a key and the launcher's PCRs");
	n = sequence_sealing_set(true, 0, false, set);
	CHECK(n == 2 && set[0] == 21 && set[1] == 22, "DRTM set without a key");
	n = sequence_sealing_set(false, 0, true, set);
	CHECK(n == 2 && set[0] == 12 && set[1] == 13, "no-DRTM set without inputs");
	n = sequence_sealing_set(false, (1u << 4) | (1u << 7), true, set);
	CHECK(n == 4 && set[0] == 4 && set[1] == 7 && set[2] == 12 && set[3] == 13,
	      "no-DRTM set with what booted sll.efi (4, 7)");
}

static char dir[256];

static void write_file(const char *name, const void *data, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len, "writing %s", path);
	close(fd);
}

/* The boot partition: a kernel of 200 KiB (more than one read chunk), two initrds (the first
 * of an odd length, so slinit pads between them) and a file for a collector. */
static void make_boot_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	size_t n = 200 * 1024;
	uint8_t *kernel = malloc(n);

	snprintf(dir, sizeof(dir), "%s/test-sequence.XXXXXX", tmp ? tmp : P_tmpdir);
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	for (size_t i = 0; i < n; i++)
		kernel[i] = (uint8_t)(i * 7 + (i >> 9));
	write_file("vmlinuz", kernel, n);
	write_file("initrd-a", "abc", 3);
	write_file("initrd-b", "second initrd", 13);
	write_file("extra.conf", "x=1\n", 4);
	free(kernel);
}

static void remove_boot_dir(void)
{
	static const char *const names[] = { "vmlinuz", "initrd-a", "initrd-b", "extra.conf",
					     "empty" };
	char path[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static const char policy_text[] =
	"{\"schema\": 1, \"serial\": 3, \"collectors\": [{\"type\": \"file\", \"path\": "
	"\"/extra.conf\"}], \"entries\": [{\"name\": \"main\", \"kernel\": \"/vmlinuz\", "
	"\"initrd\": [\"/initrd-a\", \"/initrd-b\"], \"cmdline\": \"root=/dev/vda2 quiet\"},"
	"{\"name\": \"bad\", \"kernel\": \"/empty\", \"cmdline\": \"x\"}]}";

/* What slinit records: key, policy, collectors (main.c), then the objects as launch_read
 * hashed them while copying them into the memfds it boots, then the separator. */
static int slinit_events(struct sequence *s, const struct policy *pol,
			 const struct policy_entry *e, int root_fd, char *why, size_t why_size)
{
	struct collect_sources src = { .boot_fd = root_fd, .sys_fd = -1 };
	struct launch l = { .kernel_fd = -1, .initrd_fd = -1 };
	size_t failed;
	int r = sequence_policy_key(s, key, sizeof(key));

	if (r >= 0)
		r = sequence_policy(s, (const uint8_t *)policy_text, strlen(policy_text),
				    "/slaunch/policy.json");
	if (r >= 0)
		r = collect_all(s, pol, &src, &failed, why, why_size);
	if (r >= 0)
		r = launch_read(root_fd, e, s->banks, &l, why, why_size);
	if (r >= 0)
		r = sequence_entry(s, e, &l.kernel, l.initrds);
	if (r >= 0)
		r = sequence_separator(s);
	launch_close(&l);
	return r;
}

static int predicted_events(struct sequence *s, const struct policy *pol,
			    const struct policy_entry *e, int root_fd, struct predict_error *err)
{
	const struct predict_input in = {
		.key = key,
		.policy_bytes = (const uint8_t *)policy_text,
		.policy_len = strlen(policy_text),
		.policy_path = "/slaunch/policy.json",
		.policy = pol,
		.entry = e,
		.sources = { .boot_fd = root_fd, .sys_fd = -1 },
	};

	return predict_launch(s, &in, err);
}

/* Equal events in the sequence's banks (slinit may hash objects in more, for allow-lists). */
static bool same_events(const struct sequence *a, const struct sequence *b)
{
	if (a->events.count != b->events.count)
		return false;
	for (size_t i = 0; i < a->events.count; i++) {
		const struct event *x = &a->events.events[i], *y = &b->events.events[i];

		if (x->pcr != y->pcr || x->type != y->type || x->data_len != y->data_len ||
		    memcmp(x->data, y->data, x->data_len) != 0)
			return false;
		FOR_EACH_BANK(alg, a->banks)
			if (memcmp(x->digests.d[alg], y->digests.d[alg], hash_alg_size(alg)) != 0)
				return false;
	}
	return true;
}

static void test_slinit_and_predict_agree(bool drtm)
{
	struct policy pol;
	struct policy_errors errs = { 0 };
	struct sequence a, b;
	struct predict_error err;
	struct pcr_state pa, pb;
	struct digest_set want;
	char why[512] = "";
	int root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = policy_parse((const uint8_t *)policy_text, strlen(policy_text), &pol, &errs);

	CHECK(r == 0, "policy: %s", errs.count ? errs.errors[0].reason : "");
	sequence_init(&a, BANKS, drtm);
	sequence_init(&b, BANKS, drtm);
	r = slinit_events(&a, &pol, &pol.entries[0], root_fd, why, sizeof(why));
	CHECK(r == 0, "slinit's side: %s", why);
	r = predicted_events(&b, &pol, &pol.entries[0], root_fd, &err);
	CHECK(r == 0, "predict: %s", err.why);
	CHECK(a.events.count == 8, "key, policy, file, kernel, 2 initrds, cmdline, separator: %zu",
	      a.events.count);
	CHECK(same_events(&a, &b), "drtm=%d: slinit's and predict's events are the same", drtm);
	/* One digest checked against the file's bytes directly: the second initrd's. */
	digest_buffer(BANKS, "second initrd", 13, &want);
	CHECK(a.events.count == 8 && memcmp(a.events.events[5].digests.d[HASH_SHA384],
					    want.d[HASH_SHA384], 48) == 0 &&
	      has_desc(&a.events.events[5], "sll: initrd /initrd-b"), "initrd-b's event");
	CHECK(a.events.events[0].pcr == (drtm ? 19u : 12u) &&
	      a.events.events[7].pcr == (drtm ? 22u : 13u), "mapped PCRs");
	pcr_state_init(&pa, BANKS, 0);
	pcr_state_init(&pb, BANKS, 0);
	CHECK(pcr_replay(&pa, &a.events) == 0 && pcr_replay(&pb, &b.events) == 0 &&
	      memcmp(pa.value, pb.value, sizeof(pa.value)) == 0, "the same PCR values");
	sequence_free(&a);
	sequence_free(&b);

	/* An empty kernel: both refuse it for the same reason. */
	sequence_init(&a, BANKS, drtm);
	sequence_init(&b, BANKS, drtm);
	r = slinit_events(&a, &pol, &pol.entries[1], root_fd, why, sizeof(why));
	CHECK(r == -ENODATA, "slinit refuses an empty kernel: %d %s", r, why);
	r = predicted_events(&b, &pol, &pol.entries[1], root_fd, &err);
	CHECK(r == -ENODATA && err.failure == PREDICT_FAILED_OBJECT, "so does predict: %d", r);
	sequence_free(&a);
	sequence_free(&b);
	policy_free(&pol);
	policy_errors_free(&errs);
	close(root_fd);
}

/* A management entry's launch opens with its role, so that it differs from a runtime entry
 * with the very same kernel and command line. */
static void test_management_role(bool drtm)
{
	struct policy_entry runtime = test_entry, management = test_entry;
	struct sequence a, b;
	struct digest_set kernel, role;
	struct pcr_state pa, pb;

	management.management = true;
	digest_buffer(BANKS, "kernel", 6, &kernel);
	digest_buffer(BANKS, "management", 10, &role);
	sequence_init(&a, BANKS, drtm);
	sequence_init(&b, BANKS, drtm);
	sequence_policy(&a, (const uint8_t *)"{}", 2, "/p.json");
	sequence_policy(&b, (const uint8_t *)"{}", 2, "/p.json");
	CHECK(sequence_entry(&a, &management, &kernel, NULL) == 0 &&
	      sequence_entry(&b, &runtime, &kernel, NULL) == 0, "both entries recorded");
	CHECK(a.events.count == b.events.count + 1 && has_desc(&a.events.events[1],
							       "sll: role management") &&
	      a.events.events[1].pcr == (drtm ? 22u : 13u) &&
	      memcmp(a.events.events[1].digests.d[HASH_SHA256], role.d[HASH_SHA256], 32) == 0,
	      "drtm=%d: the management entry's first event is its role, in the launch PCR", drtm);
	CHECK(has_desc(&a.events.events[2], "sll: kernel /vmlinuz"), "then its kernel");
	pcr_state_init(&pa, BANKS, 0);
	pcr_state_init(&pb, BANKS, 0);
	pcr_replay(&pa, &a.events);
	pcr_replay(&pb, &b.events);
	CHECK(memcmp(pa.value[HASH_SHA256][drtm ? 22 : 13], pb.value[HASH_SHA256][drtm ? 22 : 13],
		     32) != 0, "drtm=%d: a runtime entry with the same files leaves another PCR",
	      drtm);
	sequence_free(&a);
	sequence_free(&b);
}

int main(void)
{
	test_order();
	test_management_role(true);
	test_management_role(false);
	test_pcr_mapping();
	make_boot_dir();
	write_file("empty", "", 0);
	test_slinit_and_predict_agree(true);
	test_slinit_and_predict_agree(false);
	remove_boot_dir();
	return check_summary("test-sequence");
}
