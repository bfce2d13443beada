#ifndef VK_SIM_SIM_H
#define VK_SIM_SIM_H
/* The simulated inference engine (`veeksha sim-server`), module-internal interfaces.
 *
 *  - sim_model.c:  GPU / model-architecture tables, presets, the roofline step-time model;
 *  - sim_engine.c: the continuous-batching scheduler (virtual-clock library, no threads, no I/O);
 *  - sim_http.c:   a small HTTP/1.1 request-head parser (pure, fuzzed);
 *  - sim_api.c:    OpenAI request-body parsing (cJSON) and response/chunk formatting;
 *  - sim_tokens.c: token counting / output text (word approximation until src/tokenizer lands);
 *  - sim_server.c and the files listed in sim_server.h: the HTTP server on core/ev (workers,
 *    connections, streams, endpoints, faults, emit log);
 *  - sim_main.c:   command line. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/list.h"

/* ---------------------------------------------------------------- model tables (sim_model.c) */
struct sim_gpu {
	const char *name;
	double mem_bytes; /* HBM capacity */
	double hbm_bps;   /* bandwidth, bytes/s (spec) */
	double flops;     /* bf16 dense FLOP/s (spec) */
};

struct sim_arch {
	const char *name;
	const char *hf_id; /* canonical served model id */
	double n_params;
	int n_layers, d_model, n_heads, n_kv_heads, head_dim, vocab;
};

struct sim_preset {
	const char *name;
	const char *arch;
	const char *gpu;
	int tp;
	int max_model_len;
};

const struct sim_gpu *sim_gpu_find(const char *name);
const struct sim_arch *sim_arch_find(const char *name);
/* Map a served model id (e.g. "meta-llama/Llama-3-8B-Instruct") to a known architecture; NULL if unknown. */
const struct sim_arch *sim_arch_from_model_id(const char *model_id);
const struct sim_preset *sim_preset_find(const char *name);
size_t sim_gpu_count(void);
const struct sim_gpu *sim_gpu_at(size_t i);
size_t sim_arch_count(void);
const struct sim_arch *sim_arch_at(size_t i);
size_t sim_preset_count(void);
const struct sim_preset *sim_preset_at(size_t i);

/* Engine parameters: the roofline model plus scheduler limits. */
struct sim_engine_params {
	struct sim_arch arch;
	struct sim_gpu gpu;
	int tp;
	double dtype_bytes;             /* 2 (bf16) */
	int max_num_seqs;               /* 256 */
	int64_t max_num_batched_tokens; /* 8192 */
	int block_size_tokens;          /* 16 */
	double gpu_memory_utilization;  /* 0.9 */
	double mfu, mbu;                /* 0.5, 0.8 */
	double overhead_s;              /* 1.5e-3 */
	double allreduce_per_layer_s;   /* 10e-6 (x2 per layer, only when tp > 1) */
	int64_t kv_capacity_tokens;     /* 0 = derive from memory */
};

void sim_engine_params_default(struct sim_engine_params *p, const struct sim_arch *arch, const struct sim_gpu *gpu,
                               int tp);
double sim_kv_bytes_per_token(const struct sim_engine_params *p);
double sim_weight_bytes(const struct sim_engine_params *p);
/* Capacity in tokens (rounded down to whole blocks); <= 0 when the weights do not fit. */
int64_t sim_kv_capacity_tokens(const struct sim_engine_params *p);
/* Roofline step time in seconds for `prefill_tokens` prompt tokens whose summed attention context is
 * `prefill_ctx_sum`, plus `decode_seqs` decoding sequences whose summed context is `decode_ctx_sum`. */
double sim_step_time_s(const struct sim_engine_params *p, int64_t prefill_tokens, double prefill_ctx_sum,
                       int64_t decode_seqs, double decode_ctx_sum);

/* ---------------------------------------------------------------- engine (sim_engine.c) */
enum sim_seq_state { SIM_SEQ_NEW = 0, SIM_SEQ_WAITING, SIM_SEQ_RUNNING, SIM_SEQ_DONE };

