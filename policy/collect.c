/* The policy's collectors (DESIGN section 1, step 5): each reads one system property from a
 * root directory and becomes one event in PCR 21, in policy order. */
#include "collect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beneath.h"
#include "cleanup.h"
#include "fileio.h"
#include "measure.h"
#include "smbios.h"

const char *collect_type_name(enum collector_type type)
{
	switch (type) {
	case COLLECTOR_DMI: return "dmi";
	case COLLECTOR_CPUID: return "cpuid";
	case COLLECTOR_FILE: return "file";
	case COLLECTOR_STORAGE: return "storage";
	}
	return "unknown";
}

static const char *open_reason(int r)
{
	if (r == -ELOOP)
		return "it is a symbolic link";
	if (r == -EINVAL)
		return "not a regular file or device";
	return strerror(-r);
}

/* A whole small file beneath sys_fd, at most cap bytes. */
static int read_small(int root_fd, const char *path, size_t cap, uint8_t **ret, size_t *ret_len,
		      char *why, size_t why_size)
{
	_cleanup_close_ int fd = beneath_open_input(root_fd, path, false);
	int r;

	if (fd < 0) {
		snprintf(why, why_size, "/%s: %s", path, open_reason(fd));
		return fd;
	}
	r = fd_read_all(fd, cap, ret, ret_len);
	if (r == -E2BIG)
		snprintf(why, why_size, "/%s: larger than the %zu-byte limit", path, cap);
	else if (r < 0 && r != -ENOMEM)
		snprintf(why, why_size, "/%s: reading: %s", path, strerror(-r));
	return r;
}

static int collect_dmi(const struct policy_collector *c, const struct collect_sources *src,
		       struct collect_result *res, char *why, size_t why_size)
{
	_cleanup_free_ uint8_t *entry = NULL, *table = NULL, *kept = NULL;
	size_t entry_len = 0, table_len = 0, kept_len = 0, n;
	char ep_why[160];
	int r = read_small(src->sys_fd, COLLECT_DMI_ENTRY, SMBIOS_MAX_TABLE, &entry, &entry_len,
			   why, why_size);

	if (r < 0)
		return r;
	r = smbios_check_entry_point(entry, entry_len, ep_why, sizeof(ep_why));
	if (r < 0) {
		snprintf(why, why_size, "/%s: %s", COLLECT_DMI_ENTRY, ep_why);
		return r;
	}
	r = read_small(src->sys_fd, COLLECT_DMI_TABLE, SMBIOS_MAX_TABLE, &table, &table_len, why,
		       why_size);
	if (r < 0)
		return r;
	/* The whole table as is; the entry point is checked but not measured: it holds the
	 * table's physical address, which firmware may change from boot to boot. */
	if (c->dmi_all_types) {
		res->bytes = TAKE_PTR(table);
		res->len = table_len;
		snprintf(res->desc, sizeof(res->desc), "dmi");
		return 0;
	}
	kept = malloc(table_len + 1);
	if (!kept)
		return -ENOMEM;
	r = smbios_filter(table, table_len, c->dmi_types, kept, &kept_len, ep_why, sizeof(ep_why));
	if (r < 0) {
		snprintf(why, why_size, "/%s: %s", COLLECT_DMI_TABLE, ep_why);
		return r;
	}
	res->bytes = TAKE_PTR(kept);
	res->len = kept_len;
	n = (size_t)snprintf(res->desc, sizeof(res->desc), "dmi types");
	for (unsigned t = 0; t < 256 && n < sizeof(res->desc) - 5; t++)
		if (c->dmi_types[t])
			n += (size_t)snprintf(res->desc + n, sizeof(res->desc) - n, "%s%u",
					      n == 9 ? " " : ",", t);
	return 0;
}

