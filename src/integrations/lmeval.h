#ifndef VK_INTEGRATIONS_LMEVAL_H
#define VK_INTEGRATIONS_LMEVAL_H
/* Accuracy under load with lm-evaluation-harness (docs/INTEGRATIONS.md).
 *
 * The lm-eval bridge (python/veeksha_bridges/lmeval_bridge.py, run by <env_path>/bin/python)
 * builds the tasks' documents and their requests with lm_eval's own API. Veeksha reads them all at
 * the start (a bounded list: runtime.max_sessions documents, round-robin across tasks), turns
 * each document into a session (one request per lm-eval request, all roots, no think time) that
 * the configured traffic scheduler launches, keeps every response, and at the end of the run hands
 * them back; the bridge scores them with the tasks' own process_results/aggregation, and Veeksha
 * writes metrics/lmeval_results.json.
 *
 * One lm-eval session per process at a time, shared by every client loop of the run: the first
 * integ_lmeval_acquire() starts it, the last integ_lmeval_release() ends it. Thread-safe. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "tokenizer/tokenizer.h"
#include "workload/request.h"
#include "workload/session_gen.h"

/* Start the bridge and read the documents (the first call of a run; later ones, the other client
 * loops' generators, share them).
 * 0, or -1 + one-line err (a missing environment, package or task; no traffic has been sent). */
int integ_lmeval_acquire(const struct cfg_benchmark *cfg, const struct tok *tok, char *err, size_t err_len);
void integ_lmeval_release(void);
/* Document *cursor as a session (caller owns it), then ++*cursor: 0, or 1 past the last document.
 * Every client loop walks all documents with its own cursor; its traffic scheduler keeps those of
 * its shard (docs/DISTRIBUTED.md). */
int integ_lmeval_next(size_t *cursor, struct wl_session **out);
/* A finished request (any client loop, any request: those that are no lm-eval request are
 * ignored). text: the generated text; err_msg: why it failed (when !success). */
void integ_lmeval_record(uint64_t request_id, bool success, const char *text, size_t text_len, const char *err_msg);
/* At the end of a run with the lmeval session generator and the accuracy_lmeval evaluator: score
 * the responses and write <run_dir>/metrics/lmeval_results.json. 0 (also: nothing to do), or 1
 * when scoring failed (logged in one line; the timing files are untouched). */
int integ_lmeval_finish(const struct cfg_benchmark *cfg, const char *run_dir);

/* The three above for the session generators (wl_session_gen_set_lmeval_source). */
extern const struct wl_lmeval_source integ_lmeval_source;

/* Fuzzing and tests: `data` as the lines a bridge writes while loading (doc ... docs_end), turned
 * into documents and sessions with the same code as a run's, then dropped. 0 when it was a valid
 * document list, else -1 + err. Not while a run's lm-eval session is active. */
int integ_lmeval_feed(const char *data, size_t len, const struct tok *tok, char *err, size_t err_len);

/* Everything the integrations do at the end of a run, in order: lm-eval's scoring, then the W&B
 * log (integ_wandb_log, integrations/wandb.h). Returns what integ_lmeval_finish returns. */
int integ_run_end(const struct cfg_benchmark *cfg, const char *run_dir);

#endif
