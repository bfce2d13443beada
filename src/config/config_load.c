/* Node tree -> typed config (strict), CLI parsing (flattened and dotted flags), file merging. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/xalloc.h"

/* The largest configuration file read (docs/CONFIG.md, Limits): far above any real one, and a
 * --config /dev/zero is refused instead of read until memory runs out. */
#define CFG_MAX_FILE_BYTES (64 << 20)
/* --start-at: the latest epoch second whose ns fit an int64 (docs/DISTRIBUTED.md) */
#define CFG_MAX_START_AT_S 9.2e9

/* ================= conversion ================= */
struct conv {
	struct cfg_diag *d; /* where errors go */
	char path[1024];
	size_t plen;
	size_t nconfigs;
};

static size_t path_push(struct conv *cv, const char *key)
{
	size_t save = cv->plen;
	int n = snprintf(cv->path + cv->plen, sizeof cv->path - cv->plen, "%s%s", cv->plen ? "." : "", key);
	if (n > 0 && cv->plen + (size_t)n < sizeof cv->path)
		cv->plen += (size_t)n;
	return save;
}

static size_t path_push_index(struct conv *cv, size_t i)
{
	size_t save = cv->plen;
	int n = snprintf(cv->path + cv->plen, sizeof cv->path - cv->plen, "[%zu]", i);
	if (n > 0 && cv->plen + (size_t)n < sizeof cv->path)
		cv->plen += (size_t)n;
	return save;
}

static void path_pop(struct conv *cv, size_t save)
{
	cv->plen = save;
	cv->path[save] = '\0';
}

#define CV_ERR(cv, src, ...)                                                                                           \
	do {                                                                                                           \
		cfg_report((cv)->d, (src), (cv)->path, __VA_ARGS__);                                                   \
		return -1;                                                                                             \
	} while (0)

static const char *kind_name(const struct cnode *n)
{
	if (n->kind == CN_MAP)
		return "a mapping";
	if (n->kind == CN_SEQ)
		return "a list";
	return "a scalar";
}

static int not_scalar(struct conv *cv, const struct cnode *n, const char *want)
{
	if (n->kind == CN_SEQ)
		CV_ERR(cv, &n->src,
		       "a list is given for a non-list field (expected %s); use !expand to sweep over values", want);
	CV_ERR(cv, &n->src, "expected %s, got %s", want, kind_name(n));
}

static const char *sv_desc(const struct sval *v)
{
	switch (v->k) {
	case SV_NULL:
		return "null";
	case SV_BOOL:
		return "a boolean";
	case SV_INT:
		return "an integer";
	case SV_FLOAT:
		return "a float";
	default:
		return "a string";
	}
}

static int get_int(struct conv *cv, const struct cnode *n, bool null0, int64_t *out)
{
	if (n->kind != CN_SCALAR)
		return not_scalar(cv, n, "an integer");
	if (n->cli) {
		if (null0 && (!strcmp(n->text, "None") || !strcmp(n->text, "null"))) {
			*out = 0;
			return 0;
		}
		if (!cfg_parse_int_text(n->text, out))
			CV_ERR(cv, &n->src, "expected an integer, got '%s'", n->text);
		if (null0 && *out == 0)
			CV_ERR(cv, &n->src, "must be > 0 or null, got 0 (null is the default)");
		return 0;
	}
	struct sval v;
	cfg_scalar_resolve(n->text, n->quoted, &v);
	if (v.k == SV_INT) {
		/* 0 stands for null in the typed config: a 0 written out would be read as no value */
		if (null0 && v.i == 0)
			CV_ERR(cv, &n->src, "must be > 0 or null, got 0 (null is the default)");
		*out = v.i;
		return 0;
	}
	if (v.k == SV_NULL && null0) {
		*out = 0;
		return 0;
	}
	if (v.k == SV_STR)
		CV_ERR(cv, &n->src, "expected an integer, got string '%s'", n->text);
	CV_ERR(cv, &n->src, "expected an integer, got %s (%s)", sv_desc(&v), n->text);
}

/* Every float field of every section goes through here, so this is the one place that keeps
 * .inf/.nan (and overflowing literals such as 1e999) out of the typed config: no rate, interval,
 * length or timeout is meaningful when infinite, and the constructors downstream assume finite
 * values (docs/CONFIG.md, "Numbers"). */
static int finite_float(struct conv *cv, const struct cnode *n, double d, double *out)
{
	if (!isfinite(d))
		CV_ERR(cv, &n->src, "must be a finite number, got '%s'", n->text);
	*out = d;
	return 0;
}

static int get_float(struct conv *cv, const struct cnode *n, double *out)
{
	if (n->kind != CN_SCALAR)
		return not_scalar(cv, n, "a number");
	if (n->cli) {
		double d;
		if (!cfg_parse_float_text(n->text, &d))
			CV_ERR(cv, &n->src, "expected a number, got '%s'", n->text);
		return finite_float(cv, n, d, out);
	}
	struct sval v;
	cfg_scalar_resolve(n->text, n->quoted, &v);
	if (v.k == SV_INT) {
		*out = (double)v.i;
		return 0;
	}
	if (v.k == SV_FLOAT)
		return finite_float(cv, n, v.d, out);
	if (v.k == SV_STR)
		CV_ERR(cv, &n->src, "expected a number, got string '%s'", n->text);
	CV_ERR(cv, &n->src, "expected a number, got %s (%s)", sv_desc(&v), n->text);
}

static int get_bool(struct conv *cv, const struct cnode *n, bool *out)
{
	if (n->kind != CN_SCALAR)
		return not_scalar(cv, n, "a boolean");
	struct sval v;
	cfg_scalar_resolve(n->text, n->cli ? false : n->quoted, &v);
	if (v.k == SV_BOOL) {
		*out = v.b;
		return 0;
	}
	CV_ERR(cv, &n->src, "expected a boolean (true/false), got %s '%s'", sv_desc(&v), n->text);
}

/* string value; *out = NULL for null (only if nullable) */
static int get_str(struct conv *cv, const struct cnode *n, bool nullable, const char **out)
{
	if (n->kind != CN_SCALAR)
		return not_scalar(cv, n, "a string");
	if (cn_is_null(n) && (nullable || !n->cli)) {
		if (!nullable)
			CV_ERR(cv, &n->src, "must be a string, not null");
		*out = NULL;
		return 0;
	}
	*out = n->text;
	return 0;
}

/* A mapping given for a JSON field, as JSON text. Returns the first scalar that JSON cannot hold (a
 * .nan or .inf: the text would not parse back, and the field's values were silently dropped), or NULL. */
static const struct cnode *node_to_json(struct jsonw *w, const struct cnode *n)
{
	const struct cnode *bad = NULL, *b;
	if (n->kind == CN_MAP) {
		jsonw_obj_begin(w);
		for (size_t i = 0; i < n->n_ents; i++) {
			jsonw_key(w, n->ents[i].key);
			if ((b = node_to_json(w, n->ents[i].val)) && !bad)
				bad = b;
		}
		jsonw_obj_end(w);
		return bad;
	}
	if (n->kind == CN_SEQ) {
		jsonw_arr_begin(w);
		for (size_t i = 0; i < n->n_items; i++)
			if ((b = node_to_json(w, n->items[i])) && !bad)
				bad = b;
		jsonw_arr_end(w);
		return bad;
	}
	struct sval v;
	cfg_scalar_resolve(n->text, n->quoted || n->cli, &v);
	switch (v.k) {
	case SV_NULL:
		jsonw_null(w);
		break;
	case SV_BOOL:
		jsonw_bool(w, v.b);
		break;
	case SV_INT:
		jsonw_int(w, v.i);
		break;
	case SV_FLOAT:
		if (!isfinite(v.d))
			return n;
		jsonw_double(w, v.d);
		break;
	default:
		jsonw_str(w, n->text);
	}
	return NULL;
}

