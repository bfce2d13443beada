#ifndef VK_SERVER_SERVER_H
#define VK_SERVER_SERVER_H
/* Managed inference servers: command builders, launch, readiness, shutdown, provenance.
 *
 * Typical use (the runner):
 *     struct server_handle *h = server_start(&cfg->server, run_dir, err, sizeof err);
 *     if (!h) -> "Failed to launch server: <err>", exit 1 (config problems are reported the same way)
 *     if (server_wait_ready(h, &interrupted, err, sizeof err)) -> server_stop(h), exit 1
 *     ... point the client at server_api_base(h), cfg->server.model, cfg->server.api_key ...
 *     server_stop(h); server_handle_free(h);
 * server_start must be called from a thread that lives as long as the server (normally the main
 * thread): the child's parent-death signal fires when the forking thread exits.
 * Not thread-safe: one thread drives a handle. */
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"

/* Lower-case type name: "vllm", "vajra", "sglang", "sim". */
const char *server_type_name(enum cfg_server_type t);

/* Build the launch argv (NULL-terminated, each string and the array xmalloc'd; free with
 * server_argv_free). gpu_ids/n are the GPUs the server will get (only used for provenance today,
 * may be NULL/0). argv[0] is "<env_path>/bin/python" (env_path made absolute, `~` expanded) or
 * "python" when env_path is NULL; for type sim it is the veeksha executable (/proc/self/exe, or
 * $VEEKSHA_SELF_EXE when set - a test hook). Returns 0, or -1 with a message in err (invalid
 * additional_args JSON). */
int server_build_argv(const struct cfg_server *s, const int64_t *gpu_ids, size_t n, char ***argv_out, char *err,
                      size_t err_len);
void server_argv_free(char **argv);

/* The context length (max_model_len) that an OpenAI-compatible server reports for `model` in
 * GET <api_base>/models (vLLM and the sim report it; with a single listed model, that one's), or 0
 * when it reports none or cannot be asked within timeout_s. */
int64_t server_models_context_len(const char *api_base, const char *api_key, const char *model, double timeout_s);

/* Blocking GET with libcurl (the one place outside src/client that talks HTTP: health checks and the
 * server-metrics scrape, docs/OBSERVABILITY.md). Waits at most max(timeout_s, 0.1) s; `bearer` may be
 * NULL; the body is returned in *body_out (xmalloc'd) when a status arrived. Returns the HTTP status,
 * 0 when no answer came, or SERVER_HTTP_TOO_LARGE (no body) when the body passed
 * SERVER_HTTP_MAX_BODY_BYTES (it is never cut short). Thread-safe. */
#define SERVER_HTTP_MAX_BODY_BYTES ((size_t)4 << 20)
#define SERVER_HTTP_TOO_LARGE (-1L)
long server_http_get(const char *url, const char *bearer, double timeout_s, char **body_out);

/* Name of the environment variable through which the engine takes its API key, or NULL when it
 * takes the key only as --api-key on argv (SGLang, Vajra). A key on argv shows in `ps` to every
 * user of the machine; the environment of a process only to its owner (docs/SERVERS.md). vLLM
 * and the sim read VLLM_API_KEY. */
const char *server_api_key_env(enum cfg_server_type t);

/* Checks that need no side effects: env_path (after `~` expansion) has bin/python, additional_args
 * is a JSON object, port/host/model sane, explicit gpu_ids count == tensor_parallel_size.
 * 0 or -1 with a message. server_start calls it too. */
int server_validate(const struct cfg_server *s, char *err, size_t err_len);

/* Expand a leading `~` or `~/` (HOME). xmalloc'd; NULL in, NULL out. */
char *server_expand_user(const char *path);

struct server_handle;

/* Port check (the reference's message when in use), GPU lease, fork/exec (own process group,
 * parent-death SIGKILL, CUDA_VISIBLE_DEVICES, CUDA_DEVICE_ORDER=PCI_BUS_ID, PATH=<env>/bin:$PATH),
 * stdout+stderr appended to <run_dir>/server_logs_<type>_<host>_<port>_<%Y%m%d-%H%M%S>.log.
 * Writes <run_dir>/server.json. NULL with a message on failure (nothing left running). */
struct server_handle *server_start(const struct cfg_server *cfg, const char *run_dir, char *err, size_t err_len);

/* Poll GET /health every health_check_interval until startup_timeout, then GET /v1/models must list
 * the configured model. Returns 0 when ready; -1 on process exit, timeout, wrong model or
 * *interrupted != 0 (then err says "interrupted"). On exit/timeout the last 50 log lines and a
 * hint for recognised causes are printed on stderr. */
int server_wait_ready(struct server_handle *h, volatile sig_atomic_t *interrupted, char *err, size_t err_len);

const char *server_api_base(const struct server_handle *h); /* http://host:port/v1 */
const char *server_log_path(const struct server_handle *h);
pid_t server_pid(const struct server_handle *h);
/* GPU ids given to the server (CUDA_VISIBLE_DEVICES); *n = 0 when none. */
const int64_t *server_gpu_ids(const struct server_handle *h, size_t *n);
bool server_is_alive(struct server_handle *h);

/* SIGTERM to the whole process group, grace period ($VEEKSHA_SERVER_STOP_GRACE_S, default 30 s),
 * SIGKILL to the group, reap, release GPU leases, rewrite server.json. Idempotent.
 * Returns the server's exit code, 128+signal when it died from a signal (143 = our SIGTERM),
 * or -1 when it was never started. */
int server_stop(struct server_handle *h);
/* Human description of how the server ended ("exited with code 1", "terminated by SIGTERM"...),
 * or "running". */
const char *server_exit_desc(const struct server_handle *h);
/* True when the process exited before server_stop asked it to (crash, OOM, killed externally). */
bool server_exited_unexpectedly(struct server_handle *h);
/* After server_stop of a server that exited on its own during a run: says how it ended and where its
 * log is, then prints the log's last 50 lines and a hint for a recognised cause (as at startup). */
void server_report_death(const struct server_handle *h);

/* Stops the server first if still running. NULL is fine. */
void server_handle_free(struct server_handle *h);

/* Async-signal-safe: SIGKILL every process group started by server_start and not yet reaped. */
void server_kill_all_emergency(void);

/* Optional: a flag (set by the caller's SIGINT/SIGTERM handler) that aborts the GPU wait inside
 * server_start. */
void server_set_interrupt_flag(volatile sig_atomic_t *flag);

/* Diagnosis helper (exposed for tests): a one-line hint for a known failure in log text, or NULL. */
const char *server_diagnose_log(const char *log_text);

/* `veeksha gpus` (argv[0] = "gpus"). Returns the exit code. */
int server_gpus_main(int argc, char **argv);

#endif
