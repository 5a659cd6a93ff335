/* Hex text of bytes, both ways: one encoder and one decoder for the whole tree. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of n bytes into out (2 * n + 1 bytes, NUL-terminated). */
void hex_encode(const uint8_t *v, size_t n, char *out);
/* Exactly the 2 * n hex digits at s into n bytes; policies take lower case only, the PCR
 * values tools print may be either (any_case). -EINVAL on any other character. */
int hex_decode(const char *s, size_t n, bool any_case, uint8_t *out);
