/* The simulated engine as a library on a virtual clock: qualitative behaviour of the model
 * (no sleeps, no threads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

struct req {
	double arrival_s;
	int64_t prompt, out;
	struct sim_seq seq;
	double first_s, done_s;
	int64_t got;
	bool submitted, rejected;
	int admitted; /* times reported in sim_step.admitted (once: its queue time) */
};

struct run_stats {
	int64_t max_waiting, max_running, steps, preemptions, engine_preemptions;
	double max_kv;
	bool saw_waiting_with_free_slots;
};

static void params_8b(struct sim_engine_params *p)
{
	sim_engine_params_default(p, sim_arch_find("llama3-8b"), sim_gpu_find("H100"), 1);
}

/* Drive the engine on a virtual clock: arrivals are submitted when the clock passes them; each step's
 * tokens are stamped at the end of the step. */
static void simulate(const struct sim_engine_params *p, struct req *r, size_t n, struct run_stats *st)
{
	struct sim_engine *e = sim_engine_new(p);
	memset(st, 0, sizeof *st);
	double t = 0;
	size_t next = 0, done = 0;
	for (size_t i = 0; i < n; i++) {
		r[i].seq.user = &r[i];
		r[i].first_s = r[i].done_s = -1;
	}
	while (done < n) {
		while (next < n && r[next].arrival_s <= t + 1e-12) {
			r[next].seq.prompt_tokens = r[next].prompt;
			r[next].seq.output_tokens = r[next].out;
			r[next].submitted = true;
			if (sim_engine_submit(e, &r[next].seq) != 0) {
				r[next].rejected = true;
				done++;
			}
			next++;
		}
		struct sim_step s;
		if (!sim_engine_step(e, &s)) {
			assert_true(next < n); /* idle with nothing left to arrive would be a hang */
			t = r[next].arrival_s;
			continue;
		}
		assert_true(s.duration_s > 0);
		assert_true(s.prefill_tokens + s.decode_tokens <= p->max_num_batched_tokens);
		st->steps++;
		t += s.duration_s;
		if (s.n_waiting > st->max_waiting)
			st->max_waiting = s.n_waiting;
		if (s.n_running > st->max_running)
			st->max_running = s.n_running;
		if (s.n_waiting > 0 && s.n_running < p->max_num_seqs)
			st->saw_waiting_with_free_slots = true;
		double kv = sim_engine_kv_usage(e);
		assert_true(kv <= 1.0 + 1e-12);
		if (kv > st->max_kv)
			st->max_kv = kv;
		for (size_t i = 0; i < s.n_admitted; i++)
			((struct req *)s.admitted[i]->user)->admitted++;
		for (size_t i = 0; i < s.n_emit; i++) {
			struct req *q = s.emit[i].seq->user;
			if (s.emit[i].first) {
				assert_true(q->first_s < 0);
				q->first_s = t;
			}
			q->got++;
			if (s.emit[i].finished) {
				q->done_s = t;
				done++;
			}
		}
		assert_true(st->steps < 10000000);
	}
	for (size_t i = 0; i < n; i++)
		st->preemptions += r[i].seq.preemptions;
	st->engine_preemptions = sim_engine_preemptions(e); /* what /metrics reports */
	sim_engine_free(e);
}

static double ttft_alone(const struct sim_engine_params *p, int64_t prompt)
{
	struct req r = {.arrival_s = 0, .prompt = prompt, .out = 2};
	struct run_stats st;
	simulate(p, &r, 1, &st);
	return r.first_s - r.arrival_s;
}

static void test_ttft_grows_with_prompt_length(void **state)
{
	(void)state;
	struct sim_engine_params p;
	params_8b(&p);
	/* tiny prompts are memory-bound (weights read once per step): flat, never shrinking */
	assert_true(ttft_alone(&p, 128) >= ttft_alone(&p, 16));
	int64_t lens[] = {512, 1000, 2000, 4000, 8000, 20000};
	double prev = ttft_alone(&p, 128);
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		double t = ttft_alone(&p, lens[i]);
		assert_true(t > prev);
		prev = t;
	}
	/* sanity figure of the spec: 1,000-token prompt alone ~25-40 ms on an H100 */
	double t1k = ttft_alone(&p, 1000);
	assert_true(t1k > 0.025 && t1k < 0.040);
}

static void test_chunked_prefill_splits_long_prompts(void **state)
{
	(void)state;
	struct sim_engine_params p;
	params_8b(&p);
	p.max_num_batched_tokens = 1000;
	struct req r = {.arrival_s = 0, .prompt = 3500, .out = 3};
	struct run_stats st;
	simulate(&p, &r, 1, &st);
	/* 4 prefill steps (1000+1000+1000+500) then 2 decode steps */
	assert_int_equal(st.steps, 6);
	assert_int_equal(r.got, 3);
}

