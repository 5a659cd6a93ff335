/* How PID 1 ends: power off (after a failure, with a delay so the reason can be read). */
#include "power.h"

#include <sys/reboot.h>
#include <unistd.h>

#include "log.h"

void power_off(unsigned delay_seconds)
{
	if (delay_seconds) {
		log_info("powering off in %u s", delay_seconds);
		sleep(delay_seconds);
	} else {
		log_info("powering off");
	}
	sync();
	reboot(RB_POWER_OFF);
	/* PID 1 must never exit: that would panic the kernel. */
	for (;;)
		pause();
}
