/* The verdict of slpolicy attest verify: the launch the (quote-checked) event log records,
 * compared event by event with every accepted policy's predicted launch. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "attest.h"
#include "sequence.h"

/* One accepted launch: a policy file's entry, predicted by policy/predict.c. */
struct attest_candidate {
	const char *policy_file;
	int64_t serial;
	bool below_floor; /* serial under --min-serial: named if it matches, never accepted */
	const struct policy_entry *entry;
	struct sequence seq;
};

struct attest_verdict {
	bool accepted;
	char reason[1024]; /* the refusal, one line */
	const struct attest_candidate *match; /* accepted: what launched */
	const struct event_list *log;         /* the log's events (for printing) */
};

/* The checked evidence's log against the candidates: the log replays to the quoted SLL PCRs
 * in every bank of banks, records no failure cap, and equals one candidate exactly. Fills v;
 * returns 0 (a verdict, either way) or -ENOMEM. log receives the decoded events. */
int attest_verdict_decide(const struct attest_evidence *ev, unsigned banks, bool drtm,
			  const struct attest_candidate *cands, size_t n_cands, int64_t min_serial,
			  struct event_list *log, struct attest_verdict *v);
/* Prints the verdict as text lines or one JSON object on stdout. */
void attest_verdict_print(const struct attest_verdict *v, unsigned banks, bool json,
			  const char *evidence_file);