struct sim_seq {
	/* set by the caller before submit */
	int64_t prompt_tokens;
	int64_t output_tokens; /* tokens to generate (>= 1) */
	void *user;
	/* engine state */
	int64_t emitted;        /* output tokens produced so far */
	int64_t prefill_target; /* tokens to (re)compute before decoding: prompt (+ emitted after preemption) */
	int64_t prefilled;
	int64_t blocks; /* KV blocks held */
	int64_t preemptions;
	bool scheduled;         /* admitted at least once (reported once in sim_step.admitted) */
	int64_t first_sched_ns; /* set by the server: start of the step that first admitted it (0 = not yet) */
	enum sim_seq_state state;
	struct list_node node; /* on the engine's waiting or running list */
};

struct sim_emit {
	struct sim_seq *seq; /* NULL when the sequence was aborted after the step was planned */
	bool first;          /* first output token */
	bool finished;       /* last output token; the engine no longer references seq */
};

struct sim_step {
	double duration_s;
	int64_t prefill_tokens, decode_tokens;
	int64_t n_running, n_waiting;
	size_t n_emit;
	struct sim_emit *emit; /* owned by the engine, valid until the next step */
	/* sequences admitted for the first time in this step (queue time = step start - arrival);
	 * owned by the engine, valid until the next step or an abort */
	size_t n_admitted;
	struct sim_seq **admitted;
};

struct sim_engine;
struct sim_engine *sim_engine_new(const struct sim_engine_params *p);
void sim_engine_free(struct sim_engine *e);
/* Queue a sequence (FCFS). Returns 0, or -1 if it can never fit (prompt larger than KV capacity). */
int sim_engine_submit(struct sim_engine *e, struct sim_seq *s);
/* Remove a sequence wherever it is (waiting, running, or in the last planned step). */
void sim_engine_abort(struct sim_engine *e, struct sim_seq *s);
/* Plan one step: returns false when idle (nothing waiting or running). Tokens in out->emit are
 * produced at the END of the step (start + duration). */
bool sim_engine_step(struct sim_engine *e, struct sim_step *out);
int64_t sim_engine_running(const struct sim_engine *e);
int64_t sim_engine_waiting(const struct sim_engine *e);
double sim_engine_kv_usage(const struct sim_engine *e);        /* 0..1 */
int64_t sim_engine_kv_used_tokens(const struct sim_engine *e); /* blocks in use x block size */
int64_t sim_engine_preemptions(const struct sim_engine *e);    /* since creation */
int64_t sim_engine_capacity_tokens(const struct sim_engine *e);
const struct sim_engine_params *sim_engine_get_params(const struct sim_engine *e);

/* ---------------------------------------------------------------- HTTP parser (sim_http.c) */
#define SIM_HTTP_MAX_HEAD 16384
#define SIM_HTTP_MAX_BODY (8 * 1024 * 1024)

struct sim_str {
	const char *p;
	size_t n;
};

struct sim_http_req {
	struct sim_str method, target, path;
	int version_minor; /* 0 or 1 (HTTP/1.x) */
	bool has_content_length;
	uint64_t content_length;
	bool chunked;
	bool conn_close, conn_keep_alive;
	bool expect_continue; /* Expect: 100-continue */
	struct sim_str authorization, request_id;
	size_t head_len; /* bytes up to and including the blank line */
};

enum sim_http_rc {
	SIM_HTTP_INCOMPLETE = 0,
	SIM_HTTP_OK = 1,
	SIM_HTTP_BAD = -1,         /* 400 */
	SIM_HTTP_TOO_LARGE = -2,   /* 431 / 413 */
	SIM_HTTP_BAD_VERSION = -3, /* 505 */
};

/* Parse a request head from data[0..len). Never reads beyond len. */
enum sim_http_rc sim_http_parse(const char *data, size_t len, struct sim_http_req *out);
bool sim_str_eq(struct sim_str s, const char *lit);
bool sim_str_case_eq(struct sim_str s, const char *lit);

