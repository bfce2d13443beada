/* Session graph generators: DAG properties, history parents, determinism. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "workload/graph.h"

static struct cfg_length_gen lfixed(int64_t v)
{
	return (struct cfg_length_gen){.type = CFG_LENGTH_FIXED, .value = v};
}

static struct cfg_length_gen luni(int64_t a, int64_t b)
{
	return (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = a, .max = b};
}

static struct cfg_session_graph branching_cfg(bool single_root, bool inherit)
{
	struct cfg_session_graph c = {0};
	c.type = CFG_GRAPH_BRANCHING;
	c.inherit_history = inherit;
	c.single_root = single_root;
	c.request_wait_generator = (struct cfg_interval_gen){.type = CFG_INTERVAL_POISSON, .arrival_rate = 1.0};
	c.num_layers_generator = luni(2, 5);
	c.layer_width_generator = luni(1, 4);
	c.fan_out_generator = luni(1, 3);
	c.fan_in_generator = luni(1, 3);
	c.connection_dist_generator = luni(1, 3);
	return c;
}

/* Structural invariants every generated session must satisfy. */
static void check_session(const struct wl_session *s, bool inherit)
{
	assert_true(s->n_nodes >= 1);
	for (size_t i = 0; i < s->n_nodes; i++)
		assert_int_equal(s->requests[i].node_id, i);
	size_t *indeg = calloc(s->n_nodes, sizeof *indeg), *nhist = calloc(s->n_nodes, sizeof *nhist);
	for (size_t e = 0; e < s->n_edges; e++) {
		const struct wl_edge *ed = &s->edges[e];
		assert_true(ed->src < ed->dst); /* forward edges only: acyclic */
		assert_true(ed->dst < s->n_nodes);
		if (e > 0) /* sorted, no duplicates */
			assert_true(s->edges[e - 1].src < ed->src ||
			            (s->edges[e - 1].src == ed->src && s->edges[e - 1].dst < ed->dst));
		indeg[ed->dst]++;
		nhist[ed->dst] += ed->is_history_parent;
	}
	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct wl_request *r = &s->requests[i];
		assert_int_equal(r->n_parents, indeg[i]);
		for (size_t k = 1; k < r->n_parents; k++)
			assert_true(r->parent_nodes[k - 1] < r->parent_nodes[k]);
		if (inherit && r->n_parents > 0) {
			assert_int_equal(nhist[i], 1);
			assert_true(r->history_parent >= 0);
			bool found = false;
			for (size_t k = 0; k < r->n_parents; k++)
				found |= (int32_t)r->parent_nodes[k] == r->history_parent;
			assert_true(found);
		} else {
			assert_int_equal(nhist[i], 0);
			assert_int_equal(r->history_parent, -1);
		}
		if (r->n_parents == 0)
			assert_true(r->wait_after_ready_s == 0.0);
		assert_true(r->wait_after_ready_s >= 0.0);
		assert_true(r->arrival_offset_s < 0);
	}
	free(indeg);
	free(nhist);
}

static size_t count_roots(const struct wl_session *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_nodes; i++)
		n += s->requests[i].n_parents == 0;
	return n;
}

/* every node reachable from some root (roots: nodes without parents) */
static bool all_reachable(const struct wl_session *s)
{
	bool *reach = calloc(s->n_nodes, sizeof *reach);
	for (size_t i = 0; i < s->n_nodes; i++)
		reach[i] = s->requests[i].n_parents == 0;
	/* edges are sorted by src and go forward: one pass in src order suffices */
	for (size_t e = 0; e < s->n_edges; e++)
		if (reach[s->edges[e].src])
			reach[s->edges[e].dst] = true;
	bool ok = true;
	for (size_t i = 0; i < s->n_nodes; i++)
		ok &= reach[i];
	free(reach);
	return ok;
}

static void test_single_request(void **state)
{
	(void)state;
	struct cfg_session_graph c = {.type = CFG_GRAPH_SINGLE_REQUEST};
	char err[128];
	struct wl_graphgen *g = wl_graphgen_create(&c, 1, err, sizeof err);
	assert_non_null(g);
	for (int i = 0; i < 5; i++) {
		struct wl_session *s = wl_graphgen_next(g);
		assert_int_equal(s->n_nodes, 1);
		assert_int_equal(s->n_edges, 0);
		assert_true(s->requests[0].wait_after_ready_s == 0.0);
		assert_int_equal(s->requests[0].history_parent, -1);
		wl_session_free(s);
	}
	wl_graphgen_free(g);
}

