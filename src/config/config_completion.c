/* Value hints of the flattened configuration flags for shell completion and the man pages
 * (docs/INSTALL.md). The flag names come from the same table as --help (cfg_flags_for), so a flag
 * added to a class appears in the completion and the man page of the next build. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_doc.h"
#include "config/config_internal.h"
#include "core/buf.h"
#include "core/xalloc.h"

struct doc_list {
	struct config_doc_flag *v;
	size_t n, cap;
};

static struct config_doc_flag *doc_add(struct doc_list *l, const char *name_us, bool negated,
                                       enum config_doc_value value)
{
	char *name = xasprintf("--%s%s", negated ? "no-" : "", name_us);
	for (char *p = name; *p; p++)
		if (*p == '_')
			*p = '-';
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name)) { /* the stress modes share most flags */
			free(name);
			return NULL;
		}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	struct config_doc_flag *f = &l->v[l->n++];
	memset(f, 0, sizeof *f);
	f->name = name;
	f->value = value;
	return f;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* A string key's value kind from its name: output_dir is a directory, trace_file a file. */
static enum config_doc_value doc_str_kind(const char *name)
{
	if (ends_with(name, "_dir") || ends_with(name, "_directory"))
		return CONFIG_DOC_DIR;
	if (ends_with(name, "_file") || ends_with(name, "_path"))
		return CONFIG_DOC_FILE;
	return CONFIG_DOC_TEXT;
}

static void doc_add_root(struct doc_list *l, const struct cfg_class *root, bool run_opts)
{
	static const char *const launchers[] = {"local", "slurm"};
	struct config_doc_flag *f;
	/* The options every config command takes before the table's keys (config_load.c). */
	doc_add(l, "config", false, CONFIG_DOC_FILE);
	if (run_opts) {
		doc_add(l, "rendezvous", false, CONFIG_DOC_DIR);
		if ((f = doc_add(l, "launcher", false, CONFIG_DOC_ENUM))) {
			f->values = xmalloc(sizeof launchers);
			memcpy(f->values, launchers, sizeof launchers);
			f->n_values = 2;
		}
	}
	const struct cfg_flag_table *t = cfg_flags_for(root);
	for (size_t i = 0; i < t->n; i++) {
		const struct cfg_flag *fl = &t->v[i];
		if (fl->kind == CFLAG_FROM_FILE) {
			doc_add(l, fl->name, false, CONFIG_DOC_FILE);
		} else if (fl->kind == CFLAG_SELECTOR) {
			if (!(f = doc_add(l, fl->name, false, CONFIG_DOC_ENUM)))
				continue;
			f->values = xcalloc(fl->cls->n_variants ? fl->cls->n_variants : 1, sizeof *f->values);
			for (size_t v = 0; v < fl->cls->n_variants; v++)
				f->values[f->n_values++] = fl->cls->variants[v].name;
		} else if (fl->field->kind == FK_BOOL) {
			doc_add(l, fl->name, false, CONFIG_DOC_SWITCH);
			doc_add(l, fl->name, true, CONFIG_DOC_SWITCH);
		} else if (fl->field->kind == FK_ENUM && fl->field->enums) {
			if (!(f = doc_add(l, fl->name, false, CONFIG_DOC_ENUM)))
				continue;
			size_t n = 0;
			while (fl->field->enums[n])
				n++;
			f->values = xcalloc(n ? n : 1, sizeof *f->values);
			for (size_t v = 0; v < n; v++)
				f->values[f->n_values++] = fl->field->enums[v];
		} else if (fl->field->kind == FK_STR) {
			doc_add(l, fl->name, false, doc_str_kind(fl->name));
		} else {
			doc_add(l, fl->name, false, CONFIG_DOC_TEXT);
		}
	}
}

size_t config_doc_flags(const char *command, struct config_doc_flag **out)
{
	struct doc_list l = {0};
	if (!strcmp(command, "benchmark") || !strcmp(command, "config show"))
		doc_add_root(&l, &cfg_cls_benchmark, true);
	else if (!strcmp(command, "capacity-search"))
		doc_add_root(&l, &cfg_cls_capacity, true);
	else if (!strcmp(command, "microbench prefill"))
		doc_add_root(&l, &cfg_cls_mb_prefill, false);
	else if (!strcmp(command, "microbench decode"))
		doc_add_root(&l, &cfg_cls_mb_decode, false);
	else if (!strcmp(command, "microbench stress")) {
		doc_add_root(&l, &cfg_cls_mb_manual, false);
		doc_add_root(&l, &cfg_cls_mb_range, false);
		doc_add_root(&l, &cfg_cls_mb_auto, false);
	}
	*out = l.v;
	return l.n;
}

void config_doc_flags_free(struct config_doc_flag *flags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(flags[i].name);
		free(flags[i].values);
	}
	free(flags);
}

static void key_add(char ***v, size_t *n, const struct cfg_flag *fl, int len)
{
	if (len <= 0)
		return;
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < len; i++)
		buf_printf(&b, "%s%s", i ? "." : "", fl->path[i]);
	for (size_t i = 0; i < *n; i++)
		if (!strcmp((*v)[i], b.data)) { /* the variants of a section share keys */
			buf_free(&b);
			return;
		}
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = buf_steal(&b);
}

size_t config_doc_keys(const char *command, char ***out)
{
	*out = NULL;
	if (strcmp(command, "config describe"))
		return 0;
	size_t n = 0;
	const struct cfg_flag_table *t = cfg_flags_for(&cfg_cls_benchmark);
	for (size_t i = 0; i < t->n; i++) {
		const struct cfg_flag *fl = &t->v[i];
		/* A selector's path ends with "type", which describe names by its section. */
		key_add(out, &n, fl, fl->kind == CFLAG_SELECTOR ? fl->plen - 1 : fl->plen);
	}
	return n;
}