/* true when every number of a parsed JSON value is finite (cJSON reads 1e999 as inf) */
static bool json_all_finite(const cJSON *j)
{
	if (cJSON_IsNumber(j))
		return isfinite(j->valuedouble);
	for (const cJSON *c = j->child; c; c = c->next)
		if (!json_all_finite(c))
			return false;
	return true;
}

static int apply_map(struct conv *cv, const struct cfg_class *c, int variant, char *base, const struct cnode *n);
static int apply_poly(struct conv *cv, const struct cfg_field *f, char *base, const struct cnode *n);

static int resolve_item_type(struct conv *cv, const struct cfg_class *c, const struct cnode *n, int *type)
{
	if (n->kind != CN_MAP)
		CV_ERR(cv, &n->src, "expected a mapping, got %s", kind_name(n));
	const struct cn_entry *te = cn_find(n, "type");
	char valid[512] = "";
	for (size_t i = 0; i < c->n_variants; i++)
		snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s", i ? ", " : "",
		         c->variants[i].name);
	if (!te || cn_is_null(te->val) || (te->val->kind == CN_SCALAR && !te->val->text[0])) {
		if (c->n_variants == 1) {
			*type = 0;
			return 0;
		}
		CV_ERR(cv, &n->src, "missing 'type' (one of: %s)", valid);
	}
	if (te->val->kind != CN_SCALAR)
		CV_ERR(cv, &te->val->src, "'type' must be a string (one of: %s)", valid);
	int t = cfg_class_variant(c, te->val->text);
	if (t < 0) {
		size_t save = path_push(cv, "type");
		cfg_report(cv->d, &te->val->src, cv->path, "unknown type '%s' (valid: %s)", te->val->text, valid);
		path_pop(cv, save);
		return -1;
	}
	*type = t;
	return 0;
}

static int apply_field(struct conv *cv, const struct cfg_field *f, char *base, const struct cnode *n)
{
	switch (f->kind) {
	case FK_STR: {
		const char *s;
		if (get_str(cv, n, f->flags & FF_NULLABLE, &s))
			return -1;
		if (s && f->enums) {
			bool ok = false;
			for (const char *const *e = f->enums; *e; e++)
				ok |= !strcmp(*e, s);
			if (!ok) {
				char valid[256] = "";
				for (const char *const *e = f->enums; *e; e++)
					snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s",
					         valid[0] ? ", " : "", *e);
				CV_ERR(cv, &n->src, "must be one of: %s (got '%s')", valid, s);
			}
		}
		char **dst = (char **)(base + f->off);
		free(*dst);
		*dst = xstrdup(s);
		return 0;
	}
	case FK_INT:
		if ((f->flags & FF_AUTO) && n->kind == CN_SCALAR && !strcmp(n->text, "auto")) {
			*(int64_t *)(base + f->off) = CFG_INT_AUTO;
			return 0;
		}
		return get_int(cv, n, f->flags & FF_NULL0, (int64_t *)(base + f->off));
	case FK_FLOAT:
		return get_float(cv, n, (double *)(base + f->off));
	case FK_BOOL:
		return get_bool(cv, n, (bool *)(base + f->off));
	case FK_ENUM: {
		const char *s;
		if (n->kind != CN_SCALAR)
			return not_scalar(cv, n, "a string");
		s = n->text;
		char valid[256] = "";
		int i = 0;
		for (const char *const *e = f->enums; *e; e++, i++) {
			if (!strcasecmp(*e, s)) {
				*(int *)(base + f->off) = i;
				return 0;
			}
			snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s", i ? ", " : "", *e);
		}
		CV_ERR(cv, &n->src, "must be one of: %s (got '%s')", valid, s);
	}
	case FK_INT_LIST:
	case FK_STR_LIST:
	case FK_CHAN_LIST: {
		bool *has = (f->flags & FF_OPTIONAL) ? (bool *)(base + f->off3) : NULL;
		if (n->kind == CN_SCALAR && cn_is_null(n) && has) {
			*has = false;
			void **v = (void **)(base + f->off);
			free(*v);
			*v = NULL;
			*(size_t *)(base + f->off2) = 0;
			return 0;
		}
		if (n->kind != CN_SEQ)
			CV_ERR(cv, &n->src, "expected a list, got %s", kind_name(n));
		size_t cnt = n->n_items;
		if (f->kind == FK_INT_LIST) {
			int64_t *v = xcalloc(cnt + 1, sizeof *v);
			for (size_t i = 0; i < cnt; i++) {
				size_t save = path_push_index(cv, i);
				int rc = get_int(cv, n->items[i], false, &v[i]);
				path_pop(cv, save);
				if (rc) {
					free(v);
					return -1;
				}
			}
			int64_t **dst = (int64_t **)(base + f->off);
			free(*dst);
			*dst = v;
		} else if (f->kind == FK_CHAN_LIST) {
			enum cfg_channel_type *v = xcalloc(cnt + 1, sizeof *v);
			static const char *const chn[] = {"text", "image", "audio", "video"};
			for (size_t i = 0; i < cnt; i++) {
				const struct cnode *it = n->items[i];
				int found = -1;
				if (it->kind == CN_SCALAR) {
					for (int k = 0; k < 4; k++)
						if (!strcasecmp(it->text, chn[k]))
							found = k;
					struct sval sv;
					cfg_scalar_resolve(it->text, it->quoted, &sv);
					if (found < 0 && sv.k == SV_INT && sv.i >= 1 && sv.i <= 4)
						found = (int)sv.i - 1;
				}
				if (found < 0) {
					free(v);
					size_t save = path_push_index(cv, i);
					cfg_report(cv->d, &it->src, cv->path,
					           "unknown channel '%s' (valid: text, image, audio, video)",
					           it->kind == CN_SCALAR ? it->text : "?");
					path_pop(cv, save);
					return -1;
				}
				v[i] = (enum cfg_channel_type)found;
			}
			enum cfg_channel_type **dst = (enum cfg_channel_type **)(base + f->off);
			free(*dst);
			*dst = v;
		} else {
			char **v = xcalloc(cnt + 1, sizeof *v);
			for (size_t i = 0; i < cnt; i++) {
				const char *s = NULL;
				size_t save = path_push_index(cv, i);
				int rc = get_str(cv, n->items[i], false, &s);
				path_pop(cv, save);
				if (rc) {
					for (size_t k = 0; k < i; k++)
						free(v[k]);
					free(v);
					return -1;
				}
				v[i] = xstrdup(s);
			}
			char ***dst = (char ***)(base + f->off);
			size_t *old = (size_t *)(base + f->off2);
			for (size_t k = 0; k < *old; k++)
				free((*dst)[k]);
			free(*dst);
			*dst = v;
		}
		*(size_t *)(base + f->off2) = cnt;
		if (has)
			*has = true;
		return 0;
	}
	case FK_JSON: {
		char **dst = (char **)(base + f->off);
		if (n->kind == CN_MAP) {
			struct buf b;
			buf_init(&b);
			struct jsonw w;
			jsonw_init(&w, &b, 0);
			const struct cnode *bad = node_to_json(&w, n);
			if (bad) {
				buf_free(&b);
				CV_ERR(cv, &bad->src,
				       "must hold finite numbers only (JSON has no NaN or Infinity), got '%s'",
				       bad->text);
			}
			free(*dst);
			*dst = buf_steal(&b);
			buf_free(&b);
			return 0;
		}
		const char *s;
		if (get_str(cv, n, f->flags & FF_NULLABLE, &s))
			return -1;
		if (s) {
			cJSON *j = cJSON_Parse(s);
			bool ok = j && cJSON_IsObject(j), finite = ok && json_all_finite(j);
			cJSON_Delete(j);
			if (!ok)
				CV_ERR(cv, &n->src,
				       "must be a JSON object (e.g. '{\"key\": 1}') or a mapping, got '%s'", s);
			if (!finite)
				CV_ERR(cv, &n->src,
				       "must hold finite numbers only (a number overflows a double), got '%s'", s);
		}
		free(*dst);
		*dst = xstrdup(s);
		return 0;
	}
	case FK_NESTED: {
		if ((f->flags & FF_OPTIONAL) && cn_is_null(n)) {
			*(bool *)(base + f->off2) = false;
			return 0;
		}
		if (n->kind != CN_MAP) {
			if (n->kind == CN_SEQ)
				CV_ERR(cv, &n->src,
				       "a list is given for a section (expected a mapping); use !expand to sweep");
			CV_ERR(cv, &n->src, "expected a mapping, got '%s'", n->text);
		}
		return apply_map(cv, f->cls, 0, cfg_nested_enter(f, base), n);
	}
	case FK_POLY:
		return apply_poly(cv, f, base, n);
	case FK_POLY_LIST: {
		if (n->kind != CN_SEQ)
			CV_ERR(cv, &n->src, "expected a list, got %s", kind_name(n));
		const struct cfg_class *c = f->cls;
		size_t cnt = n->n_items;
		int *types = xcalloc(cnt + 1, sizeof *types);
		for (size_t i = 0; i < cnt; i++) {
			size_t save = path_push_index(cv, i);
			int rc = resolve_item_type(cv, c, n->items[i], &types[i]);
			path_pop(cv, save);
			if (rc) {
				free(types);
				return -1;
			}
		}
		char **arr = (char **)(base + f->off);
		size_t *count = (size_t *)(base + f->off2);
		for (size_t i = 0; i < *count; i++)
			cfg_obj_free(c, *arr + i * c->size);
		free(*arr);
		*arr = xcalloc(cnt + 1, c->size);
		*count = cnt;
		for (size_t i = 0; i < cnt; i++)
			c->defaults(*arr + i * c->size, types[i]);
		for (size_t i = 0; i < cnt; i++) {
			size_t save = path_push_index(cv, i);
			int rc = apply_map(cv, c, types[i], *arr + i * c->size, n->items[i]);
			path_pop(cv, save);
			if (rc) {
				free(types);
				return -1;
			}
		}
		free(types);
		return 0;
	}
	case FK_NULL:
		if (!cn_is_null(n))
			CV_ERR(cv, &n->src, "is not supported (must be null)");
		return 0;
	case FK_MIN_ACTIVE: {
		struct cfg_decode_window *d = (struct cfg_decode_window *)base;
		if (n->kind == CN_SCALAR && !strcmp(n->text, "max_observed")) {
			d->min_active_max_observed = true;
			return 0;
		}
		int64_t v;
		if (n->kind != CN_SCALAR)
			return not_scalar(cv, n, "an integer or \"max_observed\"");
		struct sval sv;
		cfg_scalar_resolve(n->text, n->quoted && !n->cli, &sv);
		if (n->cli ? !cfg_parse_int_text(n->text, &v) : sv.k != SV_INT)
			CV_ERR(cv, &n->src, "expected an integer > 0 or \"max_observed\", got '%s'", n->text);
		if (!n->cli)
			v = sv.i;
		d->min_active_max_observed = false;
		d->min_active_requests = v;
		return 0;
	}
	}
	return 0;
}

