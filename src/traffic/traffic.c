/* Traffic schedulers: rate, concurrent, sequential_launch. See traffic.h and docs/WORKLOAD.md. */
#include "traffic/traffic.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/heap.h"
#include "core/list.h"
#include "core/log.h"
#include "core/u64map.h"
#include "core/xalloc.h"
#include "workload/generators.h"

/* ---- per-session state ---- */
enum { TN_PENDING = 0, TN_QUEUED, TN_INFLIGHT, TN_DONE, TN_DROPPED };

struct tr_sess {
	struct wl_session *s;
	struct list_node link; /* on the live list */
	int64_t start_ns;
	uint8_t *state;
	uint32_t *parents_left;
	int64_t *ready_base_ns; /* latest parent completion (roots: session start) */
	uint32_t *child_off;    /* CSR: children of node i are child[child_off[i] .. child_off[i+1]) */
	uint32_t *child;
	int32_t *hparent;         /* history parent from the edges, -1 = none */
	uint32_t *hist_children;  /* history children not yet dispatched */
	struct wl_message **hist; /* conversation after node i (only for history parents) */
	size_t *n_hist;
	size_t n_left; /* nodes neither done nor dropped */
	bool cancelled;
};

struct tr_inflight {
	struct tr_sess *ss;
	uint32_t node;
};

struct tr_root {
	struct tr_sess *ss;
	uint32_t node;
};

#define TR_LOOKAHEAD 2 /* rate: sessions pulled ahead of their arrival (struct traffic, la) */

struct traffic {
	enum cfg_traffic_type type;
	bool cancel_on_failure;
	int64_t start_ns;
	int64_t last_now_ns;
	traffic_source_fn src;
	void *src_ctx;
	bool src_done, stopped, stop_all;

	/* shard `shard_index` of `shard_count` (docs/DISTRIBUTED.md): the source's sessions are numbered in
	 * pull order; this shard keeps those whose number is its own and skips the others (rate: after
	 * drawing their arrival, so the kept arrivals stay on the global schedule) */
	uint32_t shard_index, shard_count;
	uint64_t pulled, skipped;

	/* rate */
	struct wl_intervalgen iv;
	int64_t max_in_flight; /* requests; 0 = no cap */
	double cum_s;
	/* pulled, not yet arrived, in arrival order: la[0] is the next arrival. A dispatch's pop
	 * fills only la[0]; traffic_next_event_ns (after the dispatches) fills both, so a second arrival
	 * due right behind a dispatch is ready without building its session first (docs/CLIENT.md,
	 * Dispatch spin) */
	struct wl_session *la[TR_LOOKAHEAD];
	int64_t la_arrival_ns[TR_LOOKAHEAD];
	uint32_t la_n;

	/* concurrent */
	int64_t target;
	int64_t rampup_ns;
	size_t active;
	int64_t last_free_ns;

	/* sequential_launch */
	struct tr_root *roots; /* FIFO of unreleased roots */
	size_t roots_head, roots_n, roots_cap;
	bool root_outstanding;
	uint64_t outstanding_root_id;

	/* requests whose parents are done, by ready time (key), then in the order they became ready
	 * (seq); ptr is the tr_sess, aux the node */
	struct heap ready;
	uint64_t seq;

	struct u64map inflight; /* request id -> struct tr_inflight */
	struct u64map sessions; /* session id -> struct tr_sess * */
	struct list live;       /* of tr_sess, newest first */

	uint64_t started, finished, cancelled_req, cancelled_sess, dropped_req, rejected;
};

/* ---- ready heap ---- */
static void tr_ready_push(struct traffic *t, int64_t ready_ns, struct tr_sess *ss, uint32_t node)
{
	heap_push(&t->ready, ready_ns, t->seq++, ss, node);
	ss->state[node] = TN_QUEUED;
}

/* ---- helpers ---- */
static int64_t tr_s_to_ns(double s)
{
	if (!(s > 0.0))
		return 0;
	double ns = s * 1e9;
	if (ns > 9.0e18)
		return INT64_C(9000000000000000000);
	return (int64_t)llround(ns);
}

static int64_t tr_sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

static int64_t tr_conc_target(const struct traffic *t, int64_t now_ns)
{
	if (t->rampup_ns <= 0)
		return t->target;
	int64_t e = now_ns - t->start_ns;
	if (e >= t->rampup_ns)
		return t->target;
	if (e <= 0)
		return 0;
	return (int64_t)(((__int128)t->target * e) / t->rampup_ns);
}

