#ifndef VK_CLIENT_CLIENT_H
#define VK_CLIENT_CLIENT_H
/* The streaming OpenAI-compatible HTTP client: libcurl multi_socket_action driven by one
 * core/ev.h loop. One `struct client` per loop/thread; every function must be called on the loop's
 * thread. See docs/CLIENT.md for timestamps, token counting and error codes. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "core/ev.h"
#include "client/record.h"
#include "core/sketch.h"
#include "tokenizer/tokenizer.h"
#include "workload/request.h"

struct client;

enum client_event {
	CLIENT_EVENT_HEADERS = 1,    /* response headers received (rec->headers_ns set) */
	CLIENT_EVENT_FIRST_CHUNK = 2 /* first content event recorded (rec->chunks[0] set) */
};

typedef void (*client_done_fn)(void *ctx, struct rec_record *rec, const struct wl_request *req);
typedef void (*client_event_fn)(void *ctx, struct rec_record *rec, int event);

/* cfg, loop and tok must outlive the client. event may be NULL. NULL + message in err on failure
 * (no api_base in config nor OPENAI_API_BASE, bad additional_sampling_params, curl init failure). */
struct client *client_create(const struct cfg_client *cfg, struct ev_loop *loop, const struct tok *tok,
                             client_done_fn done, client_event_fn event, void *ctx, char *err, size_t err_len);
/* Start req now. rec is reset (allocations kept), its ids are filled from req, rec->sent_ns is set
 * immediately before the transfer starts (intended_ns, dispatched_ns and session_total_requests
 * are kept as the caller set them). req and rec must stay valid until done(ctx, rec, req) returns.
 * done is called exactly once per submitted request, on the loop thread, never from inside
 * client_submit -- also for requests that could not be started (error recorded in rec).
 * Returns 0; -1 only for NULL arguments or out of curl handles (then done is not called).
 * May be called from done and event callbacks (a submit from inside curl is started from the loop
 * right after). */
int client_submit(struct client *c, const struct wl_request *req, struct rec_record *rec);
/* Build req's body ahead of its dispatch (req is the next scheduled request; docs/CLIENT.md,
 * Dispatch spin): client_submit of that same request (address and id) then only starts the
 * transfer. One request is held; preparing another replaces it. req is not kept or read after
 * this returns unless it is then submitted. */
void client_prepare_ahead(struct client *c, const struct wl_request *req);
/* Requests submitted with a body built ahead, and bodies built ahead and then replaced unused. */
void client_ahead_stats(const struct client *c, uint64_t *used, uint64_t *replaced);
size_t client_in_flight(const struct client *c);
/* Complete every in-flight request as REC_ERR_CANCELLED (REC_CODE_CANCELLED, message `why`) via done, before
 * returning. Called from an event callback (inside curl), it takes effect from the loop right after.
 * Not to be called from inside done/event callbacks of client_free's cancellation. */
void client_cancel_all(struct client *c, const char *why);
/* Cancels what is still in flight (through done), then frees. Not from inside client callbacks. */
void client_free(struct client *c);

/* Count tokens with the server's /tokenize endpoint at url (from client_tokcount_probe(), see
 * client/client_tokcount.h) instead of the client's tokenizer: each finished request's texts go to a
 * counting thread and its record is handed over (done) when the counts come back; the loop never
 * waits. Records whose counts fail, or that are cancelled while waiting, are counted with the
 * client's tokenizer. Call on the loop's thread before submitting. Returns 0, or -1 with err. */
int client_use_server_count(struct client *c, const char *url, char *err, size_t err_len);
/* Records counted through the server so far, how many of them failed, and how many were cancelled
 * while waiting (both of these were counted with the client's tokenizer). */
void client_server_count_stats(const struct client *c, uint64_t *records, uint64_t *failed, uint64_t *cancelled);

/* Keep-alive pool: at least n idle connections are kept (CURLMOPT_MAXCONNECTS). The pool also
 * grows automatically to the number of requests in flight. */
void client_set_pool_size(struct client *c, size_t n);
/* The URL the client posts to for req (api_base + '/' + path). */
const char *client_url(const struct client *c, const struct wl_request *req);
/* Times curl's timeout timer fired (diagnostics; a stale timer would make this grow while idle). */
uint64_t client_timer_fires(const struct client *c);
/* How long received bytes waited in their socket before the loop read them: read time minus the
 * kernel's receive stamp, one value per stamped read callback (headers, chunks), in ns (DDSketch,
 * 0.1%; its store grows a few times per run, never per value once the range is seen). A chunk's
 * stamp is its own arrival unless the stream's next chunk arrived before that read (TCP then
 * reports the later one), so a lag well below the inter-chunk time means every stamp is exact. */
const struct sketch *client_read_lag(const struct client *c);
/* Call once before any thread is started (client_create also calls it, once per process). */
void client_global_init(void);

/* Raise RLIMIT_NOFILE toward the hard limit so that `wanted` descriptors fit. Returns 0 when the
 * resulting soft limit is >= wanted, 1 when it stays below (msg holds a clear warning naming both
 * numbers and `ulimit -n`), -1 on error. */
int client_raise_nofile(size_t wanted, char *msg, size_t msg_len);
/* The descriptors this process may open now (soft RLIMIT_NOFILE; SIZE_MAX when unlimited). */
size_t client_nofile_limit(void);

#endif