static int run_validate(struct conv *cv, const struct cfg_class *c, int variant, const char *base,
                        const struct cnode *n)
{
	if (!c->validate)
		return 0;
	const char *key = NULL;
	struct cfg_verr ve = {{0}, {0}};
	const char *msg = c->validate(base, variant, &key, &ve);
	if (!msg)
		return 0;
	/* key may be a path below this section ("a.b[0].c"): point at the deepest node given */
	const struct cnode *at = n;
	for (const char *k = key; k && *k && at;) {
		if (*k == '.') {
			k++;
			continue;
		}
		if (*k == '[') {
			char *end;
			unsigned long long i = strtoull(k + 1, &end, 10);
			if (*end != ']' || at->kind != CN_SEQ || i >= at->n_items)
				break;
			at = at->items[i];
			k = end + 1;
			continue;
		}
		size_t len = strcspn(k, ".[");
		char name[128];
		if (len >= sizeof name || at->kind != CN_MAP)
			break;
		memcpy(name, k, len);
		name[len] = '\0';
		const struct cn_entry *e = cn_find(at, name);
		if (!e)
			break;
		at = e->val;
		k += len;
	}
	size_t save = key ? path_push(cv, key) : cv->plen;
	cfg_report(cv->d, &at->src, cv->path, "%s", msg);
	path_pop(cv, save);
	return -1;
}

static int apply_map(struct conv *cv, const struct cfg_class *c, int variant, char *base, const struct cnode *n)
{
	for (size_t i = 0; i < n->n_ents; i++) {
		const struct cn_entry *e = &n->ents[i];
		if (!strcmp(e->key, "type")) {
			if (c->poly && c->n_variants > 1)
				continue; /* handled by apply_poly */
			const char *tag = c->poly ? c->variants[0].name : c->type_tag;
			if (tag) {
				if (e->val->kind == CN_SCALAR && (!strcasecmp(e->val->text, tag) || cn_is_null(e->val)))
					continue;
				size_t save = path_push(cv, "type");
				cfg_report(cv->d, &e->val->src, cv->path, "unknown type '%s' (valid: %s)",
				           e->val->kind == CN_SCALAR ? e->val->text : "?", tag);
				path_pop(cv, save);
				return -1;
			}
		}
		const struct cfg_field *f = cfg_class_find(c, variant, e->key);
		if (!f && !strcmp(c->name, "ClientConfig") && !strcmp(e->key, "additional_sampling_params_dict"))
			continue; /* derived attribute written to config.yml: accepted and ignored on input */
		if (!f) {
			if (n->type_overridden && e->val->src.file) {
				size_t save = path_push(cv, e->key);
				cfg_warn(&e->ksrc, cv->path,
				         "ignored: not a field of type '%s' selected on the command line",
				         c->variants[variant].name);
				path_pop(cv, save);
				continue;
			}
			const struct cfg_field *fs[64];
			size_t nf = cfg_class_fields(c, variant, fs, 64);
			const char *names[66];
			size_t nn = 0;
			for (size_t k = 0; k < nf; k++)
				if (!(fs[k]->flags & FF_ALIAS))
					names[nn++] = fs[k]->name;
			if (c->poly || c->type_tag)
				names[nn++] = "type";
			const char *dym = cfg_did_you_mean(e->key, names, nn);
			char where[256] = "";
			if (c->poly && c->n_variants > 1)
				snprintf(where, sizeof where, " for type '%s'", c->variants[variant].name);
			else if (!c->poly)
				snprintf(where, sizeof where, " in %s", c->name);
			/* a key valid for another variant gets a more useful hint */
			const char *other = NULL;
			if (c->poly)
				for (size_t v = 0; v < c->n_variants && !other; v++)
					if ((int)v != variant && cfg_class_find(c, (int)v, e->key))
						other = c->variants[v].name;
			size_t save = path_push(cv, e->key);
			if (other)
				cfg_report(cv->d, &e->ksrc, cv->path, "unknown key '%s'%s (it belongs to type '%s')",
				           e->key, where, other);
			else if (dym)
				cfg_report(cv->d, &e->ksrc, cv->path, "unknown key '%s'%s (did you mean '%s'?)", e->key,
				           where, dym);
			else
				cfg_report(cv->d, &e->ksrc, cv->path, "unknown key '%s'%s", e->key, where);
			path_pop(cv, save);
			return -1;
		}
		size_t save = path_push(cv, e->key);
		if (f->flags & FF_ALIAS) {
			const char *target = f->kind == FK_INT_LIST ? "gpu_ids" : "?";
			cfg_warn(&e->ksrc, cv->path, "'%s' is a deprecated alias of '%s'", e->key, target);
		}
		int rc = apply_field(cv, f, base, e->val);
		path_pop(cv, save);
		if (rc)
			return -1;
	}
	return run_validate(cv, c, variant, base, n);
}

