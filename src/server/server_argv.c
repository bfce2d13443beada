/* Launch command builders for vLLM, SGLang, Vajra and the built-in sim (docs/SERVERS.md,
 * Launch commands and Differences from the reference).
 *
 * additional_args is JSON object text. Python's json.loads distinguishes 2 from 2.0 and str() prints
 * them differently; cJSON does not keep that distinction, so number tokens are swapped for marker
 * strings before parsing and rendered from their original text afterwards. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "core/xalloc.h"
#include "server/server.h"
#include "server/server_internal.h"

#define NUM_MARK '\x01'

const char *server_type_name(enum cfg_server_type t)
{
	switch (t) {
	case CFG_SERVER_VLLM:
		return "vllm";
	case CFG_SERVER_VAJRA:
		return "vajra";
	case CFG_SERVER_SGLANG:
		return "sglang";
	case CFG_SERVER_SIM:
		return "sim";
	}
	return "unknown";
}

char *server_expand_user(const char *path)
{
	if (!path)
		return NULL;
	if (path[0] == '~' && (path[1] == '\0' || path[1] == '/')) {
		const char *home = getenv("HOME");
		if (home && *home)
			return xasprintf("%s%s", home, path + 1);
	}
	return xstrdup(path);
}

/* ---- additional_args parsing ---- */

void server_args_free(struct server_args *a)
{
	if (!a)
		return;
	cJSON_Delete(a->root);
	for (size_t i = 0; i < a->n_nums; i++)
		free(a->nums[i]);
	free(a->nums);
	memset(a, 0, sizeof *a);
}

int server_args_parse(const char *text, struct server_args *a, char *err, size_t err_len)
{
	memset(a, 0, sizeof *a);
	if (!text || !*text)
		text = "{}";
	struct buf b;
	buf_init(&b);
	size_t cap = 0;
	const char *p = text;
	while (*p) {
		if (*p == '"') {
			/* copy the whole string token */
			const char *q = p + 1;
			while (*q && *q != '"') {
				if (*q == '\\' && q[1])
					q++;
				q++;
			}
			if (*q == '"')
				q++;
			buf_append(&b, p, (size_t)(q - p));
			p = q;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			const char *q = p + 1;
			while (*q && strchr("0123456789.eE+-", *q))
				q++;
			xgrow((void **)&a->nums, &cap, a->n_nums + 1, sizeof *a->nums);
			a->nums[a->n_nums] = xstrndup(p, (size_t)(q - p));
			buf_printf(&b, "\"\\u0001%zu\"", a->n_nums);
			a->n_nums++;
			p = q;
		} else {
			buf_putc(&b, *p++);
		}
	}
	a->root = cJSON_Parse(b.data ? b.data : "");
	buf_free(&b);
	if (!a->root) {
		snprintf(err, err_len, "Invalid JSON in additional_args: %s", text);
		server_args_free(a);
		return -1;
	}
	if (!cJSON_IsObject(a->root)) {
		snprintf(err, err_len, "additional_args must be a JSON object (or a mapping), got: %s", text);
		server_args_free(a);
		return -1;
	}
	/* validate number tokens: they must look like JSON numbers */
	for (size_t i = 0; i < a->n_nums; i++) {
		char *end;
		errno = 0;
		(void)strtod(a->nums[i], &end);
		if (*end || end == a->nums[i]) {
			snprintf(err, err_len, "Invalid JSON in additional_args: bad number '%s'", a->nums[i]);
			server_args_free(a);
			return -1;
		}
	}
	return 0;
}

/* Number token index, or -1 when the item is not a number marker. */
static long args_num_index(const struct server_args *a, const cJSON *it)
{
	if (!cJSON_IsString(it) || it->valuestring[0] != NUM_MARK)
		return -1;
	char *end;
	long idx = strtol(it->valuestring + 1, &end, 10);
	if (*end || idx < 0 || (size_t)idx >= a->n_nums)
		return -1;
	return idx;
}

static bool num_is_int(const char *tok)
{
	return !strpbrk(tok, ".eE");
}

