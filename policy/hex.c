/* Hex text of bytes, both ways. */
#include "hex.h"

#include <errno.h>

void hex_encode(const uint8_t *v, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[v[i] >> 4];
		out[2 * i + 1] = digits[v[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int hex_value(char c, bool any_case)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (any_case && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *s, size_t n, bool any_case, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_value(s[2 * i], any_case), lo;

		/* hi first: s may end (NUL) right after a bad digit. */
		if (hi < 0 || (lo = hex_value(s[2 * i + 1], any_case)) < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
