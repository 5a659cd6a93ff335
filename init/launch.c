/* Launching one read policy entry (init/launch-read.c): recorded through the launch sequence,
 * the event log handed over, kexec_file_load(2). */
#include "launch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "handover.h"
#include "load.h"
#include "log.h"
#include "memstat.h"

static int hand_over_log(const struct recorder *rec, struct launch *l, char *why,
			 size_t why_size)
{
	uint8_t *log;
	size_t len;
	int r = eventlog_encode(&rec->seq.events, rec->seq.banks, &log, &len);

	if (r < 0) {
		snprintf(why, why_size, "encoding the event log: %s", strerror(-r));
		return r;
	}
	/* Without initrds the log still travels: as the runtime's only initrd. */
	if (l->initrd_fd < 0 && (r = kexec_memfd_new("sll-initrd", &l->initrd_fd)) < 0) {
		snprintf(why, why_size, "creating the initrd for the event log: %s", strerror(-r));
		goto out;
	}
	r = handover_append_eventlog(l->initrd_fd, l->initrd_size, log, len);
	if (r < 0)
		snprintf(why, why_size, "appending the event log to the initrd: %s", strerror(-r));
out:
	if (r < 0) {
		free(log);
		return r;
	}
	l->log = log;
	l->log_len = len;
	return 0;
}

/* Everything after the objects are recorded: the log handed over (with the separator that
 * follows), the initrd sealed, kexec_file_load. */
static int load_entry(struct recorder *rec, const struct policy_entry *e, struct launch *l,
		      char *why, size_t why_size)
{
	int r = hand_over_log(rec, l, why, why_size);

	if (r < 0)
		return r;
	if ((r = kexec_memfd_seal(l->initrd_fd)) < 0) {
		snprintf(why, why_size, "sealing the initrd: %s", strerror(-r));
		return r;
	}
	log_debug("event log handed over (%zu bytes)", l->log_len);
	memstat_log_debug("before kexec_file_load");
	r = kexec_load(l->kernel_fd, l->initrd_fd, e->cmdline);
	log_debug("kexec_file_load done");
	memstat_log_debug("after kexec_file_load");
	if (r < 0)
		snprintf(why, why_size, "kexec_file_load: %s", kexec_strerror(r));
	return r;
}

int launch_commit(struct recorder *rec, const struct policy_entry *e, struct launch *l,
		  struct failure *ret)
{
	char why[512] = "";
	int r = sequence_entry(&rec->seq, e, &l->kernel, l->initrds);

	if (r < 0) {
		failure_set(ret, e->name, "recording events: %s", strerror(-r));
		return r;
	}
	if ((r = recorder_commit(rec, ret)) < 0)
		return r;
	/* The separator closes PCR 22 only once the kernel is loaded; the log handed over
	 * already contains it, so log and PCRs agree in the runtime OS. */
	if ((r = sequence_separator(&rec->seq)) < 0) {
		failure_set(ret, e->name, "recording the separator: %s", strerror(-r));
		return r;
	}
	if ((r = load_entry(rec, e, l, why, sizeof(why))) < 0) {
		failure_set(ret, e->name, "%s", why);
		return r;
	}
	return recorder_commit(rec, ret);
}
