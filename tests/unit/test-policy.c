/* Unit test of the policy parser's trust rules: one allow-list per initrd (policy/allow.c) and
 * no silent fallback from a verified entry to a measured-only one (measured_fallback). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy.h"

/* Policies are written with @A and @B for the sha256 digests of the two initrds' contents. */
static char digest_a[2 * HASH_MAX_SIZE + 8], digest_b[2 * HASH_MAX_SIZE + 8];
static struct digest_set set_a, set_b;

#define TOP "{\"schema\": 1, \"serial\": 1, "
#define KERNEL "\"kernel\": \"/vmlinuz\", \"cmdline\": \"quiet\""
#define ALLOW_KERNEL "\"kernel\": [\"@A\"]"
/* A verified entry "main" with initrds /a and /b, its allow.initrd given. */
#define MAIN_AB(allow_initrd)                                                          \
	"{\"name\": \"main\", " KERNEL ", \"initrd\": [\"/a\", \"/b\"], \"allow\": {" \
	ALLOW_KERNEL ", \"initrd\": " allow_initrd "}}"
#define RESCUE "{\"name\": \"rescue\", " KERNEL "}"

static void make_digests(void)
{
	char hex[2 * HASH_MAX_SIZE + 1];

	digest_buffer(HASH_BANK(HASH_SHA256), "initrd a", 8, &set_a);
	digest_buffer(HASH_BANK(HASH_SHA256), "initrd b", 8, &set_b);
	digest_hex(&set_a, HASH_SHA256, hex);
	snprintf(digest_a, sizeof(digest_a), "sha256:%s", hex);
	digest_hex(&set_b, HASH_SHA256, hex);
	snprintf(digest_b, sizeof(digest_b), "sha256:%s", hex);
}

/* The policy text with @A and @B replaced; malloc'ed. */
static char *fill(const char *tmpl)
{
	char *out = malloc(strlen(tmpl) * 40 + 1), *o = out;

	for (const char *t = tmpl; *t; t++) {
		if (t[0] == '@' && (t[1] == 'A' || t[1] == 'B')) {
			o = stpcpy(o, t[1] == 'A' ? digest_a : digest_b);
			t++;
		} else {
			*o++ = *t;
		}
	}
	*o = '\0';
	return out;
}

static int parse(const char *tmpl, struct policy *pol, struct policy_errors *errs)
{
	char *text = fill(tmpl);
	int r = policy_parse((const uint8_t *)text, strlen(text), pol, errs);

	free(text);
	return r;
}

static void print_errors(const char *what, const struct policy_errors *errs)
{
	for (size_t i = 0; i < errs->count; i++)
		fprintf(stderr, "  %s: %s: %s\n", what, errs->errors[i].where,
			errs->errors[i].reason);
}

/* The policy is refused with exactly this one error. */
static void refused(const char *what, const char *tmpl, const char *where, const char *reason)
{
	struct policy_errors errs = { 0 };
	struct policy pol;
	int r = parse(tmpl, &pol, &errs);

	CHECK(r == -EBADMSG && errs.count == 1 && strcmp(errs.errors[0].where, where) == 0 &&
		      strcmp(errs.errors[0].reason, reason) == 0,
	      "%s: refused at %s: %s (got %d, %zu errors)", what, where, reason, r, errs.count);
	if (r == 0)
		policy_free(&pol);
	else if (errs.count != 1)
		print_errors(what, &errs);
	policy_errors_free(&errs);
}

/* The policy is accepted; ret holds it (policy_free it). */
static bool accepted(const char *what, const char *tmpl, struct policy *ret)
{
	struct policy_errors errs = { 0 };
	int r = parse(tmpl, ret, &errs);

	CHECK(r == 0, "%s: accepted (got %d)", what, r);
	print_errors(what, &errs);
	policy_errors_free(&errs);
	return r == 0;
}

static void test_per_position(void)
{
	struct policy pol;
	const struct policy_entry *e;

	if (!accepted("per-position", TOP "\"entries\": [" MAIN_AB("[[\"@A\"], [\"@B\"]]") "]}",
		      &pol))
		return;
	e = &pol.entries[0];
	CHECK(e->verified && e->initrd_count == 2 && e->allow_initrds &&
		      e->allow_initrds[0].count == 1 && e->allow_initrds[1].count == 1,
	      "per-position: two lists of one digest");
	CHECK(policy_allow_list_matches(&e->allow_initrds[0], &set_a) &&
		      policy_allow_list_matches(&e->allow_initrds[1], &set_b),
	      "per-position: each initrd matches its own list");
	CHECK(!policy_allow_list_matches(&e->allow_initrds[0], &set_b) &&
		      !policy_allow_list_matches(&e->allow_initrds[1], &set_a),
	      "per-position: initrd b's bytes are not allowed at /a, nor a's at /b");
	CHECK(!pol.measured_fallback, "measured_fallback is false by default");
	policy_free(&pol);
}

static void test_flat_one_initrd(void)
{
	struct policy pol;
	const struct policy_entry *e;

	if (!accepted("flat, one initrd",
		      TOP "\"entries\": [{\"name\": \"main\", " KERNEL ", \"initrd\": [\"/a\"], "
			  "\"allow\": {" ALLOW_KERNEL ", \"initrd\": [\"@A\", \"@B\"]}}]}",
		      &pol))
		return;
	e = &pol.entries[0];
	CHECK(e->initrd_count == 1 && e->allow_initrds && e->allow_initrds[0].count == 2 &&
		      policy_allow_list_matches(&e->allow_initrds[0], &set_a) &&
		      policy_allow_list_matches(&e->allow_initrds[0], &set_b),
	      "flat, one initrd: the list is that initrd's");
	policy_free(&pol);
}

