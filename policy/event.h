/* The event model: what one measurement is (PCR, type, digests per bank, description). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

/* Every SLL event has TrenchBoot's type TXT_EVTYPE_SLAUNCH (DESIGN section 4). */
#define EVENT_TYPE_SLAUNCH 0x502u
/* TCG EV_NO_ACTION: carries the Spec ID header, never extended. */
#define EVENT_TYPE_NO_ACTION 0x3u

/* PCRs a TPM 2.0 PC Client TPM has. */
#define PCR_COUNT 24

struct event {
	uint32_t pcr;
	uint32_t type;
	struct digest_set digests;
	uint8_t *data; /* event data as logged; for SLL a UTF-8 description, no NUL */
	size_t data_len;
};

struct event_list {
	struct event *events;
	size_t count;
	size_t capacity;
};

/* Appends a copy of data. 0 or -ENOMEM / -EINVAL (pcr out of range). */
int event_list_append(struct event_list *list, uint32_t pcr, uint32_t type,
		      const struct digest_set *digests, const void *data, size_t data_len);
void event_list_free(struct event_list *list);
