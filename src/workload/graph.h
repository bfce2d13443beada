#ifndef VK_WORKLOAD_GRAPH_H
#define VK_WORKLOAD_GRAPH_H
/* Session graph generators: single_request, linear, branching (docs/WORKLOAD.md, Session
 * graphs).
 *
 * wl_graphgen_next() returns a fresh session skeleton: n_nodes requests with node_id,
 * wait_after_ready_s, parent_nodes (ascending), history_parent and api_mode set, edges sorted by
 * (src, dst), everything else zero (id 0, no prompt, arrival_offset_s = -1). Graphs are DAGs by
 * construction: every edge goes from a lower layer (and a lower node id) to a higher one. */
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "workload/request.h"

struct wl_graphgen;

struct wl_graphgen *wl_graphgen_create(const struct cfg_session_graph *cfg, uint64_t root_seed, char *err,
                                       size_t err_len);
struct wl_session *wl_graphgen_next(struct wl_graphgen *g);
void wl_graphgen_free(struct wl_graphgen *g);

/* Fill parent_nodes/history_parent of every request from s->edges and sort the edges.
 * Returns 0, or -1 (message in err) when an edge is out of range or goes backwards
 * (src >= dst), or a node has more than one history-parent edge. Used by generators that build
 * edges themselves (trace replay). */
int wl_session_finish_edges(struct wl_session *s, char *err, size_t err_len);

#endif
