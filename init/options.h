/* slinit's own options: the sl.* words of the kernel command line (measured by the launcher). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define OPTIONS_DEFAULT_POLICY "/slaunch/policy.json"
#define OPTIONS_DEFAULT_HALT_DELAY 10
#define OPTIONS_DEFAULT_BOOT_TIMEOUT 10

struct sl_options {
	char boot[256];    /* sl.boot=: LABEL=, UUID=, PARTUUID= or /dev/...; "" = search */
	char policy[4096]; /* sl.policy=: path on the boot partition */
	char entry[65];    /* sl.entry=: entry name; "" = first that verifies */
	bool debug;        /* sl.debug: step timings and details */
	unsigned halt_delay;   /* sl.halt_delay=: seconds before power-off after a failure */
	unsigned boot_timeout; /* sl.boot_timeout=: seconds to wait for the boot device */
};

/* Parses a command line; unknown or repeated sl.* options are refused (-EINVAL) with the
 * reason in err: a typo must not silently change what is booted. */
int options_parse(const char *cmdline, struct sl_options *ret, char *err, size_t err_size);
