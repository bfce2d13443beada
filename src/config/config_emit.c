/* Serialisation (config.yml like PyYAML safe_dump, JSON), help text and default values. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "core/jsonw.h"
#include "core/xalloc.h"

/* ================= output tree ================= */
struct onode *on_new(struct cfg_arena *a, enum on_kind k)
{
	struct onode *n = cfg_ar_alloc(a, sizeof *n);
	n->k = k;
	return n;
}

void on_add(struct cfg_arena *a, struct onode *coll, const char *key, struct onode *v)
{
	if (coll->n == coll->cap) {
		size_t cap = coll->cap ? coll->cap * 2 : 8;
		const char **k = cfg_ar_alloc(a, cap * sizeof *k);
		struct onode **vv = cfg_ar_alloc(a, cap * sizeof *vv);
		if (coll->n) {
			memcpy(k, coll->keys, coll->n * sizeof *k);
			memcpy(vv, coll->vals, coll->n * sizeof *vv);
		}
		coll->keys = k;
		coll->vals = vv;
		coll->cap = cap;
	}
	coll->keys[coll->n] = key;
	coll->vals[coll->n] = v;
	coll->n++;
}

static struct onode *on_str(struct cfg_arena *a, const char *s)
{
	if (!s)
		return on_new(a, ON_NULL);
	struct onode *n = on_new(a, ON_STR);
	n->s = cfg_ar_strdup(a, s);
	return n;
}

static struct onode *on_int(struct cfg_arena *a, int64_t v)
{
	struct onode *n = on_new(a, ON_INT);
	n->i = v;
	return n;
}

static struct onode *on_json(struct cfg_arena *a, const cJSON *j)
{
	if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
		struct onode *n = on_new(a, cJSON_IsObject(j) ? ON_MAP : ON_SEQ);
		for (const cJSON *c = j->child; c; c = c->next)
			on_add(a, n, cJSON_IsObject(j) ? cfg_ar_strdup(a, c->string) : NULL, on_json(a, c));
		return n;
	}
	if (cJSON_IsString(j))
		return on_str(a, j->valuestring);
	if (cJSON_IsBool(j)) {
		struct onode *n = on_new(a, ON_BOOL);
		n->b = cJSON_IsTrue(j);
		return n;
	}
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;
		if (d == floor(d) && fabs(d) < 9e15)
			return on_int(a, (int64_t)d);
		struct onode *n = on_new(a, ON_FLOAT);
		n->d = d;
		return n;
	}
	return on_new(a, ON_NULL);
}

