/* The runtime OS's one-shot request for the management entry: an 8-byte TPM NV index
 * (the policy's management_request) holding anything but zero. slinit clears it before it
 * acts on it, so the request is honoured at most once, whatever happens next. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tpm.h"

#define REQUEST_SIZE 8

/* 1: requested, and the request is cleared; 0: no request; -errno: the index cannot be used
 * (why says so), which is not a request. */
int request_take(struct tpm *tpm, uint32_t index, char *why, size_t why_size);
/* request_take, its outcome logged in one line: true when the management entry was asked
 * for (and the request cleared). */
bool request_consume(struct tpm *tpm, uint32_t index);
