#ifndef VK_CONFIG_TYPES_H
#define VK_CONFIG_TYPES_H
/* The typed configuration tree: one struct per configuration class of the Python Veeksha
 * (docs/CONFIG.md, Key reference). Defaults are set by config_*_defaults().
 *
 * Conventions:
 *  - Strings are heap-owned `char *` (NULL = Python None). Lists are pointer + count.
 *  - Polymorphic sections carry an enum `type` and the union of all variants' fields;
 *    only the fields of the selected variant are meaningful.
 *  - Units are in field names where the reference's key has none in ours (the YAML key stays the reference's).
 *  - Everything is freed by config_benchmark_free() (config.h). Configs are immutable after loading,
 *    except where the runner fills in managed-server settings (client.api_base/model/api_key). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- generators ---- */
enum cfg_interval_type { CFG_INTERVAL_POISSON = 0, CFG_INTERVAL_GAMMA, CFG_INTERVAL_FIXED };

struct cfg_interval_gen {
	enum cfg_interval_type type;
	double arrival_rate; /* poisson, gamma: events per second (default 1.0) */
	double cv;           /* gamma: coefficient of variation (default 0.5) */
	double interval;     /* fixed: seconds (default 1.0) */
};

enum cfg_length_type {
	CFG_LENGTH_FIXED = 0,
	CFG_LENGTH_FIXED_STAIR,
	CFG_LENGTH_UNIFORM,
	CFG_LENGTH_ZIPF,
	CFG_LENGTH_INVERSE_GAUSSIAN
};

struct cfg_length_gen {
	enum cfg_length_type type;
	int64_t value;   /* fixed (default 8) */
	int64_t *values; /* fixed_stair (default [8,16,32,64]) */
	size_t n_values;
	int64_t repeat_each; /* fixed_stair (default 1) */
	bool wrap;           /* fixed_stair (default true) */
	int64_t min, max;    /* uniform, zipf (default 6, 12) */
	double theta;        /* zipf (default 0.6) */
	bool scramble;       /* zipf (default false) */
	double mean, shape;  /* inverse_gaussian (default 500.0, 300.0) */
};

/* ---- channels and requested output ---- */
enum cfg_channel_type { CFG_CHANNEL_TEXT = 0, CFG_CHANNEL_IMAGE, CFG_CHANNEL_AUDIO, CFG_CHANNEL_VIDEO };

struct cfg_channel {
	enum cfg_channel_type type;                  /* only text is supported; others are config errors */
	struct cfg_length_gen body_length_generator; /* uniform(6,12) */
	double shared_prefix_ratio;                  /* 0.0 */
	double shared_prefix_probability;            /* 1.0 */
};

struct cfg_output_spec {
	bool has_text;                            /* text: TextOutputSpecConfig() by default */
	struct cfg_length_gen text_output_length; /* text.output_length_generator: uniform(6,12) */
	bool has_image;                           /* image: null by default (accepted, unused) */
	int64_t image_num_images;                 /* 1 */
	char *image_size, *image_quality;         /* null */
	                                          /* audio/video: must be null (NotImplemented in the reference) */
};

/* ---- session graphs ---- */
enum cfg_graph_type { CFG_GRAPH_LINEAR = 0, CFG_GRAPH_SINGLE_REQUEST, CFG_GRAPH_BRANCHING };

struct cfg_session_graph {
	enum cfg_graph_type type;
	bool inherit_history;                            /* linear, branching: true */
	struct cfg_length_gen num_request_generator;     /* linear: uniform(6,12) */
	struct cfg_interval_gen request_wait_generator;  /* linear, branching: poisson(1.0) */
	struct cfg_length_gen num_layers_generator;      /* branching: uniform(2,5) */
	struct cfg_length_gen layer_width_generator;     /* branching: uniform(1,3) */
	struct cfg_length_gen fan_out_generator;         /* branching: uniform(1,2) */
	struct cfg_length_gen fan_in_generator;          /* branching: uniform(1,2) */
	struct cfg_length_gen connection_dist_generator; /* branching: fixed(1) */
	bool single_root;                                /* branching: true */
};