struct onode *cfg_field_to_onode(struct cfg_arena *a, const struct cfg_field *f, const void *vbase, int redact)
{
	const char *base = vbase;
	switch (f->kind) {
	case FK_STR:
	case FK_JSON: {
		const char *s = *(char *const *)(base + f->off);
		if (s && redact && (f->flags & FF_SECRET))
			s = "***";
		/* a key taken from the environment is recorded as such (still loadable: a string) */
		const char *env_key = getenv("OPENAI_API_KEY");
		if (!s && redact && (f->flags & FF_ENV_OPENAI_KEY) && env_key && *env_key)
			s = "*** (from OPENAI_API_KEY)";
		return on_str(a, s);
	}
	case FK_INT: {
		int64_t v = *(const int64_t *)(base + f->off);
		if ((f->flags & FF_NULL0) && v == 0)
			return on_new(a, ON_NULL);
		if ((f->flags & FF_AUTO) && v == CFG_INT_AUTO)
			return on_str(a, "auto");
		return on_int(a, v);
	}
	case FK_FLOAT: {
		struct onode *n = on_new(a, ON_FLOAT);
		n->d = *(const double *)(base + f->off);
		return n;
	}
	case FK_BOOL: {
		struct onode *n = on_new(a, ON_BOOL);
		n->b = *(const bool *)(base + f->off);
		return n;
	}
	case FK_ENUM:
		return on_str(a, f->enums[*(const int *)(base + f->off)]);
	case FK_INT_LIST:
	case FK_CHAN_LIST:
	case FK_STR_LIST: {
		if ((f->flags & FF_OPTIONAL) && !*(const bool *)(base + f->off3))
			return on_new(a, ON_NULL);
		struct onode *n = on_new(a, ON_SEQ);
		size_t cnt = *(const size_t *)(base + f->off2);
		for (size_t i = 0; i < cnt; i++) {
			if (f->kind == FK_INT_LIST)
				on_add(a, n, NULL, on_int(a, (*(int64_t *const *)(base + f->off))[i]));
			else if (f->kind == FK_CHAN_LIST)
				on_add(a, n, NULL,
				       on_int(a, (int64_t)(*(enum cfg_channel_type *const *)(base + f->off))[i] + 1));
			else
				on_add(a, n, NULL, on_str(a, (*(char **const *)(base + f->off))[i]));
		}
		return n;
	}
	case FK_NESTED:
		if ((f->flags & FF_OPTIONAL) && !*(const bool *)(base + f->off2))
			return on_new(a, ON_NULL);
		return cfg_obj_to_onode(a, f->cls, base + f->off, redact);
	case FK_POLY:
		if ((f->flags & FF_OPTIONAL) && !*(const bool *)(base + f->off2))
			return on_new(a, ON_NULL);
		return cfg_obj_to_onode(a, f->cls, base + f->off, redact);
	case FK_POLY_LIST: {
		struct onode *n = on_new(a, ON_SEQ);
		size_t cnt = *(const size_t *)(base + f->off2);
		const char *arr = *(char *const *)(base + f->off);
		for (size_t i = 0; i < cnt; i++)
			on_add(a, n, NULL, cfg_obj_to_onode(a, f->cls, arr + i * f->cls->size, redact));
		return n;
	}
	case FK_NULL:
		return on_new(a, ON_NULL);
	case FK_MIN_ACTIVE: {
		const struct cfg_decode_window *d = (const struct cfg_decode_window *)base;
		if (d->min_active_max_observed)
			return on_str(a, "max_observed");
		return on_int(a, d->min_active_requests);
	}
	}
	return on_new(a, ON_NULL);
}

struct onode *cfg_obj_to_onode(struct cfg_arena *a, const struct cfg_class *c, const void *p, int redact)
{
	struct onode *m = on_new(a, ON_MAP);
	int variant = cfg_class_type(c, p);
	const struct cfg_field *fs[64];
	size_t n = cfg_class_fields(c, variant, fs, 64);
	for (size_t i = 0; i < n; i++) {
		if (fs[i]->flags & FF_ALIAS)
			continue;
		on_add(a, m, fs[i]->name, cfg_field_to_onode(a, fs[i], p, redact));
	}
	if (!strcmp(c->name, "ClientConfig")) {
		/* the reference writes the parsed extra attribute too */
		const struct cfg_client *cl = p;
		cJSON *j = cl->additional_sampling_params ? cJSON_Parse(cl->additional_sampling_params) : NULL;
		on_add(a, m, "additional_sampling_params_dict", j ? on_json(a, j) : on_new(a, ON_MAP));
		cJSON_Delete(j);
	}
	if (c->poly && c->n_variants > 0 && c->type_off != (size_t)-1)
		on_add(a, m, "type", on_str(a, c->variants[variant].name));
	else if (c->poly && c->n_variants == 1 && !c->file_stem)
		on_add(a, m, "type", on_str(a, c->variants[0].name));
	else if (c->type_tag)
		on_add(a, m, "type", on_str(a, c->type_tag));
	return m;
}

/* ================= YAML emitter (PyYAML safe_dump, block style) ================= */
static void format_float(double d, char *out)
{
	if (isnan(d)) {
		strcpy(out, ".nan");
		return;
	}
	if (isinf(d)) {
		strcpy(out, d > 0 ? ".inf" : "-.inf");
		return;
	}
	char tmp[64];
	size_t n = jsonw_format_double(d, tmp);
	tmp[n] = '\0';
	/* PyYAML: repr().lower(); if no '.' but an exponent, insert ".0" */
	if (!strchr(tmp, '.') && strchr(tmp, 'e')) {
		char *e = strchr(tmp, 'e');
		snprintf(out, 64, "%.*s.0%s", (int)(e - tmp), tmp, e);
		return;
	}
	strcpy(out, tmp);
}

