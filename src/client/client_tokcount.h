#ifndef VK_CLIENT_CLIENT_TOKCOUNT_H
#define VK_CLIENT_CLIENT_TOKCOUNT_H
/* Token counting through the server's /tokenize endpoint (vLLM's API; recent SGLang serves the same
 * one). Used when no local tokenizer was found (docs/TOKENIZER.md, resolution step 3).
 *
 *  - client_tokcount_probe(): blocking, called once before the benchmark starts;
 *  - struct client_tokcount: one counting thread with its own keep-alive curl easy handle, fed by a
 *    queue of jobs (each job = a list of texts to count). Results come back on the event loop's
 *    thread through an eventfd watched by the loop, so the loop never waits on an HTTP round trip.
 *
 * Every function except the probe and client_tokcount_split() must be called on the loop's thread. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "core/ev.h"

/* Find a working /tokenize endpoint for the API base (NULL: cfg->api_base, else OPENAI_API_BASE):
 * POST {root}/tokenize where root is the API base without a trailing "/v1", then, if that is not
 * found (404/405), {api_base}/tokenize. A working endpoint answers a probe text with an integer
 * "count". Returns the endpoint URL (malloc'd) or NULL with the reason in err. Bounded (2 s connect,
 * 5 s per attempt). */
char *client_tokcount_probe(const struct cfg_client *cfg, const char *api_base, char *err, size_t err_len);

struct client_tokcount;
struct client_tokcount_job;

/* counts[i] is the server's count of text i, or counts == NULL when counting failed (then `why`
 * says why) or the job was cancelled (why = "cancelled"). owner is what was given to job_new. */
typedef void (*client_tokcount_done_fn)(void *ctx, void *owner, const int64_t *counts, size_t n, const char *why);

/* url: the endpoint client_tokcount_probe returned. Starts the thread. NULL + err on failure. */
struct client_tokcount *client_tokcount_create(const char *url, const struct cfg_client *cfg, struct ev_loop *loop,
                                               client_tokcount_done_fn done, void *ctx, char *err, size_t err_len);
/* A new job for owner; add the texts (copied) then submit. */
struct client_tokcount_job *client_tokcount_job_new(void *owner);
void client_tokcount_job_add(struct client_tokcount_job *job, const char *text, size_t len);
void client_tokcount_submit(struct client_tokcount *tc, struct client_tokcount_job *job);
/* Jobs submitted and not delivered yet. */
size_t client_tokcount_pending(const struct client_tokcount *tc);
/* Deliver every pending job through done before returning: finished ones with their counts, the
 * others with counts == NULL and why = "cancelled" (a call in progress is abandoned: its result is
 * dropped when it arrives). Not from inside done. */
void client_tokcount_cancel_all(struct client_tokcount *tc);
/* Cancels what is pending (through done), stops the thread (an HTTP call in progress is aborted),
 * joins it and frees. */
void client_tokcount_free(struct client_tokcount *tc);

const char *client_tokcount_url(const struct client_tokcount *tc);
/* Statistics: texts sent to the server, answered from the cache, failed jobs. */
uint64_t client_tokcount_calls(const struct client_tokcount *tc);
uint64_t client_tokcount_cache_hits(const struct client_tokcount *tc);

/* Split `total` tokens over n chunks in proportion to weights w (e.g. the approximation's count of
 * each chunk's text): every chunk gets at least 1, and when total >= n the result sums to total
 * exactly (largest remainder). All-zero weights split evenly. */
void client_tokcount_split(const uint32_t *w, size_t n, int64_t total, int32_t *out);

#endif