/* earliest time at which the target reaches k (1 <= k <= target) */
static int64_t tr_conc_step_ns(const struct traffic *t, int64_t k)
{
	if (t->rampup_ns <= 0)
		return t->start_ns;
	__int128 num = (__int128)k * t->rampup_ns;
	int64_t e = (int64_t)((num + t->target - 1) / t->target);
	return t->start_ns + e;
}

static void tr_sess_free(struct tr_sess *ss)
{
	size_t n = ss->s->n_nodes;
	for (size_t i = 0; i < n; i++)
		wl_message_list_free(ss->hist[i], ss->n_hist[i]);
	wl_session_free(ss->s);
	free(ss->state);
	free(ss->parents_left);
	free(ss->ready_base_ns);
	free(ss->child_off);
	free(ss->child);
	free(ss->hparent);
	free(ss->hist_children);
	free(ss->hist);
	free(ss->n_hist);
	free(ss);
}

static void tr_finish_session(struct traffic *t, struct tr_sess *ss, int64_t now_ns)
{
	struct tr_sess **by_id = u64map_get(&t->sessions, ss->s->id);
	if (by_id && *by_id == ss)
		u64map_del(&t->sessions, ss->s->id, NULL);
	list_remove(&t->live, &ss->link);
	t->active--;
	t->finished++;
	if (now_ns > t->last_free_ns)
		t->last_free_ns = now_ns;
	tr_sess_free(ss);
}

static void tr_drop_node(struct tr_sess *ss, uint32_t node)
{
	ss->state[node] = TN_DROPPED;
	ss->n_left--;
}

static void tr_root_push(struct traffic *t, struct tr_sess *ss, uint32_t node)
{
	if (t->roots_n == t->roots_cap) {
		size_t ncap = t->roots_cap ? t->roots_cap * 2 : 16;
		struct tr_root *nr = xmalloc(ncap * sizeof *nr);
		for (size_t i = 0; i < t->roots_n; i++)
			nr[i] = t->roots[(t->roots_head + i) % t->roots_cap];
		free(t->roots);
		t->roots = nr;
		t->roots_cap = ncap;
		t->roots_head = 0;
	}
	t->roots[(t->roots_head + t->roots_n) % t->roots_cap] = (struct tr_root){ss, node};
	t->roots_n++;
}

static struct tr_root tr_root_pop(struct traffic *t)
{
	struct tr_root r = t->roots[t->roots_head];
	t->roots_head = (t->roots_head + 1) % t->roots_cap;
	t->roots_n--;
	return r;
}