static bool yaml_needs_quotes(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return true;
	struct sval v;
	cfg_scalar_resolve(s, false, &v);
	if (v.k != SV_STR)
		return true;
	if (s[0] == ' ' || s[n - 1] == ' ')
		return true;
	if (strchr("#,[]{}&*!|>'\"%@`", s[0]))
		return true;
	if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (n == 1 || s[1] == ' '))
		return true;
	if (!strncmp(s, "---", 3) || !strncmp(s, "...", 3))
		return true;
	if (strstr(s, ": ") || strstr(s, " #") || s[n - 1] == ':')
		return true;
	if (!strcmp(s, "<<") || !strcmp(s, "="))
		return true;
	/* timestamps: YYYY-MM-DD... */
	if (n >= 8 && s[0] >= '0' && s[0] <= '9' && s[4] == '-')
		return true;
	return false;
}

static bool yaml_needs_double(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

static void emit_str(const char *s, struct buf *b)
{
	if (yaml_needs_double(s)) {
		buf_putc(b, '"');
		for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
			switch (*p) {
			case '"':
				buf_puts(b, "\\\"");
				break;
			case '\\':
				buf_puts(b, "\\\\");
				break;
			case '\n':
				buf_puts(b, "\\n");
				break;
			case '\t':
				buf_puts(b, "\\t");
				break;
			case '\r':
				buf_puts(b, "\\r");
				break;
			default:
				if (*p < 0x20 || *p == 0x7f)
					buf_printf(b, "\\x%02X", *p);
				else
					buf_putc(b, (char)*p);
			}
		}
		buf_putc(b, '"');
		return;
	}
	if (!yaml_needs_quotes(s)) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			buf_putc(b, '\'');
		buf_putc(b, *p);
	}
	buf_putc(b, '\'');
}

void cfg_emit_yaml_scalar(const struct onode *n, struct buf *b)
{
	char tmp[64];
	switch (n->k) {
	case ON_NULL:
		buf_puts(b, "null");
		break;
	case ON_BOOL:
		buf_puts(b, n->b ? "true" : "false");
		break;
	case ON_INT:
		buf_printf(b, "%lld", (long long)n->i);
		break;
	case ON_FLOAT:
		format_float(n->d, tmp);
		buf_puts(b, tmp);
		break;
	case ON_STR:
		emit_str(n->s, b);
		break;
	case ON_MAP:
		buf_puts(b, "{}");
		break;
	case ON_SEQ:
		buf_puts(b, "[]");
		break;
	}
}

static void pad(struct buf *b, int n)
{
	for (int i = 0; i < n; i++)
		buf_putc(b, ' ');
}

static bool is_block(const struct onode *n)
{
	return (n->k == ON_MAP || n->k == ON_SEQ) && n->n > 0;
}

/* n: non-empty map or seq. inline_first: the first line's indentation is already written. */
static void emit_block(const struct onode *n, struct buf *b, int indent, bool inline_first)
{
	for (size_t i = 0; i < n->n; i++) {
		if (!(i == 0 && inline_first))
			pad(b, indent);
		const struct onode *v = n->vals[i];
		if (n->k == ON_MAP) {
			emit_str(n->keys[i], b);
			buf_putc(b, ':');
			if (is_block(v)) {
				buf_putc(b, '\n');
				if (v->k == ON_MAP)
					emit_block(v, b, indent + 2, false);
				else
					emit_block(v, b, indent, false);
				continue;
			}
			buf_putc(b, ' ');
			cfg_emit_yaml_scalar(v, b);
			buf_putc(b, '\n');
		} else {
			buf_puts(b, "- ");
			if (is_block(v)) {
				emit_block(v, b, indent + 2, true);
				continue;
			}
			cfg_emit_yaml_scalar(v, b);
			buf_putc(b, '\n');
		}
	}
}

void cfg_emit_yaml(const struct onode *n, struct buf *b)
{
	if (is_block(n))
		emit_block(n, b, 0, false);
	else {
		cfg_emit_yaml_scalar(n, b);
		buf_putc(b, '\n');
	}
}

