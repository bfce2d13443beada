/* Traffic schedulers driven by a virtual clock. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/xalloc.h"
#include "traffic/traffic.h"
#include "workload/generators.h"

#define S (INT64_C(1000000000))
#define MS (INT64_C(1000000))
#define T0 (INT64_C(1000) * S) /* run start on the virtual clock */

/* ---- building sessions ---- */
static uint64_t next_req_id;

struct edge_spec {
	uint32_t src, dst;
	bool hist;
};

static struct wl_session *mk_session(uint64_t id, size_t n, const struct edge_spec *edges, size_t n_edges,
                                     const double *waits)
{
	struct wl_session *s = xcalloc(1, sizeof *s);
	s->id = id;
	s->n_nodes = n;
	s->requests = xcalloc(n, sizeof *s->requests);
	for (size_t i = 0; i < n; i++) {
		struct wl_request *r = &s->requests[i];
		r->id = next_req_id++;
		r->session_id = id;
		r->node_id = (uint32_t)i;
		r->prompt_text = xasprintf("p%llu.%zu", (unsigned long long)id, i);
		r->history_parent = -1;
		r->arrival_offset_s = -1;
		r->wait_after_ready_s = waits ? waits[i] : 0.0;
	}
	s->n_edges = n_edges;
	s->edges = n_edges ? xcalloc(n_edges, sizeof *s->edges) : NULL;
	for (size_t e = 0; e < n_edges; e++) {
		s->edges[e] = (struct wl_edge){edges[e].src, edges[e].dst, edges[e].hist};
		if (edges[e].hist)
			s->requests[edges[e].dst].history_parent = (int32_t)edges[e].src;
	}
	return s;
}

static struct wl_session *mk_single(uint64_t id)
{
	return mk_session(id, 1, NULL, 0, NULL);
}

static struct wl_session *mk_chain(uint64_t id, size_t n, double wait, bool hist)
{
	struct edge_spec e[64];
	double w[64];
	for (size_t i = 0; i < n; i++)
		w[i] = i ? wait : 0.0;
	for (size_t i = 1; i < n; i++)
		e[i - 1] = (struct edge_spec){(uint32_t)(i - 1), (uint32_t)i, hist};
	return mk_session(id, n, e, n - 1, w);
}

/* ---- a source over a list of sessions ---- */
struct src {
	struct wl_session **v;
	size_t n, pos;
	size_t pulls;
};

static struct wl_session *src_next(void *ctx)
{
	struct src *s = ctx;
	s->pulls++;
	if (s->pos >= s->n)
		return NULL;
	return s->v[s->pos++];
}

static void src_init(struct src *s, size_t n)
{
	memset(s, 0, sizeof *s);
	s->v = xcalloc(n ? n : 1, sizeof *s->v);
	s->n = n;
}

static void src_free(struct src *s)
{
	for (size_t i = s->pos; i < s->n; i++)
		wl_session_free(s->v[i]);
	free(s->v);
}

static struct cfg_traffic rate_fixed(double interval)
{
	return (struct cfg_traffic){.type = CFG_TRAFFIC_RATE,
	                            .cancel_session_on_failure = true,
	                            .interval_generator = {.type = CFG_INTERVAL_FIXED, .interval = interval}};
}

/* ---- rate ---- */
static void test_rate_fixed_not_shifted(void **state)
{
	(void)state;
	struct src src;
	src_init(&src, 4);
	for (size_t i = 0; i < 4; i++)
		src.v[i] = mk_single(i);
	struct cfg_traffic c = rate_fixed(1.0);
	struct traffic *t = traffic_create(&c, 42, T0, src_next, &src);
	assert_non_null(t);
	assert_true(traffic_has_pending(t));
	assert_int_equal(traffic_next_event_ns(t), T0); /* first session at offset 0 */
	int64_t intended = -1;
	assert_null(traffic_pop_ready(t, T0 - 1, &intended));
	struct wl_request *r = traffic_pop_ready(t, T0, &intended);
	assert_non_null(r);
	assert_int_equal(r->session_id, 0);
	assert_int_equal(intended, T0);
	assert_int_equal(traffic_session_size(t, 0), 1);
	assert_null(traffic_pop_ready(t, T0, &intended));
	assert_int_equal(traffic_next_event_ns(t), T0 + S);
	/* a late pop (1.7 s) gets session 1 with its scheduled time; session 2 stays at 2 s */
	r = traffic_pop_ready(t, T0 + 1700 * MS, &intended);
	assert_non_null(r);
	assert_int_equal(r->session_id, 1);
	assert_int_equal(intended, T0 + S);
	assert_null(traffic_pop_ready(t, T0 + 1700 * MS, &intended));
	assert_int_equal(traffic_next_event_ns(t), T0 + 2 * S);
	/* very late: both remaining arrivals are due, in order, with their own intended times */
	r = traffic_pop_ready(t, T0 + 10 * S, &intended);
	assert_int_equal(r->session_id, 2);
	assert_int_equal(intended, T0 + 2 * S);
	r = traffic_pop_ready(t, T0 + 10 * S, &intended);
	assert_int_equal(r->session_id, 3);
	assert_int_equal(intended, T0 + 3 * S);
	assert_int_equal(traffic_in_flight(t), 4);
	for (uint64_t id = 0; id < 4; id++)
		traffic_on_complete(t, id, T0 + 11 * S, true, "ok");
	assert_int_equal(traffic_next_event_ns(t), INT64_MAX);
	assert_false(traffic_has_pending(t));
	assert_int_equal(traffic_sessions_finished(t), 4);
	assert_int_equal(traffic_live_sessions(t), 0);
	traffic_free(t);
	src_free(&src);
}

