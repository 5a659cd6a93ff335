/* Handing the event log to the runtime OS: /sll/eventlog.bin in a small cpio appended, in
 * memory, after the runtime initrd (the measured initrd digest covers the original bytes). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define HANDOVER_LOG_PATH "sll/eventlog.bin"

/* Appends (at a 4-byte aligned offset, as the kernel's unpacker wants) a newc cpio with the
 * directory sll and the file sll/eventlog.bin to fd, which is at offset size. */
int handover_append_eventlog(int fd, uint64_t size, const uint8_t *log, size_t len);