/* Build the scheduling state of a session and queue its roots. Invalid sessions are rejected. */
static void tr_activate(struct traffic *t, struct wl_session *s, int64_t start_ns)
{
	size_t n = s->n_nodes;
	if (n == 0 || n > UINT32_MAX / 2) {
		log_error("traffic: session %llu has %zu requests; skipped", (unsigned long long)s->id, n);
		t->rejected++;
		wl_session_free(s);
		return;
	}
	struct tr_sess *ss = xcalloc(1, sizeof *ss);
	ss->s = s;
	ss->start_ns = start_ns;
	ss->state = xcalloc(n, sizeof *ss->state);
	ss->parents_left = xcalloc(n, sizeof *ss->parents_left);
	ss->ready_base_ns = xmalloc(n * sizeof *ss->ready_base_ns);
	ss->child_off = xcalloc(n + 1, sizeof *ss->child_off);
	ss->child = xmalloc((s->n_edges ? s->n_edges : 1) * sizeof *ss->child);
	ss->hparent = xmalloc(n * sizeof *ss->hparent);
	ss->hist_children = xcalloc(n, sizeof *ss->hist_children);
	ss->hist = xcalloc(n, sizeof *ss->hist);
	ss->n_hist = xcalloc(n, sizeof *ss->n_hist);
	ss->n_left = n;
	const char *bad = NULL;
	uint32_t bad_node = 0;
	for (size_t i = 0; i < n; i++) {
		ss->hparent[i] = -1;
		ss->ready_base_ns[i] = start_ns;
	}
	for (size_t e = 0; e < s->n_edges && !bad; e++) {
		const struct wl_edge *ed = &s->edges[e];
		if (ed->src >= n || ed->dst >= n || ed->src == ed->dst) {
			bad = "invalid edge";
			bad_node = ed->dst;
			break;
		}
		ss->parents_left[ed->dst]++;
		ss->child_off[ed->src + 1]++;
		if (ed->is_history_parent) {
			if (ss->hparent[ed->dst] >= 0) {
				bad = "Ambiguous history inheritance for node";
				bad_node = ed->dst;
				break;
			}
			ss->hparent[ed->dst] = (int32_t)ed->src;
			ss->hist_children[ed->src]++;
		}
	}
	if (!bad) {
		for (size_t i = 0; i < n; i++)
			ss->child_off[i + 1] += ss->child_off[i];
		uint32_t *fill = xmalloc(n * sizeof *fill);
		memcpy(fill, ss->child_off, n * sizeof *fill);
		for (size_t e = 0; e < s->n_edges; e++)
			ss->child[fill[s->edges[e].src]++] = s->edges[e].dst;
		/* Kahn: reject cycles (they would never finish) */
		uint32_t *indeg = fill, *stack = xmalloc(n * sizeof *stack);
		size_t sp = 0, seen = 0;
		for (size_t i = 0; i < n; i++) {
			indeg[i] = ss->parents_left[i];
			if (!indeg[i])
				stack[sp++] = (uint32_t)i;
		}
		while (sp) {
			uint32_t v = stack[--sp];
			seen++;
			for (uint32_t k = ss->child_off[v]; k < ss->child_off[v + 1]; k++)
				if (--indeg[ss->child[k]] == 0)
					stack[sp++] = ss->child[k];
		}
		free(stack);
		free(fill);
		if (seen != n)
			bad = "dependency cycle through node";
	}
	if (bad) {
		log_error("traffic: session %llu rejected: %s %u", (unsigned long long)s->id, bad, bad_node);
		t->rejected++;
		tr_sess_free(ss);
		return;
	}
	list_push_head(&t->live, &ss->link);
	t->active++;
	t->started++;
	u64map_put(&t->sessions, s->id, &ss);
	for (size_t i = 0; i < n; i++) {
		if (ss->parents_left[i])
			continue;
		if (t->type == CFG_TRAFFIC_SEQUENTIAL_LAUNCH)
			tr_root_push(t, ss, (uint32_t)i);
		else
			tr_ready_push(t, tr_sat_add(start_ns, tr_s_to_ns(s->requests[i].wait_after_ready_s)), ss,
			              (uint32_t)i);
	}
}

/* The next session of the source, whoever's shard it belongs to; *mine tells. */
static struct wl_session *tr_pull_any(struct traffic *t, bool *mine)
{
	if (t->stopped || t->src_done)
		return NULL;
	struct wl_session *s = t->src(t->src_ctx);
	if (!s) {
		t->src_done = true;
		return NULL;
	}
	*mine = t->pulled++ % t->shard_count == t->shard_index;
	return s;
}

static void tr_skip(struct traffic *t, struct wl_session *s)
{
	wl_session_free(s);
	t->skipped++;
}

/* The next session of this shard (other shards' sessions are skipped). */
static struct wl_session *tr_pull(struct traffic *t)
{
	for (;;) {
		bool mine = true;
		struct wl_session *s = tr_pull_any(t, &mine);
		if (!s || mine)
			return s;
		tr_skip(t, s);
	}
}

/* rate: make sure the next `depth` arrivals of this shard are known (as far as the source goes).
 * Every session of the source gets its arrival, in source order, so a shard's arrivals are exactly
 * its sessions' arrivals in the unsharded schedule. */
static void tr_rate_lookahead(struct traffic *t, uint32_t depth)
{
	while (t->la_n < depth && !t->stopped && !t->src_done) {
		bool mine = true;
		struct wl_session *s = tr_pull_any(t, &mine);
		if (!s)
			return;
		int64_t arrival_ns;
		if (s->n_nodes > 0 && s->requests[0].arrival_offset_s >= 0.0) {
			arrival_ns = tr_sat_add(t->start_ns, tr_s_to_ns(s->requests[0].arrival_offset_s));
		} else {
			arrival_ns = tr_sat_add(t->start_ns, tr_s_to_ns(t->cum_s));
			t->cum_s += wl_intervalgen_next_s(&t->iv);
		}
		if (!mine) {
			tr_skip(t, s);
			continue;
		}
		t->la[t->la_n] = s;
		t->la_arrival_ns[t->la_n++] = arrival_ns;
	}
}