static int apply_poly(struct conv *cv, const struct cfg_field *f, char *base, const struct cnode *n)
{
	const struct cfg_class *c = f->cls;
	char *child = base + f->off;
	bool *present = (f->flags & FF_OPTIONAL) ? (bool *)(base + f->off2) : NULL;
	char valid[512] = "";
	for (size_t i = 0; i < c->n_variants; i++)
		snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s", i ? ", " : "",
		         c->variants[i].name);
	if (cn_is_null(n)) {
		if (present) {
			*present = false;
			return 0;
		}
		CV_ERR(cv, &n->src, "must not be null (expected a mapping with 'type': one of %s)", valid);
	}
	if (n->kind != CN_MAP) {
		if (n->kind == CN_SEQ)
			CV_ERR(cv, &n->src, "a list is given for a section (expected a mapping); use !expand to sweep");
		CV_ERR(cv, &n->src, "expected a mapping with 'type' (one of: %s), got '%s'", valid, n->text);
	}
	const struct cn_entry *te = cn_find(n, "type");
	int t = -1;
	bool explicit_type = false;
	if (te) {
		if (te->val->kind != CN_SCALAR) {
			size_t save = path_push(cv, "type");
			cfg_report(cv->d, &te->val->src, cv->path, "'type' must be a string (one of: %s)", valid);
			path_pop(cv, save);
			return -1;
		}
		if (cn_is_null(te->val) || !te->val->text[0]) {
			if (present) {
				*present = false;
				return 0;
			}
		} else {
			t = cfg_class_variant(c, te->val->text);
			if (t < 0) {
				size_t save = path_push(cv, "type");
				cfg_report(cv->d, &te->val->src, cv->path, "unknown type '%s' (valid: %s)",
				           te->val->text, valid);
				path_pop(cv, save);
				return -1;
			}
			explicit_type = true;
		}
	}
	if (!explicit_type) {
		if (present && !*present) {
			if (n->implied)
				CV_ERR(cv, &(struct cn_src){.flag = n->implied->flag},
				       "no %s is configured: add --%s-type %s (or '%s: {type: %s}' in the file)",
				       f->name, f->name, n->implied->type, f->name, n->implied->type);
			CV_ERR(cv, &n->src, "missing 'type' (one of: %s)", valid);
		}
		if (c->n_variants > 1 && n->src.file)
			CV_ERR(cv, &n->src, "missing 'type' (one of: %s)", valid);
		t = cfg_class_type(c, child);
	} else {
		cfg_obj_reset(c, child, t);
		if (present)
			*present = true;
	}
	for (const struct cn_implied *im = n->implied; im; im = im->next)
		if (strcasecmp(im->type, c->variants[t].name))
			CV_ERR(cv, &(struct cn_src){.flag = im->flag},
			       "this flag applies to %s type '%s', but the type is '%s'", f->name, im->type,
			       c->variants[t].name);
	return apply_map(cv, c, t, child, n);
}

static void expand_home(char **p)
{
	if (!*p || (*p)[0] != '~' || ((*p)[1] && (*p)[1] != '/'))
		return;
	const char *home = getenv("HOME");
	if (!home)
		return;
	char *n = xasprintf("%s%s", home, *p + 1);
	free(*p);
	*p = n;
}

static int convert_root(const struct cfg_class *root, int root_type, void *obj, const struct cnode *tree,
                        size_t nconfigs, struct cfg_diag *diag)
{
	struct conv cv = {.d = diag, .nconfigs = nconfigs};
	cv.path[0] = '\0';
	root->defaults(obj, root_type);
	if (tree->kind != CN_MAP) {
		cfg_report(diag, &tree->src, "", "the configuration must be a mapping");
		return -1;
	}
	if (apply_map(&cv, root, root_type, obj, tree))
		return -1;
	if (root == &cfg_cls_benchmark) {
		struct cfg_benchmark *b = obj;
		if (b->has_server)
			expand_home(&b->server.env_path);
		if (b->session_generator.env_path)
			expand_home(&b->session_generator.env_path);
		if (b->wandb.env_path)
			expand_home(&b->wandb.env_path);
	} else if (root == &cfg_cls_capacity) {
		struct cfg_capacity_search *c = obj;
		if (c->benchmark_config.has_server)
			expand_home(&c->benchmark_config.server.env_path);
	} else {
		struct cfg_microbench *m = obj;
		if (m->has_server)
			expand_home(&m->server.env_path);
	}
	return 0;
}

/* ================= merging ================= */
static struct cnode *cn_clone_map(struct cfg_arena *a, const struct cnode *m)
{
	struct cnode *c = cn_new(a, CN_MAP, &m->src);
	c->implied = m->implied;
	c->type_overridden = m->type_overridden;
	for (size_t i = 0; i < m->n_ents; i++)
		cn_map_add(a, c, m->ents[i].key, &m->ents[i].ksrc, m->ents[i].val);
	return c;
}

static struct cnode *cn_merge(struct cfg_arena *a, const struct cnode *x, const struct cnode *y, char *path,
                              size_t plen, size_t cap, struct cfg_diag *diag)
{
	struct cnode *m = cn_clone_map(a, x);
	for (size_t i = 0; i < y->n_ents; i++) {
		const struct cn_entry *e = &y->ents[i];
		struct cn_entry *d = cn_find(m, e->key);
		int w = snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", e->key);
		size_t np = w > 0 && plen + (size_t)w < cap ? plen + (size_t)w : plen;
		if (!d) {
			cn_map_add(a, m, e->key, &e->ksrc, e->val);
		} else if (d->val->kind == CN_MAP && e->val->kind == CN_MAP) {
			d->val = cn_merge(a, d->val, e->val, path, np, cap, diag);
			if (!d->val)
				return NULL;
		} else {
			char other[512];
			if (d->ksrc.file)
				snprintf(other, sizeof other, "%s:%d:%d", d->ksrc.file, d->ksrc.line, d->ksrc.col);
			else
				snprintf(other, sizeof other, "another file");
			cfg_report(diag, &e->ksrc, path, "is also set by %s (two files set the same key)", other);
			return NULL;
		}
		path[plen] = '\0';
	}
	return m;
}

