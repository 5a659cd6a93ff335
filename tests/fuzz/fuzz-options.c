/* libFuzzer target: slinit's sl.* command-line parser takes any bytes without crashing or
 * reading out of bounds, and every refusal says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_options o;
	char err[256] = "";
	char *cmdline = malloc(size + 1);

	if (!cmdline)
		return 0;
	memcpy(cmdline, data, size);
	cmdline[size] = '\0';
	if (options_parse(cmdline, &o, err, sizeof(err)) < 0 && err[0] == '\0')
		abort();
	if (err[0] == '\0' && (o.policy[0] != '/' || o.halt_delay > 3600 || o.boot_timeout > 3600))
		abort();
	free(cmdline);
	return 0;
}
