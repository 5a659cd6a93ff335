/* With sl.debug: slinit's memory use for the benchmark (peak RSS, memfd pages, page cache). */
#pragma once

/* One debug line: VmHWM and VmRSS of slinit, Shmem (its memfds), Cached and MemFree. */
void memstat_log_debug(const char *when);
