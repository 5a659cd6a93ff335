/* The recorder: every event slinit measures, extended into the TPM exactly once and kept, in
 * order, for the event log. */
#include "recorder.h"

#include "log.h"
#include "measure.h"

unsigned recorder_pcr(const struct recorder *rec, unsigned pcr)
{
	if (rec->drtm)
		return pcr;
	return pcr == PCR_LAUNCH ? 13 : 12;
}

void recorder_map_new(struct recorder *rec)
{
	/* The log records the PCR really extended, so it replays against the TPM. */
	for (; rec->mapped < rec->events.count; rec->mapped++)
		rec->events.events[rec->mapped].pcr =
			recorder_pcr(rec, rec->events.events[rec->mapped].pcr);
}

int recorder_commit(struct recorder *rec)
{
	recorder_map_new(rec);
	for (; rec->extended < rec->events.count; rec->extended++) {
		struct event *e = &rec->events.events[rec->extended];
		/* Objects may also be hashed in banks the TPM lacks (for allow-lists). */
		struct digest_set d = e->digests;
		int r;

		d.banks &= rec->banks;
		r = tpm_pcr_extend(rec->tpm, e->pcr, &d);
		if (r < 0) {
			log_failure("TPM", "extending PCR %u (%.*s): %s", e->pcr, (int)e->data_len,
				    (const char *)e->data, tpm_last_error(rec->tpm));
			return r;
		}
		log_debug("PCR %u <- %.*s", e->pcr, (int)e->data_len, (const char *)e->data);
	}
	return 0;
}
