#ifndef VK_INTEGRATIONS_BRIDGE_H
#define VK_INTEGRATIONS_BRIDGE_H
/* A Python bridge process: `<env>/bin/python <bridge script>` speaking JSON lines over its stdin and
 * stdout (docs/INTEGRATIONS.md). Its stderr is Veeksha's. Every message is one JSON object on one
 * line with a "type" key; the bridge's first line is {"type": "hello", "protocol": N, ...}.
 * Errors are one line naming the bridge and the environment, ready for log_error/log_warn. */
#include <stdbool.h>
#include <stddef.h>

struct cJSON;
struct buf;

/* The protocol version both sides speak. A bridge announcing another one is refused. */
#define BRIDGE_PROTOCOL 1

struct bridge;

/* Where the bridge scripts are: $VEEKSHA_BRIDGE_DIR, else <prefix>/share/veeksha/bridges next to
 * the running binary (an installed veeksha), else the compiled-in install directory, else the
 * source tree's python/veeksha_bridges (a build tree). NULL + err when the script is in none. */
char *bridge_script_path(const char *script, char *err, size_t err_len);

/* Check env_path (a directory with an executable bin/python) and start the bridge `script` there.
 * `what` names the feature in messages ("lmeval", "wandb"). Reads the hello line and checks the
 * protocol; a bridge that reports an error instead (a missing package) is turned into one line
 * naming the environment and the import. NULL + err on failure. *hello_out (may be NULL) gets
 * the hello object (caller deletes). */
struct bridge *bridge_start(const char *what, const char *env_path, const char *script, struct cJSON **hello_out,
                            char *err, size_t err_len);
/* Send one JSON object (printed on one line). 0, or -1 + err (the bridge went away). */
int bridge_send(struct bridge *b, const struct cJSON *msg, char *err, size_t err_len);
/* Send a line already printed (no newline inside). */
int bridge_send_text(struct bridge *b, const char *line, size_t len, char *err, size_t err_len);
/* Next message, waiting at most timeout_s (<= 0: no limit); also stops when interrupted (the
 * runner's signal flag, workload/request.h). A message {"type": "error"} is turned into err.
 * NULL + err on EOF, a bridge exit, a timeout, an interruption or a line that is no JSON object. */
struct cJSON *bridge_recv(struct bridge *b, double timeout_s, char *err, size_t err_len);
/* Close stdin, wait up to 5 s for the exit, then kill it. Returns the exit status (waitpid
 * form), or -1. NULL is a no-op. */
int bridge_close(struct bridge *b);
/* The environment the bridge runs in (for messages). */
const char *bridge_env(const struct bridge *b);

#endif
