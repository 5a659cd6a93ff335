/* The event model: what one measurement is (PCR, type, digests per bank, description). */
#include "event.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int event_list_append(struct event_list *list, uint32_t pcr, uint32_t type,
		      const struct digest_set *digests, const void *data, size_t data_len)
{
	struct event *e;

	if (pcr >= PCR_COUNT)
		return -EINVAL;
	if (list->count == list->capacity) {
		size_t cap = list->capacity ? 2 * list->capacity : 16;
		struct event *v = realloc(list->events, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		list->events = v;
		list->capacity = cap;
	}
	e = &list->events[list->count];
	*e = (struct event){ .pcr = pcr, .type = type, .digests = *digests };
	/* Always allocate, so data is never NULL even for empty event data. */
	e->data = malloc(data_len ? data_len : 1);
	if (!e->data)
		return -ENOMEM;
	if (data_len)
		memcpy(e->data, data, data_len);
	e->data_len = data_len;
	list->count++;
	return 0;
}

void event_list_free(struct event_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->events[i].data);
	free(list->events);
	*list = (struct event_list){ 0 };
}
