/* The verdict: is the launch the log records, now that the quote vouches for its PCRs, one of
 * the accepted ones? Names what launched, or the first event no accepted launch has. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "attest-verdict.h"
#include "eventlog.h"
#include "hex.h"
#include "policy.h"

#define FAILURE_PREFIX "sll: failure:"

static int refuse(struct attest_verdict *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int refuse(struct attest_verdict *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	v->accepted = false;
	return 0;
}

static void hex_of(const struct digest_set *d, enum hash_alg alg, char *out)
{
	if (d->banks & HASH_BANK(alg))
		digest_hex(d, alg, out);
	else
		memcpy(out, "(none)", sizeof("(none)"));
}

/* The log's SLL PCRs, replayed from the DRTM's zeroes (or the boot's, without DRTM), equal
 * the quoted values: from here on, every digest in the log is what the TPM saw. */
static int check_replay(const struct attest_evidence *ev, unsigned banks, bool drtm,
			const struct event_list *log, struct attest_verdict *v)
{
	static const unsigned sll_pcrs[] = { PCR_AUTHORITY, PCR_CONFIG, PCR_LAUNCH };
	char want[2 * HASH_MAX_SIZE + 1], got[2 * HASH_MAX_SIZE + 1];
	struct pcr_state st;

	for (size_t i = 0; i < log->count; i++) {
		const struct event *e = &log->events[i];
		bool sll_pcr = false;

		for (size_t k = 0; k < 3; k++)
			sll_pcr |= e->pcr == sequence_pcr(drtm, sll_pcrs[k]);
		if (e->type != EVENT_TYPE_NO_ACTION && !sll_pcr)
			return refuse(v, "/eventlog: event %zu extends PCR %u, which an SLL launch%s "
				      "never does", i + 1, e->pcr, drtm ? "" : " without DRTM");
	}
	pcr_state_init(&st, banks, 0);
	if (pcr_replay(&st, log) < 0)
		return refuse(v, "/eventlog: an event lacks a digest of a required bank");
	FOR_EACH_BANK(alg, banks) {
		for (size_t k = 0; k < 3; k++) {
			unsigned pcr = sequence_pcr(drtm, sll_pcrs[k]);
			size_t size = hash_alg_size(alg);

			if (memcmp(st.value[alg][pcr], ev->pcrs.value[alg][pcr], size) == 0)
				continue;
			hex_encode(st.value[alg][pcr], size, want);
			hex_encode(ev->pcrs.value[alg][pcr], size, got);
			return refuse(v, "/eventlog: does not replay to the quoted PCR %u (%s): the "
				      "log gives %s, the TPM quoted %s: the log was altered, or is not "
				      "this launch's", pcr, hash_alg_name(alg), want, got);
		}
	}
	return 1;
}

/* A failure cap in a log the quote vouches for: the launch failed, whatever came after. */
static int check_capped(const struct event_list *log, struct attest_verdict *v)
{
	char text[256];

	for (size_t i = 0; i < log->count; i++) {
		const struct event *e = &log->events[i];
		size_t n = strlen(FAILURE_PREFIX);

		if (e->data_len < n || memcmp(e->data, FAILURE_PREFIX, n) != 0)
			continue;
		eventlog_event_text(e, text, sizeof(text));
		return refuse(v, "the launch failed and capped its PCRs (event %zu: \"%s\"): what "
			      "ran after it (a recovery entry, if any) is not trusted", i + 1, text);
	}
	return 1;
}

static bool same_event(const struct event *a, const struct event *b, unsigned banks)
{
	if (a->pcr != b->pcr || a->type != b->type || a->data_len != b->data_len ||
	    memcmp(a->data, b->data, a->data_len) != 0)
		return false;
	FOR_EACH_BANK(alg, banks)
		if (memcmp(a->digests.d[alg], b->digests.d[alg], hash_alg_size(alg)) != 0)
			return false;
	return true;
}

/* How many of the log's events (EV_NO_ACTION skipped) the candidate predicts in order;
 * *ret_at: the log index of the first one it does not (log->count if none). */
static size_t common_prefix(const struct event_list *log, const struct event_list *pred,
			    unsigned banks, size_t *ret_at)
{
	size_t i = 0, k = 0;

	for (; i < log->count; i++) {
		if (log->events[i].type == EVENT_TYPE_NO_ACTION)
			continue;
		if (k >= pred->count || !same_event(&log->events[i], &pred->events[k], banks))
			break;
		k++;
	}
	*ret_at = i;
	return k;
}

static int explain_mismatch(const struct event_list *log, const struct attest_candidate *c,
			    size_t at, size_t k, unsigned banks, struct attest_verdict *v)
{
	enum hash_alg alg = hash_alg_first(banks);
	char want[2 * HASH_MAX_SIZE + 1], got[2 * HASH_MAX_SIZE + 1], ptext[256], etext[256];
	const struct event *p = k < c->seq.events.count ? &c->seq.events.events[k] : NULL;
	const struct event *e = at < log->count ? &log->events[at] : NULL;

	/* The log's text is the attacker's: escaped (and cut) like slpolicy eventlog prints it. */
	if (p)
		eventlog_event_text(p, ptext, sizeof(ptext));
	if (e)
		eventlog_event_text(e, etext, sizeof(etext));
	if (!e && !p)
		return refuse(v, "no difference to explain"); /* not reached: that is a match */
	if (!e)
		return refuse(v, "/eventlog: ends after event %zu, where policy %s, entry \"%s\" "
			      "next records \"%s\" (PCR %u): an unfinished launch", at,
			      c->policy_file, c->entry->name, ptext, p->pcr);
	if (!p)
		return refuse(v, "/eventlog: event %zu (PCR %u, \"%s\") comes after the whole "
			      "launch of policy %s, entry \"%s\"", at + 1, e->pcr, etext,
			      c->policy_file, c->entry->name);
	hex_of(&p->digests, alg, want);
	hex_of(&e->digests, alg, got);
	return refuse(v, "event %zu (PCR %u, \"%s\") differs from every accepted launch: %s %s; "
		      "the closest, policy %s, entry \"%s\", expects \"%s\" (PCR %u) %s %s",
		      at + 1, e->pcr, etext, hash_alg_name(alg), got, c->policy_file,
		      c->entry->name, ptext, p->pcr, hash_alg_name(alg), want);
}