static void emit_json_node(struct jsonw *w, const struct onode *n)
{
	switch (n->k) {
	case ON_NULL:
		jsonw_null(w);
		break;
	case ON_BOOL:
		jsonw_bool(w, n->b);
		break;
	case ON_INT:
		jsonw_int(w, n->i);
		break;
	case ON_FLOAT:
		jsonw_double(w, n->d);
		break;
	case ON_STR:
		jsonw_str(w, n->s);
		break;
	case ON_MAP:
		jsonw_obj_begin(w);
		for (size_t i = 0; i < n->n; i++) {
			jsonw_key(w, n->keys[i]);
			emit_json_node(w, n->vals[i]);
		}
		jsonw_obj_end(w);
		break;
	case ON_SEQ:
		jsonw_arr_begin(w);
		for (size_t i = 0; i < n->n; i++)
			emit_json_node(w, n->vals[i]);
		jsonw_arr_end(w);
		break;
	}
}

void cfg_emit_json(const struct onode *n, struct buf *b, int indent)
{
	struct jsonw w;
	jsonw_init(&w, b, indent);
	emit_json_node(&w, n);
}

/* ================= public serialisation ================= */
static void write_obj(const struct cfg_class *c, const void *p, FILE *out, int redact, bool json)
{
	struct cfg_arena a = {0};
	struct onode *n = cfg_obj_to_onode(&a, c, p, redact);
	struct buf b;
	buf_init(&b);
	if (json) {
		cfg_emit_json(n, &b, 2);
		buf_putc(&b, '\n');
	} else {
		cfg_emit_yaml(n, &b);
	}
	fwrite(b.data, 1, b.len, out);
	buf_free(&b);
	cfg_ar_free(&a);
}

void config_benchmark_write_yaml(const struct cfg_benchmark *c, FILE *out, int redact)
{
	write_obj(&cfg_cls_benchmark, c, out, redact, false);
}

void config_benchmark_write_json(const struct cfg_benchmark *c, FILE *out, int redact)
{
	write_obj(&cfg_cls_benchmark, c, out, redact, true);
}

void config_capacity_write_yaml(const struct cfg_capacity_search *c, FILE *out, int redact)
{
	write_obj(&cfg_cls_capacity, c, out, redact, false);
}

char *config_server_canonical_json(const struct cfg_server *s)
{
	struct cfg_arena a = {0};
	struct onode *n = cfg_obj_to_onode(&a, &cfg_cls_server, s, 0);
	struct buf b;
	buf_init(&b);
	cfg_emit_json(n, &b, 0);
	char *r = buf_steal(&b);
	buf_free(&b);
	cfg_ar_free(&a);
	return r;
}

/* ================= values as text (help, describe) ================= */
char *cfg_field_value_text(const struct cfg_field *f, const void *base)
{
	struct cfg_arena a = {0};
	struct onode *n = cfg_field_to_onode(&a, f, base, 0);
	struct buf b;
	buf_init(&b);
	if (n->k == ON_MAP || n->k == ON_SEQ)
		cfg_emit_json(n, &b, 0);
	else if (n->k == ON_NULL)
		buf_puts(&b, "None");
	else if (n->k == ON_STR)
		buf_puts(&b, n->s);
	else
		cfg_emit_yaml_scalar(n, &b);
	char *r = buf_steal(&b);
	buf_free(&b);
	cfg_ar_free(&a);
	return r;
}

const char *cfg_field_type_name(const struct cfg_field *f)
{
	switch (f->kind) {
	case FK_STR:
		return f->flags & FF_NULLABLE ? "str | null" : "str";
	case FK_INT:
		if (f->flags & FF_AUTO)
			return "int | \"auto\"";
		return f->flags & FF_NULL0 ? "int | null" : "int";
	case FK_FLOAT:
		return "float";
	case FK_BOOL:
		return "bool";
	case FK_ENUM:
		return "str (enum)";
	case FK_INT_LIST:
		return f->flags & FF_OPTIONAL ? "list[int] | null" : "list[int]";
	case FK_STR_LIST:
		return "list[str]";
	case FK_CHAN_LIST:
		return "list[channel]";
	case FK_JSON:
		return "JSON object (string or mapping)";
	case FK_NESTED:
		return f->flags & FF_OPTIONAL ? "section | null" : "section";
	case FK_POLY:
		return f->flags & FF_OPTIONAL ? "polymorphic section | null" : "polymorphic section";
	case FK_POLY_LIST:
		return "list of polymorphic sections";
	case FK_NULL:
		return "null";
	case FK_MIN_ACTIVE:
		return "int | \"max_observed\"";
	}
	return "?";
}

