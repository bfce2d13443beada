#ifndef VK_CONFIG_H
#define VK_CONFIG_H
/* Configuration loading: YAML files (libfyaml, PyYAML-1.1 scalar typing, !expand sweeps,
 * top-level-list variants, *_from_file sub-files) + CLI flags (the reference's flattened flags and
 * the dotted form), validated into the typed tree of config_types.h.
 *
 * Error contract (docs/ARCHITECTURE.md, Conventions): on a usage/config error the loading functions
 * return CONFIG_EXIT_USAGE (2) with the message in the caller's err (err_len bytes; 2048 hold any),
 * one line naming file:line:column (when the error comes from a file) or the flag, and the dotted key
 * path; they print nothing but warnings (stderr). The caller prints err. They never create files. */
#include <stdio.h>

#include "config/config_types.h"

#define CONFIG_OK 0
#define CONFIG_HELP_PRINTED 1 /* --help/--version printed; caller exits 0 */
#define CONFIG_EXIT_USAGE 2

/* A list of fully resolved benchmark configs (one per !expand combination / list variant). */
struct config_benchmark_set {
	struct cfg_benchmark *items;
	size_t count;
	struct cfg_run_opts opts;
};

/* Defaults for every class (exact reference defaults). */
void config_benchmark_defaults(struct cfg_benchmark *c);
void config_server_defaults(struct cfg_server *s, enum cfg_server_type type);

/* Checks of connection settings, shared by the config validators and the runner (which applies
 * them to OPENAI_API_BASE / OPENAI_API_KEY from the environment). NULL when fine, else why (static
 * text). An API base must be an http:// or https:// URL with a host (and a port in [1, 65535] if
 * one is given), without spaces or control characters; an API key must not contain control
 * characters (a CR or LF would inject HTTP headers). docs/CONFIG.md, "Limits". */
const char *config_check_api_base(const char *url);
const char *config_check_api_key(const char *key);

/* Whether the synthetic prompts and outputs fit a model's context: 0 when they do (or when a length
 * is unbounded, or the generator is not synthetic), else -1 with why in err and the dotted length key
 * to change in key. source names where the context comes from. Used for server.max_model_len at load
 * time and for the context a server reports (docs/CONFIG.md, Limits). */
int config_check_context(const struct cfg_benchmark *b, int64_t context_tokens, const char *source, char *key,
                         size_t key_len, char *err, size_t err_len);

/* Parse `veeksha benchmark` arguments (argv[0] is the subcommand name). */
int config_parse_benchmark_args(int argc, char **argv, struct config_benchmark_set *out, char *err, size_t err_len);
/* Load a YAML file with no CLI overrides (tests, examples). */
int config_load_benchmark_file(const char *path, struct config_benchmark_set *out, char *err, size_t err_len);
void config_benchmark_set_free(struct config_benchmark_set *set);

/* Capacity search: `veeksha capacity-search` arguments. */
struct config_capacity_set {
	struct cfg_capacity_search *items;
	size_t count;
	struct cfg_run_opts opts;
};
int config_parse_capacity_args(int argc, char **argv, struct config_capacity_set *out, char *err, size_t err_len);
void config_capacity_set_free(struct config_capacity_set *set);

/* Microbenchmarks: `veeksha microbench prefill|decode|stress` arguments (argv[0] = "prefill" ...). */
struct config_microbench_set {
	struct cfg_microbench *items;
	size_t count;
};
int config_parse_microbench_args(enum cfg_microbench_type type, int argc, char **argv,
                                 struct config_microbench_set *out, char *err, size_t err_len);
void config_microbench_set_free(struct config_microbench_set *set);

/* Deep copy and free of one benchmark config. */
void config_benchmark_copy(struct cfg_benchmark *dst, const struct cfg_benchmark *src);
void config_benchmark_free(struct cfg_benchmark *c);
/* Deep copy of a server section (config_server_copy.c). */
void config_server_copy(struct cfg_server *dst, const struct cfg_server *src);

/* Serialise the resolved config as the reference's config.yml (declaration order, `type:` last per
 * polymorphic section, secrets redacted as "***" when redact is true). */
void config_benchmark_write_yaml(const struct cfg_benchmark *c, FILE *out, int redact);
void config_benchmark_write_json(const struct cfg_benchmark *c, FILE *out, int redact);
void config_capacity_write_yaml(const struct cfg_capacity_search *c, FILE *out, int redact);

/* Canonical one-line JSON of the server section (used to detect identical servers across a sweep). */
char *config_server_canonical_json(const struct cfg_server *s);

/* Names of enum values as they appear in YAML ("rate", "poisson", ...). */
const char *config_traffic_type_name(enum cfg_traffic_type t);
const char *config_server_type_name(enum cfg_server_type t);
const char *config_client_type_name(enum cfg_client_type t);
const char *config_slo_metric_name(enum cfg_slo_metric m);

/* Load YAML text from memory (fuzzing, tests); name is used in messages. */
int config_load_benchmark_string(const char *yaml, size_t len, const char *name, struct config_benchmark_set *out,
                                 char *err, size_t err_len);

/* Print the `veeksha benchmark` flag reference (every flag, default, help). */
void config_print_benchmark_help(FILE *out);

/* `veeksha config show|describe|export-schema` (argv[0] = "config"). Returns the exit code. */
int config_cli_main(int argc, char **argv);

#endif