static int collect_cpuid(const struct collect_sources *src, struct collect_result *res,
			 char *why, size_t why_size)
{
	struct cpuleaves parsed;
	const struct cpuleaves *v = src->cpuid;
	char cwhy[160];
	int r;

	if (!v) {
		_cleanup_free_ uint8_t *text = NULL;
		size_t len = 0;

		r = read_small(src->sys_fd, COLLECT_CPUID_FILE, 1u << 20, &text, &len, why,
			       why_size);
		if (r < 0)
			return r;
		r = cpuleaves_parse((const char *)text, len, &parsed, cwhy, sizeof(cwhy));
		if (r < 0) {
			snprintf(why, why_size, "/%s: %s", COLLECT_CPUID_FILE, cwhy);
			return r;
		}
		v = &parsed;
	}
	res->bytes = malloc(24 * cpuleaves_count);
	if (!res->bytes)
		return -ENOMEM;
	r = cpuleaves_canonical(v, res->bytes, &res->len, cwhy, sizeof(cwhy));
	if (r < 0) {
		snprintf(why, why_size, "%s%s: %s", src->cpuid ? "" : "/",
			 src->cpuid ? "CPUID" : COLLECT_CPUID_FILE, cwhy);
		return r;
	}
	snprintf(res->desc, sizeof(res->desc), "cpuid");
	return 0;
}

static int collect_storage(const struct policy_collector *c, const struct collect_sources *src,
			   struct collect_result *res, char *why, size_t why_size)
{
	struct storage_result sr;
	char swhy[192];
	_cleanup_close_ int fd = beneath_open_input(src->sys_fd, c->path, true);
	int r;

	if (fd < 0) {
		snprintf(why, why_size, "%s: %s", c->path, open_reason(fd));
		return fd;
	}
	r = storage_read(fd, c->partition, c->bytes, src->record, src->record_ctx, &sr, swhy,
			 sizeof(swhy));
	if (r < 0) {
		snprintf(why, why_size, "%s: %s", c->path, swhy);
		return r;
	}
	res->bytes = sr.bytes;
	res->len = sr.len;
	if (c->partition)
		snprintf(res->desc, sizeof(res->desc), "storage %s %s, partition %u: %zu bytes",
			 c->path, sr.table, c->partition, c->bytes);
	else
		snprintf(res->desc, sizeof(res->desc), "storage %s %s", c->path, sr.table);
	return 0;
}

int collect_one(const struct policy_collector *c, const struct collect_sources *src,
		unsigned banks, struct collect_result *ret, struct digest_set *ret_digests,
		char *why, size_t why_size)
{
	struct collect_result res = { 0 };
	int r;

	switch (c->type) {
	case COLLECTOR_DMI: r = collect_dmi(c, src, &res, why, why_size); break;
	case COLLECTOR_CPUID: r = collect_cpuid(src, &res, why, why_size); break;
	case COLLECTOR_STORAGE: r = collect_storage(c, src, &res, why, why_size); break;
	case COLLECTOR_FILE:
		r = measure_file_digest(src->boot_fd, c->path, banks, MEASURE_MAX_OBJECT,
					ret_digests, NULL);
		if (r < 0)
			snprintf(why, why_size, "%s (boot partition): %s", c->path, open_reason(r));
		else
			snprintf(res.desc, sizeof(res.desc), "file %s", c->path);
		break;
	default: r = -EINVAL; snprintf(why, why_size, "unknown collector type");
	}
	if (r >= 0 && res.bytes)
		r = digest_buffer(banks, res.bytes, res.len, ret_digests);
	if (r < 0) {
		collect_result_free(&res);
		return r;
	}
	*ret = res;
	return 0;
}

void collect_result_free(struct collect_result *r)
{
	free(r->bytes);
	r->bytes = NULL;
	r->len = 0;
}

int collect_all(struct sequence *seq, const struct policy *pol, const struct collect_sources *src,
		size_t *ret_failed, char *why, size_t why_size)
{
	for (size_t i = 0; i < pol->collector_count; i++) {
		struct collect_result res;
		struct digest_set d;
		int r = collect_one(&pol->collectors[i], src, seq->banks, &res, &d, why, why_size);

		if (r >= 0) {
			r = sequence_collector(seq, &d, res.desc);
			collect_result_free(&res);
			if (r < 0)
				snprintf(why, why_size, "recording the event: %s", strerror(-r));
		}
		if (r < 0) {
			*ret_failed = i;
			return r;
		}
	}
	return 0;
}
