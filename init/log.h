/* slinit's console log: every line starts with "slinit: ", refusals with "slinit: FAILED: ". */
#pragma once

#include <stdbool.h>

/* Make fds 0-2 the console (the kernel opens it for PID 1 only if /dev/console exists). */
void log_open_console(void);
void log_set_debug(bool on);
bool log_debug_enabled(void);

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line: "slinit: FAILED: <object>: <reason>". */
void log_failure(const char *object, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A refusal, filled by the module that found it and printed once, by the caller that stops
 * (log_failure_report): modules do not print their own failures. */
struct failure {
	char object[300];
	char reason[2048];
};
void failure_set(struct failure *f, const char *object, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_failure_report(const struct failure *f);
