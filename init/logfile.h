/* The optional copy of the event log on the boot partition (policy "eventlog": {"path"}):
 * the only write slinit makes there, atomic (temp file, fsync, rename). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Remounts BOOT_MOUNT read-write for the write only. 0 or -errno with why filled; a failure
 * does not stop the launch: the log handed to the runtime OS is the authoritative one. */
int logfile_write(int root_fd, const char *path, const uint8_t *log, size_t len, char *why,
		  size_t why_size);
/* The copy the policy asks for (path; NULL: none), never a reason to refuse: skipped with a
 * warning on a journal that needs replaying, a failed write only warned about. True when a
 * write was tried. */
bool logfile_copy(int root_fd, const char *path, bool journal_dirty, const uint8_t *log,
		  size_t len);
