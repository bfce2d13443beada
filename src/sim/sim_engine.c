/* The continuous-batching scheduler of the simulated engine. A pure library over a virtual clock:
 * sim_engine_step() plans one engine step (admission, chunked prefill, decode, KV blocks, preemption)
 * and returns its duration from the roofline model; the caller decides when "now" is. */
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "core/xalloc.h"
#include "sim/sim.h"

struct sim_engine {
	struct sim_engine_params p;
	int64_t total_blocks, free_blocks;
	struct list waiting, running; /* of sim_seq.node (core/list.h) */
	struct sim_emit *emit;
	size_t n_emit, cap_emit;
	struct sim_seq **admitted;
	size_t n_admitted, cap_admitted;
	int64_t preemptions_total;
};

/* The sequence of a node on the waiting or running list (NULL for NULL). */
static struct sim_seq *sim_seq_of(struct list_node *n)
{
	return n ? LIST_ENTRY(n, struct sim_seq, node) : NULL;
}

static int64_t sim_engine_blocks_for(const struct sim_engine *e, int64_t tokens)
{
	int64_t bs = e->p.block_size_tokens;
	return (tokens + bs - 1) / bs;
}

struct sim_engine *sim_engine_new(const struct sim_engine_params *p)
{
	struct sim_engine *e = xcalloc(1, sizeof *e);
	e->p = *p;
	if (e->p.block_size_tokens <= 0)
		e->p.block_size_tokens = 16;
	if (e->p.max_num_seqs <= 0)
		e->p.max_num_seqs = 1;
	if (e->p.max_num_batched_tokens <= 0)
		e->p.max_num_batched_tokens = 1;
	e->total_blocks = sim_kv_capacity_tokens(&e->p) / e->p.block_size_tokens;
	e->free_blocks = e->total_blocks;
	e->cap_emit = (size_t)e->p.max_num_seqs + 2;
	e->emit = xcalloc(e->cap_emit, sizeof *e->emit);
	return e;
}

void sim_engine_free(struct sim_engine *e)
{
	if (!e)
		return;
	free(e->emit);
	free(e->admitted);
	free(e);
}

int sim_engine_submit(struct sim_engine *e, struct sim_seq *s)
{
	if (s->output_tokens < 1)
		s->output_tokens = 1;
	s->emitted = 0;
	s->prefilled = 0;
	s->prefill_target = s->prompt_tokens > 0 ? s->prompt_tokens : 1;
	s->blocks = 0;
	s->preemptions = 0;
	s->scheduled = false;
	s->first_sched_ns = 0;
	if (sim_engine_blocks_for(e, s->prefill_target) > e->total_blocks) {
		s->state = SIM_SEQ_DONE;
		return -1;
	}
	s->state = SIM_SEQ_WAITING;
	list_push_tail(&e->waiting, &s->node);
	return 0;
}

static void sim_engine_release(struct sim_engine *e, struct sim_seq *s)
{
	e->free_blocks += s->blocks;
	s->blocks = 0;
}

void sim_engine_abort(struct sim_engine *e, struct sim_seq *s)
{
	if (s->state == SIM_SEQ_WAITING)
		list_remove(&e->waiting, &s->node);
	else if (s->state == SIM_SEQ_RUNNING)
		list_remove(&e->running, &s->node);
	sim_engine_release(e, s);
	s->state = SIM_SEQ_DONE;
	for (size_t i = 0; i < e->n_emit; i++)
		if (e->emit[i].seq == s)
			e->emit[i].seq = NULL;
	for (size_t i = 0; i < e->n_admitted; i++)
		if (e->admitted[i] == s)
			e->admitted[i] = NULL;
}

static void sim_engine_preempt(struct sim_engine *e, struct sim_seq *s)
{
	list_remove(&e->running, &s->node);
	sim_engine_release(e, s);
	s->prefilled = 0;
	s->prefill_target = s->prompt_tokens + s->emitted;
	if (s->prefill_target < 1)
		s->prefill_target = 1;
	s->preemptions++;
	e->preemptions_total++;
	s->state = SIM_SEQ_WAITING;
	list_push_head(&e->waiting, &s->node);
}

static void sim_engine_add_emit(struct sim_engine *e, struct sim_seq *s, bool first, bool finished)
{
	if (e->n_emit == e->cap_emit)
		xgrow((void **)&e->emit, &e->cap_emit, e->n_emit + 1, sizeof *e->emit);
	e->emit[e->n_emit++] = (struct sim_emit){.seq = s, .first = first, .finished = finished};
}

static bool sim_engine_is_decoding(const struct sim_seq *s)
{
	return s->prefilled >= s->prefill_target;
}

/* sum of (start+1 .. start+n) = context lengths seen by n consecutive prompt tokens */
static double sim_engine_ctx_sum(int64_t start, int64_t n)
{
	return (double)n * (double)start + (double)n * (double)(n + 1) / 2.0;
}

/* The next prefill chunk of s within *budget tokens: its context sum added to *pctx, and the first
 * token emitted when the prompt is done. Returns the chunk's tokens. */
static int64_t sim_engine_prefill_chunk(struct sim_engine *e, struct sim_seq *s, int64_t *budget, double *pctx)
{
	int64_t chunk = s->prefill_target - s->prefilled;
	if (chunk > *budget)
		chunk = *budget;
	*pctx += sim_engine_ctx_sum(s->prefilled, chunk);
	s->prefilled += chunk;
	*budget -= chunk;
	if (sim_engine_is_decoding(s))
		sim_engine_add_emit(e, s, s->emitted == 0, false);
	return chunk;
}

