/* The recorder: every event of the launch sequence, extended into the TPM exactly once and
 * kept, in order, for the event log. */
#include "recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eventlog.h"
#include "log.h"

void recorder_open_drtm_log(struct recorder *rec)
{
	rec->drtm_log_fd = open(RECORDER_DRTM_LOG, O_WRONLY | O_CLOEXEC);
	if (rec->drtm_log_fd >= 0)
		log_info("appending events to the DRTM log %s", RECORDER_DRTM_LOG);
}

/* The securityfs write only logs (it does not extend): a failure leaves the DRTM log short,
 * which a verifier notices, but must not stop a launch the TPM has recorded. */
static void append_drtm_log(struct recorder *rec, const struct event *e)
{
	uint8_t *rec_buf;
	size_t len;

	if (rec->drtm_log_fd < 0)
		return;
	if (eventlog_encode_record(e, rec->seq.banks, &rec_buf, &len) < 0) {
		log_info("warning: cannot encode an event for the DRTM log");
		return;
	}
	if (write(rec->drtm_log_fd, rec_buf, len) != (ssize_t)len)
		log_info("warning: appending to %s: %s", RECORDER_DRTM_LOG, strerror(errno));
	free(rec_buf);
}

unsigned recorder_pcr(const struct recorder *rec, unsigned pcr)
{
	return sequence_pcr(rec->seq.drtm, pcr);
}

int recorder_commit(struct recorder *rec, struct failure *ret)
{
	if (rec->failed) {
		failure_set(ret, "TPM", "an earlier TPM command failed");
		return -EIO;
	}
	for (; rec->extended < rec->seq.events.count; rec->extended++) {
		struct event *e = &rec->seq.events.events[rec->extended];
		/* Objects may also be hashed in banks the TPM lacks (for allow-lists). */
		struct digest_set d = e->digests;
		int r;

		d.banks &= rec->seq.banks;
		r = tpm_pcr_extend(rec->tpm, e->pcr, &d);
		if (r < 0) {
			rec->failed = true;
			failure_set(ret, "TPM", "extending PCR %u (%.*s): %s", e->pcr,
				    (int)e->data_len, (const char *)e->data, tpm_last_error(rec->tpm));
			return r;
		}
		append_drtm_log(rec, e);
		log_debug("PCR %u <- %.*s", e->pcr, (int)e->data_len, (const char *)e->data);
	}
	return 0;
}