static struct cnode *cn_set(struct cfg_arena *a, const struct cnode *m, const char *const *path, int plen, int d,
                            struct cnode *val, const char *const *implied, const char *flag)
{
	struct cn_src fsrc = {.flag = flag};
	struct cnode *c;
	if (m && m->kind == CN_MAP)
		c = cn_clone_map(a, m);
	else
		c = cn_new(a, CN_MAP, &fsrc);
	struct cn_entry *e = cn_find(c, path[d]);
	struct cnode *nv;
	if (d == plen - 1) {
		nv = val;
		if (!strcmp(path[d], "type") && e && e->val->kind == CN_SCALAR && val->kind == CN_SCALAR &&
		    strcasecmp(e->val->text, val->text))
			c->type_overridden = true;
	} else {
		nv = cn_set(a, e ? e->val : NULL, path, plen, d + 1, val, implied, flag);
		if (implied && implied[d]) {
			struct cn_implied *im = cfg_ar_alloc(a, sizeof *im);
			im->type = implied[d];
			im->flag = flag;
			im->next = nv->implied;
			nv->implied = im;
		}
	}
	if (e) {
		e->val = nv;
		e->ksrc = fsrc;
	} else {
		cn_map_add(a, c, path[d], &fsrc, nv);
	}
	return c;
}

/* ================= flag table ================= */
struct gpath {
	const char *path[CFG_MAX_DEPTH];
	const char *implied[CFG_MAX_DEPTH];
	int plen;
};

static void tbl_add(struct cfg_flag_table *t, const char *name, enum cfg_flag_kind k, const struct gpath *g,
                    const char *last, const struct cfg_field *f, const struct cfg_class *cls)
{
	xgrow((void **)&t->v, &t->cap, t->n + 1, sizeof *t->v);
	struct cfg_flag *fl = &t->v[t->n++];
	memset(fl, 0, sizeof *fl);
	fl->name = xstrdup(name);
	fl->kind = k;
	for (int i = 0; i < g->plen; i++) {
		fl->path[i] = g->path[i];
		fl->implied[i] = g->implied[i];
	}
	fl->plen = g->plen;
	if (last && fl->plen < CFG_MAX_DEPTH)
		fl->path[fl->plen++] = last;
	fl->field = f;
	fl->cls = cls;
}

static void gen_class(struct cfg_flag_table *t, const struct cfg_class *c, int variant, const char *prefix,
                      struct gpath *g)
{
	const struct cfg_field *fs[64];
	size_t n = cfg_class_fields(c, variant, fs, 64);
	char name[512];
	for (size_t i = 0; i < n; i++) {
		const struct cfg_field *f = fs[i];
		if (f->flags & FF_ALIAS || f->kind == FK_NULL)
			continue;
		if (g->plen >= CFG_MAX_DEPTH - 2)
			continue;
		if (f->kind == FK_NESTED || f->kind == FK_POLY) {
			struct gpath sub = *g;
			sub.path[sub.plen] = f->name;
			sub.implied[sub.plen] = NULL;
			sub.plen++;
			if (f->cls->from_file) {
				snprintf(name, sizeof name, "%s%s_from_file", prefix, f->name);
				tbl_add(t, name, CFLAG_FROM_FILE, &sub, NULL, f, f->cls);
			}
			if (f->kind == FK_NESTED) {
				snprintf(name, sizeof name, "%s%s_", prefix, f->name);
				gen_class(t, f->cls, 0, name, &sub);
				continue;
			}
			snprintf(name, sizeof name, "%s%s_type", prefix, f->name);
			tbl_add(t, name, CFLAG_SELECTOR, &sub, "type", f, f->cls);
			for (size_t v = 0; v < f->cls->n_variants; v++) {
				struct gpath vs = sub;
				vs.implied[sub.plen - 1] = f->cls->variants[v].name;
				snprintf(name, sizeof name, "%s%s_%s_", prefix, f->cls->variants[v].name, f->name);
				gen_class(t, f->cls, (int)v, name, &vs);
			}
			continue;
		}
		snprintf(name, sizeof name, "%s%s", prefix, f->name);
		tbl_add(t, name, CFLAG_VALUE, g, f->name, f, c);
	}
}

static struct {
	const struct cfg_class *root;
	struct cfg_flag_table t;
} flag_cache[8];

const struct cfg_flag_table *cfg_flags_for(const struct cfg_class *root)
{
	size_t i;
	for (i = 0; i < 8 && flag_cache[i].root; i++)
		if (flag_cache[i].root == root)
			return &flag_cache[i].t;
	if (i == 8)
		i = 7;
	struct cfg_flag_table *t = &flag_cache[i].t;
	memset(t, 0, sizeof *t);
	struct gpath g = {.plen = 0};
	char name[256];
	snprintf(name, sizeof name, "%s_from_file", root->file_stem);
	tbl_add(t, name, CFLAG_FROM_FILE, &g, NULL, NULL, root);
	gen_class(t, root, 0, "", &g);
	flag_cache[i].root = root;
	return t;
}

const struct cfg_flag *cfg_flag_find(const struct cfg_flag_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	return NULL;
}

/* ================= CLI ================= */
struct cli_file {
	const char *path;
	const char *flag;
	const char *mount[CFG_MAX_DEPTH];
	int mlen;
};

struct cli_ovr {
	const char *path[CFG_MAX_DEPTH];
	const char *implied[CFG_MAX_DEPTH];
	int plen;
	struct cnode *val;
	const char *flag;
};

static struct cnode *mount_tree(struct cfg_arena *a, struct cnode *tree, const char *const *mount, int mlen)
{
	for (int d = mlen - 1; d >= 0; d--) {
		struct cnode *m = cn_new(a, CN_MAP, &tree->src);
		cn_map_add(a, m, mount[d], &tree->src, tree);
		tree = m;
	}
	return tree;
}

static bool is_bool_field(const struct cfg_flag *fl)
{
	return fl->kind == CFLAG_VALUE && fl->field && fl->field->kind == FK_BOOL;
}

static void print_flag_hint(const struct cfg_flag_table *t, const char *name, const char *tok, struct cfg_diag *diag)
{
	const char **names = xcalloc(t->n + 1, sizeof *names);
	for (size_t i = 0; i < t->n; i++)
		names[i] = t->v[i].name;
	const char *dym = cfg_did_you_mean(name, names, t->n);
	free(names);
	struct cn_src s = {.flag = tok};
	if (dym) {
		char buf[512];
		snprintf(buf, sizeof buf, "%s", dym);
		for (char *p = buf; *p; p++)
			if (*p == '_')
				*p = '-';
		cfg_report(diag, &s, "", "unknown option (did you mean --%s?)", buf);
	} else {
		cfg_report(diag, &s, "", "unknown option (see --help)");
	}
}

