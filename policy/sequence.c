/* The launch sequence of DESIGN section 3: order, PCR and description of every event. */
#include "sequence.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void sequence_init(struct sequence *seq, unsigned banks, bool drtm)
{
	*seq = (struct sequence){ .banks = banks, .drtm = drtm, .step = SEQUENCE_START };
}

void sequence_free(struct sequence *seq)
{
	event_list_free(&seq->events);
}

unsigned sequence_pcr(bool drtm, unsigned pcr)
{
	if (drtm)
		return pcr;
	return pcr == PCR_LAUNCH ? PCR_NO_DRTM_LAUNCH : PCR_NO_DRTM_CONFIG;
}

size_t sequence_sealing_set(bool drtm, unsigned launcher, bool policy_key, unsigned *ret_pcrs)
{
	unsigned mask = launcher | (1u << PCR_NO_DRTM_CONFIG) | (1u << PCR_NO_DRTM_LAUNCH);
	size_t n = 0;

	if (drtm)
		mask = launcher | (1u << PCR_CONFIG) | (1u << PCR_LAUNCH) |
		       (policy_key ? 1u << PCR_AUTHORITY : 0);
	for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++)
		if (mask & (1u << pcr))
			ret_pcrs[n++] = pcr;
	return n;
}

/* Which step each step may follow (a bit per enum sequence_step). */
#define AFTER(step) (1u << (step))
static int advance(struct sequence *seq, unsigned allowed_after, enum sequence_step step)
{
	if (!(allowed_after & AFTER(seq->step)))
		return -EPROTO;
	seq->step = step;
	return 0;
}

/* An SLL event whose data is "sll: <what>[ <path>]" (DESIGN section 4), in the PCR this
 * launch records pcr in. */
static int append(struct sequence *seq, unsigned pcr, const struct digest_set *digests,
		  const char *what, const char *path)
{
	char desc[POLICY_MAX_PATH + 64];
	int n = snprintf(desc, sizeof(desc), "sll: %s%s%s", what, path ? " " : "",
			 path ? path : "");

	if (n < 0 || (size_t)n >= sizeof(desc))
		return -ENAMETOOLONG;
	return event_list_append(&seq->events, sequence_pcr(seq->drtm, pcr), EVENT_TYPE_SLAUNCH,
				 digests, desc, (size_t)n);
}

/* An event over the digest of bytes the caller holds, in the sequence's banks. */
static int append_bytes(struct sequence *seq, unsigned pcr, const void *buf, size_t len,
			const char *what, const char *path)
{
	struct digest_set d;
	int r = digest_buffer(seq->banks, buf, len, &d);

	return r < 0 ? r : append(seq, pcr, &d, what, path);
}

int sequence_policy_key(struct sequence *seq, const uint8_t *key, size_t len)
{
	int r = advance(seq, AFTER(SEQUENCE_START), SEQUENCE_KEY);

	return r < 0 ? r : append_bytes(seq, PCR_AUTHORITY, key, len, "policy key", NULL);
}

int sequence_policy(struct sequence *seq, const uint8_t *buf, size_t len, const char *path)
{
	int r = advance(seq, AFTER(SEQUENCE_START) | AFTER(SEQUENCE_KEY), SEQUENCE_POLICY);

	return r < 0 ? r : append_bytes(seq, PCR_CONFIG, buf, len, "policy", path);
}

int sequence_collector(struct sequence *seq, const struct digest_set *digests, const char *what)
{
	int r = advance(seq, AFTER(SEQUENCE_POLICY) | AFTER(SEQUENCE_COLLECTOR),
			SEQUENCE_COLLECTOR);

	return r < 0 ? r : append(seq, PCR_CONFIG, digests, what, NULL);
}

int sequence_entry(struct sequence *seq, const struct policy_entry *e,
		   const struct digest_set *kernel, const struct digest_set *initrds)
{
	int r = advance(seq, AFTER(SEQUENCE_POLICY) | AFTER(SEQUENCE_COLLECTOR) |
				     AFTER(SEQUENCE_CAPPED), SEQUENCE_ENTRY);

	/* The management entry's launch is told apart from every runtime entry's, even one with
	 * the same files and command line: keys sealed to it are the upgrade's approval keys. */
	if (r >= 0 && e->management)
		r = append_bytes(seq, PCR_LAUNCH, SEQUENCE_MANAGEMENT_ROLE,
				 strlen(SEQUENCE_MANAGEMENT_ROLE), "role", SEQUENCE_MANAGEMENT_ROLE);
	if (r >= 0)
		r = append(seq, PCR_LAUNCH, kernel, "kernel", e->kernel);
	for (size_t i = 0; r >= 0 && i < e->initrd_count; i++)
		r = append(seq, PCR_LAUNCH, &initrds[i], "initrd", e->initrds[i]);
	if (r >= 0)
		r = append_bytes(seq, PCR_LAUNCH, e->cmdline, strlen(e->cmdline), "cmdline", NULL);
	return r;
}

int sequence_separator(struct sequence *seq)
{
	static const uint8_t separator[4] = { 0, 0, 0, 0 };
	int r = advance(seq, AFTER(SEQUENCE_ENTRY), SEQUENCE_SEPARATOR);

	return r < 0 ? r : append_bytes(seq, PCR_LAUNCH, separator, sizeof(separator),
					"separator", NULL);
}

int sequence_failure(struct sequence *seq, const char *what)
{
	static const uint8_t failure[4] = { 0, 0, 0, 1 };
	static const unsigned capped[] = { PCR_AUTHORITY, PCR_CONFIG, PCR_LAUNCH };
	int r = advance(seq, AFTER(SEQUENCE_POLICY) | AFTER(SEQUENCE_COLLECTOR) |
				     AFTER(SEQUENCE_ENTRY) | AFTER(SEQUENCE_SEPARATOR),
			SEQUENCE_CAPPED);

	for (size_t i = 0; r >= 0 && i < sizeof(capped) / sizeof(capped[0]); i++)
		r = append_bytes(seq, capped[i], failure, sizeof(failure), "failure:", what);
	return r;
}