static void test_rate_poisson_cumulative(void **state)
{
	(void)state;
	enum { N = 200 };
	struct src src;
	src_init(&src, N);
	for (size_t i = 0; i < N; i++)
		src.v[i] = mk_single(i);
	struct cfg_traffic c = {.type = CFG_TRAFFIC_RATE,
	                        .interval_generator = {.type = CFG_INTERVAL_POISSON, .arrival_rate = 5.0}};
	struct traffic *t = traffic_create(&c, 7, T0, src_next, &src);
	/* expected: cumulative sums of the same named stream */
	struct wl_intervalgen iv;
	char err[128];
	assert_int_equal(wl_intervalgen_init(&iv, &c.interval_generator, 7, "traffic/interval", err, sizeof err), 0);
	double cum = 0;
	for (size_t k = 0; k < N; k++) {
		int64_t want = T0 + llround(cum * 1e9);
		cum += wl_intervalgen_next_s(&iv);
		int64_t next = traffic_next_event_ns(t);
		assert_int_equal(next, want);
		/* pop late by a varying amount: never shifts the schedule */
		int64_t intended;
		struct wl_request *r = traffic_pop_ready(t, next + (int64_t)(k % 3) * 50 * MS, &intended);
		assert_non_null(r);
		assert_int_equal(r->session_id, k);
		assert_int_equal(intended, want);
		traffic_on_complete(t, r->id, next + 60 * MS, true, "x");
		/* drain anything else that became due while late */
		while ((r = traffic_pop_ready(t, next + (int64_t)(k % 3) * 50 * MS, &intended)) != NULL) {
			k++;
			int64_t w2 = T0 + llround(cum * 1e9);
			cum += wl_intervalgen_next_s(&iv);
			assert_int_equal(r->session_id, k);
			assert_int_equal(intended, w2);
			traffic_on_complete(t, r->id, next + 60 * MS, true, "x");
		}
	}
	assert_false(traffic_has_pending(t));
	traffic_free(t);
	src_free(&src);
}

static void test_rate_arrival_offset(void **state)
{
	(void)state;
	struct src src;
	src_init(&src, 3);
	double offs[] = {0.5, 0.75, 3.0};
	for (size_t i = 0; i < 3; i++) {
		src.v[i] = mk_single(i);
		src.v[i]->requests[0].arrival_offset_s = offs[i];
	}
	struct cfg_traffic c = rate_fixed(100.0); /* ignored: every session carries its offset */
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	for (size_t i = 0; i < 3; i++) {
		int64_t want = T0 + llround(offs[i] * 1e9);
		assert_int_equal(traffic_next_event_ns(t), want);
		int64_t intended;
		struct wl_request *r = traffic_pop_ready(t, want, &intended);
		assert_non_null(r);
		assert_int_equal(intended, want);
		traffic_on_complete(t, r->id, want, true, "");
	}
	assert_false(traffic_has_pending(t));
	traffic_free(t);
	src_free(&src);
}

/* ---- dependencies and think time ---- */
static void test_chain_think_time(void **state)
{
	(void)state;
	struct src src;
	src_init(&src, 1);
	src.v[0] = mk_chain(0, 3, 2.0, false);
	struct cfg_traffic c = rate_fixed(1.0);
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t intended;
	struct wl_request *r = traffic_pop_ready(t, T0, &intended);
	assert_int_equal(r->node_id, 0);
	assert_int_equal(traffic_session_size(t, 0), 3);
	assert_null(traffic_pop_ready(t, T0 + 100 * S, &intended)); /* child waits for its parent */
	assert_int_equal(traffic_next_event_ns(t), INT64_MAX);
	assert_true(traffic_has_pending(t));
	traffic_on_complete(t, r->id, T0 + 5 * S, true, "a");
	assert_int_equal(traffic_next_event_ns(t), T0 + 7 * S); /* completion + 2 s think time */
	assert_null(traffic_pop_ready(t, T0 + 7 * S - 1, &intended));
	r = traffic_pop_ready(t, T0 + 8 * S, &intended);
	assert_int_equal(r->node_id, 1);
	assert_int_equal(intended, T0 + 7 * S);
	traffic_on_complete(t, r->id, T0 + 9 * S, true, "b");
	r = traffic_pop_ready(t, T0 + 11 * S, &intended);
	assert_int_equal(r->node_id, 2);
	assert_int_equal(intended, T0 + 11 * S);
	traffic_on_complete(t, r->id, T0 + 12 * S, true, "c");
	assert_false(traffic_has_pending(t));
	traffic_free(t);
	src_free(&src);
}

static void test_fan_out_fan_in(void **state)
{
	(void)state;
	/* 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3 (diamond), waits 0 / 1 / 1 / 0.5 */
	struct edge_spec e[] = {{0, 1, true}, {0, 2, false}, {1, 3, false}, {2, 3, true}};
	double w[] = {0, 1, 1, 0.5};
	struct src src;
	src_init(&src, 1);
	src.v[0] = mk_session(0, 4, e, 4, w);
	struct cfg_traffic c = rate_fixed(1.0);
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t in;
	struct wl_request *r0 = traffic_pop_ready(t, T0, &in);
	assert_int_equal(r0->node_id, 0);
	traffic_on_complete(t, r0->id, T0 + S, true, "r0");
	struct wl_request *a = traffic_pop_ready(t, T0 + 2 * S, &in);
	struct wl_request *b = traffic_pop_ready(t, T0 + 2 * S, &in);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->node_id + b->node_id, 3);
	assert_null(traffic_pop_ready(t, T0 + 50 * S, &in));
	traffic_on_complete(t, a->id, T0 + 3 * S, true, "ra");
	assert_null(traffic_pop_ready(t, T0 + 50 * S, &in)); /* fan-in: needs both parents */
	traffic_on_complete(t, b->id, T0 + 4 * S, true, "rb");
	assert_int_equal(traffic_next_event_ns(t), T0 + 4 * S + 500 * MS); /* latest parent + wait */
	struct wl_request *r3 = traffic_pop_ready(t, T0 + 5 * S, &in);
	assert_int_equal(r3->node_id, 3);
	assert_int_equal(in, T0 + 4 * S + 500 * MS);
	/* history of node 3 follows its history parent (node 2): p0, r0, p2, rb */
	assert_int_equal(r3->n_history, 0 + 2); /* node 2's own history is empty (no history edge 0->2) */
	assert_string_equal(r3->history[0].content, "p0.2");
	assert_string_equal(r3->history[1].content, b->node_id == 2 ? "rb" : "ra");
	traffic_on_complete(t, r3->id, T0 + 6 * S, true, "r3");
	assert_false(traffic_has_pending(t));
	assert_int_equal(traffic_live_sessions(t), 0);
	traffic_free(t);
	src_free(&src);
}