/* rate: the next arrival leaves the lookahead (to be activated, or dropped) */
static struct wl_session *tr_rate_take(struct traffic *t)
{
	struct wl_session *s = t->la[0];
	for (uint32_t i = 1; i < t->la_n; i++) {
		t->la[i - 1] = t->la[i];
		t->la_arrival_ns[i - 1] = t->la_arrival_ns[i];
	}
	t->la[--t->la_n] = NULL;
	return s;
}

static void tr_rate_drop_lookahead(struct traffic *t)
{
	while (t->la_n)
		wl_session_free(tr_rate_take(t));
}

/* Do every piece of scheduling work that is due at now_ns. */
static void tr_advance(struct traffic *t, int64_t now_ns)
{
	switch (t->type) {
	case CFG_TRAFFIC_RATE:
		/* The next session is not generated here once a due request is ready: this runs inside
		 * traffic_pop_ready(), between a dispatch's timer and its stamp, and building the following
		 * session (its prompt) there made every dispatch late by that much (docs/CLIENT.md,
		 * Dispatch spin). traffic_next_event_ns() or traffic_has_pending() builds it after the
		 * dispatch; a further arrival already due is activated by the caller's next pop, usually
		 * without being built there either: traffic_next_event_ns() keeps two arrivals built. */
		for (;;) {
			tr_rate_lookahead(t, 1);
			if (!t->la_n || t->la_arrival_ns[0] > now_ns)
				break;
			int64_t arrival_ns = t->la_arrival_ns[0];
			tr_activate(t, tr_rate_take(t), arrival_ns);
			const struct heap_ent *top = heap_top(&t->ready);
			if (top && top->key <= now_ns)
				break;
		}
		break;
	case CFG_TRAFFIC_CONCURRENT:
		while (!t->stopped && !t->src_done && (int64_t)t->active < tr_conc_target(t, now_ns)) {
			int64_t start = tr_conc_step_ns(t, (int64_t)t->active + 1);
			if (t->last_free_ns > start)
				start = t->last_free_ns;
			if (start > now_ns)
				start = now_ns;
			struct wl_session *s = tr_pull(t);
			if (!s)
				break;
			tr_activate(t, s, start);
		}
		break;
	case CFG_TRAFFIC_SEQUENTIAL_LAUNCH:
		while (!t->root_outstanding && !t->stop_all) {
			if (t->roots_n == 0) {
				struct wl_session *s = tr_pull(t);
				if (!s)
					break;
				tr_activate(t, s, now_ns);
				continue;
			}
			struct tr_root r = tr_root_pop(t);
			if (r.ss->state[r.node] != TN_PENDING)
				continue; /* dropped by cancellation */
			int64_t ready =
			    tr_sat_add(r.ss->start_ns, tr_s_to_ns(r.ss->s->requests[r.node].wait_after_ready_s));
			if (ready < now_ns)
				ready = now_ns;
			tr_ready_push(t, ready, r.ss, r.node);
			t->root_outstanding = true;
			t->outstanding_root_id = r.ss->s->requests[r.node].id;
		}
		break;
	}
}

