/* Test helper: writes an event log with policy/eventlog-encode.c, each event's digests being
 * those of its description, as slinit measures a string.
 *   write-eventlog OUT BANKS [PCR:TYPE:TEXT]...    BANKS: sha1,sha256,...  TYPE: hex */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "event.h"
#include "eventlog.h"

static int parse_banks(const char *s, unsigned *ret_banks)
{
	char *copy = strdup(s), *save = NULL;
	unsigned banks = 0;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		enum hash_alg alg;
		r = hash_alg_from_name(t, &alg);
		if (r < 0)
			break;
		banks |= HASH_BANK(alg);
	}
	free(copy);
	if (r == 0)
		*ret_banks = banks;
	return r;
}

int main(int argc, char **argv)
{
	struct event_list list = { 0 };
	unsigned banks;
	uint8_t *buf;
	size_t len;
	FILE *f;
	int r;

	if (argc < 3 || parse_banks(argv[2], &banks) < 0) {
		fprintf(stderr, "usage: write-eventlog OUT sha1,sha256,... [PCR:TYPE:TEXT]...\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		struct digest_set d;
		char *end;
		unsigned long pcr = strtoul(argv[i], &end, 10), type;
		const char *text;

		if (*end != ':')
			goto bad;
		type = strtoul(end + 1, &end, 16);
		if (*end != ':')
			goto bad;
		text = end + 1;
		r = digest_buffer(HASH_ALL_BANKS, text, strlen(text), &d);
		if (r >= 0)
			r = event_list_append(&list, (uint32_t)pcr, (uint32_t)type, &d, text,
					      strlen(text));
		if (r < 0) {
			fprintf(stderr, "write-eventlog: %s: %s\n", argv[i], strerror(-r));
			return 1;
		}
		continue;
bad:
		fprintf(stderr, "write-eventlog: %s: expected PCR:TYPE:TEXT\n", argv[i]);
		return 2;
	}
	r = eventlog_encode(&list, banks, &buf, &len);
	if (r < 0) {
		fprintf(stderr, "write-eventlog: encode: %s\n", strerror(-r));
		return 1;
	}
	f = fopen(argv[1], "we");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "write-eventlog: %s: %m\n", argv[1]);
		return 1;
	}
	free(buf);
	event_list_free(&list);
	return 0;
}
