/* Session graph generators. */
#include "workload/graph.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "workload/generators.h"

struct wl_graphgen {
	enum cfg_graph_type type;
	bool inherit_history;
	bool single_root;
	struct wl_lengthgen num_request;
	struct wl_intervalgen request_wait;
	struct wl_lengthgen num_layers, layer_width, fan_out, fan_in, connection_dist;
	struct rng history; /* branching: choice of targets/parents and of the history parent */
	bool has_num_request, has_branching;
};

struct wl_graphgen *wl_graphgen_create(const struct cfg_session_graph *cfg, uint64_t root_seed, char *err,
                                       size_t err_len)
{
	struct wl_graphgen *g = xcalloc(1, sizeof *g);
	g->type = cfg->type;
	g->inherit_history = cfg->inherit_history;
	g->single_root = cfg->single_root;
	int rc = 0;
	switch (cfg->type) {
	case CFG_GRAPH_SINGLE_REQUEST:
		break;
	case CFG_GRAPH_LINEAR:
		rc |= wl_lengthgen_init(&g->num_request, &cfg->num_request_generator, root_seed,
		                        "session_graph/num_request", err, err_len);
		g->has_num_request = true;
		if (!rc)
			rc |= wl_intervalgen_init(&g->request_wait, &cfg->request_wait_generator, root_seed,
			                          "session_graph/request_wait", err, err_len);
		break;
	case CFG_GRAPH_BRANCHING:
		g->has_branching = true;
		rc = wl_lengthgen_init(&g->num_layers, &cfg->num_layers_generator, root_seed,
		                       "session_graph/num_layers", err, err_len);
		if (!rc)
			rc = wl_lengthgen_init(&g->layer_width, &cfg->layer_width_generator, root_seed,
			                       "session_graph/layer_width", err, err_len);
		if (!rc)
			rc = wl_lengthgen_init(&g->fan_out, &cfg->fan_out_generator, root_seed, "session_graph/fan_out",
			                       err, err_len);
		if (!rc)
			rc = wl_lengthgen_init(&g->fan_in, &cfg->fan_in_generator, root_seed, "session_graph/fan_in",
			                       err, err_len);
		if (!rc)
			rc = wl_lengthgen_init(&g->connection_dist, &cfg->connection_dist_generator, root_seed,
			                       "session_graph/connection_dist", err, err_len);
		if (!rc)
			rc = wl_intervalgen_init(&g->request_wait, &cfg->request_wait_generator, root_seed,
			                         "session_graph/request_wait", err, err_len);
		rng_stream_init(&g->history, root_seed, "session_graph/history");
		break;
	default:
		snprintf(err, err_len, "session_graph: unknown type %d", (int)cfg->type);
		rc = -1;
	}
	if (rc) {
		wl_graphgen_free(g);
		return NULL;
	}
	return g;
}

void wl_graphgen_free(struct wl_graphgen *g)
{
	if (!g)
		return;
	wl_lengthgen_free(&g->num_request);
	wl_lengthgen_free(&g->num_layers);
	wl_lengthgen_free(&g->layer_width);
	wl_lengthgen_free(&g->fan_out);
	wl_lengthgen_free(&g->fan_in);
	wl_lengthgen_free(&g->connection_dist);
	free(g);
}

static struct wl_session *gg_alloc(size_t n)
{
	struct wl_session *s = xcalloc(1, sizeof *s);
	s->n_nodes = n;
	s->requests = xcalloc(n, sizeof *s->requests);
	for (size_t i = 0; i < n; i++) {
		s->requests[i].node_id = (uint32_t)i;
		s->requests[i].history_parent = -1;
		s->requests[i].arrival_offset_s = -1.0;
		s->requests[i].api_mode = WL_API_CHAT;
	}
	return s;
}

static int gg_edge_cmp(const void *a, const void *b)
{
	const struct wl_edge *x = a, *y = b;
	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	if (x->dst != y->dst)
		return x->dst < y->dst ? -1 : 1;
	return 0;
}