/* ---- history ---- */
static void assert_msg(const struct wl_message *m, const char *role, const char *content)
{
	assert_string_equal(m->role, role);
	assert_string_equal(m->content, content);
}

static void test_history_exact(void **state)
{
	(void)state;
	struct src src;
	src_init(&src, 1);
	src.v[0] = mk_chain(0, 4, 0.0, true);
	struct cfg_traffic c = rate_fixed(1.0);
	c.cancel_session_on_failure = false;
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t in;
	struct wl_request *r = traffic_pop_ready(t, T0, &in);
	assert_int_equal(r->n_history, 0);
	assert_null(r->history);
	traffic_on_complete(t, r->id, T0, true, "answer0");
	r = traffic_pop_ready(t, T0, &in);
	assert_int_equal(r->node_id, 1);
	assert_int_equal(r->n_history, 2);
	assert_msg(&r->history[0], "user", "p0.0");
	assert_msg(&r->history[1], "assistant", "answer0");
	/* failed request: its user message is kept, no assistant reply */
	traffic_on_complete(t, r->id, T0, false, NULL);
	r = traffic_pop_ready(t, T0, &in);
	assert_int_equal(r->node_id, 2);
	assert_int_equal(r->n_history, 3);
	assert_msg(&r->history[0], "user", "p0.0");
	assert_msg(&r->history[1], "assistant", "answer0");
	assert_msg(&r->history[2], "user", "p0.1");
	/* success with empty text: no assistant message */
	traffic_on_complete(t, r->id, T0, true, "");
	r = traffic_pop_ready(t, T0, &in);
	assert_int_equal(r->node_id, 3);
	assert_int_equal(r->n_history, 4);
	assert_msg(&r->history[3], "user", "p0.2");
	traffic_on_complete(t, r->id, T0, true, "done");
	assert_false(traffic_has_pending(t));
	traffic_free(t);
	src_free(&src);
}

/* traffic_peek_next names what the next pop returns (the client builds its body ahead), and
 * nothing for a request whose pop still fills in its history. */
static void test_peek_next(void **state)
{
	(void)state;
	struct src src;
	src_init(&src, 3);
	src.v[0] = mk_single(0);
	src.v[1] = mk_chain(1, 2, 0.5, true);  /* node 1 inherits node 0's history */
	src.v[2] = mk_chain(2, 2, 0.5, false); /* node 1 waits for node 0, no history */
	struct cfg_traffic c = rate_fixed(1.0);
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t in;
	for (int64_t now = T0; now <= T0 + 2 * S; now += S) {
		/* each arrival: the next session's first request, named before it arrives */
		assert_int_equal(traffic_next_event_ns(t), now);
		const struct wl_request *peek = traffic_peek_next(t);
		assert_non_null(peek);
		struct wl_request *r = traffic_pop_ready(t, now, &in);
		assert_ptr_equal(r, peek);
		assert_int_equal(r->node_id, 0);
		traffic_on_complete(t, r->id, now, true, "answer");
		if (now == T0 + S) {
			/* session 1's child is due at +0.5 s, before session 2: it inherits history, so no guess */
			assert_int_equal(traffic_next_event_ns(t), now + 500 * MS);
			assert_null(traffic_peek_next(t));
			r = traffic_pop_ready(t, now + 500 * MS, &in);
			assert_int_equal(r->session_id, 1);
			assert_int_equal(r->n_history, 2);
			traffic_on_complete(t, r->id, now + 500 * MS, true, "answer");
		}
	}
	/* session 2's child: no history to copy, so it is named */
	assert_int_equal(traffic_next_event_ns(t), T0 + 2500 * MS);
	const struct wl_request *peek = traffic_peek_next(t);
	assert_non_null(peek);
	assert_ptr_equal(traffic_pop_ready(t, T0 + 2500 * MS, &in), peek);
	assert_int_equal(peek->session_id, 2);
	assert_int_equal(peek->node_id, 1);
	traffic_on_complete(t, peek->id, T0 + 3 * S, true, "answer");
	assert_int_equal(traffic_next_event_ns(t), INT64_MAX);
	assert_null(traffic_peek_next(t));
	traffic_free(t);
	src_free(&src);
}

/* rate: traffic_next_event_ns() builds two arrivals ahead and a pop builds nothing once a request
 * is ready, so an arrival due right behind a dispatch is popped without its session being built
 * in between (docs/CLIENT.md, Dispatch spin) */