static int finish(const struct cfg_class *root, int root_type, struct cfg_arena *a, struct cli_file *files,
                  size_t nfiles, struct cli_ovr *ovr, size_t novr, struct cfg_parse_result *out, const char *mem_text,
                  size_t mem_len, const char *mem_name, struct cfg_diag *diag)
{
	/* load each file and expand it */
	size_t nsrc = nfiles + (mem_text ? 1 : 0);
	struct cnode ***alts = cfg_ar_alloc(a, (nsrc + 1) * sizeof *alts);
	size_t *cnt = cfg_ar_alloc(a, (nsrc + 1) * sizeof *cnt);
	for (size_t i = 0; i < nsrc; i++) {
		struct cnode *tree;
		const char *const *mount = NULL;
		int mlen = 0;
		if (i < nfiles) {
			size_t len = 0;
			char *text = fs_read_file_max(files[i].path, CFG_MAX_FILE_BYTES, &len);
			if (!text) {
				int err = errno;
				struct cn_src s = {.flag = files[i].flag};
				if (err == EFBIG)
					cfg_report(diag, &s, "",
					           "cannot read '%s': larger than %d MiB (not a configuration)",
					           files[i].path, CFG_MAX_FILE_BYTES >> 20);
				else
					cfg_report(diag, &s, "", "cannot read '%s': %s", files[i].path, strerror(err));
				return CONFIG_EXIT_USAGE;
			}
			tree = cfg_yaml_parse(a, text, len, cfg_ar_strdup(a, files[i].path), NULL, diag);
			free(text);
			mount = files[i].mount;
			mlen = files[i].mlen;
		} else {
			tree = cfg_yaml_parse(a, mem_text, mem_len, mem_name, NULL, diag);
		}
		if (!tree)
			return CONFIG_EXIT_USAGE;
		struct cnode **vars;
		size_t nv = cfg_expand_root(a, tree, &vars, diag);
		if (!nv)
			return CONFIG_EXIT_USAGE;
		for (size_t k = 0; k < nv; k++)
			vars[k] = mount_tree(a, vars[k], mount, mlen);
		alts[i] = vars;
		cnt[i] = nv;
	}
	size_t total = 1;
	for (size_t i = 0; i < nsrc; i++) {
		if (total > 10000 / cnt[i] + 1 || total * cnt[i] > 10000) {
			struct cn_src s = {0};
			cfg_report(diag, &s, "", "the files together produce more than 10000 configurations");
			return CONFIG_EXIT_USAGE;
		}
		total *= cnt[i];
	}
	out->items = xcalloc(total + 1, root->size);
	out->count = 0;
	for (size_t idx = 0; idx < total; idx++) {
		size_t rem = idx;
		struct cn_src none = {0};
		struct cnode *tree = cn_new(a, CN_MAP, &none);
		size_t pick[64];
		for (size_t i = nsrc; i-- > 0;) {
			pick[i < 64 ? i : 63] = rem % cnt[i];
			rem /= cnt[i];
		}
		for (size_t i = 0; i < nsrc && i < 64; i++) {
			char path[1024] = "";
			struct cnode *v = alts[i][pick[i]];
			if (i == 0)
				tree = v;
			else
				tree = cn_merge(a, tree, v, path, 0, sizeof path, diag);
			if (!tree)
				goto fail;
		}
		for (size_t k = 0; k < novr; k++)
			tree = cn_set(a, tree, ovr[k].path, ovr[k].plen, 0, ovr[k].val, ovr[k].implied, ovr[k].flag);
		char *obj = (char *)out->items + idx * root->size;
		if (convert_root(root, root_type, obj, tree, total, diag)) {
			cfg_obj_free(root, obj);
			goto fail;
		}
		out->count = idx + 1;
	}
	return CONFIG_OK;
fail:
	for (size_t i = 0; i < out->count; i++)
		cfg_obj_free(root, (char *)out->items + i * root->size);
	free(out->items);
	out->items = NULL;
	out->count = 0;
	return CONFIG_EXIT_USAGE;
}

static struct cnode *cli_scalar(struct cfg_arena *a, const char *text, const char *flag)
{
	struct cn_src s = {.flag = flag};
	struct cnode *n = cn_scalar(a, text, &s);
	n->cli = true;
	return n;
}

