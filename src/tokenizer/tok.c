/* Public tokenizer API: kinds dispatch, loading, resolution. */
#include <glob.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "tokenizer/tok_internal.h"

static struct tok approx_tok = {
    .kind = TOK_KIND_APPROX,
    .name = (char *)"approx-words",
    .prep_mu = PTHREAD_MUTEX_INITIALIZER,
};

struct tok *tok_approx(void)
{
	return &approx_tok;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

struct tok *tok_load(const char *path, char *err, size_t err_len)
{
	if (!path || !*path) {
		snprintf(err, err_len, "empty tokenizer path");
		return NULL;
	}
	char *file = is_dir(path) ? xasprintf("%s/tokenizer.json", path) : xstrdup(path);
	if (!is_file(file)) {
		snprintf(err, err_len, "%s: no such file", file);
		free(file);
		return NULL;
	}
	struct tok_hf *hf = tok_hf_load(file, err, err_len);
	if (!hf) {
		free(file);
		return NULL;
	}
	struct tok *t = xcalloc(1, sizeof *t);
	t->kind = TOK_KIND_HF;
	t->hf = hf;
	t->vocab_size = tok_hf_vocab_size(hf);
	t->name = xasprintf("hf:%s", file);
	pthread_mutex_init(&t->prep_mu, NULL);
	free(file);
	return t;
}

static void prep_free(struct tok_corpus_prep *p)
{
	free(p->line);
	free(p->line_len);
	free(p->ids);
	free(p->sp_off);
	free(p->sp_n);
	free(p->first_off);
	free(p->first_n);
	memset(p, 0, sizeof *p);
}

void tok_free(struct tok *t)
{
	if (!t || t == &approx_tok)
		return;
	tok_hf_free(t->hf);
	prep_free(&t->prep);
	pthread_mutex_destroy(&t->prep_mu);
	free(t->name);
	free(t);
}

const char *tok_name(const struct tok *t)
{
	return t ? t->name : "none";
}

bool tok_is_approx(const struct tok *t)
{
	return !t || t->kind == TOK_KIND_APPROX;
}

size_t tok_vocab_size(const struct tok *t)
{
	if (tok_is_approx(t))
		return tok_approx_vocab();
	return t->vocab_size;
}

int tok_encode(const struct tok *t, const char *text, size_t len, struct tok_ids *out)
{
	if (!text && len)
		return -1;
	if (tok_is_approx(t))
		return tok_approx_encode(text, len, out);
	return tok_hf_encode(t->hf, text, len, out);
}

size_t tok_count(const struct tok *t, const char *text, size_t len)
{
	if (tok_is_approx(t))
		return tok_approx_count(text, len);
	struct tok_ids ids = {0};
	size_t n = 0;
	if (tok_hf_encode(t->hf, text, len, &ids) == 0)
		n = ids.n;
	tok_ids_free(&ids);
	return n;
}

int tok_decode(const struct tok *t, const int32_t *ids, size_t n, struct buf *out)
{
	if (tok_is_approx(t))
		return tok_approx_decode(ids, n, out);
	return tok_hf_decode(t->hf, ids, n, out);
}

/* ---- resolution ---- */

static char *hf_hub_dir(void)
{
	const char *v = getenv("HF_HUB_CACHE");
	if (v && *v)
		return xstrdup(v);
	v = getenv("HUGGINGFACE_HUB_CACHE");
	if (v && *v)
		return xstrdup(v);
	v = getenv("HF_HOME");
	if (v && *v)
		return xasprintf("%s/hub", v);
	v = getenv("XDG_CACHE_HOME");
	if (v && *v)
		return xasprintf("%s/huggingface/hub", v);
	v = getenv("HOME");
	if (v && *v)
		return xasprintf("%s/.cache/huggingface/hub", v);
	return NULL;
}

char *tok_hf_cache_path(const char *model)
{
	if (!model || !*model || strstr(model, ".."))
		return NULL;
	char *hub = hf_hub_dir();
	if (!hub)
		return NULL;
	struct buf repo;
	buf_init(&repo);
	buf_printf(&repo, "%s/models--", hub);
	for (const char *p = model; *p; p++) {
		if (*p == '/')
			buf_puts(&repo, "--");
		else
			buf_putc(&repo, *p);
	}
	char *found = NULL;
	/* Prefer the snapshot refs/main points at. */
	char *ref = xasprintf("%s/refs/main", repo.data);
	FILE *f = fopen(ref, "r");
	if (f) {
		char commit[128];
		if (fgets(commit, sizeof commit, f)) {
			commit[strcspn(commit, "\r\n")] = 0;
			char *cand = xasprintf("%s/snapshots/%s/tokenizer.json", repo.data, commit);
			if (is_file(cand))
				found = cand;
			else
				free(cand);
		}
		fclose(f);
	}
	free(ref);
	if (!found) {
		char *pat = xasprintf("%s/snapshots/*/tokenizer.json", repo.data);
		glob_t g;
		if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0)
			found = xstrdup(g.gl_pathv[g.gl_pathc - 1]);
		if (g.gl_pathc || g.gl_pathv)
			globfree(&g);
		free(pat);
	}
	buf_free(&repo);
	free(hub);
	return found;
}

static atomic_bool resolve_noticed;

static void resolve_notice(const char *why)
{
	bool expected = false;
	if (atomic_compare_exchange_strong(&resolve_noticed, &expected, true))
		log_warn("tokenizer: %s; using the whitespace-word approximation "
		         "(one word = one token, see docs/TOKENIZER.md)",
		         why);
}

struct tok *tok_resolve(const char *explicit_path, const char *model)
{
	char err[512] = "";
	if (explicit_path && *explicit_path) {
		struct tok *t = tok_load(explicit_path, err, sizeof err);
		if (t)
			return t;
		char *why = xasprintf("cannot load client.tokenizer '%s': %s", explicit_path, err);
		resolve_notice(why);
		free(why);
		return tok_approx();
	}
	char *cached = tok_hf_cache_path(model);
	if (cached) {
		struct tok *t = tok_load(cached, err, sizeof err);
		if (t) {
			free(cached);
			return t;
		}
		char *why = xasprintf("cannot load cached tokenizer '%s': %s", cached, err);
		resolve_notice(why);
		free(why);
		free(cached);
		return tok_approx();
	}
	char *why = xasprintf("no tokenizer found (client.tokenizer unset, no HuggingFace cache entry for model '%s')",
	                      model && *model ? model : "(none)");
	resolve_notice(why);
	free(why);
	return tok_approx();
}