/* Walk a default root object along a flag's path; returns the field and its base. */
static const struct cfg_field *walk_flag(const struct cfg_class *root, int root_type, char *obj,
                                         const struct cfg_flag *fl, char **base_out, int *plen_used)
{
	const struct cfg_class *c = root;
	int variant = root_type;
	char *base = obj;
	int last = fl->kind == CFLAG_SELECTOR ? fl->plen - 2 : fl->plen - 1;
	for (int d = 0; d <= last; d++) {
		const struct cfg_field *f = cfg_class_find(c, variant, fl->path[d]);
		if (!f)
			return NULL;
		if (d == last) {
			*base_out = base;
			*plen_used = d;
			return f;
		}
		if (f->kind == FK_NESTED) {
			base = cfg_nested_enter(f, base);
			c = f->cls;
			variant = 0;
		} else if (f->kind == FK_POLY) {
			char *child = base + f->off;
			bool *present = (f->flags & FF_OPTIONAL) ? (bool *)(base + f->off2) : NULL;
			int t = cfg_class_type(f->cls, child);
			if (fl->implied[d]) {
				int want = cfg_class_variant(f->cls, fl->implied[d]);
				if (want >= 0 && want != t) {
					cfg_obj_reset(f->cls, child, want);
					t = want;
				}
			}
			if (present)
				*present = true;
			base = child;
			c = f->cls;
			variant = t;
		} else {
			return NULL;
		}
	}
	return NULL;
}

char *cfg_flag_default_text(const struct cfg_class *root, int root_type, const struct cfg_flag *fl)
{
	if (fl->kind == CFLAG_FROM_FILE)
		return xstrdup("None");
	char *obj = xcalloc(1, root->size);
	root->defaults(obj, root_type);
	char *base = NULL;
	int d = 0;
	const struct cfg_field *f = walk_flag(root, root_type, obj, fl, &base, &d);
	char *r;
	if (!f) {
		r = xstrdup("?");
	} else if (fl->kind == CFLAG_SELECTOR) {
		bool *present = (f->flags & FF_OPTIONAL) ? (bool *)(base + f->off2) : NULL;
		if (present && !*present)
			r = xstrdup("None");
		else
			r = xstrdup(f->cls->variants[cfg_class_type(f->cls, base + f->off)].name);
	} else {
		r = cfg_field_value_text(f, base);
	}
	cfg_obj_free(root, obj);
	free(obj);
	return r;
}

static void dashes(char *s)
{
	for (; *s; s++)
		if (*s == '_')
			*s = '-';
}

static void help_line(FILE *out, const char *left, const char *help, const char *dflt)
{
	fprintf(out, "  %s", left);
	if (strlen(left) + 2 < 24)
		fprintf(out, "%*s", (int)(24 - strlen(left) - 2), "");
	else
		fprintf(out, "\n%24s", "");
	fprintf(out, "%s", help);
	if (dflt)
		fprintf(out, " (default: %s)", dflt);
	fputc('\n', out);
}

