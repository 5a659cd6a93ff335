/* A launch predicted from files, through the launch sequence slinit records with. */
#include "predict.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "measure.h"
#include "signature.h"

/* The kernel and initrds, hashed as slinit hashes what it loads (the same size rules). */
static int hash_entry_objects(const struct predict_input *in, unsigned banks,
			      struct digest_set *kernel, struct digest_set *initrds)
{
	const struct policy_entry *e = in->entry;
	int r = measure_object_digest(in->sources.boot_fd, e->kernel, banks, kernel);

	for (size_t i = 0; r >= 0 && i < e->initrd_count; i++)
		r = measure_object_digest(in->sources.boot_fd, e->initrds[i], banks, &initrds[i]);
	return r;
}

int predict_launch(struct sequence *seq, const struct predict_input *in,
		   struct predict_error *ret_err)
{
	struct digest_set kernel, initrds[POLICY_MAX_INITRDS];
	int r = 0;

	*ret_err = (struct predict_error){ .failure = PREDICT_FAILED_RECORDING };
	if (in->key)
		r = sequence_policy_key(seq, in->key, POLICY_KEY_SIZE);
	if (r >= 0)
		r = sequence_policy(seq, in->policy_bytes, in->policy_len, in->policy_path);
	if (r < 0)
		goto recording;
	r = collect_all(seq, in->policy, &in->sources, &ret_err->collector, ret_err->why,
			sizeof(ret_err->why));
	if (r < 0) {
		ret_err->failure = PREDICT_FAILED_COLLECTOR;
		return r;
	}
	r = hash_entry_objects(in, seq->banks, &kernel, initrds);
	if (r < 0) {
		ret_err->failure = PREDICT_FAILED_OBJECT;
		ret_err->error = r;
		snprintf(ret_err->why, sizeof(ret_err->why), "%s", measure_object_error(r));
		return r;
	}
	r = sequence_entry(seq, in->entry, &kernel, initrds);
	if (r >= 0)
		r = sequence_separator(seq);
	if (r >= 0)
		return 0;
recording:
	ret_err->error = r;
	snprintf(ret_err->why, sizeof(ret_err->why), "recording the events: %s", strerror(-r));
	return r;
}