static void test_rate_lookahead(void **state)
{
	(void)state;
	struct src src;
	src_init(&src, 4);
	for (size_t i = 0; i < 4; i++)
		src.v[i] = mk_single(i);
	struct cfg_traffic c = rate_fixed(0.001);
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	assert_int_equal(traffic_next_event_ns(t), T0);
	assert_int_equal(src.pulls, 2);
	int64_t in = -1;
	uint64_t ids[4];
	/* sessions 0 and 1 are both due: neither pop calls the source */
	struct wl_request *r = traffic_pop_ready(t, T0 + MS, &in);
	assert_non_null(r);
	assert_int_equal(r->session_id, 0);
	assert_int_equal(in, T0);
	ids[0] = r->id;
	assert_int_equal(src.pulls, 2);
	r = traffic_pop_ready(t, T0 + MS, &in);
	assert_non_null(r);
	assert_int_equal(r->session_id, 1);
	assert_int_equal(in, T0 + MS);
	ids[1] = r->id;
	assert_int_equal(src.pulls, 2);
	/* session 2 is not due yet: the pop builds it to know its arrival, and only it */
	assert_null(traffic_pop_ready(t, T0 + MS, &in));
	assert_int_equal(src.pulls, 3);
	assert_int_equal(traffic_next_event_ns(t), T0 + 2 * MS);
	assert_int_equal(src.pulls, 4);
	assert_int_equal(traffic_peek_next(t)->session_id, 2);
	r = traffic_pop_ready(t, T0 + 2 * MS, &in);
	assert_int_equal(r->session_id, 2);
	ids[2] = r->id;
	assert_int_equal(traffic_next_event_ns(t), T0 + 3 * MS);
	assert_int_equal(src.pulls, 5); /* the source said it has no more */
	r = traffic_pop_ready(t, T0 + 3 * MS, &in);
	assert_int_equal(r->session_id, 3);
	assert_int_equal(in, T0 + 3 * MS);
	ids[3] = r->id;
	for (size_t k = 0; k < 4; k++)
		traffic_on_complete(t, ids[k], T0 + 4 * MS, true, "ok");
	assert_int_equal(traffic_next_event_ns(t), INT64_MAX);
	assert_false(traffic_has_pending(t));
	assert_int_equal(traffic_sessions_finished(t), 4);
	traffic_free(t);
	src_free(&src);

	/* a stop drops both sessions built ahead (ASan: neither leaks) */
	src_init(&src, 4);
	for (size_t i = 0; i < 4; i++)
		src.v[i] = mk_single(i);
	t = traffic_create(&c, 1, T0, src_next, &src);
	assert_int_equal(traffic_next_event_ns(t), T0);
	assert_int_equal(src.pulls, 2);
	traffic_stop_new_sessions(t);
	assert_int_equal(traffic_next_event_ns(t), INT64_MAX);
	assert_null(traffic_pop_ready(t, T0 + S, &in));
	assert_false(traffic_has_pending(t));
	assert_int_equal(src.pulls, 2);
	traffic_free(t);
	src_free(&src);
}

static void test_history_none_and_prepopulated(void **state)
{
	(void)state;
	struct src src;
	src_init(&src, 1);
	src.v[0] = mk_chain(0, 3, 0.0, false); /* edges without history */
	/* node 1: stale history must be cleared; node 2: pre-populated (trace replay) is kept */
	struct wl_message m[2] = {{"user", "old question"}, {"assistant", "old answer"}};
	src.v[0]->requests[1].history = wl_message_list_copy(m, 2);
	src.v[0]->requests[1].n_history = 2;
	src.v[0]->requests[2].history = wl_message_list_copy(m, 2);
	src.v[0]->requests[2].n_history = 2;
	src.v[0]->requests[2].history_prepopulated = true;
	struct cfg_traffic c = rate_fixed(1.0);
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t in;
	struct wl_request *r = traffic_pop_ready(t, T0, &in);
	traffic_on_complete(t, r->id, T0, true, "a0");
	r = traffic_pop_ready(t, T0, &in);
	assert_int_equal(r->node_id, 1);
	assert_int_equal(r->n_history, 0);
	traffic_on_complete(t, r->id, T0, true, "a1");
	r = traffic_pop_ready(t, T0, &in);
	assert_int_equal(r->node_id, 2);
	assert_int_equal(r->n_history, 2);
	assert_msg(&r->history[0], "user", "old question");
	assert_msg(&r->history[1], "assistant", "old answer");
	traffic_on_complete(t, r->id, T0, true, "a2");
	traffic_free(t);
	src_free(&src);
}

static void test_history_ambiguous_rejected(void **state)
{
	(void)state;
	struct edge_spec e[] = {{0, 2, true}, {1, 2, true}};
	struct src src;
	src_init(&src, 2);
	src.v[0] = mk_session(0, 3, e, 2, NULL);
	src.v[1] = mk_single(1);
	struct cfg_traffic c = rate_fixed(0.0);
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t in;
	struct wl_request *r = traffic_pop_ready(t, T0, &in);
	assert_non_null(r);
	assert_int_equal(r->session_id, 1); /* session 0 was rejected */
	assert_int_equal(traffic_rejected_sessions(t), 1);
	assert_null(traffic_pop_ready(t, T0, &in));
	traffic_on_complete(t, r->id, T0, true, "");
	assert_false(traffic_has_pending(t));
	traffic_free(t);
	src_free(&src);
}

/* ---- cancellation ---- */
static void test_cancel_on_failure(void **state)
{
	(void)state;
	/* roots 0 and 1 (both queued at start); 0 -> 2, 1 -> 3, 2 -> 4 */
	struct edge_spec e[] = {{0, 2, true}, {1, 3, true}, {2, 4, true}};
	struct src src;
	src_init(&src, 2);
	src.v[0] = mk_session(0, 5, e, 3, NULL);
	src.v[1] = mk_chain(1, 2, 0.0, true);
	struct cfg_traffic c = rate_fixed(0.0);
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t in;
	struct wl_request *a = traffic_pop_ready(t, T0, &in), *b = traffic_pop_ready(t, T0, &in);
	struct wl_request *o = traffic_pop_ready(t, T0, &in);
	assert_int_equal(a->node_id, 0);
	assert_int_equal(b->node_id, 1);
	assert_int_equal(o->session_id, 1);
	traffic_on_complete(t, a->id, T0 + S, false, NULL);
	/* nodes 2 and 4 (pending, never queued) and 3 (child of the still-running sibling) are dropped */
	assert_int_equal(traffic_cancelled_requests(t), 3);
	assert_int_equal(traffic_cancelled_sessions(t), 1);
	assert_int_equal(traffic_live_sessions(t), 2);
	traffic_on_complete(t, b->id, T0 + 2 * S, true, "fine"); /* the queued sibling still ran */
	assert_int_equal(traffic_live_sessions(t), 1);           /* session 0 is gone */
	assert_int_equal(traffic_session_size(t, 0), 0);
	/* the other session is unaffected */
	traffic_on_complete(t, o->id, T0 + 2 * S, true, "x");
	struct wl_request *o2 = traffic_pop_ready(t, T0 + 2 * S, &in);
	assert_non_null(o2);
	assert_int_equal(o2->session_id, 1);
	traffic_on_complete(t, o2->id, T0 + 3 * S, true, "y");
	assert_false(traffic_has_pending(t));
	assert_int_equal(traffic_sessions_finished(t), 2);
	traffic_free(t);
	src_free(&src);

	/* cancel_session_on_failure = false: children still run after a failure */
	src_init(&src, 1);
	src.v[0] = mk_chain(0, 2, 0.0, true);
	c.cancel_session_on_failure = false;
	t = traffic_create(&c, 1, T0, src_next, &src);
	a = traffic_pop_ready(t, T0, &in);
	traffic_on_complete(t, a->id, T0, false, NULL);
	assert_non_null(traffic_pop_ready(t, T0, &in));
	assert_int_equal(traffic_cancelled_requests(t), 0);
	traffic_free(t);
	src_free(&src);
}