int cfg_parse_args(const struct cfg_class *root, int root_type, const char *prog, int argc, char **argv,
                   struct cfg_parse_result *out, bool allow_run_opts, struct cfg_diag *diag)
{
	memset(out, 0, sizeof *out);
	const struct cfg_flag_table *t = cfg_flags_for(root);
	struct cfg_arena a = {0};
	struct cli_file *files = xcalloc((size_t)argc + 1, sizeof *files);
	struct cli_ovr *ovr = xcalloc((size_t)argc + 1, sizeof *ovr);
	size_t nfiles = 0, novr = 0;
	int rc = CONFIG_EXIT_USAGE;
	for (int i = 1; i < argc; i++) {
		const char *tok = argv[i];
		if (!strcmp(tok, "-h") || !strcmp(tok, "--help")) {
			cfg_print_help(root, root_type, prog, stdout);
			rc = CONFIG_HELP_PRINTED;
			goto out;
		}
		if (!strcmp(tok, "--version")) {
			printf("%s %s\n", prog, VK_VERSION);
			rc = CONFIG_HELP_PRINTED;
			goto out;
		}
		struct cn_src tsrc = {.flag = tok};
		if (strncmp(tok, "--", 2) != 0 || !tok[2]) {
			cfg_report(diag, &tsrc, "", "unexpected argument (options start with --)");
			goto out;
		}
		char name[512];
		snprintf(name, sizeof name, "%s", tok + 2);
		const char *inline_val = NULL;
		char *eq = strchr(name, '=');
		if (eq) {
			*eq = '\0';
			inline_val = tok + 2 + (eq - name) + 1;
		}
		const char *flag = cfg_ar_strndup(&a, tok, (size_t)(eq ? 2 + (eq - name) : (long)strlen(tok)));
		tsrc.flag = flag;
#define NEED_VALUE(var)                                                                                                \
	do {                                                                                                           \
		if (inline_val)                                                                                        \
			(var) = inline_val;                                                                            \
		else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)                                           \
			(var) = argv[++i];                                                                             \
		else {                                                                                                 \
			cfg_report(diag, &tsrc, "", "expected a value");                                               \
			goto out;                                                                                      \
		}                                                                                                      \
	} while (0)
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		if (allow_run_opts && !strcmp(name, "strict_client")) {
			if (inline_val) {
				cfg_report(diag, &tsrc, "", "takes no value");
				goto out;
			}
			out->opts.strict_client = true;
			continue;
		}
		if (allow_run_opts &&
		    (!strcmp(name, "quiet") || !strcmp(name, "fail_on_slo") || !strcmp(name, "no_report"))) {
			if (inline_val) {
				cfg_report(diag, &tsrc, "", "takes no value");
				goto out;
			}
			if (!strcmp(name, "quiet"))
				out->opts.quiet = true;
			else if (!strcmp(name, "no_report"))
				out->opts.no_report = true;
			else
				out->opts.fail_on_slo = true;
			continue;
		}
		if (allow_run_opts && (root == &cfg_cls_benchmark || root == &cfg_cls_capacity) &&
		    (!strcmp(name, "launcher") || !strcmp(name, "sbatch_arg") || !strcmp(name, "sweep_point") ||
		     !strcmp(name, "sweep_dir"))) {
			const char *v;
			NEED_VALUE(v);
			if (!strcmp(name, "launcher")) {
				if (strcmp(v, "local") != 0 && strcmp(v, "slurm") != 0) {
					cfg_report(diag, &tsrc, "", "'%s' is not a launcher (local or slurm)", v);
					goto out;
				}
				out->opts.launcher = v;
			} else if (!strcmp(name, "sbatch_arg")) {
				if (out->opts.n_sbatch_args >= CFG_MAX_SBATCH_ARGS) {
					cfg_report(diag, &tsrc, "", "at most %d --sbatch-arg options",
					           CFG_MAX_SBATCH_ARGS);
					goto out;
				}
				out->opts.sbatch_args[out->opts.n_sbatch_args++] = v;
			} else if (!strcmp(name, "sweep_point")) {
				char *end;
				errno = 0;
				long long pt = strtoll(v, &end, 10);
				if (end == v || *end || errno || pt < 0) {
					cfg_report(diag, &tsrc, "", "'%s' is not a sweep point index (0, 1, ...)", v);
					goto out;
				}
				out->opts.has_sweep_point = true;
				out->opts.sweep_point = pt;
			} else {
				out->opts.sweep_dir = v;
			}
			continue;
		}
		if (allow_run_opts && root == &cfg_cls_benchmark &&
		    (!strcmp(name, "shard") || !strcmp(name, "shard_count") || !strcmp(name, "start_at") ||
		     !strcmp(name, "rendezvous") || !strcmp(name, "rendezvous_margin_s") ||
		     !strcmp(name, "rendezvous_timeout_s"))) {
			/* shard options (docs/DISTRIBUTED.md); --shard K/N itself is checked by the runner */
			const char *v;
			NEED_VALUE(v);
			if (!strcmp(name, "shard")) {
				out->opts.shard = v;
			} else if (!strcmp(name, "rendezvous")) {
				out->opts.rendezvous = v;
			} else {
				char *end;
				errno = 0;
				double x = strtod(v, &end);
				if (end == v || *end || errno || !isfinite(x) || x <= 0 ||
				    (!strcmp(name, "shard_count") && (x != (double)(uint32_t)x || x > 65536))) {
					cfg_report(diag, &tsrc, "", "'%s' is not a positive %s", v,
					           !strcmp(name, "shard_count") ? "integer" : "number");
					goto out;
				}
				if (!strcmp(name, "start_at") && x >= CFG_MAX_START_AT_S) {
					/* past int64 ns (year 2262): almost surely milliseconds, e.g. date +%s%3N */
					cfg_report(diag, &tsrc, "",
					           "'%s' is after the year 2262: --start-at takes UTC epoch seconds "
					           "(e.g. $(date +%%s), not milliseconds)",
					           v);
					goto out;
				}
				if (!strcmp(name, "shard_count"))
					out->opts.shard_count = (uint32_t)x;
				else if (!strcmp(name, "start_at"))
					out->opts.start_at_s = x;
				else if (!strcmp(name, "rendezvous_margin_s"))
					out->opts.rendezvous_margin_s = x;
				else
					out->opts.rendezvous_timeout_s = x;
			}
			continue;
		}
		if (!strcmp(name, "config")) {
			const char *v;
			NEED_VALUE(v);
			files[nfiles].path = v;
			files[nfiles].flag = flag;
			files[nfiles].mlen = 0;
			nfiles++;
			continue;
		}
		/* dotted form: --a.b.c VALUE; a root key that is no flattened flag (--server '{type: sim}',
		 * --traffic-scheduler '{...}') is its one-key path (docs/CONFIG.md, Dotted flags) */
		if (strchr(name, '.') || (!cfg_flag_find(t, name) && cfg_class_find(root, root_type, name))) {
			const char *v;
			NEED_VALUE(v);
			struct cli_ovr *o = &ovr[novr];
			memset(o, 0, sizeof *o);
			char *dup = cfg_ar_strdup(&a, name);
			for (char *c = dup, *dot; c; c = dot ? dot + 1 : NULL) {
				dot = strchr(c, '.');
				if (dot)
					*dot = '\0';
				if (!*c) {
					/* --.seed, --runtime..max_sessions, --runtime.: not a key path */
					cfg_report(diag, &tsrc, "", "empty key in the key path");
					goto out;
				}
				if (o->plen >= CFG_MAX_DEPTH) {
					cfg_report(diag, &tsrc, "", "key path too deep");
					goto out;
				}
				o->path[o->plen++] = c;
			}
			struct cnode *val;
			if (v[0] == '[' || v[0] == '{') {
				val = cfg_yaml_parse(&a, v, strlen(v), NULL, flag, diag);
				if (!val)
					goto out;
			} else {
				struct cn_src s = {.flag = flag};
				val = cn_scalar(&a, v, &s);
			}
			o->val = val;
			o->flag = flag;
			novr++;
			continue;
		}
		const struct cfg_flag *fl = cfg_flag_find(t, name);
		bool negated = false;
		if (!fl && !strncmp(name, "no_", 3)) {
			fl = cfg_flag_find(t, name + 3);
			if (fl && !is_bool_field(fl))
				fl = NULL;
			negated = fl != NULL;
		}
		if (!fl) {
			print_flag_hint(t, name, flag, diag);
			goto out;
		}
		if (fl->kind == CFLAG_FROM_FILE) {
			const char *v;
			NEED_VALUE(v);
			files[nfiles].path = v;
			files[nfiles].flag = flag;
			files[nfiles].mlen = fl->plen;
			for (int k = 0; k < fl->plen; k++)
				files[nfiles].mount[k] = fl->path[k];
			nfiles++;
			continue;
		}
		struct cli_ovr *o = &ovr[novr];
		memset(o, 0, sizeof *o);
		o->plen = fl->plen;
		for (int k = 0; k < fl->plen; k++) {
			o->path[k] = fl->path[k];
			o->implied[k] = fl->implied[k];
		}
		o->flag = flag;
		if (fl->kind == CFLAG_SELECTOR) {
			const char *v;
			NEED_VALUE(v);
			o->val = cli_scalar(&a, v, flag);
		} else {
			const struct cfg_field *f = fl->field;
			switch (f->kind) {
			case FK_BOOL:
				if (inline_val) {
					/* flag is the option without its =VALUE (and with its no- when negated) */
					const char *base = flag + 2 + (negated ? 3 : 0);
					cfg_report(diag, &tsrc, "", "takes no value (use --%s or --no-%s)", base, base);
					goto out;
				}
				o->val = cli_scalar(&a, negated ? "false" : "true", flag);
				break;
			case FK_INT_LIST:
			case FK_STR_LIST:
			case FK_CHAN_LIST: {
				struct cn_src s = {.flag = flag};
				struct cnode *seq = cn_new(&a, CN_SEQ, &s);
				if (inline_val)
					cn_seq_add(&a, seq, cli_scalar(&a, inline_val, flag));
				while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
					cn_seq_add(&a, seq, cli_scalar(&a, argv[++i], flag));
				if (!seq->n_items) {
					if (f->flags & FF_OPTIONAL) {
						seq = cli_scalar(&a, "None", flag);
					} else {
						cfg_report(diag, &tsrc, "", "expected at least one value");
						goto out;
					}
				}
				o->val = seq;
				break;
			}
			case FK_POLY_LIST: {
				const char *v;
				NEED_VALUE(v);
				o->val = cfg_yaml_parse(&a, v, strlen(v), NULL, flag, diag);
				if (!o->val)
					goto out;
				if (o->val->kind != CN_SEQ) {
					cfg_report(diag, &tsrc, "",
					           "expected a JSON list (e.g. '[{\"type\": \"...\"}]')");
					goto out;
				}
				break;
			}
			default: {
				const char *v;
				NEED_VALUE(v);
				o->val = cli_scalar(&a, v, flag);
				break;
			}
			}
		}
		novr++;
	}
	rc = finish(root, root_type, &a, files, nfiles, ovr, novr, out, NULL, 0, NULL, diag);
out:
	free(files);
	free(ovr);
	cfg_ar_free(&a);
	return rc;
}

int cfg_load_string(const struct cfg_class *root, int root_type, const char *text, size_t len, const char *name,
                    struct cfg_parse_result *out, struct cfg_diag *diag)
{
	memset(out, 0, sizeof *out);
	struct cfg_arena a = {0};
	int rc = finish(root, root_type, &a, NULL, 0, NULL, 0, out, text, len, name, diag);
	cfg_ar_free(&a);
	return rc;
}

