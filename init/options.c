/* slinit's own options: the sl.* words of the kernel command line (measured by the launcher). */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum option_kind { OPT_STRING, OPT_FLAG, OPT_SECONDS };

static const struct option_def {
	const char *name;
	enum option_kind kind;
	size_t offset;
	size_t size;
} option_defs[] = {
	{ "sl.boot", OPT_STRING, offsetof(struct sl_options, boot), sizeof(((struct sl_options *)0)->boot) },
	{ "sl.policy", OPT_STRING, offsetof(struct sl_options, policy), sizeof(((struct sl_options *)0)->policy) },
	{ "sl.entry", OPT_STRING, offsetof(struct sl_options, entry), sizeof(((struct sl_options *)0)->entry) },
	{ "sl.debug", OPT_FLAG, offsetof(struct sl_options, debug), 0 },
	{ "sl.halt_delay", OPT_SECONDS, offsetof(struct sl_options, halt_delay), 0 },
	{ "sl.boot_timeout", OPT_SECONDS, offsetof(struct sl_options, boot_timeout), 0 },
};

#define OPTION_COUNT (sizeof(option_defs) / sizeof(option_defs[0]))

static int set_option(struct sl_options *o, const struct option_def *def, const char *value,
		      char *err, size_t err_size)
{
	char *field = (char *)o + def->offset;
	char *end;
	unsigned long v;

	switch (def->kind) {
	case OPT_FLAG:
		if (value && strcmp(value, "1") != 0 && strcmp(value, "0") != 0) {
			snprintf(err, err_size, "%s takes no value (or 0/1), not \"%s\"", def->name, value);
			return -EINVAL;
		}
		*(bool *)(void *)field = !value || strcmp(value, "1") == 0;
		return 0;
	case OPT_SECONDS:
		errno = 0;
		v = value ? strtoul(value, &end, 10) : 0;
		if (!value || !*value || *end || errno || v > 3600) {
			snprintf(err, err_size, "%s needs a number of seconds 0-3600", def->name);
			return -EINVAL;
		}
		*(unsigned *)(void *)field = (unsigned)v;
		return 0;
	case OPT_STRING:
		if (!value || !*value) {
			snprintf(err, err_size, "%s needs a value", def->name);
			return -EINVAL;
		}
		if (strlen(value) >= def->size) {
			snprintf(err, err_size, "%s value is longer than %zu bytes", def->name,
				 def->size - 1);
			return -EINVAL;
		}
		memcpy(field, value, strlen(value) + 1); /* length checked just above */
		return 0;
	}
	return -EINVAL;
}

/* One word of the command line, with the kernel's double-quote rule: quotes group spaces
 * and are removed. Returns the position after the word. */
static const char *next_word(const char *p, char *word, size_t size, bool *too_long)
{
	size_t n = 0;
	bool quoted = false;

	*too_long = false;
	for (; *p && (quoted || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (n + 1 < size)
			word[n++] = *p;
		else
			*too_long = true;
	}
	word[n] = '\0';
	return p;
}

int options_parse(const char *cmdline, struct sl_options *ret, char *err, size_t err_size)
{
	struct sl_options o = {
		.policy = OPTIONS_DEFAULT_POLICY,
		.halt_delay = OPTIONS_DEFAULT_HALT_DELAY,
		.boot_timeout = OPTIONS_DEFAULT_BOOT_TIMEOUT,
	};
	bool seen[OPTION_COUNT] = { false };
	char word[4200];
	const char *p = cmdline;

	while (*p) {
		bool too_long;
		char *eq, *value = NULL;
		size_t i;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		p = next_word(p, word, sizeof(word), &too_long);
		if (strncmp(word, "sl.", 3) != 0)
			continue;
		if (too_long) {
			snprintf(err, err_size, "option %.20s... is too long", word);
			return -EINVAL;
		}
		eq = strchr(word, '=');
		if (eq) {
			*eq = '\0';
			value = eq + 1;
		}
		for (i = 0; i < OPTION_COUNT; i++)
			if (strcmp(option_defs[i].name, word) == 0)
				break;
		if (i == OPTION_COUNT) {
			snprintf(err, err_size,
				 "unknown option %.64s (known: sl.boot sl.policy sl.entry sl.debug "
				 "sl.halt_delay sl.boot_timeout)", word);
			return -EINVAL;
		}
		if (seen[i]) {
			snprintf(err, err_size, "%s is given twice", word);
			return -EINVAL;
		}
		seen[i] = true;
		if (set_option(&o, &option_defs[i], value, err, err_size) < 0)
			return -EINVAL;
	}
	if (o.policy[0] != '/') {
		snprintf(err, err_size, "sl.policy must be an absolute path on the boot partition");
		return -EINVAL;
	}
	*ret = o;
	return 0;
}