/* ---- concurrent ---- */
static void test_concurrent_cap_and_completion(void **state)
{
	(void)state;
	enum { N = 6 };
	struct src src;
	src_init(&src, N);
	for (size_t i = 0; i < N; i++)
		src.v[i] = mk_single(i);
	struct cfg_traffic c = {.type = CFG_TRAFFIC_CONCURRENT, .target_concurrent_sessions = 2, .rampup_seconds = 0};
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	assert_int_equal(traffic_next_event_ns(t), T0);
	int64_t in;
	struct wl_request *a = traffic_pop_ready(t, T0, &in), *b = traffic_pop_ready(t, T0, &in);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(in, T0);
	assert_null(traffic_pop_ready(t, T0 + 100 * S, &in)); /* cap */
	assert_int_equal(src.pos, 2);                         /* sessions are pulled only when needed */
	assert_int_equal(traffic_next_event_ns(t), INT64_MAX);
	traffic_on_complete(t, a->id, T0 + 3 * S, true, "");
	assert_true(traffic_next_event_ns(t) <= T0 + 3 * S);
	struct wl_request *d = traffic_pop_ready(t, T0 + 3 * S + 10 * MS, &in);
	assert_non_null(d);
	assert_int_equal(d->session_id, 2);
	assert_int_equal(in, T0 + 3 * S); /* the slot opened at the completion */
	assert_null(traffic_pop_ready(t, T0 + 4 * S, &in));
	/* drain: never more than 2 in flight */
	int64_t now = T0 + 4 * S;
	struct wl_request *inflight[2] = {b, d};
	size_t done = 1;
	while (traffic_has_pending(t)) {
		assert_true(traffic_in_flight(t) <= 2);
		traffic_on_complete(t, inflight[0]->id, now, true, "");
		inflight[0] = inflight[1];
		inflight[1] = traffic_pop_ready(t, now, &in);
		done++;
		if (!inflight[0]) {
			assert_null(inflight[1]);
			break;
		}
		if (!inflight[1]) {
			traffic_on_complete(t, inflight[0]->id, now, true, "");
			done++;
			assert_null(traffic_pop_ready(t, now, &in));
			break;
		}
		now += S;
	}
	assert_int_equal(done, N);
	assert_false(traffic_has_pending(t));
	assert_int_equal(traffic_sessions_finished(t), N);
	traffic_free(t);
	src_free(&src);
}

static void test_concurrent_rampup_timer(void **state)
{
	(void)state;
	enum { N = 10 };
	struct src src;
	src_init(&src, N);
	for (size_t i = 0; i < N; i++)
		src.v[i] = mk_single(i);
	/* target 4 over 4 s: int(4 * elapsed / 4) -> 1 at 1 s, 2 at 2 s, ... */
	struct cfg_traffic c = {.type = CFG_TRAFFIC_CONCURRENT, .target_concurrent_sessions = 4, .rampup_seconds = 4};
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t in;
	uint64_t ids[4];
	assert_null(traffic_pop_ready(t, T0, &in));
	assert_int_equal(src.pulls, 0);
	for (int k = 1; k <= 4; k++) {
		/* the ramp step is a timed event: no completion is needed to activate more sessions */
		assert_int_equal(traffic_next_event_ns(t), T0 + k * S);
		assert_null(traffic_pop_ready(t, T0 + k * S - 1, &in));
		struct wl_request *r = traffic_pop_ready(t, T0 + k * S, &in);
		assert_non_null(r);
		assert_int_equal(r->session_id, (uint64_t)(k - 1));
		assert_int_equal(in, T0 + k * S);
		ids[k - 1] = r->id;
		assert_null(traffic_pop_ready(t, T0 + k * S, &in));
		assert_int_equal(traffic_in_flight(t), (size_t)k);
	}
	assert_int_equal(traffic_next_event_ns(t), INT64_MAX); /* at target: wait for completions */
	traffic_on_complete(t, ids[0], T0 + 5 * S, true, "");
	struct wl_request *r = traffic_pop_ready(t, T0 + 5 * S, &in);
	assert_non_null(r);
	assert_int_equal(r->session_id, 4);
	uint64_t id4 = r->id;
	traffic_stop_new_sessions(t);
	traffic_on_complete(t, ids[1], T0 + 6 * S, true, "");
	assert_null(traffic_pop_ready(t, T0 + 6 * S, &in)); /* stopped: no new sessions */
	traffic_on_complete(t, ids[2], T0 + 7 * S, true, "");
	traffic_on_complete(t, ids[3], T0 + 7 * S, true, "");
	traffic_on_complete(t, id4, T0 + 7 * S, true, "");
	assert_false(traffic_has_pending(t));
	traffic_free(t);
	src_free(&src);
}