/* ---- trace flavors ---- */
enum cfg_flavor_type {
	CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN = 0,
	CFG_FLAVOR_SHARED_PREFIX,
	CFG_FLAVOR_RAG,
	CFG_FLAVOR_REQUEST_LOG,
	CFG_FLAVOR_UNTIMED_CONTENT_MULTI_TURN,
	CFG_FLAVOR_SHAREGPT, /* ours: ShareGPT JSON conversations */
	CFG_FLAVOR_MOONCAKE  /* ours: Mooncake-style JSONL (timestamp, input_length, output_length, hash_ids) */
};

struct cfg_trace_flavor {
	enum cfg_flavor_type type;
	char *corpus_file;          /* timed_synthetic_multi_turn, shared_prefix: "traces/corpus.txt" */
	int64_t page_size;          /* timed_synthetic_multi_turn: 16 */
	int64_t block_size;         /* shared_prefix: 512; mooncake: 512 */
	int64_t num_documents;      /* rag: 10 */
	char *conversation_column;  /* untimed_content_multi_turn: "conversations" */
	char *role_key;             /* "from" */
	char *content_key;          /* "value" */
	char *user_role_value;      /* "human" */
	char *assistant_role_value; /* "gpt" */
	bool replay_timestamps;     /* mooncake: false (use the traffic scheduler's intervals) */
	double time_scale;          /* mooncake: 1.0 (timestamps multiplied by this) */
};

/* ---- session generators ---- */
enum cfg_session_gen_type { CFG_SESSION_GEN_SYNTHETIC = 0, CFG_SESSION_GEN_LMEVAL, CFG_SESSION_GEN_TRACE };

struct cfg_session_gen {
	enum cfg_session_gen_type type;
	/* synthetic */
	struct cfg_session_graph session_graph;
	struct cfg_channel *channels; /* default [text] */
	size_t n_channels;
	struct cfg_output_spec output_spec;
	/* lmeval */
	char **tasks; /* ["hellaswag"] */
	size_t n_tasks;
	int64_t num_fewshot; /* 1 */
	char *env_path;      /* Python environment with lm_eval (ours; docs/INTEGRATIONS.md) */
	/* trace */
	char *trace_file; /* "" */
	bool wrap_mode;   /* true */
	struct cfg_trace_flavor flavor;
};

/* ---- traffic ---- */
enum cfg_traffic_type { CFG_TRAFFIC_RATE = 0, CFG_TRAFFIC_CONCURRENT, CFG_TRAFFIC_SEQUENTIAL_LAUNCH };
enum cfg_launch_ordering { CFG_ORDERING_DISPATCH = 0, CFG_ORDERING_PREFILL, CFG_ORDERING_REQUEST };

struct cfg_traffic {
	enum cfg_traffic_type type;
	bool cancel_session_on_failure;             /* true */
	struct cfg_interval_gen interval_generator; /* rate: poisson(1.0) */
	int64_t max_concurrency;                    /* rate: at most this many requests in flight, 0 = no cap (ours) */
	int64_t target_concurrent_sessions;         /* concurrent: 3 */
	int64_t rampup_seconds;                     /* concurrent: 10 */
	enum cfg_launch_ordering ordering;          /* sequential_launch: "dispatch" */
};

/* ---- client ---- */
enum cfg_client_type { CFG_CLIENT_CHAT = 0, CFG_CLIENT_COMPLETIONS, CFG_CLIENT_ROUTER };

struct cfg_client {
	enum cfg_client_type type;
	char *api_base;                      /* null -> env OPENAI_API_BASE */
	char *api_key;                       /* null -> env OPENAI_API_KEY; secret: redacted in files */
	char *model;                         /* "meta-llama/Meta-Llama-3-8B-Instruct" */
	char *address_append_value;          /* chat: "chat/completions"; completions: "completions" */
	int64_t request_timeout;             /* seconds: 300 */
	char *additional_sampling_params;    /* JSON object text: "{}" */
	char *max_tokens_param;              /* chat/router: "max_completion_tokens"; completions: "max_tokens" */
	bool ignore_eos;                     /* true */
	char *min_tokens_param;              /* null */
	bool use_min_tokens_prompt_fallback; /* false */
	char *completions_max_tokens_param;  /* router: "max_tokens" */
	/* ours (new keys, documented in docs/CONFIG.md) */
	char *tokenizer;            /* null: path to tokenizer.json or a directory holding one */
	bool verify_tls;            /* true */
	bool stream;                /* true: stream responses (also for openai_completions) */
	bool include_usage;         /* true: request stream_options.include_usage */
	int64_t max_response_bytes; /* 64 MiB: a larger response fails (docs/CLIENT.md) */
	char *ca_bundle;            /* null: CA file or directory to trust (docs/CLIENT.md, TLS) */
	char *tls_cert, *tls_key;   /* null: client certificate and key (mutual TLS) */
};