static void put_py_num(struct buf *b, const char *tok)
{
	if (num_is_int(tok)) {
		/* Python int(): "-0" -> "0" */
		const char *d = tok[0] == '-' ? tok + 1 : tok;
		if (!strcmp(d, "0"))
			buf_puts(b, "0");
		else
			buf_puts(b, tok);
		return;
	}
	char tmp[40];
	size_t n = jsonw_format_double(strtod(tok, NULL), tmp);
	buf_append(b, tmp, n);
}

static void put_py_repr_str(struct buf *b, const char *s)
{
	char q = '\'';
	if (strchr(s, '\'') && !strchr(s, '"'))
		q = '"';
	buf_putc(b, q);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '\\')
			buf_puts(b, "\\\\");
		else if (*c == (unsigned char)q) {
			buf_putc(b, '\\');
			buf_putc(b, (char)q);
		} else if (*c == '\n')
			buf_puts(b, "\\n");
		else if (*c == '\r')
			buf_puts(b, "\\r");
		else if (*c == '\t')
			buf_puts(b, "\\t");
		else if (*c < 0x20 || *c == 0x7f)
			buf_printf(b, "\\x%02x", *c);
		else
			buf_putc(b, (char)*c);
	}
	buf_putc(b, q);
}

static void put_py(struct buf *b, const struct server_args *a, const cJSON *it, bool repr);

static void put_py_container(struct buf *b, const struct server_args *a, const cJSON *it)
{
	bool obj = cJSON_IsObject(it);
	buf_putc(b, obj ? '{' : '[');
	bool first = true;
	for (const cJSON *c = it->child; c; c = c->next) {
		if (!first)
			buf_puts(b, ", ");
		first = false;
		if (obj) {
			put_py_repr_str(b, c->string);
			buf_puts(b, ": ");
		}
		put_py(b, a, c, true);
	}
	buf_putc(b, obj ? '}' : ']');
}

/* Python str(v) (repr=false) or repr(v) (repr=true). */
static void put_py(struct buf *b, const struct server_args *a, const cJSON *it, bool repr)
{
	long ni = args_num_index(a, it);
	if (ni >= 0)
		put_py_num(b, a->nums[ni]);
	else if (cJSON_IsTrue(it))
		buf_puts(b, "True");
	else if (cJSON_IsFalse(it))
		buf_puts(b, "False");
	else if (cJSON_IsNull(it))
		buf_puts(b, "None");
	else if (cJSON_IsString(it)) {
		if (repr)
			put_py_repr_str(b, it->valuestring);
		else
			buf_puts(b, it->valuestring);
	} else if (cJSON_IsArray(it) || cJSON_IsObject(it))
		put_py_container(b, a, it);
}

static void put_json(struct jsonw *w, const struct server_args *a, const cJSON *it)
{
	long ni = args_num_index(a, it);
	if (ni >= 0) {
		const char *tok = a->nums[ni];
		if (num_is_int(tok)) {
			struct buf t;
			buf_init(&t);
			put_py_num(&t, tok);
			jsonw_raw(w, t.data);
			buf_free(&t);
		} else {
			jsonw_double(w, strtod(tok, NULL));
		}
	} else if (cJSON_IsTrue(it) || cJSON_IsFalse(it))
		jsonw_bool(w, cJSON_IsTrue(it));
	else if (cJSON_IsNull(it))
		jsonw_null(w);
	else if (cJSON_IsString(it))
		jsonw_str(w, it->valuestring);
	else if (cJSON_IsArray(it)) {
		jsonw_arr_begin(w);
		for (const cJSON *c = it->child; c; c = c->next)
			put_json(w, a, c);
		jsonw_arr_end(w);
	} else if (cJSON_IsObject(it)) {
		jsonw_obj_begin(w);
		for (const cJSON *c = it->child; c; c = c->next) {
			jsonw_key(w, c->string);
			put_json(w, a, c);
		}
		jsonw_obj_end(w);
	}
}

