/* Tokenizer benchmark: encode throughput on English text and prompt-building time.
 * usage: bench_tokenizer [tokenizer.json|-] [english.txt]   ("-" = the approximation) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/rng.h"
#include "tokenizer/tokenizer.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: on a shared machine this is the fair "one core" measure. */
static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "-";
	struct tok *t;
	double t0 = now_s();
	if (!strcmp(path, "-")) {
		t = tok_approx();
	} else {
		char err[512];
		t = tok_load(path, err, sizeof err);
		if (!t) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
	}
	double load_s = now_s() - t0;
	printf("tokenizer: %s (load %.3f s)\n", tok_name(t), load_s);

	if (argc > 2) {
		size_t len;
		char *text = fs_read_file(argv[2], &len);
		if (!text) {
			fprintf(stderr, "cannot read %s\n", argv[2]);
			return 1;
		}
		struct tok_ids ids = {0};
		double best = 1e9, best_cpu = 1e9;
		for (int rep = 0; rep < 5; rep++) {
			ids.n = 0;
			double a = now_s(), ac = cpu_s();
			tok_encode(t, text, len, &ids);
			double d = now_s() - a, dc = cpu_s() - ac;
			if (d < best)
				best = d;
			if (dc < best_cpu)
				best_cpu = dc;
		}
		printf(
		    "encode: %zu bytes -> %zu tokens, best of 5: %.1f ms wall = %.1f MB/s; %.1f ms cpu = %.1f MB/s\n",
		    len, ids.n, best * 1e3, (double)len / best / 1e6, best_cpu * 1e3, (double)len / best_cpu / 1e6);
		/* short texts (one request-sized chunk at a time) */
		size_t chunk = 2000, nchunks = 0;
		double a = now_s(), ac = cpu_s();
		for (size_t off = 0; off + chunk <= len; off += chunk, nchunks++) {
			ids.n = 0;
			tok_encode(t, text + off, chunk, &ids);
		}
		double d = now_s() - a, dc = cpu_s() - ac;
		printf("encode in %zu-byte calls: %.1f MB/s wall, %.1f MB/s cpu\n", chunk,
		       (double)(nchunks * chunk) / d / 1e6, (double)(nchunks * chunk) / dc / 1e6);
		tok_ids_free(&ids);
		free(text);
	}
	struct rng r;
	rng_init(&r, 42);
	struct buf out;
	buf_init(&out);
	/* warm the lazily prepared corpus */
	tok_prompt_build(t, &r, 10, NULL, &out);
	const int64_t sizes[] = {1000, 10000, 100000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		double best = 1e9, best_cpu = 1e9;
		int ok = 1;
		for (int rep = 0; rep < 5; rep++) {
			buf_reset(&out);
			double a = now_s(), ac = cpu_s();
			if (tok_prompt_build(t, &r, sizes[i], "\n\nGenerate at least 100 tokens.", &out) != 0)
				ok = 0;
			double d = now_s() - a, dc = cpu_s() - ac;
			if (d < best)
				best = d;
			if (dc < best_cpu)
				best_cpu = dc;
		}
		size_t got = tok_count(t, out.data, out.len);
		printf("prompt %lld tokens: best of 5 %.2f ms wall, %.2f ms cpu (count check: %zu, %s)\n",
		       (long long)sizes[i], best * 1e3, best_cpu * 1e3, got,
		       ok && got == (size_t)sizes[i] ? "exact" : "MISMATCH");
	}
	buf_free(&out);
	tok_free(t);
	return 0;
}