struct traffic *traffic_create(const struct cfg_traffic *cfg, uint64_t seed, int64_t start_ns, traffic_source_fn src,
                               void *src_ctx)
{
	struct traffic *t = xcalloc(1, sizeof *t);
	t->type = cfg->type;
	t->cancel_on_failure = cfg->cancel_session_on_failure;
	t->start_ns = start_ns;
	t->last_now_ns = start_ns;
	t->last_free_ns = INT64_MIN;
	t->src = src;
	t->src_ctx = src_ctx;
	char err[256];
	switch (cfg->type) {
	case CFG_TRAFFIC_RATE:
		t->max_in_flight = cfg->max_concurrency > 0 ? cfg->max_concurrency : 0;
		if (wl_intervalgen_init(&t->iv, &cfg->interval_generator, seed, "traffic/interval", err, sizeof err)) {
			log_error("traffic_scheduler.interval_generator: %s", err);
			free(t);
			return NULL;
		}
		break;
	case CFG_TRAFFIC_CONCURRENT:
		if (cfg->target_concurrent_sessions < 1 || cfg->rampup_seconds < 0) {
			log_error("traffic_scheduler: concurrent needs target_concurrent_sessions >= 1 and "
			          "rampup_seconds >= 0 (got %lld, %lld)",
			          (long long)cfg->target_concurrent_sessions, (long long)cfg->rampup_seconds);
			free(t);
			return NULL;
		}
		t->target = cfg->target_concurrent_sessions;
		t->rampup_ns = cfg->rampup_seconds * INT64_C(1000000000);
		break;
	case CFG_TRAFFIC_SEQUENTIAL_LAUNCH:
		break;
	default:
		log_error("traffic_scheduler: unknown type %d", (int)cfg->type);
		free(t);
		return NULL;
	}
	t->shard_index = 0;
	t->shard_count = 1;
	u64map_init(&t->inflight, sizeof(struct tr_inflight));
	u64map_init(&t->sessions, sizeof(struct tr_sess *));
	return t;
}

int traffic_set_shard(struct traffic *t, uint32_t shard_index, uint32_t shard_count)
{
	if (shard_count == 0 || shard_index >= shard_count || t->pulled > 0)
		return -1;
	t->shard_index = shard_index;
	t->shard_count = shard_count;
	if (t->max_in_flight > 0) {
		/* the cap divided like a concurrency target, at least 1 per shard */
		int64_t cap = t->max_in_flight;
		cap = cap / shard_count + ((int64_t)shard_index < cap % (int64_t)shard_count ? 1 : 0);
		t->max_in_flight = cap > 0 ? cap : 1;
	}
	if (t->type == CFG_TRAFFIC_CONCURRENT) {
		/* the target divided as evenly as possible; with fewer sessions than shards, sessions are
		 * dealt only to the shards that have a slot, and the others run nothing */
		int64_t total = t->target;
		if (total < (int64_t)shard_count) {
			t->shard_count = (uint32_t)total;
			if (shard_index >= t->shard_count) {
				t->shard_count = 1;
				t->shard_index = 0;
				t->target = 0;
				t->stopped = true;
				return 0;
			}
			t->target = 1;
		} else {
			t->target = total / shard_count + ((int64_t)shard_index < total % (int64_t)shard_count ? 1 : 0);
		}
	}
	return 0;
}

int64_t traffic_target_concurrency(const struct traffic *t)
{
	return t->type == CFG_TRAFFIC_CONCURRENT ? t->target : 0;
}

uint64_t traffic_sessions_skipped(const struct traffic *t)
{
	return t->skipped;
}

void traffic_free(struct traffic *t)
{
	if (!t)
		return;
	struct list_node *x;
	while ((x = list_pop_head(&t->live)))
		tr_sess_free(LIST_ENTRY(x, struct tr_sess, link));
	tr_rate_drop_lookahead(t);
	heap_free(&t->ready);
	free(t->roots);
	u64map_free(&t->inflight);
	u64map_free(&t->sessions);
	free(t);
}

int64_t traffic_next_event_ns(struct traffic *t)
{
	const struct heap_ent *top = heap_top(&t->ready);
	int64_t next = top ? top->key : INT64_MAX;
	if (t->max_in_flight > 0 && (int64_t)u64map_len(&t->inflight) >= t->max_in_flight)
		next = INT64_MAX; /* nothing can go before a completion (which the caller reports) */
	switch (t->type) {
	case CFG_TRAFFIC_RATE:
		tr_rate_lookahead(t, TR_LOOKAHEAD);
		if (t->la_n && t->la_arrival_ns[0] < next)
			next = t->la_arrival_ns[0];
		break;
	case CFG_TRAFFIC_CONCURRENT:
		if (!t->stopped && !t->src_done && (int64_t)t->active < t->target) {
			int64_t step = tr_conc_step_ns(t, (int64_t)t->active + 1);
			if (step < next)
				next = step;
		}
		break;
	case CFG_TRAFFIC_SEQUENTIAL_LAUNCH:
		if (!t->root_outstanding && !t->stop_all && (t->roots_n > 0 || (!t->stopped && !t->src_done)) &&
		    t->last_now_ns < next)
			next = t->last_now_ns;
		break;
	}
	return next;
}

