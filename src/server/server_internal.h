#ifndef VK_SERVER_INTERNAL_H
#define VK_SERVER_INTERNAL_H
/* Internal helpers shared by the server module's files (not for other modules). */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>

/* Parsed additional_args: a cJSON tree in which every number is a marker string "\x01<index>"
 * whose original token text is nums[index] (keeps Python's int/float distinction). */
struct server_args {
	cJSON *root;
	char **nums;
	size_t n_nums;
};

int server_args_parse(const char *text, struct server_args *a, char *err, size_t err_len);
void server_args_free(struct server_args *a);
char *server_args_py_str(const struct server_args *a, const cJSON *it); /* Python str(v) */
char *server_args_json(const struct server_args *a, const cJSON *it);   /* json.dumps(v) */

char *server_self_exe(void);                /* $VEEKSHA_SELF_EXE or /proc/self/exe */
char *server_env_abs(const char *env_path); /* `~` expanded, absolute */

/* HTTP GET (curl): returns the status code (0 on network error); body (xmalloc'd) when body_out. */
long server_http_get(const char *url, const char *bearer, double timeout_s, char **body_out);

/* In the supervisor (a child subreaper), after the engine exited: SIGKILLs and reaps every process
 * reparented to it (those of the engine that left its group), bounded (server_orphans.c). */
void server_sup_kill_orphans(pid_t me);

#endif