/* Steady-state decode step time for a batch of B sequences with the given context. */
static double decode_step_s(const struct sim_engine_params *p, int B, int64_t ctx)
{
	struct sim_engine *e = sim_engine_new(p);
	struct sim_seq *s = calloc((size_t)B, sizeof *s);
	for (int i = 0; i < B; i++) {
		s[i].prompt_tokens = ctx;
		s[i].output_tokens = 1000;
		assert_int_equal(sim_engine_submit(e, &s[i]), 0);
	}
	struct sim_step st;
	double d = -1;
	for (int k = 0; k < 100; k++) {
		assert_true(sim_engine_step(e, &st));
		if (st.prefill_tokens == 0 && st.decode_tokens == B) {
			d = st.duration_s;
			break;
		}
	}
	assert_true(d > 0);
	sim_engine_free(e);
	free(s);
	return d;
}

static void test_decode_step_grows_with_batch_size(void **state)
{
	(void)state;
	struct sim_engine_params p;
	params_8b(&p);
	int batches[] = {1, 8, 32, 64, 128, 256};
	double prev = 0;
	for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
		double d = decode_step_s(&p, batches[i], 1000);
		assert_true(d > prev);
		prev = d;
	}
	/* spec sanity: 8B/H100 ITL ~6-8 ms at batch 1, ~10-15 ms at batch 64 with 1k contexts */
	double d1 = decode_step_s(&p, 1, 1000), d64 = decode_step_s(&p, 64, 1000);
	assert_true(d1 > 0.006 && d1 < 0.008);
	assert_true(d64 > 0.010 && d64 < 0.015);
	/* longer contexts cost more at the same batch size */
	assert_true(decode_step_s(&p, 32, 4000) > decode_step_s(&p, 32, 500));
}

static void test_tensor_parallel_scaling(void **state)
{
	(void)state;
	struct sim_engine_params p4, p2;
	sim_engine_params_default(&p4, sim_arch_find("llama3-70b"), sim_gpu_find("H100"), 4);
	sim_engine_params_default(&p2, sim_arch_find("llama3-70b"), sim_gpu_find("H100"), 2);
	double d4 = decode_step_s(&p4, 1, 500), d2 = decode_step_s(&p2, 1, 500);
	assert_true(d4 > 0.012 && d4 < 0.020); /* spec sanity: 70B TP=4 ITL 12-20 ms at low batch */
	assert_true(d2 > d4);
	/* 70B does not fit on one H100 */
	struct sim_engine_params p1;
	sim_engine_params_default(&p1, sim_arch_find("llama3-70b"), sim_gpu_find("H100"), 1);
	assert_true(sim_kv_capacity_tokens(&p1) <= 0);
}

static double mean_ttft(const struct req *r, size_t from, size_t to)
{
	double s = 0;
	for (size_t i = from; i < to; i++)
		s += r[i].first_s - r[i].arrival_s;
	return s / (double)(to - from);
}

static void test_overload_makes_ttft_climb(void **state)
{
	(void)state;
	struct sim_engine_params p;
	params_8b(&p);
	p.max_num_seqs = 16;
	enum { N = 400 };
	/* capacity ~ 16 seqs / (100 tokens * ~8 ms) ~ 20 req/s; offered: 100 req/s */
	struct req *over = calloc(N, sizeof *over);
	struct req *under = calloc(N, sizeof *under);
	for (size_t i = 0; i < N; i++) {
		over[i] = (struct req){.arrival_s = 0.01 * (double)i, .prompt = 200, .out = 100};
		under[i] = (struct req){.arrival_s = 0.2 * (double)i, .prompt = 200, .out = 100};
	}
	struct run_stats st;
	simulate(&p, over, N, &st);
	double q1 = mean_ttft(over, 0, N / 4), q2 = mean_ttft(over, N / 4, N / 2),
	       q3 = mean_ttft(over, N / 2, 3 * N / 4), q4 = mean_ttft(over, 3 * N / 4, N);
	assert_true(q2 > q1 && q3 > q2 && q4 > q3); /* keeps climbing */
	fprintf(stderr, "overload mean TTFT by quarter: %.3f %.3f %.3f %.3f s\n", q1, q2, q3, q4);
	assert_true(q4 > 3 * q1 && q4 > 5.0);
	assert_true(st.max_waiting > 100);
	simulate(&p, under, N, &st);
	double u1 = mean_ttft(under, 0, N / 4), u4 = mean_ttft(under, 3 * N / 4, N);
	assert_true(u4 < 2 * u1 + 0.005); /* under capacity: bounded */
	assert_int_equal(st.max_waiting, 0);
	free(over);
	free(under);
}

static void test_kv_exhaustion_queues_instead_of_failing(void **state)
{
	(void)state;
	struct sim_engine_params p;
	params_8b(&p);
	p.kv_capacity_tokens = 2048; /* 128 blocks of 16 */
	enum { N = 24 };
	struct req r[N];
	memset(r, 0, sizeof r);
	for (size_t i = 0; i < N; i++)
		r[i] = (struct req){.arrival_s = 0, .prompt = 400, .out = 300};
	struct run_stats st;
	simulate(&p, r, N, &st);
	for (size_t i = 0; i < N; i++) {
		assert_false(r[i].rejected);
		assert_int_equal(r[i].got, 300);    /* every token produced exactly once */
		assert_int_equal(r[i].admitted, 1); /* first admission reported once, not after a preemption */
		assert_true(r[i].done_s > 0);
	}
	assert_true(st.saw_waiting_with_free_slots); /* queued for memory, not for batch slots */
	assert_true(st.max_running < N);
	assert_true(st.max_kv > 0.8);
	assert_true(st.preemptions > 0); /* decode growth forced preemption + recompute */
	assert_int_equal(st.engine_preemptions, st.preemptions);
}