static void test_initrd_refusals(void)
{
	refused("flat, two initrds", TOP "\"entries\": [" MAIN_AB("[\"@A\", \"@B\"]") "]}",
		"/entries/0/allow/initrd",
		"with 2 initrds, give one allow-list per initrd, in order: [[...], [...]]");
	refused("one list for two initrds", TOP "\"entries\": [" MAIN_AB("[[\"@A\", \"@B\"]]") "]}",
		"/entries/0/allow/initrd",
		"must list one allow-list per initrd (2), in order, not 1");
	refused("three lists for two initrds",
		TOP "\"entries\": [" MAIN_AB("[[\"@A\"], [\"@B\"], [\"@A\"]]") "]}",
		"/entries/0/allow/initrd",
		"must list one allow-list per initrd (2), in order, not 3");
	refused("an empty list", TOP "\"entries\": [" MAIN_AB("[[], [\"@B\"]]") "]}",
		"/entries/0/allow/initrd/0", "must list 1 to 64 digests, not 0");
	refused("a digest among the lists", TOP "\"entries\": [" MAIN_AB("[[\"@A\"], \"@B\"]") "]}",
		"/entries/0/allow/initrd/1", "must be an array of digests, not a string");
	refused("a string", TOP "\"entries\": [" MAIN_AB("\"@A\"") "]}", "/entries/0/allow/initrd",
		"must be an array of allow-lists, not a string");
	refused("flat, no initrds",
		TOP "\"entries\": [{\"name\": \"main\", " KERNEL ", \"allow\": {" ALLOW_KERNEL
		    ", \"initrd\": [\"@A\"]}}]}",
		"/entries/0/allow/initrd",
		"the entry has no initrds: leave \"initrd\" out of \"allow\"");
	/* A bad "initrd" is reported once: no count can be checked against it. */
	refused("initrd not an array",
		TOP "\"entries\": [{\"name\": \"main\", " KERNEL ", \"initrd\": \"/a\", "
		    "\"allow\": {" ALLOW_KERNEL ", \"initrd\": [[\"@A\"], [\"@B\"]]}}]}",
		"/entries/0/initrd", "must be an array of initrds, not a string");
}

static void test_measured_fallback(void)
{
	struct policy pol;

	refused("measured_fallback a string",
		TOP "\"measured_fallback\": \"yes\", \"entries\": [" RESCUE "]}",
		"/measured_fallback", "must be true or false, not a string");
	refused("measured_fallback an integer",
		TOP "\"measured_fallback\": 1, \"entries\": [" RESCUE "]}", "/measured_fallback",
		"must be true or false, not an integer");
	if (accepted("measured_fallback true",
		     TOP "\"measured_fallback\": true, \"entries\": [" RESCUE "]}", &pol)) {
		CHECK(pol.measured_fallback, "measured_fallback true is kept");
		policy_free(&pol);
	}
}

#define CAP "\"on_failure\": \"cap\", \"recovery\": \"rescue\", "
#define FALLBACK_REFUSED                                                                   \
	"recovery entry \"rescue\" is measured only: a failed verified launch would fall back " \
	"to it; give it allow-lists or set \"measured_fallback\": true"

static void test_recovery_rule(void)
{
	static const char *const ok[] = {
		/* the fallback said explicitly */
		TOP CAP "\"measured_fallback\": true, \"entries\": ["
			MAIN_AB("[[\"@A\"], [\"@B\"]]") ", " RESCUE "]}",
		/* nothing verified: nothing to fall from */
		TOP CAP "\"entries\": [{\"name\": \"main\", " KERNEL "}, " RESCUE "]}",
		/* a verified recovery entry */
		TOP CAP "\"entries\": [" MAIN_AB("[[\"@A\"], [\"@B\"]]") ", {\"name\": \"rescue\", "
			KERNEL ", \"allow\": {" ALLOW_KERNEL "}}]}",
		/* halt: no recovery entry is booted (slinit's entry loop applies the rule) */
		TOP "\"entries\": [" MAIN_AB("[[\"@A\"], [\"@B\"]]") ", " RESCUE "]}",
	};
	struct policy pol;

	refused("cap, measured recovery",
		TOP CAP "\"entries\": [" MAIN_AB("[[\"@A\"], [\"@B\"]]") ", " RESCUE "]}",
		"/recovery", FALLBACK_REFUSED);
	refused("cap, measured recovery, measured_fallback false",
		TOP CAP "\"measured_fallback\": false, \"entries\": ["
		    MAIN_AB("[[\"@A\"], [\"@B\"]]") ", " RESCUE "]}",
		"/recovery", FALLBACK_REFUSED);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (accepted(i == 0 ? "explicit fallback" : i == 1 ? "all measured" :
			     i == 2 ? "verified recovery" : "halt", ok[i], &pol))
			policy_free(&pol);
}

int main(void)
{
	make_digests();
	test_per_position();
	test_flat_one_initrd();
	test_initrd_refusals();
	test_measured_fallback();
	test_recovery_rule();
	return check_summary("test-policy");
}