void cfg_print_help(const struct cfg_class *root, int root_type, const char *prog, FILE *out)
{
	const struct cfg_flag_table *t = cfg_flags_for(root);
	fprintf(out, "usage: %s [options]\n\n", prog);
	char stem[128];
	snprintf(stem, sizeof stem, "%s", root->file_stem);
	dashes(stem);
	fprintf(out,
	        "%s Every option below is a flattened configuration key; the same keys can be given\n"
	        "in a YAML file (--config FILE or --%s-from-file FILE) or in dotted form\n"
	        "(--traffic_scheduler.interval_generator.arrival_rate 20). Precedence: command line >\n"
	        "file > defaults. See docs/CONFIG.md.\n\noptions:\n",
	        root->help, stem);
	help_line(out, "-h, --help", "show this help message and exit", NULL);
	help_line(out, "--version", "print the version and exit", NULL);
	help_line(out, "--config FILE", "YAML configuration file (like the root *-from-file flag)", NULL);
	if (root == &cfg_cls_benchmark || root == &cfg_cls_capacity) {
		help_line(out, "--quiet", "no progress line (run option, not written to config.yml)", NULL);
		help_line(out, "--fail-on-slo", "exit 3 when an SLO is not met (run option)", NULL);
		help_line(out, "--strict-client", "with --fail-on-slo: a saturated client (client_saturated) fails too",
		          NULL);
		help_line(out, "--no-report", "do not write report.html (run option; docs/OUTPUTS.md)", NULL);
	}
	if (root == &cfg_cls_benchmark || root == &cfg_cls_capacity) {
		help_line(out, "--launcher NAME",
		          "local (default) or slurm: submit a sweep as one Slurm job array (docs/SLURM.md)", NULL);
		help_line(out, "--sbatch-arg=ARG",
		          "an sbatch option for --launcher slurm, e.g. --sbatch-arg=--gres=gpu:1 "
		          "(repeatable)",
		          NULL);
		help_line(out, "--sweep-point I",
		          "with --sweep-dir DIR: run only point I of the sweep into DIR "
		          "(what each array task runs)",
		          NULL);
		help_line(out, "--shard K/N",
		          "run as shard K of N (auto: from srun, a Slurm array or a Kubernetes "
		          "Indexed Job; off: never; docs/DISTRIBUTED.md)",
		          NULL);
		help_line(out, "--start-at EPOCH_S", "every shard starts its schedule at this UTC time (seconds)",
		          NULL);
		help_line(out, "--rendezvous DIR", "shards agree on the start through files in DIR; shard 0 merges",
		          NULL);
		help_line(out, "--rendezvous-margin-s S", "start S seconds after the last shard is ready (default 3)",
		          NULL);
		help_line(out, "--rendezvous-timeout-s S",
		          "give up waiting for the other shards after S s (default 600)", NULL);
		help_line(out, "--shard-count N", "the shard count with JOB_COMPLETION_INDEX (Kubernetes)", NULL);
	}
	help_line(out, "--KEY.PATH VALUE", "dotted form of any key (VALUE is YAML: 20, true, [1, 2], {a: 1})", NULL);
	for (size_t i = 0; i < t->n; i++) {
		const struct cfg_flag *fl = &t->v[i];
		char name[300], left[1400], meta[300];
		snprintf(name, sizeof name, "%s", fl->name);
		dashes(name);
		snprintf(meta, sizeof meta, "%s", fl->name);
		for (char *p = meta; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		char *dflt = cfg_flag_default_text(root, root_type, fl);
		const char *help;
		char hbuf[512];
		if (fl->kind == CFLAG_FROM_FILE) {
			snprintf(left, sizeof left, "--%s FILE", name);
			snprintf(hbuf, sizeof hbuf, "YAML file with the %s section",
			         fl->plen ? fl->path[fl->plen - 1] : "whole");
			help = hbuf;
		} else if (fl->kind == CFLAG_SELECTOR) {
			char valid[512] = "";
			for (size_t v = 0; v < fl->cls->n_variants; v++)
				snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s", v ? ", " : "",
				         fl->cls->variants[v].name);
			snprintf(left, sizeof left, "--%s {%s}", name, valid);
			snprintf(hbuf, sizeof hbuf, "%s", fl->field->help);
			help = hbuf;
		} else {
			const struct cfg_field *f = fl->field;
			if (f->kind == FK_BOOL)
				snprintf(left, sizeof left, "--%s, --no-%s", name, name);
			else if (f->kind == FK_INT_LIST || f->kind == FK_STR_LIST || f->kind == FK_CHAN_LIST)
				snprintf(left, sizeof left, "--%s %s [%s ...]", name, meta, meta);
			else if (f->kind == FK_POLY_LIST)
				snprintf(left, sizeof left, "--%s JSON", name);
			else
				snprintf(left, sizeof left, "--%s %s", name, meta);
			help = f->help;
		}
		help_line(out, left, help, dflt);
		free(dflt);
	}
}

void config_print_benchmark_help(FILE *out)
{
	cfg_print_help(&cfg_cls_benchmark, 0, "veeksha benchmark", out);
}