static void test_concurrent_activation_on_cancel(void **state)
{
	(void)state;
	struct src src;
	src_init(&src, 2);
	src.v[0] = mk_chain(0, 3, 0.0, true);
	src.v[1] = mk_single(1);
	struct cfg_traffic c = {.type = CFG_TRAFFIC_CONCURRENT,
	                        .target_concurrent_sessions = 1,
	                        .rampup_seconds = 0,
	                        .cancel_session_on_failure = true};
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t in;
	struct wl_request *r = traffic_pop_ready(t, T0, &in);
	assert_int_equal(r->session_id, 0);
	assert_null(traffic_pop_ready(t, T0, &in));
	traffic_on_complete(t, r->id, T0 + S, false, NULL); /* cancels the rest of session 0 */
	assert_int_equal(traffic_cancelled_requests(t), 2);
	assert_int_equal(traffic_live_sessions(t), 0);
	r = traffic_pop_ready(t, T0 + S, &in); /* the freed slot goes to the next session */
	assert_non_null(r);
	assert_int_equal(r->session_id, 1);
	assert_int_equal(in, T0 + S);
	traffic_on_complete(t, r->id, T0 + 2 * S, true, "");
	assert_true(traffic_has_pending(t)); /* the source is not known to be exhausted yet */
	assert_null(traffic_pop_ready(t, T0 + 2 * S, &in));
	assert_false(traffic_has_pending(t));
	assert_int_equal(traffic_next_event_ns(t), INT64_MAX);
	traffic_free(t);
	src_free(&src);
}

/* ---- sequential_launch ---- */
static void test_sequential_launch(void **state)
{
	(void)state;
	struct src src;
	src_init(&src, 3);
	for (size_t i = 0; i < 3; i++)
		src.v[i] = mk_chain(i, 2, 0.0, true);
	struct cfg_traffic c = {.type = CFG_TRAFFIC_SEQUENTIAL_LAUNCH,
	                        .ordering = CFG_ORDERING_DISPATCH,
	                        .cancel_session_on_failure = false};
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t in;
	assert_int_equal(traffic_next_event_ns(t), T0);
	struct wl_request *root0 = traffic_pop_ready(t, T0, &in);
	assert_non_null(root0);
	assert_int_equal(root0->session_id, 0);
	assert_null(traffic_pop_ready(t, T0 + 10 * S, &in)); /* next root waits for the advance */
	assert_int_equal(traffic_next_event_ns(t), INT64_MAX);
	traffic_on_advance(t, root0->id + 1000); /* unrelated id: no effect */
	assert_null(traffic_pop_ready(t, T0 + 10 * S, &in));
	traffic_on_advance(t, root0->id); /* e.g. response headers arrived */
	struct wl_request *root1 = traffic_pop_ready(t, T0 + 11 * S, &in);
	assert_non_null(root1);
	assert_int_equal(root1->session_id, 1);
	assert_int_equal(root1->node_id, 0);
	assert_int_equal(in, T0 + 11 * S);
	/* children are not gated */
	traffic_on_complete(t, root0->id, T0 + 12 * S, true, "r0");
	struct wl_request *child0 = traffic_pop_ready(t, T0 + 12 * S, &in);
	assert_non_null(child0);
	assert_int_equal(child0->session_id, 0);
	assert_int_equal(child0->node_id, 1);
	assert_null(traffic_pop_ready(t, T0 + 12 * S, &in));
	/* an error without any advance call: the completion releases the next root (no deadlock) */
	traffic_on_complete(t, root1->id, T0 + 13 * S, false, NULL);
	struct wl_request *next = traffic_pop_ready(t, T0 + 13 * S, &in);
	struct wl_request *next2 = traffic_pop_ready(t, T0 + 13 * S, &in);
	assert_non_null(next);
	assert_non_null(next2);
	/* session 1's child (not cancelled) and session 2's root, in some order */
	assert_int_equal(next->session_id + next2->session_id, 3);
	traffic_on_complete(t, child0->id, T0 + 14 * S, true, "");
	traffic_on_complete(t, next->id, T0 + 14 * S, true, "");
	traffic_on_complete(t, next2->id, T0 + 14 * S, true, "");
	struct wl_request *last = traffic_pop_ready(t, T0 + 14 * S, &in);
	assert_non_null(last);
	assert_int_equal(last->session_id, 2);
	assert_int_equal(last->node_id, 1);
	traffic_on_complete(t, last->id, T0 + 15 * S, true, "");
	assert_null(traffic_pop_ready(t, T0 + 15 * S, &in));
	assert_false(traffic_has_pending(t));
	assert_int_equal(traffic_sessions_finished(t), 3);
	traffic_free(t);
	src_free(&src);
}

/* ---- stop ---- */
static void test_stop(void **state)
{
	(void)state;
	struct src src;
	src_init(&src, 5);
	for (size_t i = 0; i < 5; i++)
		src.v[i] = mk_chain(i, 3, 0.0, true);
	struct cfg_traffic c = rate_fixed(1.0);
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	int64_t in;
	struct wl_request *a = traffic_pop_ready(t, T0, &in);
	struct wl_request *b = traffic_pop_ready(t, T0 + S, &in);
	assert_non_null(a);
	assert_non_null(b);
	traffic_stop_new_sessions(t);
	assert_null(traffic_pop_ready(t, T0 + 10 * S, &in)); /* session 2 never starts */
	/* children of running sessions continue */
	traffic_on_complete(t, a->id, T0 + 10 * S, true, "");
	struct wl_request *a1 = traffic_pop_ready(t, T0 + 10 * S, &in);
	assert_non_null(a1);
	assert_int_equal(a1->session_id, 0);
	traffic_on_complete(t, b->id, T0 + 10 * S, true, ""); /* b's child is queued */
	/* stop everything: b's queued child, b's grandchild and a1's pending child are dropped */
	traffic_stop_dispatch(t);
	assert_int_equal(traffic_dropped_requests(t), 3);
	assert_null(traffic_pop_ready(t, T0 + 11 * S, &in));
	assert_true(traffic_has_pending(t)); /* a1 still in flight */
	traffic_on_complete(t, a1->id, T0 + 11 * S, true, "");
	assert_int_equal(traffic_dropped_requests(t), 3);
	assert_false(traffic_has_pending(t));
	assert_int_equal(traffic_live_sessions(t), 0);
	traffic_free(t);
	src_free(&src);
}