int wl_session_finish_edges(struct wl_session *s, char *err, size_t err_len)
{
	size_t n = s->n_nodes;
	for (size_t e = 0; e < s->n_edges; e++) {
		const struct wl_edge *ed = &s->edges[e];
		if (ed->src >= n || ed->dst >= n || ed->src >= ed->dst) {
			snprintf(err, err_len, "session %llu: invalid edge %u -> %u (%zu nodes)",
			         (unsigned long long)s->id, ed->src, ed->dst, n);
			return -1;
		}
	}
	if (s->n_edges > 1)
		qsort(s->edges, s->n_edges, sizeof *s->edges, gg_edge_cmp);
	for (size_t e = 1; e < s->n_edges; e++) {
		if (gg_edge_cmp(&s->edges[e - 1], &s->edges[e]) == 0) {
			snprintf(err, err_len, "session %llu: duplicate edge %u -> %u", (unsigned long long)s->id,
			         s->edges[e].src, s->edges[e].dst);
			return -1;
		}
	}
	size_t *cnt = xcalloc(n ? n : 1, sizeof *cnt);
	for (size_t e = 0; e < s->n_edges; e++)
		cnt[s->edges[e].dst]++;
	for (size_t i = 0; i < n; i++) {
		struct wl_request *r = &s->requests[i];
		free(r->parent_nodes);
		r->parent_nodes = cnt[i] ? xmalloc(cnt[i] * sizeof *r->parent_nodes) : NULL;
		r->n_parents = 0;
		r->history_parent = -1;
	}
	free(cnt);
	/* edges are sorted by src, so each parent list comes out ascending */
	for (size_t e = 0; e < s->n_edges; e++) {
		const struct wl_edge *ed = &s->edges[e];
		struct wl_request *r = &s->requests[ed->dst];
		r->parent_nodes[r->n_parents++] = ed->src;
		if (ed->is_history_parent) {
			if (r->history_parent >= 0) {
				snprintf(err, err_len, "Ambiguous history inheritance for node %u", ed->dst);
				return -1;
			}
			r->history_parent = (int32_t)ed->src;
		}
	}
	return 0;
}

static void gg_add_edge(struct wl_session *s, size_t *cap, uint32_t src, uint32_t dst)
{
	xgrow((void **)&s->edges, cap, s->n_edges + 1, sizeof *s->edges);
	s->edges[s->n_edges++] = (struct wl_edge){.src = src, .dst = dst, .is_history_parent = false};
}

static struct wl_session *gg_linear(struct wl_graphgen *g)
{
	int64_t n = wl_lengthgen_next(&g->num_request);
	if (n < 1)
		n = 1;
	if (n > CFG_MAX_SESSION_REQUESTS) /* an unbounded distribution (docs/CONFIG.md, Limits) */
		n = CFG_MAX_SESSION_REQUESTS;
	struct wl_session *s = gg_alloc((size_t)n);
	size_t cap = 0;
	for (int64_t i = 1; i < n; i++) {
		s->requests[i].wait_after_ready_s = wl_intervalgen_next_s(&g->request_wait);
		gg_add_edge(s, &cap, (uint32_t)(i - 1), (uint32_t)i);
		s->edges[s->n_edges - 1].is_history_parent = g->inherit_history;
	}
	char err[128];
	(void)wl_session_finish_edges(s, err, sizeof err); /* cannot fail for a chain */
	return s;
}

/* parent lists under construction (per node, small) */
struct gg_plist {
	uint32_t *v;
	size_t n, cap;
};

static bool gg_has(const struct gg_plist *p, uint32_t x)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == x)
			return true;
	return false;
}

static void gg_push(struct gg_plist *p, uint32_t x)
{
	xgrow((void **)&p->v, &p->cap, p->n + 1, sizeof *p->v);
	p->v[p->n++] = x;
}

