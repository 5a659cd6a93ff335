/* slinit's console log: every line starts with "slinit: ", refusals with "slinit: FAILED: ". */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static bool debug;

void log_open_console(void)
{
	int fd;

	if (fcntl(STDERR_FILENO, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

void log_set_debug(bool on)
{
	debug = on;
}

bool log_debug_enabled(void)
{
	return debug;
}

/* One write per line, so lines from the kernel do not land in the middle of ours. */
static void log_line(const char *prefix, const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "slinit: %s", prefix);

	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
}

/* Debug lines carry the monotonic time since boot, for the boot time breakdown. */
void log_debug(const char *fmt, ...)
{
	struct timespec ts;
	char prefix[48];
	va_list ap;

	if (!debug)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(prefix, sizeof(prefix), "debug: %5ld ms: ",
		 (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L);
	va_start(ap, fmt);
	log_line(prefix, fmt, ap);
	va_end(ap);
}

void log_failure(const char *object, const char *fmt, ...)
{
	char prefix[256];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "FAILED: %s: ", object);
	va_start(ap, fmt);
	log_line(prefix, fmt, ap);
	va_end(ap);
}

void failure_set(struct failure *f, const char *object, const char *fmt, ...)
{
	va_list ap;

	snprintf(f->object, sizeof(f->object), "%s", object);
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
}

void log_failure_report(const struct failure *f)
{
	log_failure(f->object, "%s", f->reason);
}
