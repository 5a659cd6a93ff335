/* Host benchmark of slinit's measurement path: measure_stream() (policy/measure.c) reading a
 * file once and hashing it in every requested bank, optionally copying each chunk into a memfd
 * as slinit does (fd_write_sink). Prints the best of N runs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "fileio.h"
#include "load.h"
#include "measure.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "sha1,sha256,sha384" into a bank mask. */
static int parse_banks(const char *arg, unsigned *ret_banks)
{
	char buf[128], *save = NULL;
	size_t len = strlen(arg);
	unsigned banks = 0;

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, arg, len + 1);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		enum hash_alg alg;

		if (hash_alg_from_name(t, &alg) < 0)
			return -EINVAL;
		banks |= HASH_BANK(alg);
	}
	if (!banks)
		return -EINVAL;
	*ret_banks = banks;
	return 0;
}

/* One pass over path: read, hash every bank, and (memfd) copy into a fresh memfd. */
static int one_run(const char *path, unsigned banks, int memfd, double *ret_s,
		   struct digest_set *ret_d)
{
	uint64_t size = 0;
	int mfd = -1, r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	double t0;

	if (fd < 0)
		return -errno;
	if (memfd && (r = kexec_memfd_new("hashbench", &mfd)) < 0) {
		close(fd);
		return r;
	}
	t0 = now_s();
	r = measure_stream(fd, banks, MEASURE_MAX_OBJECT, memfd ? fd_write_sink : NULL,
			   memfd ? &mfd : NULL, ret_d, &size);
	*ret_s = now_s() - t0;
	close(fd);
	if (mfd >= 0)
		close(mfd);
	return r;
}

int main(int argc, char **argv)
{
	struct digest_set d;
	unsigned banks;
	int memfd = 0, repeat = 3, i = 1;
	double best = 0;
	off_t size;
	int fd;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--memfd") == 0)
			memfd = 1;
		else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);

			repeat = *end || n < 1 || n > 1000 ? 0 : (int)n;
		}
		else
			break;
	}
	if (argc - i != 2 || repeat < 1 || parse_banks(argv[i], &banks) < 0) {
		fprintf(stderr, "usage: hashbench [--memfd] [--repeat N] sha1,sha256,... FILE\n");
		return 2;
	}
	fd = open(argv[i + 1], O_RDONLY | O_CLOEXEC);
	size = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
	if (fd >= 0)
		close(fd);
	if (size < 0) {
		fprintf(stderr, "hashbench: %s: %s\n", argv[i + 1], strerror(errno));
		return 1;
	}
	for (int n = 0; n < repeat; n++) {
		double s = 0;
		int r = one_run(argv[i + 1], banks, memfd, &s, &d);

		if (r < 0) {
			fprintf(stderr, "hashbench: %s: %s\n", argv[i + 1], strerror(-r));
			return 1;
		}
		if (n == 0 || s < best)
			best = s;
	}
	/* The digests too, so a run can be checked against sha256sum and friends. */
	printf("%s %lld %.4f %.1f", argv[i], (long long)size, best,
	       (double)size / (1 << 20) / best);
	for (int a = 0; a < HASH_ALG_COUNT; a++)
		if (banks & HASH_BANK(a)) {
			char hex[2 * HASH_MAX_SIZE + 1];

			digest_hex(&d, (enum hash_alg)a, hex);
			printf(" %s:%s", hash_alg_name((enum hash_alg)a), hex);
		}
	printf("\n");
	return 0;
}