static int gg_u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static struct wl_session *gg_branching(struct wl_graphgen *g)
{
	int64_t n_layers = wl_lengthgen_next(&g->num_layers);
	if (n_layers < 1)
		n_layers = 1;
	if (n_layers > CFG_MAX_SESSION_REQUESTS) /* unbounded distributions (docs/CONFIG.md, Limits) */
		n_layers = CFG_MAX_SESSION_REQUESTS;
	size_t L = (size_t)n_layers;
	int64_t max_width = CFG_MAX_SESSION_REQUESTS / n_layers; /* total <= CFG_MAX_SESSION_REQUESTS */
	size_t *width = xmalloc(L * sizeof *width);
	size_t *first = xmalloc((L + 1) * sizeof *first);
	size_t total = 0;
	for (size_t l = 0; l < L; l++) {
		int64_t w = (l == 0 && g->single_root) ? 1 : wl_lengthgen_next(&g->layer_width);
		if (w < 1)
			w = 1;
		if (w > max_width)
			w = max_width;
		width[l] = (size_t)w;
		first[l] = total;
		total += (size_t)w;
	}
	first[L] = total;
	struct wl_session *s = gg_alloc(total);
	for (size_t l = 1; l < L; l++)
		for (size_t i = first[l]; i < first[l + 1]; i++)
			s->requests[i].wait_after_ready_s = wl_intervalgen_next_s(&g->request_wait);

	struct gg_plist *par = xcalloc(total, sizeof *par);
	/* forward pass: fan-out with skip connections */
	for (size_t l = 0; l + 1 < L; l++) {
		for (size_t i = first[l]; i < first[l + 1]; i++) {
			int64_t fo = wl_lengthgen_next(&g->fan_out);
			if (fo > (int64_t)total)
				fo = (int64_t)total; /* each draw adds at most one parent */
			for (int64_t c = 0; c < fo; c++) {
				int64_t skip = wl_lengthgen_next(&g->connection_dist);
				if (skip < 1)
					skip = 1;
				size_t tl = l + (size_t)skip;
				if (tl > L - 1 || tl < l)
					tl = L - 1;
				size_t dst = first[tl] + (size_t)rng_below(&g->history, width[tl]);
				if (!gg_has(&par[dst], (uint32_t)i))
					gg_push(&par[dst], (uint32_t)i);
			}
		}
	}
	/* backward pass: fan-in from the previous layer (guarantees every non-root a parent) */
	uint32_t *cand = xmalloc((total ? total : 1) * sizeof *cand);
	for (size_t l = 1; l < L; l++) {
		for (size_t i = first[l]; i < first[l + 1]; i++) {
			int64_t fi = wl_lengthgen_next(&g->fan_in);
			size_t needed = fi < 1 ? 1 : (size_t)fi;
			if (needed > width[l - 1])
				needed = width[l - 1];
			while (par[i].n < needed) {
				size_t nc = 0;
				for (size_t p = first[l - 1]; p < first[l]; p++)
					if (!gg_has(&par[i], (uint32_t)p))
						cand[nc++] = (uint32_t)p;
				if (nc == 0)
					break;
				gg_push(&par[i], cand[rng_below(&g->history, nc)]);
			}
		}
	}
	free(cand);
	size_t cap = 0;
	for (size_t i = 0; i < total; i++) {
		if (par[i].n == 0)
			continue;
		qsort(par[i].v, par[i].n, sizeof *par[i].v, gg_u32_cmp);
		size_t hp = g->inherit_history ? (size_t)rng_below(&g->history, par[i].n) : SIZE_MAX;
		for (size_t k = 0; k < par[i].n; k++) {
			gg_add_edge(s, &cap, par[i].v[k], (uint32_t)i);
			s->edges[s->n_edges - 1].is_history_parent = (k == hp);
		}
		free(par[i].v);
	}
	free(par);
	free(width);
	free(first);
	char err[128];
	(void)wl_session_finish_edges(s, err, sizeof err); /* edges always go forward */
	return s;
}

struct wl_session *wl_graphgen_next(struct wl_graphgen *g)
{
	switch (g->type) {
	case CFG_GRAPH_SINGLE_REQUEST:
		return gg_alloc(1);
	case CFG_GRAPH_LINEAR:
		return gg_linear(g);
	case CFG_GRAPH_BRANCHING:
		return gg_branching(g);
	}
	return gg_alloc(1);
}