static void test_linear(void **state)
{
	(void)state;
	for (int inherit = 0; inherit <= 1; inherit++) {
		struct cfg_session_graph c = {.type = CFG_GRAPH_LINEAR, .inherit_history = inherit};
		c.num_request_generator = luni(3, 7);
		c.request_wait_generator = (struct cfg_interval_gen){.type = CFG_INTERVAL_FIXED, .interval = 1.5};
		char err[128];
		struct wl_graphgen *g = wl_graphgen_create(&c, 9, err, sizeof err);
		assert_non_null(g);
		for (int k = 0; k < 50; k++) {
			struct wl_session *s = wl_graphgen_next(g);
			assert_true(s->n_nodes >= 3 && s->n_nodes < 7);
			assert_int_equal(s->n_edges, s->n_nodes - 1);
			check_session(s, inherit);
			for (size_t i = 1; i < s->n_nodes; i++) {
				assert_int_equal(s->edges[i - 1].src, i - 1);
				assert_int_equal(s->edges[i - 1].dst, i);
				assert_int_equal(s->edges[i - 1].is_history_parent, inherit);
				assert_true(s->requests[i].wait_after_ready_s == 1.5);
				assert_int_equal(s->requests[i].history_parent, inherit ? (int32_t)(i - 1) : -1);
			}
			assert_true(s->requests[0].wait_after_ready_s == 0.0);
			wl_session_free(s);
		}
		wl_graphgen_free(g);
	}
}

/* Unbounded counts (inverse_gaussian with a huge mean) are clamped to CFG_MAX_SESSION_REQUESTS
 * requests per session instead of allocating billions of nodes (docs/CONFIG.md, Limits). */
static void test_session_size_clamped(void **state)
{
	(void)state;
	struct cfg_length_gen huge = {.type = CFG_LENGTH_INVERSE_GAUSSIAN, .mean = 1e15, .shape = 1e15};
	struct cfg_session_graph c = {.type = CFG_GRAPH_LINEAR};
	c.num_request_generator = huge;
	c.request_wait_generator = (struct cfg_interval_gen){.type = CFG_INTERVAL_FIXED, .interval = 0.0};
	char err[128];
	struct wl_graphgen *g = wl_graphgen_create(&c, 3, err, sizeof err);
	assert_non_null(g);
	struct wl_session *s = wl_graphgen_next(g);
	assert_int_equal(s->n_nodes, CFG_MAX_SESSION_REQUESTS);
	wl_session_free(s);
	wl_graphgen_free(g);
	struct cfg_session_graph b = branching_cfg(false, true);
	b.num_layers_generator = huge;
	b.layer_width_generator = huge;
	g = wl_graphgen_create(&b, 4, err, sizeof err);
	assert_non_null(g);
	s = wl_graphgen_next(g);
	assert_true(s->n_nodes >= 1 && s->n_nodes <= CFG_MAX_SESSION_REQUESTS);
	check_session(s, true);
	wl_session_free(s);
	wl_graphgen_free(g);
}

static void test_branching_single_root(void **state)
{
	(void)state;
	struct cfg_session_graph c = branching_cfg(true, true);
	char err[128];
	struct wl_graphgen *g = wl_graphgen_create(&c, 11, err, sizeof err);
	assert_non_null(g);
	size_t max_nodes = 0, with_fan_in = 0;
	for (int k = 0; k < 300; k++) {
		struct wl_session *s = wl_graphgen_next(g);
		check_session(s, true);
		assert_int_equal(count_roots(s), 1);
		assert_int_equal(s->requests[0].n_parents, 0);
		assert_true(all_reachable(s));
		for (size_t i = 0; i < s->n_nodes; i++)
			with_fan_in += s->requests[i].n_parents > 1;
		if (s->n_nodes > max_nodes)
			max_nodes = s->n_nodes;
		wl_session_free(s);
	}
	assert_true(max_nodes > 4); /* really branching */
	assert_true(with_fan_in > 0);
	wl_graphgen_free(g);
}

static void test_branching_multiple_roots(void **state)
{
	(void)state;
	struct cfg_session_graph c = branching_cfg(false, true);
	c.layer_width_generator = lfixed(3);
	char err[128];
	struct wl_graphgen *g = wl_graphgen_create(&c, 12, err, sizeof err);
	assert_non_null(g);
	for (int k = 0; k < 100; k++) {
		struct wl_session *s = wl_graphgen_next(g);
		check_session(s, true);
		assert_int_equal(count_roots(s), 3);
		assert_true(all_reachable(s));
		wl_session_free(s);
	}
	wl_graphgen_free(g);
}

static void test_branching_no_history(void **state)
{
	(void)state;
	struct cfg_session_graph c = branching_cfg(true, false);
	char err[128];
	struct wl_graphgen *g = wl_graphgen_create(&c, 13, err, sizeof err);
	assert_non_null(g);
	for (int k = 0; k < 100; k++) {
		struct wl_session *s = wl_graphgen_next(g);
		check_session(s, false);
		wl_session_free(s);
	}
	wl_graphgen_free(g);
}