/* Size limits (docs/CONFIG.md, "Limits"). A prompt or output length above the limit is a config
 * error (length generators) or a trace error (trace rows). The default, 2^20 tokens, is the
 * largest context of current long-context models; it keeps one prompt's text to a few MB.
 * runtime.max_request_tokens raises it up to the ceiling; server.max_model_len lowers it. */
#define CFG_DEFAULT_MAX_REQUEST_TOKENS INT64_C(1048576)
/* an int key given as "auto" (a key described with FF_AUTO) */
#define CFG_INT_AUTO INT64_MIN
#define CFG_MAX_REQUEST_TOKENS_CEILING INT64_C(134217728)
/* Requests per session (every node of a session is built before its first dispatch). */
#define CFG_MAX_SESSION_REQUESTS INT64_C(10000)

/* ---- runtime ---- */
struct cfg_runtime {
	int64_t max_sessions;               /* 25; -1 unlimited */
	int64_t benchmark_timeout;          /* seconds: 300; <= 0 disables */
	int64_t post_timeout_grace_seconds; /* -1 wait for all; 0 exit immediately */
	int64_t num_dispatcher_threads;     /* 2 (accepted; see docs) */
	int64_t num_completion_threads;     /* 2 (accepted; see docs) */
	int64_t num_client_threads;         /* 3: number of client worker threads */
	bool pregenerate_sessions;          /* false */
	int64_t dispatch_spin_us;           /* CFG_INT_AUTO (default): calibrated, at most 20000; N: calibrated, at most
	                                       N; 0: never stay awake for a dispatch (docs/CLIENT.md, Dispatch spin) */
	int64_t max_request_tokens;         /* 1048576: largest prompt or output length (docs/CONFIG.md, Limits) */
	double saturation_busy_fraction;    /* 0.9: a 250 ms tick with the client loop busier is a busy tick (ours) */
	double saturation_lateness_p99_ms;  /* 1.0: a dispatch lateness p99 above this: the client fell behind (ours) */
};

/* ---- evaluators and SLOs ---- */
enum cfg_slo_metric { CFG_SLO_TTFC = 0, CFG_SLO_TBC, CFG_SLO_TPOT, CFG_SLO_E2E, CFG_SLO_TTFO };

struct cfg_slo {
	/* type: constant (only one) */
	double percentile;          /* 0.99, in [0, 1] */
	char *name;                 /* null */
	enum cfg_slo_metric metric; /* "ttfc" */
	double value;               /* -1.0 default; must be > 0 */
};

enum cfg_window_selection { CFG_WINDOW_LONGEST = 0, CFG_WINDOW_FIRST, CFG_WINDOW_ALL };

struct cfg_decode_window {
	bool min_active_max_observed;                 /* min_active_requests: "max_observed" */
	int64_t min_active_requests;                  /* 1 (when not max_observed) */
	enum cfg_window_selection selection_strategy; /* "longest" */
	bool anchor_to_client_pickup;                 /* true */
	bool require_streaming;                       /* true */
};

enum cfg_evaluator_type { CFG_EVAL_PERFORMANCE = 0, CFG_EVAL_ACCURACY_LMEVAL };

struct cfg_evaluator {
	enum cfg_evaluator_type type;
	enum cfg_channel_type *target_channels; /* ["text"] */
	size_t n_target_channels;
	struct cfg_slo *slos; /* default: P99 TTFC 0.5 s, P90 TBC 0.05 s */
	size_t n_slos;
	bool stream_metrics;            /* true */
	double stream_metrics_interval; /* 5.0 s */
	/* performance */
	double max_error_rate;        /* 0.0: any errored request fails the verdict (docs/FAILURES.md) */
	double timeseries_interval_s; /* 1.0: width of a metrics/timeseries.csv bucket; 0 = off (ours) */
	/* measurement window (docs/METRICS.md, Measurement window): requests dispatched in the first
	 * warmup_seconds / as the first warmup_requests, or in the last cooldown_seconds / as the last
	 * cooldown_requests, run but are left out of every metric; 0 = none (ours) */
	double warmup_seconds, cooldown_seconds;
	int64_t warmup_requests, cooldown_requests;
	bool decode_window_enabled;    /* text_channel.decode_window_enabled: false */
	bool has_decode_window_config; /* text_channel.decode_window_config: null */
	struct cfg_decode_window decode_window_config;
	/* accuracy_lmeval */
	int64_t bootstrap_iters; /* 100000 */
};