/* Whether the pop of a request with history parent hp leaves it as it is now. */
static bool tr_peek_stable(const struct wl_request *r, int32_t hp)
{
	return r->history_prepopulated || (hp < 0 && r->n_history == 0);
}

const struct wl_request *traffic_peek_next(const struct traffic *t)
{
	const struct heap_ent *top = heap_top(&t->ready);
	if (t->type == CFG_TRAFFIC_RATE && t->la_n && (!top || t->la_arrival_ns[0] < top->key)) {
		/* the next session to arrive: its first request, when nothing leads into it */
		const struct wl_session *s = t->la[0];
		if (s->n_nodes == 0)
			return NULL;
		for (size_t e = 0; e < s->n_edges; e++)
			if (s->edges[e].dst == 0)
				return NULL;
		return tr_peek_stable(&s->requests[0], -1) ? &s->requests[0] : NULL;
	}
	if (!top)
		return NULL;
	const struct tr_sess *ss = top->ptr;
	uint32_t node = (uint32_t)top->aux;
	const struct wl_request *r = &ss->s->requests[node];
	return tr_peek_stable(r, ss->hparent[node]) ? r : NULL;
}

static void tr_populate_history(struct tr_sess *ss, uint32_t node)
{
	struct wl_request *r = &ss->s->requests[node];
	if (r->history_prepopulated)
		return;
	wl_message_list_free(r->history, r->n_history);
	r->history = NULL;
	r->n_history = 0;
	int32_t hp = ss->hparent[node];
	if (hp < 0)
		return;
	r->history = wl_message_list_copy(ss->hist[hp], ss->n_hist[hp]);
	r->n_history = ss->n_hist[hp];
	if (--ss->hist_children[hp] == 0 && ss->state[hp] == TN_DONE) {
		wl_message_list_free(ss->hist[hp], ss->n_hist[hp]);
		ss->hist[hp] = NULL;
		ss->n_hist[hp] = 0;
	}
}

struct wl_request *traffic_pop_ready(struct traffic *t, int64_t now_ns, int64_t *intended_ns)
{
	if (now_ns > t->last_now_ns)
		t->last_now_ns = now_ns;
	tr_advance(t, now_ns);
	const struct heap_ent *top = heap_top(&t->ready);
	if (!top || top->key > now_ns)
		return NULL;
	if (t->max_in_flight > 0 && (int64_t)u64map_len(&t->inflight) >= t->max_in_flight)
		return NULL; /* due, but over the cap: it waits for a completion, its intended time unchanged */
	struct heap_ent e = heap_pop(&t->ready);
	struct tr_sess *ss = e.ptr;
	uint32_t node = (uint32_t)e.aux;
	struct wl_request *r = &ss->s->requests[node];
	ss->state[node] = TN_INFLIGHT;
	tr_populate_history(ss, node);
	u64map_put(&t->inflight, r->id, &(struct tr_inflight){.ss = ss, .node = node});
	if (intended_ns)
		*intended_ns = e.key;
	return r;
}

void traffic_on_advance(struct traffic *t, uint64_t request_id)
{
	if (t->type == CFG_TRAFFIC_SEQUENTIAL_LAUNCH && t->root_outstanding && t->outstanding_root_id == request_id)
		t->root_outstanding = false;
}

static void tr_cancel_session(struct traffic *t, struct tr_sess *ss)
{
	ss->cancelled = true;
	t->cancelled_sess++;
	for (size_t i = 0; i < ss->s->n_nodes; i++) {
		if (ss->state[i] == TN_PENDING) {
			tr_drop_node(ss, (uint32_t)i);
			t->cancelled_req++;
		}
	}
}

