#ifndef VK_META_MICROBENCH_H
#define VK_META_MICROBENCH_H
/* Shared pieces of the microbenchmarks (prefill and decode in meta_microbench.c, stress in
 * mb_stress.c). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "core/buf.h"
#include "core/jsonw.h"
#include "meta/mb_rows.h"

struct server_handle;

/* The benchmark config every microbenchmark point starts from (reference §6.2): synthetic
 * single-request sessions, no SLOs, no streamed metrics, trace recorder off, pre-generated
 * sessions, chat client from the microbenchmark's model/api_base/api_key/... */
void mb_base_config(const struct cfg_microbench *m, const char *output_dir, struct cfg_benchmark *b);
/* Decode output tokens per request: 2·(samples + (b−1)·ceil(l/(chunk−b))), b = 1 → 2·samples. */
int64_t mb_decode_output_tokens(int64_t samples, int64_t batch, int64_t input_len, int64_t chunk);
/* tbc_in_window_stats of a decode_window_metrics.json text (seconds). 0 or -1. */
int mb_decode_window_stats(const char *json_text, struct mb_stats *out);

/* The results JSON/CSV of a microbenchmark: {"type": <type>, <caller's keys>, "results": [...]}. */
struct mb_results {
	struct buf js, csv;
	struct jsonw w;
};
void mb_results_begin(struct mb_results *r, const char *type, const char *csv_header);
void mb_results_list_begin(struct mb_results *r); /* writes "results": [ */
void mb_results_end(struct mb_results *r, const char *dir, const char *json_name, const char *csv_name);

/* Stress levels. */
size_t mb_stress_range_levels(int64_t lo, int64_t hi, int64_t points, int64_t *out, size_t cap);
size_t mb_stress_manual_levels(const int64_t *in, size_t n, int64_t *out, size_t cap);
int64_t mb_stress_max_sessions(const struct cfg_microbench *m, int64_t level);

/* The "no errored requests" validation check of a microbenchmark point (docs/META.md): PASS when
 * rows has no failed row, else FAIL naming how many of the point's requests failed and the first
 * error; counts the FAIL in *fails. `what` names the point ("bs=8 il=512"). */
void mb_check_errored(const struct mb_rows *rows, const char *what, int *fails);

/* One measured stress point. */
struct mb_stress_point {
	int64_t concurrency;
	size_t num_requests;
	size_t num_errored_requests; /* failed requests of the level's run (warm-up included) */
	double duration_s;
	double input_throughput_tps, output_throughput_tps, requests_per_s;
	double e2e_p50_s, e2e_p99_s, ttfc_p50_s, ttfc_p99_s, tpot_p50_s, tpot_p99_s;
	double interactivity_p50; /* tokens/s per user = 1 / tpot p50 */
	char run_dir[512];
};
/* Compute a point from rows (warm-up: rows completing before first dispatch + warmup_s dropped). */
void mb_stress_point_of(const struct mb_rows *rows, double warmup_s, struct mb_stress_point *p);

int mb_stress(const struct cfg_run_opts *opts, const struct cfg_microbench *m, const char *run_dir,
              struct server_handle **server, int *fails, int *warns);

#endif