/* ---------------------------------------------------------------- tokens (sim_tokens.c) */
/* Tokenizer selection (before any thread starts): --tokenizer PATH, else tok_resolve(NULL, model)
 * (HuggingFace cache of the served model, else the word approximation). Without a call, the word
 * approximation is used. Returns 0 or -1 (message printed). */
int sim_tok_init(const char *path, const char *model);
bool sim_tok_is_approx(void);
int64_t sim_tok_count(const char *text, size_t len);
/* Token id <-> text for /tokenize and /detokenize. */
int sim_tok_encode(const char *text, size_t len, int32_t **ids, size_t *n);
void sim_tok_decode(const int32_t *ids, size_t n, struct buf *out);
/* Text of output token i of a request whose text seed is `seed` (one token each, e.g. " the"). */
const char *sim_tok_output_piece(uint64_t seed, int64_t i, size_t *len);
const char *sim_tok_name(void);
int64_t sim_tok_vocab_size(void);

/* ---------------------------------------------------------------- API bodies (sim_api.c) */
enum sim_api_kind { SIM_API_CHAT = 0, SIM_API_COMPLETIONS = 1 };

#define SIM_API_MAX_STOP 4

struct sim_api_req {
	enum sim_api_kind kind;
	char model[256];
	bool stream;
	bool include_usage, continuous_usage;
	bool ignore_eos;
	bool has_max_tokens;
	int64_t max_tokens;
	int64_t min_tokens;
	int64_t prompt_tokens;
	int n_stop;
	char stop[SIM_API_MAX_STOP][64];
};

/* Parse and validate a chat/completions body. Returns 0, or an HTTP status (400) with a message. */
int sim_api_parse(enum sim_api_kind kind, const char *body, size_t len, struct sim_api_req *out, char *err,
                  size_t err_len);
/* OpenAI-style error JSON: {"error":{"message":..,"type":..,"param":null,"code":N}} */
void sim_api_error_json(struct buf *b, int status, const char *message);
const char *sim_http_reason(int status);

/* ---------------------------------------------------------------- server (sim_server.c, sim_server.h) */
struct sim_cfg;
/* The port lfd is bound to (the kernel's choice with --port 0), written to cfg->port_file when set
 * (sim_main.c; docs/SIM.md, Port). Returns the port, or -1 with err. */
int sim_announce_port(const struct sim_cfg *cfg, int lfd, char *err, size_t err_len);

enum sim_mode { SIM_MODE_ROOFLINE = 0, SIM_MODE_FIXED, SIM_MODE_ZERO };

struct sim_cfg {
	const char *host;
	int port;                 /* 0: the kernel picks a free one (sim_announce_port reports it) */
	const char *port_file;    /* --port-file: where the bound port is written once listening; NULL = none */
	const char *served_model; /* id reported by /v1/models and accepted in bodies */
	const char *api_key;      /* NULL = no auth */
	enum sim_mode mode;
	double ttft_ms, itl_ms; /* fixed mode */
	int tokens_per_chunk;   /* tokens per SSE chunk (all modes) */
	uint64_t seed;
	int workers;
	double shutdown_grace_s;
	double startup_delay_s;
	int64_t max_model_len;
	const char *emit_log;
	double fail_rate, disconnect_rate, error_event_rate;
	double stall_ms, stall_rate;
	int64_t crash_after;
	bool refuse_connections;
	double output_len_median, output_len_sigma;
	/* reasoning (docs/SIM.md, Reasoning): each request first "thinks" R tokens, R uniform in
	 * [reasoning_tokens_min, reasoning_tokens_max], streamed as delta.reasoning_content; 0 = off */
	int64_t reasoning_tokens_min, reasoning_tokens_max;
	bool log_requests;
	/* busy-poll when the next timer is closer than this (0 = never) */
	double spin_us;
	bool metrics_sglang; /* /metrics with SGLang's names (--metrics-names sglang, or -m sglang.*) */
	/* SCHED_FIFO priority of workers/engine (0 = normal scheduling) */
	int rt_priority;
	struct sim_engine_params engine;
};

int sim_server_run(const struct sim_cfg *cfg);

#endif