/* ---- trace recorder ---- */
struct cfg_trace_recorder {
	bool enabled;         /* true */
	bool include_content; /* false */
};

/* ---- server metrics scrape (docs/OBSERVABILITY.md) ---- */
struct cfg_server_metrics {
	bool enabled;      /* true */
	double interval_s; /* 1.0 */
	char *url; /* NULL: the managed server's /metrics, else scheme://host:port of client.api_base + /metrics */
	char **prefixes; /* ["vllm:", "sglang:", "sim:"]: sample names kept */
	size_t n_prefixes;
};

/* ---- managed servers ---- */
enum cfg_server_type { CFG_SERVER_VLLM = 0, CFG_SERVER_VAJRA, CFG_SERVER_SGLANG, CFG_SERVER_SIM };

struct cfg_server {
	enum cfg_server_type type;
	char *env_path;   /* null; `~` expanded; <env_path>/bin/python must exist */
	char *model;      /* "meta-llama/Meta-Llama-3-8B-Instruct" */
	char *host;       /* "localhost" */
	int64_t port;     /* 8000 */
	char *api_key;    /* "token-abc123"; secret: redacted in files */
	int64_t *gpu_ids; /* null = auto-assign */
	size_t n_gpu_ids;
	bool has_gpu_ids;
	int64_t startup_timeout;      /* seconds: 300 */
	double health_check_interval; /* seconds: 2.0 */
	bool require_contiguous_gpus; /* true */
	int64_t tensor_parallel_size; /* 1 */
	char *dtype;                  /* "auto" */
	int64_t max_model_len;        /* 0 = null */
	char *additional_args;        /* JSON object text (a YAML mapping is converted): "{}" */
};

/* ---- wandb (docs/INTEGRATIONS.md) ---- */
struct cfg_wandb {
	bool enabled;
	char *project, *entity, *group, *run_name, *notes, *mode;
	char **tags;
	size_t n_tags;
	bool log_artifacts; /* true */
	char *env_path;     /* Python environment with wandb (ours) */
};

/* ---- the root ---- */
struct cfg_benchmark {
	char *output_dir; /* "benchmark_output" */
	int64_t seed;     /* 42 */
	struct cfg_session_gen session_generator;
	struct cfg_traffic traffic_scheduler;
	struct cfg_evaluator *evaluators; /* [performance] (non-empty) */
	size_t n_evaluators;
	struct cfg_client client;
	struct cfg_runtime runtime;
	struct cfg_trace_recorder trace_recorder;
	struct cfg_server_metrics server_metrics;
	bool has_server;
	struct cfg_server server;
	struct cfg_wandb wandb;
};

/* The largest prompt or output length in tokens the benchmark may ask for: runtime.max_request_tokens,
 * or server.max_model_len when a managed server has a smaller one. *why names the source. (Inline:
 * the trace unit tests compile the workload sources without the config module.) */
static inline int64_t config_max_request_tokens(const struct cfg_benchmark *b, const char **why)
{
	/* (a config built by hand without the defaults has 0: the default limit) */
	int64_t lim =
	    b->runtime.max_request_tokens > 0 ? b->runtime.max_request_tokens : CFG_DEFAULT_MAX_REQUEST_TOKENS;
	*why = "runtime.max_request_tokens";
	if (b->has_server && b->server.max_model_len > 0 && b->server.max_model_len < lim) {
		lim = b->server.max_model_len;
		*why = "server.max_model_len, the model's context";
	}
	return lim;
}

/* ---- capacity search ---- */
struct cfg_capacity_search {
	char *output_dir;        /* "capacity_search_output" */
	double start_value;      /* 1.0 */
	double max_value;        /* 100.0 */
	double expansion_factor; /* 2.0 */
	int64_t max_iterations;  /* 20 */
	int64_t precision;       /* 2 */
	struct cfg_benchmark benchmark_config;
};