/* Python str() of a value, xmalloc'd. */
char *server_args_py_str(const struct server_args *a, const cJSON *it)
{
	struct buf b;
	buf_init(&b);
	put_py(&b, a, it, false);
	if (!b.data)
		return xstrdup("");
	return buf_steal(&b);
}

/* json.dumps(value), xmalloc'd. */
char *server_args_json(const struct server_args *a, const cJSON *it)
{
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 0);
	put_json(&w, a, it);
	if (!b.data)
		return xstrdup("null");
	return buf_steal(&b);
}

/* ---- argv vector ---- */

struct argv_vec {
	char **v;
	size_t n, cap;
};

static void av_push_own(struct argv_vec *av, char *s)
{
	xgrow((void **)&av->v, &av->cap, av->n + 2, sizeof *av->v);
	av->v[av->n++] = s;
	av->v[av->n] = NULL;
}

static void av_push(struct argv_vec *av, const char *s)
{
	av_push_own(av, xstrdup(s));
}

static void av_flag(struct argv_vec *av, const char *key)
{
	av_push_own(av, xasprintf("--%s", key));
}

void server_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

char *server_self_exe(void)
{
	const char *e = getenv("VEEKSHA_SELF_EXE");
	if (e && *e)
		return xstrdup(e);
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n <= 0)
		return xstrdup("veeksha");
	path[n] = '\0';
	return xstrdup(path);
}

char *server_env_abs(const char *env_path)
{
	if (!env_path)
		return NULL;
	char *exp = server_expand_user(env_path);
	char *rp = realpath(exp, NULL);
	if (rp) {
		free(exp);
		char *r = xstrdup(rp);
		free(rp);
		return r;
	}
	if (exp[0] == '/')
		return exp;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd)) {
		return exp;
	}
	char *r = xasprintf("%s/%s", cwd, exp);
	free(exp);
	return r;
}

static void add_common_tail(struct argv_vec *av, const struct cfg_server *s, const char *len_flag)
{
	if (s->tensor_parallel_size > 1) {
		av_push(av, "--tensor-parallel-size");
		av_push_own(av, xasprintf("%lld", (long long)s->tensor_parallel_size));
	}
	if (s->dtype && *s->dtype) {
		av_push(av, "--dtype");
		av_push(av, s->dtype);
	}
	if (s->max_model_len > 0) {
		av_push(av, len_flag);
		av_push_own(av, xasprintf("%lld", (long long)s->max_model_len));
	}
}

/* "-m <module> <model flag> M --host H --port P": the start of every Python engine's argv. */
static void push_engine_head(struct argv_vec *av, const struct cfg_server *s, const char *module,
                             const char *model_flag)
{
	av_push(av, "-m");
	av_push(av, module);
	av_push(av, model_flag);
	av_push(av, s->model ? s->model : "");
	av_push(av, "--host");
	av_push(av, s->host ? s->host : "");
	av_push(av, "--port");
	av_push_own(av, xasprintf("%lld", (long long)s->port));
}

/* How an engine takes a list value in additional_args. */
enum av_list_style {
	AV_LIST_VALUES,      /* --key a b (vLLM, the sim) */
	AV_LIST_PY_LITERAL,  /* --key "[a, b]" (SGLang) */
	AV_LIST_REPEAT_FLAG, /* --key a --key b (Vajra) */
};

/* additional_args as flags, the way the engine's command line takes them (docs/SERVERS.md): true is
 * --key alone, false and null are left out, a list goes as `lists` says, a mapping as JSON
 * (objects_json) or as a Python literal, anything else as a Python literal. The key `skip` (NULL:
 * none) is left out and returned, for the caller to pass its own way. */
