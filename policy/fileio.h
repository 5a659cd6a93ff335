/* Whole reads and writes of files and file descriptors (retrying EINTR and short counts),
 * written once for slinit, slpolicy and the tools. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Writes all len bytes to fd. 0 or -errno. */
int fd_write_all(int fd, const void *data, size_t len);
/* fd_write_all as a measure_sink_fn: ctx points to the fd (the memfd slinit boots). */
int fd_write_sink(void *ctx, const void *data, size_t len);

/* Reads fd to its end into a malloc'ed buffer with a NUL after the bytes; at most cap bytes
 * (-E2BIG when there are more: no more than cap + 1 are read). 0 or -errno. */
int fd_read_all(int fd, size_t cap, uint8_t **ret_buf, size_t *ret_len);
/* fd_read_all of the file at path. */
int file_read_all(const char *path, size_t cap, uint8_t **ret_buf, size_t *ret_len);

/* Replaces the file at path with len bytes: written to path.new (which must not exist),
 * synced, renamed over path; a crash leaves the old file or the new one. 0 or -errno. */
int file_write_replace(const char *path, const void *data, size_t len);