void traffic_on_complete(struct traffic *t, uint64_t request_id, int64_t now_ns, bool success,
                         const char *assistant_text)
{
	if (now_ns > t->last_now_ns)
		t->last_now_ns = now_ns;
	traffic_on_advance(t, request_id);
	struct tr_inflight in;
	if (!u64map_del(&t->inflight, request_id, &in)) {
		log_debug("traffic: completion for unknown request %llu ignored", (unsigned long long)request_id);
		return;
	}
	struct tr_sess *ss = in.ss;
	uint32_t node = in.node;
	struct wl_request *r = &ss->s->requests[node];
	ss->state[node] = TN_DONE;
	ss->n_left--;

	if (ss->hist_children[node] > 0 && !ss->cancelled) {
		bool with_reply = success && assistant_text && assistant_text[0];
		size_t n = r->n_history + 1 + (with_reply ? 1 : 0);
		struct wl_message *h = xcalloc(n, sizeof *h);
		for (size_t i = 0; i < r->n_history; i++) {
			h[i].role = xstrdup(r->history[i].role);
			h[i].content = xstrdup(r->history[i].content);
		}
		h[r->n_history].role = xstrdup("user");
		h[r->n_history].content = xstrdup(r->prompt_text ? r->prompt_text : "");
		if (with_reply) {
			h[n - 1].role = xstrdup("assistant");
			h[n - 1].content = xstrdup(assistant_text);
		}
		ss->hist[node] = h;
		ss->n_hist[node] = n;
	}
	if (!success && t->cancel_on_failure && !ss->cancelled)
		tr_cancel_session(t, ss);

	for (uint32_t k = ss->child_off[node]; k < ss->child_off[node + 1]; k++) {
		uint32_t c = ss->child[k];
		if (ss->parents_left[c] > 0)
			ss->parents_left[c]--;
		if (now_ns > ss->ready_base_ns[c])
			ss->ready_base_ns[c] = now_ns;
		if (ss->state[c] != TN_PENDING || ss->parents_left[c] > 0)
			continue;
		if (t->stop_all) {
			tr_drop_node(ss, c);
			t->dropped_req++;
			continue;
		}
		tr_ready_push(t, tr_sat_add(ss->ready_base_ns[c], tr_s_to_ns(ss->s->requests[c].wait_after_ready_s)),
		              ss, c);
	}
	if (ss->n_left == 0)
		tr_finish_session(t, ss, now_ns);
}

bool traffic_has_pending(struct traffic *t)
{
	if (t->type == CFG_TRAFFIC_RATE)
		tr_rate_lookahead(t, 1); /* whether the source has another session (not known after a pop) */
	return heap_len(&t->ready) > 0 || u64map_len(&t->inflight) > 0 || !list_empty(&t->live) || t->la_n > 0 ||
	       (!t->stopped && !t->src_done);
}

void traffic_stop_new_sessions(struct traffic *t)
{
	t->stopped = true;
	tr_rate_drop_lookahead(t);
}

void traffic_stop_dispatch(struct traffic *t)
{
	traffic_stop_new_sessions(t);
	t->stop_all = true;
	while (heap_len(&t->ready)) {
		struct heap_ent e = heap_pop(&t->ready);
		tr_drop_node(e.ptr, (uint32_t)e.aux);
		t->dropped_req++;
	}
	t->roots_n = 0;
	t->roots_head = 0;
	for (struct list_node *x = t->live.head, *next; x; x = next) {
		next = x->next;
		struct tr_sess *ss = LIST_ENTRY(x, struct tr_sess, link);
		for (size_t i = 0; i < ss->s->n_nodes; i++) {
			if (ss->state[i] == TN_PENDING) {
				tr_drop_node(ss, (uint32_t)i);
				t->dropped_req++;
			}
		}
		if (ss->n_left == 0)
			tr_finish_session(t, ss, t->last_now_ns);
	}
}

size_t traffic_in_flight(const struct traffic *t)
{
	return u64map_len(&t->inflight);
}

uint32_t traffic_session_size(const struct traffic *t, uint64_t session_id)
{
	struct tr_sess *const *ss_p = u64map_get(&t->sessions, session_id);
	if (!ss_p)
		return 0;
	const struct tr_sess *ss = *ss_p;
	return (uint32_t)ss->s->n_nodes;
}

uint64_t traffic_sessions_started(const struct traffic *t)
{
	return t->started;
}
uint64_t traffic_sessions_finished(const struct traffic *t)
{
	return t->finished;
}
size_t traffic_live_sessions(const struct traffic *t)
{
	return t->live.n;
}
uint64_t traffic_cancelled_requests(const struct traffic *t)
{
	return t->cancelled_req;
}
uint64_t traffic_cancelled_sessions(const struct traffic *t)
{
	return t->cancelled_sess;
}
uint64_t traffic_dropped_requests(const struct traffic *t)
{
	return t->dropped_req;
}
uint64_t traffic_rejected_sessions(const struct traffic *t)
{
	return t->rejected;
}