/* ---- scale: 10,000 pre-generated sessions ---- */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void run_scale(enum cfg_traffic_type type)
{
	enum { N = 10000 };
	struct src src;
	src_init(&src, N);
	for (size_t i = 0; i < N; i++)
		src.v[i] = mk_chain(i, 3, 0.001, true);
	struct cfg_traffic c = rate_fixed(0.0005);
	c.type = type;
	c.target_concurrent_sessions = 500;
	c.rampup_seconds = 0;
	double t_start = now_s();
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	/* complete each request 10 ms after dispatch: keeps thousands in flight */
	struct pend {
		uint64_t id;
		int64_t at;
	} *q = xcalloc(3 * N, sizeof *q);
	size_t qh = 0, qt = 0, done = 0;
	int64_t now = T0;
	while (traffic_has_pending(t)) {
		int64_t in;
		struct wl_request *r;
		while ((r = traffic_pop_ready(t, now, &in)) != NULL) {
			assert_true(in <= now);
			q[qt++] = (struct pend){r->id, now + 10 * MS};
		}
		int64_t next = traffic_next_event_ns(t);
		if (qh < qt && q[qh].at <= next) {
			now = q[qh].at > now ? q[qh].at : now;
			traffic_on_complete(t, q[qh].id, now, true, "reply");
			qh++;
			done++;
		} else if (next != INT64_MAX) {
			now = next > now ? next : now;
		} else {
			assert_true(qh < qt);
		}
	}
	double el = now_s() - t_start;
	assert_int_equal(done, 3 * N);
	assert_int_equal(traffic_sessions_finished(t), N);
	assert_int_equal(traffic_live_sessions(t), 0);
	fprintf(stderr, "scale %s: %d sessions, %d requests in %.3f s\n",
	        type == CFG_TRAFFIC_RATE ? "rate" : "concurrent", N, 3 * N, el);
	/* A bound that only a quadratic path crosses (it takes well under a second here, also with
	 * sanitizers); the figure itself is the bench's (bench/), not a test's, so a loaded CI machine
	 * cannot fail it. */
	assert_true(el < 60.0);
	free(q);
	traffic_free(t);
	src_free(&src);
}

static void test_scale_rate(void **state)
{
	(void)state;
	run_scale(CFG_TRAFFIC_RATE);
}

static void test_scale_concurrent(void **state)
{
	(void)state;
	run_scale(CFG_TRAFFIC_CONCURRENT);
}

/* ---- shards (docs/DISTRIBUTED.md) ---- */
struct shard_seen {
	uint64_t req_id, session_id;
	int64_t intended_ns;
};

static int shard_seen_cmp(const void *a, const void *b)
{
	const struct shard_seen *x = a, *y = b;
	return x->req_id < y->req_id ? -1 : x->req_id > y->req_id;
}

/* Sessions 0..n-1: chains of 1-3 requests with think time; every request takes 30 ms. Drives the
 * scheduler on a virtual clock until it drains; appends every dispatch to seen. Returns the most
 * requests in flight at once. */
static size_t shard_drive(const struct cfg_traffic *c, size_t n, uint32_t k, uint32_t nshards, struct shard_seen *seen,
                          size_t *n_seen)
{
	next_req_id = 0;
	struct src src;
	src_init(&src, n);
	for (size_t i = 0; i < n; i++)
		src.v[i] = mk_chain(i, 1 + i % 3, 0.02, true);
	struct traffic *t = traffic_create(c, 99, T0, src_next, &src);
	assert_non_null(t);
	assert_int_equal(traffic_set_shard(t, k, nshards), 0);
	struct {
		uint64_t id;
		int64_t done_ns;
	} fl[64];
	size_t n_fl = 0, max_fl = 0;
	int64_t now = T0;
	for (int guard = 0; guard < 100000 && (traffic_has_pending(t) || n_fl); guard++) {
		int64_t in;
		struct wl_request *r;
		while ((r = traffic_pop_ready(t, now, &in)) != NULL) {
			seen[*n_seen] = (struct shard_seen){r->id, r->session_id, in};
			(*n_seen)++;
			assert_true(n_fl < 64);
			fl[n_fl].id = r->id;
			fl[n_fl].done_ns = now + 30 * MS;
			n_fl++;
		}
		if (n_fl > max_fl)
			max_fl = n_fl;
		int64_t next = traffic_next_event_ns(t);
		size_t first = 0;
		for (size_t i = 1; i < n_fl; i++)
			if (fl[i].done_ns < fl[first].done_ns)
				first = i;
		if (n_fl && fl[first].done_ns <= next) {
			now = fl[first].done_ns > now ? fl[first].done_ns : now;
			traffic_on_complete(t, fl[first].id, now, true, "ok");
			fl[first] = fl[--n_fl];
		} else if (next != INT64_MAX) {
			now = next > now ? next : now;
		} else {
			break;
		}
	}
	assert_false(traffic_has_pending(t));
	traffic_free(t);
	src_free(&src);
	return max_fl;
}

static void test_shard_rate_union(void **state)
{
	(void)state;
	enum { N = 120 };
	struct cfg_traffic c = {.type = CFG_TRAFFIC_RATE,
	                        .cancel_session_on_failure = true,
	                        .interval_generator = {.type = CFG_INTERVAL_POISSON, .arrival_rate = 50.0}};
	static struct shard_seen whole[N * 3], parts[N * 3];
	size_t n_whole = 0;
	shard_drive(&c, N, 0, 1, whole, &n_whole);
	assert_int_equal(n_whole, N / 3 * 6); /* 1+2+3 requests per 3 sessions */
	qsort(whole, n_whole, sizeof *whole, shard_seen_cmp);
	for (uint32_t shards = 2; shards <= 4; shards++) {
		size_t n_parts = 0;
		for (uint32_t k = 0; k < shards; k++) {
			size_t before = n_parts;
			shard_drive(&c, N, k, shards, parts, &n_parts);
			for (size_t i = before; i < n_parts; i++)
				assert_int_equal(parts[i].session_id % shards, k); /* sessions never span shards */
		}
		/* the union is the unsharded schedule: same requests, same intended times */
		assert_int_equal(n_parts, n_whole);
		qsort(parts, n_parts, sizeof *parts, shard_seen_cmp);
		for (size_t i = 0; i < n_whole; i++) {
			assert_int_equal(parts[i].req_id, whole[i].req_id);
			assert_int_equal(parts[i].session_id, whole[i].session_id);
			assert_int_equal(parts[i].intended_ns, whole[i].intended_ns);
		}
	}
}

