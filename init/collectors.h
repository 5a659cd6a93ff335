/* Step 5 of slinit: the policy's collectors, one PCR 21 event each (policy/collect.c). */
#pragma once

#include "log.h"
#include "policy.h"
#include "recorder.h"

/* Runs every collector against the live system ("/", CPUID) and the boot partition, and
 * extends their events. A collector that cannot read its source fails the launch: -errno,
 * with the one-line refusal in ret. */
int collectors_run(struct recorder *rec, const struct policy *pol, int boot_fd,
		   struct failure *ret);