static void test_too_large_prompt_rejected(void **state)
{
	(void)state;
	struct sim_engine_params p;
	params_8b(&p);
	p.kv_capacity_tokens = 1024;
	struct sim_engine *e = sim_engine_new(&p);
	struct sim_seq s = {.prompt_tokens = 2000, .output_tokens = 4};
	assert_int_equal(sim_engine_submit(e, &s), -1);
	struct sim_step st;
	assert_false(sim_engine_step(e, &st));
	sim_engine_free(e);
}

static void test_abort_frees_kv(void **state)
{
	(void)state;
	struct sim_engine_params p;
	params_8b(&p);
	p.kv_capacity_tokens = 1024;
	struct sim_engine *e = sim_engine_new(&p);
	struct sim_seq a = {.prompt_tokens = 900, .output_tokens = 50}, b = {.prompt_tokens = 900, .output_tokens = 50};
	assert_int_equal(sim_engine_submit(e, &a), 0);
	assert_int_equal(sim_engine_submit(e, &b), 0);
	struct sim_step st;
	assert_true(sim_engine_step(e, &st));
	assert_int_equal(sim_engine_running(e), 1);
	assert_int_equal(sim_engine_waiting(e), 1);
	assert_int_equal(st.n_emit, 1);
	sim_engine_abort(e, &a);
	assert_null(st.emit[0].seq); /* the planned step no longer references it */
	assert_true(sim_engine_kv_usage(e) == 0);
	assert_true(sim_engine_step(e, &st));
	assert_int_equal(sim_engine_running(e), 1);
	assert_int_equal(sim_engine_waiting(e), 0);
	sim_engine_abort(e, &b);
	assert_false(sim_engine_step(e, &st));
	sim_engine_free(e);
}

static void test_deterministic(void **state)
{
	(void)state;
	struct sim_engine_params p;
	params_8b(&p);
	p.kv_capacity_tokens = 8192;
	enum { N = 60 };
	struct req a[N], b[N];
	for (size_t i = 0; i < N; i++) {
		a[i] = (struct req){.arrival_s = 0.003 * (double)i,
		                    .prompt = 100 + 37 * (int64_t)(i % 7),
		                    .out = 20 + (int64_t)(i % 11) * 9};
		b[i] = a[i];
	}
	struct run_stats s1, s2;
	simulate(&p, a, N, &s1);
	simulate(&p, b, N, &s2);
	for (size_t i = 0; i < N; i++) {
		assert_true(a[i].first_s == b[i].first_s);
		assert_true(a[i].done_s == b[i].done_s);
	}
	assert_int_equal(s1.steps, s2.steps);
}

static void test_model_tables(void **state)
{
	(void)state;
	assert_string_equal(sim_arch_from_model_id("meta-llama/Llama-3-8B-Instruct")->name, "llama3-8b");
	assert_string_equal(sim_arch_from_model_id("meta-llama/Meta-Llama-3.1-70B-Instruct")->name, "llama3-70b");
	assert_string_equal(sim_arch_from_model_id("meta-llama/Llama-3.2-1B-Instruct")->name, "llama3.2-1b");
	assert_string_equal(sim_arch_from_model_id("Qwen/Qwen2.5-7B-Instruct")->name, "qwen2.5-7b");
	assert_null(sim_arch_from_model_id("acme/unknown-model"));
	for (size_t i = 0; i < sim_preset_count(); i++) {
		const struct sim_preset *pr = sim_preset_at(i);
		struct sim_engine_params p;
		assert_non_null(sim_arch_find(pr->arch));
		assert_non_null(sim_gpu_find(pr->gpu));
		sim_engine_params_default(&p, sim_arch_find(pr->arch), sim_gpu_find(pr->gpu), pr->tp);
		assert_true(sim_kv_capacity_tokens(&p) > pr->max_model_len); /* every preset fits a full context */
	}
	struct sim_engine_params p;
	params_8b(&p);
	assert_true(sim_kv_bytes_per_token(&p) == 131072.0); /* 2*32*8*128*2 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ttft_grows_with_prompt_length),
	    cmocka_unit_test(test_chunked_prefill_splits_long_prompts),
	    cmocka_unit_test(test_decode_step_grows_with_batch_size),
	    cmocka_unit_test(test_tensor_parallel_scaling),
	    cmocka_unit_test(test_overload_makes_ttft_climb),
	    cmocka_unit_test(test_kv_exhaustion_queues_instead_of_failing),
	    cmocka_unit_test(test_too_large_prompt_rejected),
	    cmocka_unit_test(test_abort_frees_kv),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_model_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