static void test_shard_concurrent_split(void **state)
{
	(void)state;
	enum { N = 40 };
	struct cfg_traffic c = {.type = CFG_TRAFFIC_CONCURRENT, .target_concurrent_sessions = 5};
	static struct shard_seen parts[N * 3];
	size_t n_parts = 0;
	/* 5 over 2 shards: 3 + 2 sessions at a time (a session has at most one request in flight) */
	size_t max0 = shard_drive(&c, N, 0, 2, parts, &n_parts);
	size_t n0 = n_parts;
	size_t max1 = shard_drive(&c, N, 1, 2, parts, &n_parts);
	assert_int_equal(max0, 3);
	assert_int_equal(max1, 2);
	assert_int_equal(n_parts, 14 * 1 + 13 * 2 + 13 * 3); /* every request of sessions 0..39 (1 + i % 3 each) */
	for (size_t i = 0; i < n_parts; i++)
		assert_int_equal(parts[i].session_id % 2, i < n0 ? 0u : 1u);

	/* fewer slots than shards: the third shard gets nothing, the first two one session at a time */
	c.target_concurrent_sessions = 2;
	n_parts = 0;
	assert_int_equal(shard_drive(&c, 10, 0, 3, parts, &n_parts), 1);
	assert_int_equal(shard_drive(&c, 10, 1, 3, parts, &n_parts), 1);
	size_t before = n_parts;
	assert_int_equal(shard_drive(&c, 10, 2, 3, parts, &n_parts), 0);
	assert_int_equal(n_parts, before);
	assert_int_equal(n_parts, 4 * 1 + 3 * 2 + 3 * 3);

	/* invalid pairs */
	struct src src;
	src_init(&src, 0);
	struct traffic *t = traffic_create(&c, 1, T0, src_next, &src);
	assert_int_equal(traffic_set_shard(t, 2, 2), -1);
	assert_int_equal(traffic_set_shard(t, 0, 0), -1);
	traffic_free(t);
	src_free(&src);
}

/* rate with a concurrency cap: never more than the cap in flight; a request due over the cap keeps its
 * intended time (the schedule's) and goes when a slot frees, so its wait shows as lateness */
static void test_rate_cap(void **state)
{
	(void)state;
	enum { N = 30 };
	struct cfg_traffic c = rate_fixed(0.005); /* an arrival every 5 ms, each request takes 30 ms */
	c.max_concurrency = 3;
	static struct shard_seen seen[N * 3], free_run[N * 3];
	size_t n_seen = 0, n_free = 0;
	assert_int_equal(shard_drive(&c, N, 0, 1, seen, &n_seen), 3);
	c.max_concurrency = 0;
	assert_true(shard_drive(&c, N, 0, 1, free_run, &n_free) > 3);
	assert_int_equal(n_seen, n_free);
	/* the same roots at the same intended times, capped or not */
	qsort(seen, n_seen, sizeof *seen, shard_seen_cmp);
	qsort(free_run, n_free, sizeof *free_run, shard_seen_cmp);
	for (size_t i = 0; i < n_seen; i++) {
		assert_int_equal(seen[i].req_id, free_run[i].req_id);
		if (seen[i].req_id == 0 || seen[i].session_id != seen[i - 1].session_id)
			assert_int_equal(seen[i].intended_ns, free_run[i].intended_ns);
	}
	/* divided between shards like a concurrency target, at least 1 each */
	c.max_concurrency = 3;
	n_seen = 0;
	assert_int_equal(shard_drive(&c, N, 0, 2, seen, &n_seen), 2);
	assert_int_equal(shard_drive(&c, N, 1, 2, seen, &n_seen), 1);
	c.max_concurrency = 1;
	assert_int_equal(shard_drive(&c, N, 1, 2, seen, &n_seen), 1);
}

static void test_invalid_config(void **state)
{
	(void)state;
	struct cfg_traffic c = {.type = CFG_TRAFFIC_CONCURRENT, .target_concurrent_sessions = 0};
	assert_null(traffic_create(&c, 1, T0, src_next, NULL));
	c = (struct cfg_traffic){.type = CFG_TRAFFIC_RATE,
	                         .interval_generator = {.type = CFG_INTERVAL_POISSON, .arrival_rate = -1}};
	assert_null(traffic_create(&c, 1, T0, src_next, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rate_fixed_not_shifted),
	    cmocka_unit_test(test_rate_poisson_cumulative),
	    cmocka_unit_test(test_rate_arrival_offset),
	    cmocka_unit_test(test_chain_think_time),
	    cmocka_unit_test(test_fan_out_fan_in),
	    cmocka_unit_test(test_history_exact),
	    cmocka_unit_test(test_peek_next),
	    cmocka_unit_test(test_rate_lookahead),
	    cmocka_unit_test(test_history_none_and_prepopulated),
	    cmocka_unit_test(test_history_ambiguous_rejected),
	    cmocka_unit_test(test_cancel_on_failure),
	    cmocka_unit_test(test_concurrent_cap_and_completion),
	    cmocka_unit_test(test_concurrent_rampup_timer),
	    cmocka_unit_test(test_concurrent_activation_on_cancel),
	    cmocka_unit_test(test_sequential_launch),
	    cmocka_unit_test(test_stop),
	    cmocka_unit_test(test_scale_rate),
	    cmocka_unit_test(test_scale_concurrent),
	    cmocka_unit_test(test_invalid_config),
	    cmocka_unit_test(test_shard_rate_union),
	    cmocka_unit_test(test_shard_concurrent_split),
	    cmocka_unit_test(test_rate_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