static void test_branching_skip_connections(void **state)
{
	(void)state;
	struct cfg_session_graph c = branching_cfg(true, true);
	c.num_layers_generator = lfixed(5);
	c.layer_width_generator = lfixed(2);
	c.connection_dist_generator = lfixed(2); /* every forward edge skips a layer */
	char err[128];
	struct wl_graphgen *g = wl_graphgen_create(&c, 14, err, sizeof err);
	struct wl_session *s = wl_graphgen_next(g);
	check_session(s, true);
	assert_int_equal(s->n_nodes, 1 + 2 * 4);
	/* layer of node: 0 -> 0, 1..2 -> 1, 3..4 -> 2 ... */
	size_t skips = 0;
	for (size_t e = 0; e < s->n_edges; e++) {
		size_t ls = s->edges[e].src == 0 ? 0 : (s->edges[e].src + 1) / 2;
		size_t ld = (s->edges[e].dst + 1) / 2;
		assert_true(ld > ls);
		skips += ld - ls == 2;
	}
	assert_true(skips > 0);
	assert_true(all_reachable(s));
	wl_session_free(s);
	wl_graphgen_free(g);
}

static bool same_session(const struct wl_session *a, const struct wl_session *b)
{
	if (a->n_nodes != b->n_nodes || a->n_edges != b->n_edges)
		return false;
	for (size_t i = 0; i < a->n_nodes; i++)
		if (a->requests[i].wait_after_ready_s != b->requests[i].wait_after_ready_s ||
		    a->requests[i].history_parent != b->requests[i].history_parent)
			return false;
	for (size_t e = 0; e < a->n_edges; e++)
		if (a->edges[e].src != b->edges[e].src || a->edges[e].dst != b->edges[e].dst ||
		    a->edges[e].is_history_parent != b->edges[e].is_history_parent)
			return false;
	return true;
}

static void test_determinism(void **state)
{
	(void)state;
	struct cfg_session_graph c = branching_cfg(true, true);
	char err[128];
	struct wl_graphgen *g1 = wl_graphgen_create(&c, 77, err, sizeof err);
	struct wl_graphgen *g2 = wl_graphgen_create(&c, 77, err, sizeof err);
	struct wl_graphgen *g3 = wl_graphgen_create(&c, 78, err, sizeof err);
	int differs = 0;
	for (int k = 0; k < 50; k++) {
		struct wl_session *a = wl_graphgen_next(g1), *b = wl_graphgen_next(g2), *d = wl_graphgen_next(g3);
		assert_true(same_session(a, b));
		differs += !same_session(a, d);
		wl_session_free(a);
		wl_session_free(b);
		wl_session_free(d);
	}
	assert_true(differs > 10);
	wl_graphgen_free(g1);
	wl_graphgen_free(g2);
	wl_graphgen_free(g3);

	/* stream independence: the request wait config does not change the linear graph sizes */
	struct cfg_session_graph l1 = {.type = CFG_GRAPH_LINEAR, .inherit_history = true};
	l1.num_request_generator = luni(1, 20);
	l1.request_wait_generator = (struct cfg_interval_gen){.type = CFG_INTERVAL_POISSON, .arrival_rate = 1};
	struct cfg_session_graph l2 = l1;
	l2.request_wait_generator = (struct cfg_interval_gen){.type = CFG_INTERVAL_GAMMA, .arrival_rate = 5, .cv = 2};
	g1 = wl_graphgen_create(&l1, 5, err, sizeof err);
	g2 = wl_graphgen_create(&l2, 5, err, sizeof err);
	for (int k = 0; k < 50; k++) {
		struct wl_session *a = wl_graphgen_next(g1), *b = wl_graphgen_next(g2);
		assert_int_equal(a->n_nodes, b->n_nodes);
		wl_session_free(a);
		wl_session_free(b);
	}
	wl_graphgen_free(g1);
	wl_graphgen_free(g2);
}

static void test_finish_edges_errors(void **state)
{
	(void)state;
	struct wl_session *s = calloc(1, sizeof *s);
	s->n_nodes = 3;
	s->requests = calloc(3, sizeof *s->requests);
	s->edges = calloc(2, sizeof *s->edges);
	s->n_edges = 2;
	s->edges[0] = (struct wl_edge){.src = 0, .dst = 2, .is_history_parent = true};
	s->edges[1] = (struct wl_edge){.src = 1, .dst = 2, .is_history_parent = true};
	char err[128];
	assert_int_equal(wl_session_finish_edges(s, err, sizeof err), -1);
	assert_non_null(strstr(err, "Ambiguous history inheritance for node 2"));
	s->edges[1].is_history_parent = false;
	assert_int_equal(wl_session_finish_edges(s, err, sizeof err), 0);
	assert_int_equal(s->requests[2].n_parents, 2);
	assert_int_equal(s->requests[2].history_parent, 0);
	s->edges[1] = (struct wl_edge){.src = 2, .dst = 1};
	assert_int_equal(wl_session_finish_edges(s, err, sizeof err), -1);
	wl_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_request),
	    cmocka_unit_test(test_session_size_clamped),
	    cmocka_unit_test(test_linear),
	    cmocka_unit_test(test_branching_single_root),
	    cmocka_unit_test(test_branching_multiple_roots),
	    cmocka_unit_test(test_branching_no_history),
	    cmocka_unit_test(test_branching_skip_connections),
	    cmocka_unit_test(test_determinism),
	    cmocka_unit_test(test_finish_edges_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