static const cJSON *av_push_extra_args(struct argv_vec *av, const struct server_args *a, enum av_list_style lists,
                                       bool objects_json, const char *skip)
{
	const cJSON *skipped = NULL;
	for (const cJSON *c = a->root->child; c; c = c->next) {
		if (skip && !strcmp(c->string, skip)) {
			skipped = c;
			continue;
		}
		if (cJSON_IsBool(c)) {
			if (cJSON_IsTrue(c))
				av_flag(av, c->string);
			continue;
		}
		if (cJSON_IsNull(c))
			continue;
		if (cJSON_IsArray(c) && lists == AV_LIST_REPEAT_FLAG) {
			for (const cJSON *e = c->child; e; e = e->next) {
				av_flag(av, c->string);
				av_push_own(av, server_args_py_str(a, e));
			}
			continue;
		}
		av_flag(av, c->string);
		if (cJSON_IsArray(c) && lists == AV_LIST_VALUES) {
			for (const cJSON *e = c->child; e; e = e->next)
				av_push_own(av, server_args_py_str(a, e));
		} else if (cJSON_IsArray(c)) {
			struct buf b;
			buf_init(&b);
			buf_putc(&b, '[');
			for (const cJSON *e = c->child; e; e = e->next) {
				if (e != c->child)
					buf_puts(&b, ", ");
				char *t = server_args_py_str(a, e);
				buf_puts(&b, t);
				free(t);
			}
			buf_putc(&b, ']');
			av_push_own(av, buf_steal(&b));
		} else if (cJSON_IsObject(c) && objects_json) {
			av_push_own(av, server_args_json(a, c));
		} else {
			av_push_own(av, server_args_py_str(a, c));
		}
	}
	return skipped;
}

static void build_vllm(struct argv_vec *av, const struct cfg_server *s, const struct server_args *a)
{
	push_engine_head(av, s, "vllm.entrypoints.openai.api_server", "--model");
	/* deliberate difference: the key goes through VLLM_API_KEY (server_api_key_env), not argv */
	add_common_tail(av, s, "--max-model-len");
	const cJSON *rope = av_push_extra_args(av, a, AV_LIST_VALUES, false, "rope_scaling");
	if (rope) {
		av_push(av, "--rope-scaling");
		av_push_own(av, server_args_json(a, rope));
	}
}

static void build_sglang(struct argv_vec *av, const struct cfg_server *s, const struct server_args *a)
{
	push_engine_head(av, s, "sglang.launch_server", "--model-path");
	/* deliberate difference: the reference never passes the key to SGLang */
	if (s->api_key && *s->api_key) {
		av_push(av, "--api-key");
		av_push(av, s->api_key);
	}
	add_common_tail(av, s, "--context-length");
	av_push_extra_args(av, a, AV_LIST_PY_LITERAL, false, NULL);
}

static void build_vajra(struct argv_vec *av, const struct cfg_server *s, const struct server_args *a)
{
	push_engine_head(av, s, "vajra_server.server", "--model");
	if (s->tensor_parallel_size > 1) {
		av_push(av, "--tensor-parallel-size");
		av_push_own(av, xasprintf("%lld", (long long)s->tensor_parallel_size));
	}
	if (s->api_key && *s->api_key) {
		av_push(av, "--api-key");
		av_push(av, s->api_key);
	}
	if (s->max_model_len > 0) {
		av_push(av, "--max-model-len");
		av_push_own(av, xasprintf("%lld", (long long)s->max_model_len));
	}
	av_push_extra_args(av, a, AV_LIST_REPEAT_FLAG, false, NULL);
}

static void build_sim(struct argv_vec *av, const struct cfg_server *s, const struct server_args *a)
{
	av_push(av, "sim-server");
	av_push(av, "--model");
	av_push(av, s->model ? s->model : "");
	av_push(av, "--host");
	av_push(av, s->host ? s->host : "");
	av_push(av, "--port");
	av_push_own(av, xasprintf("%lld", (long long)s->port));
	/* the key goes through VLLM_API_KEY (server_api_key_env) */
	if (s->tensor_parallel_size > 1) {
		av_push(av, "--tensor-parallel-size");
		av_push_own(av, xasprintf("%lld", (long long)s->tensor_parallel_size));
	}
	if (s->max_model_len > 0) {
		av_push(av, "--max-model-len");
		av_push_own(av, xasprintf("%lld", (long long)s->max_model_len));
	}
	av_push_extra_args(av, a, AV_LIST_VALUES, true, NULL);
}

