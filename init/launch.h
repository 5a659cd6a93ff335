/* Launching one policy entry: its objects read once into sealed memfds while being hashed,
 * checked against the allow-lists, measured, handed to kexec_file_load(2). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "recorder.h"

struct launch {
	int kernel_fd;
	int initrd_fd; /* -1 without initrds */
	unsigned long long kernel_size;
	unsigned long long initrd_size;
	struct digest_set kernel;
	struct digest_set initrds[POLICY_MAX_INITRDS];
	uint8_t *log; /* the event log handed over, for the copy on /boot */
	size_t log_len;
};

/* Reads the entry's kernel and initrds beneath root_fd into memfds (the kernel's sealed),
 * hashing what is copied in the recorder's banks plus those of the allow-lists. With
 * allow-lists, every object must match: -EBADMSG otherwise. On failure why says what. */
int launch_read(int root_fd, const struct policy_entry *entry, unsigned banks,
		struct launch *ret, char *why, size_t why_size);

/* Records the read entry (kernel, initrds, cmdline into PCR 22) and extends it, writes the
 * event log with the separator that will follow, appends it to the initrd, seals,
 * kexec_file_load()s and then extends the separator. After 0, only kexec_execute() remains;
 * on failure, ret holds the one-line refusal. */
int launch_commit(struct recorder *rec, const struct policy_entry *entry, struct launch *l,
		  struct failure *ret);

void launch_close(struct launch *l);