/* Exactly one candidate's launch, or the first event of the closest one that differs. */
static int match(const struct event_list *log, const struct attest_candidate *cands,
		 size_t n_cands, unsigned banks, int64_t min_serial, struct attest_verdict *v)
{
	size_t best = 0, best_k = 0, best_at = 0;

	if (n_cands == 0)
		return refuse(v, "no accepted launch to compare with");
	for (size_t c = 0; c < n_cands; c++) {
		size_t at, k = common_prefix(log, &cands[c].seq.events, banks, &at);

		if (at == log->count && k == cands[c].seq.events.count) {
			if (cands[c].below_floor)
				return refuse(v, "launched policy %s (serial %lld), below the "
					      "anti-rollback floor %lld (--min-serial): a rolled-back "
					      "policy", cands[c].policy_file,
					      (long long)cands[c].serial, (long long)min_serial);
			v->accepted = true;
			v->match = &cands[c];
			return 0;
		}
		if (c == 0 || k > best_k) {
			best = c;
			best_k = k;
			best_at = at;
		}
	}
	return explain_mismatch(log, &cands[best], best_at, best_k, banks, v);
}

int attest_verdict_decide(const struct attest_evidence *ev, unsigned banks, bool drtm,
			  const struct attest_candidate *cands, size_t n_cands, int64_t min_serial,
			  struct event_list *log, struct attest_verdict *v)
{
	char why[512];
	unsigned log_banks;
	int r;

	*v = (struct attest_verdict){ .log = log };
	if (!ev->eventlog)
		return refuse(v, "/eventlog: missing: the quote alone does not say what launched");
	r = eventlog_decode(ev->eventlog, ev->eventlog_len, log, &log_banks, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return refuse(v, "/eventlog: %s", why);
	if ((log_banks & banks) != banks)
		return refuse(v, "/eventlog: has no %s digests", hash_alg_name(hash_alg_first(
			banks & ~log_banks)));
	r = check_replay(ev, banks, drtm, log, v);
	if (r <= 0)
		return r;
	r = check_capped(log, v);
	if (r <= 0)
		return r;
	return match(log, cands, n_cands, banks, min_serial, v);
}

/* {"pcr": N, "description": "...", "sha256": HEX, ...} */
static struct json_object *event_json(const struct event *e, unsigned banks)
{
	struct json_object *o = json_object_new_object();
	char hex[2 * HASH_MAX_SIZE + 1];

	json_object_object_add(o, "pcr", json_object_new_int((int)e->pcr));
	json_object_object_add(o, "description",
			       json_object_new_string_len((const char *)e->data, (int)e->data_len));
	FOR_EACH_BANK(alg, banks) {
		hex_of(&e->digests, alg, hex);
		json_object_object_add(o, hash_alg_name(alg), json_object_new_string(hex));
	}
	return o;
}

static void print_json(const struct attest_verdict *v, unsigned banks, const char *file)
{
	struct json_object *o = json_object_new_object(), *events;
	const struct attest_candidate *c = v->match;

	json_object_object_add(o, "evidence", json_object_new_string(file));
	json_object_object_add(o, "verdict", json_object_new_string(v->accepted ? "accepted" :
								    "refused"));
	if (!v->accepted) {
		json_object_object_add(o, "reason", json_object_new_string(v->reason));
	} else {
		json_object_object_add(o, "policy", json_object_new_string(c->policy_file));
		json_object_object_add(o, "serial", json_object_new_int64(c->serial));
		json_object_object_add(o, "entry", json_object_new_string(c->entry->name));
		events = json_object_new_array();
		for (size_t i = 0; i < c->seq.events.count; i++)
			json_object_array_add(events, event_json(&c->seq.events.events[i], banks));
		json_object_object_add(o, "events", events);
	}
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void attest_verdict_print(const struct attest_verdict *v, unsigned banks, bool json,
			  const char *file)
{
	const struct attest_candidate *c = v->match;
	char hex[2 * HASH_MAX_SIZE + 1];

	if (json) {
		print_json(v, banks, file);
		return;
	}
	if (!v->accepted) {
		printf("%s: refused: %s\n", file, v->reason);
		return;
	}
	printf("%s: accepted: policy %s (serial %lld), entry \"%s\"\n", file, c->policy_file,
	       (long long)c->serial, c->entry->name);
	for (size_t i = 0; i < c->seq.events.count; i++) {
		const struct event *e = &c->seq.events.events[i];

		printf("  PCR %u", e->pcr);
		FOR_EACH_BANK(alg, banks) {
			hex_of(&e->digests, alg, hex);
			printf(" %s:%s", hash_alg_name(alg), hex);
		}
		printf(" %.*s\n", (int)e->data_len, (const char *)e->data);
	}
}
