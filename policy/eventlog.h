/* TCG PC Client crypto-agile event log (Spec ID Event03 header + TCG_PCR_EVENT2 records):
 * encoding (eventlog-encode.c), decoding (eventlog-decode.c), text for people
 * (eventlog-text.c). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Caps on what we read or write: a whole log, one event's data, the number of records, the
 * banks a header may declare (known or not) and the digest size of a bank we do not know. */
#define EVENTLOG_MAX_SIZE (16u << 20)
#define EVENTLOG_MAX_EVENT_DATA (1u << 20)
#define EVENTLOG_MAX_EVENTS 65536u
#define EVENTLOG_MAX_ALGORITHMS 16u
#define EVENTLOG_MAX_DIGEST_SIZE 128u

/* What our header declares (TCG PC Client Platform Firmware Profile, TCG_EfiSpecIdEvent). */
#define EVENTLOG_SPEC_ID_SIGNATURE "Spec ID Event03" /* 16 bytes with its NUL */
#define EVENTLOG_SPEC_ID_SIGNATURE_SIZE 16u
#define EVENTLOG_PLATFORM_CLASS_CLIENT 0u
#define EVENTLOG_SPEC_VERSION_MINOR 0u
#define EVENTLOG_SPEC_VERSION_MAJOR 2u
#define EVENTLOG_SPEC_ERRATA 2u
#define EVENTLOG_UINTN_SIZE_64 2u /* 1: UINT32, 2: UINT64 */

/* Size of the TCG_PCR_EVENT header record our encoder writes for nbanks banks. */
#define EVENTLOG_HEADER_SIZE(nbanks) (32u + 29u + 4u * (nbanks))

/* A whole log: the Spec ID header declaring exactly `banks` (written in the fixed order sha1,
 * sha256, sha384, sha512), then one TCG_PCR_EVENT2 record per event, in list order, each with
 * the digests of those banks. Every event must have them all and a PCR < PCR_COUNT (-EINVAL);
 * an event's data over EVENTLOG_MAX_EVENT_DATA or a log over EVENTLOG_MAX_SIZE is -E2BIG.
 * *ret_buf is malloc()ed. */
int eventlog_encode(const struct event_list *events, unsigned banks, uint8_t **ret_buf,
		    size_t *ret_len);

/* One TCG_PCR_EVENT2 record, as appended to an existing log (e.g. TrenchBoot's DRTM log). */
int eventlog_encode_record(const struct event *event, unsigned banks, uint8_t **ret_buf,
			   size_t *ret_len);

/* Parses a log written by anyone. Banks the header declares with algorithms we do not know
 * (SM3, ...) are skipped by the size the header gives; *ret_banks says which known banks the
 * log has (0 for an empty log: no bytes, or only zeroes). Records after the header,
 * EV_NO_ACTION ones included, are returned in order (pcr_replay skips EV_NO_ACTION). Each
 * record must carry one digest per declared bank. Trailing zero bytes end the log (TXT logs
 * live in zero-filled buffers). Records are numbered from 0, the header, as tpm2_eventlog does.
 * Returns 0, -EBADMSG for a malformed log, -E2BIG over a cap, -ENOMEM. On -EBADMSG and -E2BIG,
 * err (when err_size > 0) holds one line: "offset N: record M: reason". */
int eventlog_decode(const uint8_t *buf, size_t len, struct event_list *ret_events,
		    unsigned *ret_banks, char *err, size_t err_size);

/* "EV_NO_ACTION", "EV_SEPARATOR", "SLAUNCH", ...; NULL when we have no name for it. */
const char *eventlog_type_name(uint32_t type);

/* The event data as one printable line for humans (and JSON, through json-c's own escaping):
 * printable ASCII and valid UTF-8 as is, a backslash as two, other bytes as \xNN; cut with
 * "..." when it does not fit. Always NUL-terminates when out_size > 0. Returns the length. */
size_t eventlog_event_text(const struct event *event, char *out, size_t out_size);
