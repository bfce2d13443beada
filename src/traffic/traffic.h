#ifndef VK_TRAFFIC_H
#define VK_TRAFFIC_H
/* Traffic schedulers: rate (open loop), concurrent (closed loop with ramp-up) and
 * sequential_launch (docs/WORKLOAD.md, Traffic schedulers).
 *
 * Pure single-threaded logic: no threads, no sleeping, no clock reads. Every call that depends on
 * time receives the current monotonic time in ns, so tests drive a virtual clock.
 *
 * The scheduler pulls sessions from `src` when it needs one (rate: the next arrival; concurrent:
 * a free slot; sequential_launch: the next root). It owns those sessions and frees them once every
 * node finished or was dropped. A pointer returned by traffic_pop_ready() stays valid until
 * traffic_on_complete() for that request. Every heap/map operation is O(log n) or O(1). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "workload/request.h"

struct traffic;

/* Next session, or NULL when there are no more (the caller enforces max_sessions). */
typedef struct wl_session *(*traffic_source_fn)(void *ctx);

/* NULL (with a logged error) on an invalid configuration. Interval draws use the named stream
 * "traffic/interval" of `seed`. start_ns is the run start (time zero of every schedule). */
struct traffic *traffic_create(const struct cfg_traffic *cfg, uint64_t seed, int64_t start_ns, traffic_source_fn src,
                               void *src_ctx);
void traffic_free(struct traffic *t);

/* Run as shard `shard_index` of `shard_count` (docs/DISTRIBUTED.md). Call before the first event.
 * The source's sessions are numbered in the order they are pulled (0, 1, ...); this shard runs
 * those whose number modulo shard_count is shard_index and frees the others unsent:
 * - rate: every session still gets its arrival from the one global schedule (interval draws or
 *   trace offsets), so the union of the shards' arrivals is the unsharded schedule;
 * - concurrent: target_concurrent_sessions is divided as evenly as possible (the first
 *   target % count shards get one more); with fewer targets than shards, sessions are dealt among
 *   the first `target` shards only and the others run nothing;
 * - sequential_launch: the roots of this shard's sessions, one after another;
 * - rate's max_concurrency (a cap on requests in flight) is divided like a concurrency target, at
 *   least 1 per shard.
 * Returns -1 on an invalid pair or when called too late. */
int traffic_set_shard(struct traffic *t, uint32_t shard_index, uint32_t shard_count);
/* concurrent: this shard's target (after traffic_set_shard); 0 for other schedulers */
int64_t traffic_target_concurrency(const struct traffic *t);
/* sessions pulled from the source and left to other shards */
uint64_t traffic_sessions_skipped(const struct traffic *t);

/* Earliest time at which something may become ready (may be in the past: pop now);
 * INT64_MAX when nothing is scheduled (waiting for completions, or finished). */
int64_t traffic_next_event_ns(struct traffic *t);
/* The request a pop at traffic_next_event_ns() will most likely return, as it will then be
 * (nothing left to fill in at the pop: no history to copy from a parent), or NULL. A guess that
 * changes nothing: a caller may do work for it ahead of time (client_prepare_ahead) and must
 * check that the request it pops is this one. Call after traffic_next_event_ns(). */
const struct wl_request *traffic_peek_next(const struct traffic *t);
/* A request whose ready time is <= now_ns (history populated), or NULL. *intended_ns receives its
 * scheduled ready time (its place in the schedule, never shifted by a late pop). */
struct wl_request *traffic_pop_ready(struct traffic *t, int64_t now_ns, int64_t *intended_ns);
/* The request finished (success or not). assistant_text: the generated text (NULL or "" = none;
 * then no assistant message enters the history). Also acts as traffic_on_advance(). */
void traffic_on_complete(struct traffic *t, uint64_t request_id, int64_t now_ns, bool success,
                         const char *assistant_text);
/* sequential_launch: the request reached the ordering's advance point (headers / first chunk /
 * completion, or an error): the next root may be released. No-op for other schedulers and for
 * requests other than the outstanding root. */
void traffic_on_advance(struct traffic *t, uint64_t request_id);

/* Anything queued, in flight, waiting for parents or still to be pulled from the source (rate
 * traffic: pulls the next session from the source to know, as traffic_next_event_ns does). */
bool traffic_has_pending(struct traffic *t);
/* Timeout / signal: pull no new sessions. Requests of sessions already started keep being
 * scheduled (children included). */
void traffic_stop_new_sessions(struct traffic *t);
/* Stop everything: no new sessions, and every request not yet popped is dropped (counted in
 * traffic_dropped_requests). In-flight requests still need traffic_on_complete(). */
void traffic_stop_dispatch(struct traffic *t);

size_t traffic_in_flight(const struct traffic *t);
/* Number of requests of a live session (0 when unknown / already finished). A session stays live
 * at least until traffic_on_complete() of its last request. */
uint32_t traffic_session_size(const struct traffic *t, uint64_t session_id);

/* Counters. */
uint64_t traffic_sessions_started(const struct traffic *t);   /* sessions pulled and activated */
uint64_t traffic_sessions_finished(const struct traffic *t);  /* sessions fully done (freed) */
size_t traffic_live_sessions(const struct traffic *t);        /* activated, not yet freed */
uint64_t traffic_cancelled_requests(const struct traffic *t); /* dropped by cancel_session_on_failure */
uint64_t traffic_cancelled_sessions(const struct traffic *t);
uint64_t traffic_dropped_requests(const struct traffic *t);  /* dropped by traffic_stop_dispatch */
uint64_t traffic_rejected_sessions(const struct traffic *t); /* invalid sessions (e.g. ambiguous history) */

#endif