/* ================= public API ================= */
static void to_bset(struct cfg_parse_result *r, struct config_benchmark_set *out)
{
	out->items = r->items;
	out->count = r->count;
	out->opts = r->opts;
}

/* The launcher options of a sweep on Slurm (docs/SLURM.md): what makes sense together. A job array is
 * a sweep's way onto a cluster; a single run goes there through sbatch/srun itself. 0, or -1 with
 * the message in err. */
static int run_opts_check(const struct cfg_run_opts *o, size_t count, const char *cmd, const char *many,
                          const char *one, char *err, size_t err_len)
{
	bool slurm = o->launcher && !strcmp(o->launcher, "slurm");
	char why[400] = "";
	if (o->has_sweep_point != (o->sweep_dir != NULL))
		snprintf(why, sizeof why, "--sweep-point and --sweep-dir go together (a task of a sweep's job array)");
	else if (o->has_sweep_point && slurm)
		snprintf(why, sizeof why,
		         "--sweep-point runs one point here; it cannot be combined with --launcher slurm");
	else if (o->n_sbatch_args && !slurm)
		snprintf(why, sizeof why, "--sbatch-arg needs --launcher slurm");
	else if (count == 1 && slurm)
		snprintf(why, sizeof why,
		         "--launcher slurm submits a sweep (a config that expands to several %s) as a job array; this "
		         "config is one %s: submit it with sbatch or srun directly (docs/SLURM.md)",
		         many, one);
	else if (count == 1 && o->has_sweep_point)
		snprintf(why, sizeof why,
		         "--sweep-point needs a config that expands to several %s (a sweep); this config is one %s",
		         many, one);
	if (!why[0])
		return 0;
	snprintf(err, err_len, "%s: %s", cmd, why);
	return -1;
}

/* The entry points start err empty: a failure leaves its message(s) there, printing nothing. */
static struct cfg_diag cfg_diag_for(char *err, size_t err_len)
{
	if (err && err_len)
		err[0] = '\0';
	return (struct cfg_diag){err, err_len};
}

int config_parse_benchmark_args(int argc, char **argv, struct config_benchmark_set *out, char *err, size_t err_len)
{
	struct cfg_parse_result r;
	memset(out, 0, sizeof *out);
	struct cfg_diag diag = cfg_diag_for(err, err_len);
	int rc = cfg_parse_args(&cfg_cls_benchmark, 0, "veeksha benchmark", argc, argv, &r, true, &diag);
	if (rc != CONFIG_OK)
		return rc;
	to_bset(&r, out);
	out->opts.argc = argc;
	out->opts.argv = argv;
	if (run_opts_check(&out->opts, out->count, "veeksha benchmark", "runs", "run", err, err_len)) {
		config_benchmark_set_free(out);
		return CONFIG_EXIT_USAGE;
	}
	return rc;
}

int config_load_benchmark_file(const char *path, struct config_benchmark_set *out, char *err, size_t err_len)
{
	char *argv[] = {"benchmark", "--config", (char *)path, NULL};
	return config_parse_benchmark_args(3, argv, out, err, err_len);
}

int config_load_benchmark_string(const char *yaml, size_t len, const char *name, struct config_benchmark_set *out,
                                 char *err, size_t err_len)
{
	struct cfg_parse_result r;
	memset(out, 0, sizeof *out);
	struct cfg_diag diag = cfg_diag_for(err, err_len);
	int rc = cfg_load_string(&cfg_cls_benchmark, 0, yaml, len, name ? name : "<string>", &r, &diag);
	if (rc == CONFIG_OK)
		to_bset(&r, out);
	return rc;
}

void config_benchmark_set_free(struct config_benchmark_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->count; i++)
		config_benchmark_free(&set->items[i]);
	free(set->items);
	set->items = NULL;
	set->count = 0;
}

int config_parse_capacity_args(int argc, char **argv, struct config_capacity_set *out, char *err, size_t err_len)
{
	struct cfg_parse_result r;
	memset(out, 0, sizeof *out);
	struct cfg_diag diag = cfg_diag_for(err, err_len);
	int rc = cfg_parse_args(&cfg_cls_capacity, 0, "veeksha capacity-search", argc, argv, &r, true, &diag);
	if (rc == CONFIG_OK) {
		out->items = r.items;
		out->count = r.count;
		out->opts = r.opts;
		out->opts.argc = argc;
		out->opts.argv = argv;
		if (run_opts_check(&out->opts, out->count, "veeksha capacity-search", "searches", "search", err,
		                   err_len)) {
			config_capacity_set_free(out);
			return CONFIG_EXIT_USAGE;
		}
	}
	return rc;
}

void config_capacity_set_free(struct config_capacity_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->count; i++)
		cfg_obj_free(&cfg_cls_capacity, &set->items[i]);
	free(set->items);
	set->items = NULL;
	set->count = 0;
}

static const struct cfg_class *mb_class(enum cfg_microbench_type type, enum cfg_stress_mode mode)
{
	if (type == CFG_MICROBENCH_PREFILL)
		return &cfg_cls_mb_prefill;
	if (type == CFG_MICROBENCH_DECODE)
		return &cfg_cls_mb_decode;
	if (mode == CFG_STRESS_RANGE)
		return &cfg_cls_mb_range;
	if (mode == CFG_STRESS_AUTO)
		return &cfg_cls_mb_auto;
	return &cfg_cls_mb_manual;
}

int config_parse_microbench_args(enum cfg_microbench_type type, int argc, char **argv,
                                 struct config_microbench_set *out, char *err, size_t err_len)
{
	memset(out, 0, sizeof *out);
	struct cfg_diag diag = cfg_diag_for(err, err_len);
	enum cfg_stress_mode mode = CFG_STRESS_MANUAL;
	/* stress pre-parses --stress-mode {manual,range,auto} and strips it */
	char **args = xcalloc((size_t)argc + 1, sizeof *args);
	int n = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (i > 0 && type == CFG_MICROBENCH_STRESS &&
		    (!strcmp(a, "--stress-mode") || !strncmp(a, "--stress-mode=", 14))) {
			const char *v = a[13] == '=' ? a + 14 : (i + 1 < argc ? argv[++i] : "");
			if (!strcmp(v, "manual"))
				mode = CFG_STRESS_MANUAL;
			else if (!strcmp(v, "range"))
				mode = CFG_STRESS_RANGE;
			else if (!strcmp(v, "auto"))
				mode = CFG_STRESS_AUTO;
			else {
				struct cn_src s = {.flag = "--stress-mode"};
				cfg_report(&diag, &s, "", "must be one of: manual, range, auto (got '%s')", v);
				free(args);
				return CONFIG_EXIT_USAGE;
			}
			continue;
		}
		args[n++] = argv[i];
	}
	static const char *const progs[] = {"veeksha microbench prefill", "veeksha microbench decode",
	                                    "veeksha microbench stress"};
	struct cfg_parse_result r;
	int rc = cfg_parse_args(mb_class(type, mode), 0, progs[type], n, args, &r, false, &diag);
	free(args);
	if (rc == CONFIG_OK) {
		out->items = r.items;
		out->count = r.count;
	}
	return rc;
}

void config_microbench_set_free(struct config_microbench_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->count; i++)
		cfg_obj_free(&cfg_cls_mb_manual, &set->items[i]);
	free(set->items);
	set->items = NULL;
	set->count = 0;
}
