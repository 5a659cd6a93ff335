/* libFuzzer target for eventlog_decode: never crashes, reads nothing out of bounds, reports one
 * line on rejection, and whatever it accepts survives an encode/decode round trip. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eventlog.h"
#include "pcr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_events(const struct event_list *a, const struct event_list *b, unsigned banks)
{
	if (a->count != b->count)
		abort();
	for (size_t i = 0; i < a->count; i++) {
		const struct event *x = &a->events[i], *y = &b->events[i];
		if (x->pcr != y->pcr || x->type != y->type || x->data_len != y->data_len ||
		    memcmp(x->data, y->data, x->data_len) != 0 || (y->digests.banks & banks) != banks)
			abort();
		for (int alg = 0; alg < HASH_ALG_COUNT; alg++)
			if ((banks & HASH_BANK(alg)) &&
			    memcmp(x->digests.d[alg], y->digests.d[alg],
				   hash_alg_size((enum hash_alg)alg)) != 0)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_list list, again;
	unsigned banks, banks2;
	char err[256], text[128];
	uint8_t *buf;
	size_t len;
	int r;

	memset(err, 'x', sizeof(err));
	r = eventlog_decode(data, size, &list, &banks, err, sizeof(err));
	if (r < 0) {
		if ((r != -EBADMSG && r != -E2BIG) || !memchr(err, '\0', sizeof(err)) ||
		    strchr(err, '\n') || strncmp(err, "offset ", 7) != 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < list.count; i++) {
		if (eventlog_event_text(&list.events[i], text, sizeof(text)) >= sizeof(text))
			abort();
		(void)eventlog_type_name(list.events[i].type);
	}
	if (banks) {
		struct pcr_state *state = malloc(sizeof(*state));
		if (!state)
			abort();
		pcr_state_init(state, banks, 0);
		if (pcr_replay(state, &list) < 0)
			abort();
		free(state);

		/* Re-encoding drops unknown banks and vendor info: never larger than the input. */
		if (eventlog_encode(&list, banks, &buf, &len) < 0)
			abort();
		if (eventlog_decode(buf, len, &again, &banks2, err, sizeof(err)) < 0 ||
		    banks2 != banks)
			abort();
		same_events(&list, &again, banks);
		event_list_free(&again);
		free(buf);
	}
	event_list_free(&list);
	return 0;
}