/* ---- microbenchmarks ---- */
enum cfg_microbench_type { CFG_MICROBENCH_PREFILL = 0, CFG_MICROBENCH_DECODE, CFG_MICROBENCH_STRESS };
enum cfg_stress_mode { CFG_STRESS_MANUAL = 0, CFG_STRESS_RANGE, CFG_STRESS_AUTO };

struct cfg_microbench {
	enum cfg_microbench_type type;
	enum cfg_stress_mode stress_mode;
	char *model;            /* "meta-llama/Meta-Llama-3-8B-Instruct" */
	char *api_base;         /* "http://localhost:8000/v1" */
	char *api_key;          /* "dummy" */
	int64_t *input_lengths; /* [128,256,512,1024] */
	size_t n_input_lengths;
	int64_t samples_per_length; /* 10 */
	char *output_dir;           /* "microbench_output" */
	int64_t seed;               /* 42 */
	int64_t request_timeout;    /* 120 */
	int64_t benchmark_timeout;  /* 600 */
	char *max_tokens_param;     /* "max_tokens" */
	bool ignore_eos;            /* true */
	bool validate_only;         /* false */
	bool skip_validation;       /* false */
	/* prefill */
	int64_t output_tokens; /* 1 */
	/* decode */
	int64_t *batch_sizes; /* [1,2,4,8] */
	size_t n_batch_sizes;
	int64_t engine_chunk_size; /* 512 */
	/* stress */
	int64_t input_length;                  /* 512 */
	int64_t output_length;                 /* 128 */
	int64_t point_duration;                /* 120 */
	int64_t warmup_duration;               /* 10 */
	char *traffic_mode;                    /* "fixed-clients" | "fixed-rate" */
	double max_tokens_per_second_estimate; /* 500.0 */
	int64_t *concurrency_levels;           /* manual: [1,2,4,8,16,32] */
	size_t n_concurrency_levels;
	int64_t concurrency_min, concurrency_max, concurrency_points; /* range: 1, 64, 8 */
	double auto_throughput_threshold;                             /* 0.05 */
	int64_t auto_max_probes;                                      /* 20 */
	int64_t auto_fill_points;                                     /* 8 */
	char *resume_dir;                                             /* "" */
	/* managed server for the microbenchmark (ours; optional) */
	bool has_server;
	struct cfg_server server;
};

/* Options of `veeksha benchmark` that are not configuration (not written to config.yml). */
#define CFG_MAX_SBATCH_ARGS 32

struct cfg_run_opts {
	bool quiet;         /* --quiet: no progress line */
	bool fail_on_slo;   /* --fail-on-slo: exit 3 when an SLO is not met */
	bool strict_client; /* --strict-client: with --fail-on-slo, a saturated client fails too (exit 3) */
	bool no_report;     /* --no-report: no report.html (docs/OUTPUTS.md, report.html) */
	/* Sweeps on a cluster (docs/SLURM.md). Strings point into argv. */
	const char *launcher;                         /* --launcher local|slurm (NULL = local) */
	const char *sbatch_args[CFG_MAX_SBATCH_ARGS]; /* --sbatch-arg ARG (repeatable), given to sbatch */
	size_t n_sbatch_args;
	bool has_sweep_point; /* --sweep-point I: run only point I of the sweep */
	int64_t sweep_point;
	const char *sweep_dir; /* --sweep-dir DIR: the sweep directory it goes into */
	int argc;              /* the command line as given (argv[0] = subcommand), */
	char **argv;           /* re-run by each task of a job array */
	/* Shards (docs/DISTRIBUTED.md). Strings point into argv. */
	const char *shard;           /* --shard K/N | auto | off (NULL = auto: from the launcher's environment) */
	uint32_t shard_count;        /* --shard-count N: the shard count of a Kubernetes Indexed Job */
	double start_at_s;           /* --start-at: UTC epoch seconds of the common start (0 = none) */
	const char *rendezvous;      /* --rendezvous DIR: agree on the start through files in DIR */
	double rendezvous_margin_s;  /* --rendezvous-margin-s: start this long after the last shard is ready (0: 3) */
	double rendezvous_timeout_s; /* --rendezvous-timeout-s: give up waiting for the other shards (0: 600) */
};

#endif
