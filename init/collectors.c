/* Step 5 of slinit: the policy's collectors, one PCR 21 event each (policy/collect.c). */
#include "collectors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "cpuread.h"

int collectors_run(struct recorder *rec, const struct policy *pol, int boot_fd,
		   struct failure *ret)
{
	struct cpuleaves cpuid;
	struct collect_sources src = { .boot_fd = boot_fd, .cpuid = &cpuid };
	char why[512] = "", where[32];
	size_t failed = 0;
	int r;

	if (!pol->collector_count)
		return 0;
	cpuread_leaves(&cpuid);
	src.sys_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src.sys_fd < 0) {
		r = -errno;
		failure_set(ret, "/", "cannot open the root directory for the collectors: %s",
			    strerror(-r));
		return r;
	}
	r = collect_all(&rec->seq, pol, &src, &failed, why, sizeof(why));
	close(src.sys_fd);
	if (r < 0) {
		snprintf(where, sizeof(where), "/collectors/%zu", failed);
		failure_set(ret, where, "%s collector: %s",
			    collect_type_name(pol->collectors[failed].type), why);
		return r;
	}
	return recorder_commit(rec, ret);
}
