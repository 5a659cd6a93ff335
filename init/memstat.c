/* With sl.debug: slinit's memory use for the benchmark (peak RSS, memfd pages, page cache). */
#include "memstat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The kB value of "key:" in a /proc file, or -1. */
static long proc_kb(const char *path, const char *key)
{
	char line[128];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

void memstat_log_debug(const char *when)
{
	if (!log_debug_enabled())
		return;
	log_debug("memory %s: VmHWM %ld kB, VmRSS %ld kB; Shmem (memfds) %ld kB, Cached %ld kB, "
		  "MemFree %ld kB", when, proc_kb("/proc/self/status", "VmHWM"),
		  proc_kb("/proc/self/status", "VmRSS"), proc_kb("/proc/meminfo", "Shmem"),
		  proc_kb("/proc/meminfo", "Cached"), proc_kb("/proc/meminfo", "MemFree"));
}