const char *server_api_key_env(enum cfg_server_type t)
{
	return t == CFG_SERVER_VLLM || t == CFG_SERVER_SIM ? "VLLM_API_KEY" : NULL;
}

int server_build_argv(const struct cfg_server *s, const int64_t *gpu_ids, size_t n, char ***argv_out, char *err,
                      size_t err_len)
{
	(void)gpu_ids;
	(void)n;
	*argv_out = NULL;
	struct server_args a;
	if (server_args_parse(s->additional_args, &a, err, err_len))
		return -1;
	struct argv_vec av = {0};
	if (s->type == CFG_SERVER_SIM) {
		av_push_own(&av, server_self_exe());
	} else if (s->env_path) {
		char *env = server_env_abs(s->env_path);
		av_push_own(&av, xasprintf("%s/bin/python", env));
		free(env);
	} else {
		av_push(&av, "python");
	}
	switch (s->type) {
	case CFG_SERVER_VLLM:
		build_vllm(&av, s, &a);
		break;
	case CFG_SERVER_SGLANG:
		build_sglang(&av, s, &a);
		break;
	case CFG_SERVER_VAJRA:
		build_vajra(&av, s, &a);
		break;
	case CFG_SERVER_SIM:
		build_sim(&av, s, &a);
		break;
	}
	server_args_free(&a);
	*argv_out = av.v;
	return 0;
}

int server_validate(const struct cfg_server *s, char *err, size_t err_len)
{
	if (!s->model || !*s->model) {
		snprintf(err, err_len, "server.model must not be empty");
		return -1;
	}
	if (!s->host || !*s->host) {
		snprintf(err, err_len, "server.host must not be empty");
		return -1;
	}
	if (s->port <= 0 || s->port > 65535) {
		snprintf(err, err_len, "server.port must be in 1..65535, got %lld", (long long)s->port);
		return -1;
	}
	if (s->tensor_parallel_size < 1) {
		snprintf(err, err_len, "server.tensor_parallel_size must be >= 1, got %lld",
		         (long long)s->tensor_parallel_size);
		return -1;
	}
	if (s->startup_timeout <= 0 || s->health_check_interval <= 0) {
		snprintf(err, err_len, "server.startup_timeout and server.health_check_interval must be > 0");
		return -1;
	}
	if (s->has_gpu_ids && s->type != CFG_SERVER_SIM) {
		if ((int64_t)s->n_gpu_ids != s->tensor_parallel_size) {
			snprintf(err, err_len,
			         "server.gpu_ids lists %zu GPU(s) but tensor_parallel_size is %lld: they must match",
			         s->n_gpu_ids, (long long)s->tensor_parallel_size);
			return -1;
		}
		for (size_t i = 0; i < s->n_gpu_ids; i++) {
			if (s->gpu_ids[i] < 0) {
				snprintf(err, err_len, "server.gpu_ids: negative GPU id %lld",
				         (long long)s->gpu_ids[i]);
				return -1;
			}
			for (size_t j = 0; j < i; j++)
				if (s->gpu_ids[j] == s->gpu_ids[i]) {
					snprintf(err, err_len, "server.gpu_ids: GPU %lld listed twice",
					         (long long)s->gpu_ids[i]);
					return -1;
				}
		}
	}
	struct server_args a;
	if (server_args_parse(s->additional_args, &a, err, err_len))
		return -1;
	server_args_free(&a);
	if (s->env_path && s->type != CFG_SERVER_SIM) {
		char *env = server_expand_user(s->env_path);
		char *py = xasprintf("%s/bin/python", env);
		int ok = access(py, X_OK) == 0;
		if (!ok)
			snprintf(err, err_len,
			         "server.env_path '%s': %s does not exist or is not executable "
			         "(env_path must be a virtualenv or conda environment containing bin/python)",
			         s->env_path, py);
		free(py);
		free(env);
		if (!ok)
			return -1;
	}
	return 0;
}