bool sim_engine_step(struct sim_engine *e, struct sim_step *out)
{
	memset(out, 0, sizeof *out);
	e->n_emit = 0;
	e->n_admitted = 0;
	if (!e->waiting.n && !e->running.n)
		return false;

	/* 1. KV for decode growth, oldest first; preempt the newest running sequence when short. */
	for (struct sim_seq *s = sim_seq_of(e->running.head); s;) {
		struct sim_seq *next = sim_seq_of(s->node.next);
		if (sim_engine_is_decoding(s)) {
			int64_t need = sim_engine_blocks_for(e, s->prompt_tokens + s->emitted) - s->blocks;
			bool self_preempted = false;
			while (need > e->free_blocks) {
				struct sim_seq *victim = sim_seq_of(e->running.tail);
				if (victim == s)
					self_preempted = true;
				sim_engine_preempt(e, victim);
				if (self_preempted)
					break;
			}
			if (self_preempted)
				break;
			if (need > 0) {
				e->free_blocks -= need;
				s->blocks += need;
			}
			next = sim_seq_of(s->node.next); /* the tail may have been preempted */
		}
		s = next;
	}

	/* 2. Token budget: running sequences first (decode 1 token, prefill a chunk), then admission. */
	int64_t budget = e->p.max_num_batched_tokens;
	int64_t P = 0, D = 0;
	double pctx = 0, dctx = 0;
	for (struct sim_seq *s = sim_seq_of(e->running.head); s && budget > 0; s = sim_seq_of(s->node.next)) {
		if (sim_engine_is_decoding(s)) {
			D++;
			budget--;
			dctx += (double)(s->prompt_tokens + s->emitted);
			sim_engine_add_emit(e, s, false, false);
		} else {
			P += sim_engine_prefill_chunk(e, s, &budget, &pctx);
		}
	}
	while (budget > 0 && e->waiting.n && e->running.n < (size_t)e->p.max_num_seqs) {
		struct sim_seq *s = sim_seq_of(e->waiting.head);
		int64_t need = sim_engine_blocks_for(e, s->prefill_target);
		if (need > e->free_blocks)
			break; /* FCFS: the head waits for memory, nobody overtakes it */
		list_remove(&e->waiting, &s->node);
		e->free_blocks -= need;
		s->blocks = need;
		s->state = SIM_SEQ_RUNNING;
		list_push_tail(&e->running, &s->node);
		if (!s->scheduled) {
			s->scheduled = true;
			xgrow((void **)&e->admitted, &e->cap_admitted, e->n_admitted + 1, sizeof *e->admitted);
			e->admitted[e->n_admitted++] = s;
		}
		P += sim_engine_prefill_chunk(e, s, &budget, &pctx);
	}

	if (P == 0 && D == 0) {
		/* Nothing can run: the head of the queue needs more KV than exists even with an empty
		 * batch (only possible after preemption grew its recompute). End it to avoid a livelock. */
		if (!e->running.n && e->waiting.n) {
			struct sim_seq *s = sim_seq_of(e->waiting.head);
			list_remove(&e->waiting, &s->node);
			s->state = SIM_SEQ_DONE;
			sim_engine_add_emit(e, s, false, true);
			out->n_emit = e->n_emit;
			out->emit = e->emit;
			out->n_admitted = e->n_admitted;
			out->admitted = e->admitted;
			out->n_waiting = (int64_t)e->waiting.n;
			out->duration_s = e->p.overhead_s;
			return true;
		}
	}

	/* 3. Emit one token per emitting sequence at the end of the step; finished ones leave. */
	for (size_t i = 0; i < e->n_emit; i++) {
		struct sim_seq *s = e->emit[i].seq;
		s->emitted++;
		if (s->emitted >= s->output_tokens) {
			e->emit[i].finished = true;
			list_remove(&e->running, &s->node);
			sim_engine_release(e, s);
			s->state = SIM_SEQ_DONE;
		}
	}
	out->duration_s = sim_step_time_s(&e->p, P, pctx, D, dctx);
	out->prefill_tokens = P;
	out->decode_tokens = D;
	out->n_running = (int64_t)e->running.n;
	out->n_waiting = (int64_t)e->waiting.n;
	out->n_emit = e->n_emit;
	out->emit = e->emit;
	out->n_admitted = e->n_admitted;
	out->admitted = e->admitted;
	return true;
}

int64_t sim_engine_running(const struct sim_engine *e)
{
	return (int64_t)e->running.n;
}
int64_t sim_engine_preemptions(const struct sim_engine *e)
{
	return e->preemptions_total;
}
int64_t sim_engine_kv_used_tokens(const struct sim_engine *e)
{
	return (e->total_blocks - e->free_blocks) * e->p.block_size_tokens;
}
int64_t sim_engine_waiting(const struct sim_engine *e)
{
	return (int64_t)e->waiting.n;
}
int64_t sim_engine_capacity_tokens(const struct sim_engine *e)
{
	return e->total_blocks * e->p.block_size_tokens;
}
const struct sim_engine_params *sim_engine_get_params(const struct sim_engine *e)
{
	return &e->p;
}

double sim_engine_kv_usage(const struct sim_engine *e)
{
	if (e->total_blocks <= 0)
		return 0;
	return (double)(e->total_blocks - e->free_blocks) / (double)e->total_blocks;
}
