/* How PID 1 ends: power off (after a failure, with a delay so the reason can be read). */
#pragma once

__attribute__((noreturn)) void power_off(unsigned delay_seconds);
