/* `config describe` and `config export-schema` (JSON Schema draft-07, reference §1.4). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "core/jsonw.h"
#include "core/xalloc.h"

int config_describe(const struct cfg_class *root, const char *key, FILE *out);
int config_export_schema(const struct cfg_class *root, const char *type_name, FILE *out);

/* ================= schema ================= */
static void schema_default(struct jsonw *w, const struct cfg_field *f, const void *base)
{
	struct cfg_arena a = {0};
	struct onode *n = cfg_field_to_onode(&a, f, base, 0);
	struct buf b;
	buf_init(&b);
	cfg_emit_json(n, &b, 0);
	jsonw_key(w, "default");
	jsonw_raw(w, b.data);
	buf_free(&b);
	cfg_ar_free(&a);
}

static const char *json_type(enum cfg_fkind k)
{
	switch (k) {
	case FK_INT:
	case FK_INT_LIST:
		return "integer";
	case FK_FLOAT:
		return "number";
	case FK_BOOL:
		return "boolean";
	default:
		return "string";
	}
}

static void schema_props(struct jsonw *w, const struct cfg_class *c, int variant, const char *base);

static void schema_object(struct jsonw *w, const struct cfg_class *c, int variant, const char *base,
                          const char *type_const)
{
	jsonw_obj_begin(w);
	jsonw_key(w, "type");
	jsonw_str(w, "object");
	jsonw_key(w, "description");
	jsonw_str(w, c->help ? c->help : c->name);
	jsonw_key(w, "properties");
	jsonw_obj_begin(w);
	if (type_const) {
		jsonw_key(w, "type");
		jsonw_obj_begin(w);
		jsonw_key(w, "const");
		jsonw_str(w, type_const);
		jsonw_obj_end(w);
	}
	schema_props(w, c, variant, base);
	jsonw_obj_end(w);
	if (type_const && c->n_variants > 1) {
		jsonw_key(w, "required");
		jsonw_arr_begin(w);
		jsonw_str(w, "type");
		jsonw_arr_end(w);
	}
	jsonw_key(w, "additionalProperties");
	jsonw_bool(w, false);
	jsonw_obj_end(w);
}

static void schema_poly_variants(struct jsonw *w, const struct cfg_class *c)
{
	for (size_t v = 0; v < c->n_variants; v++) {
		char *tmp = xcalloc(1, c->size);
		c->defaults(tmp, (int)v);
		schema_object(w, c, (int)v, tmp, c->variants[v].name);
		cfg_obj_free(c, tmp);
		free(tmp);
	}
}

static void schema_field(struct jsonw *w, const struct cfg_field *f, const char *base)
{
	jsonw_obj_begin(w);
	jsonw_key(w, "description");
	jsonw_str(w, f->help);
	switch (f->kind) {
	case FK_STR:
	case FK_INT:
	case FK_FLOAT:
	case FK_BOOL:
	case FK_ENUM: {
		const char *t = json_type(f->kind);
		bool nullable = (f->flags & (FF_NULLABLE | FF_NULL0)) != 0;
		jsonw_key(w, "oneOf");
		jsonw_arr_begin(w);
		jsonw_obj_begin(w);
		jsonw_key(w, "type");
		if (nullable) {
			jsonw_arr_begin(w);
			jsonw_str(w, t);
			jsonw_str(w, "null");
			jsonw_arr_end(w);
		} else {
			jsonw_str(w, t);
		}
		if (f->enums) {
			jsonw_key(w, "enum");
			jsonw_arr_begin(w);
			for (const char *const *e = f->enums; *e; e++)
				jsonw_str(w, *e);
			jsonw_arr_end(w);
		}
		schema_default(w, f, base);
		jsonw_obj_end(w);
		if (f->flags & FF_AUTO) {
			jsonw_obj_begin(w);
			jsonw_key(w, "const");
			jsonw_str(w, "auto");
			jsonw_obj_end(w);
		}
		/* the array branch permits !expand */
		jsonw_obj_begin(w);
		jsonw_key(w, "type");
		jsonw_str(w, "array");
		jsonw_key(w, "items");
		jsonw_obj_begin(w);
		jsonw_key(w, "type");
		jsonw_str(w, t);
		jsonw_obj_end(w);
		jsonw_obj_end(w);
		jsonw_arr_end(w);
		schema_default(w, f, base);
		break;
	}
	case FK_INT_LIST:
	case FK_STR_LIST:
	case FK_CHAN_LIST:
		jsonw_key(w, "type");
		if (f->flags & FF_OPTIONAL) {
			jsonw_arr_begin(w);
			jsonw_str(w, "array");
			jsonw_str(w, "null");
			jsonw_arr_end(w);
		} else {
			jsonw_str(w, "array");
		}
		jsonw_key(w, "items");
		jsonw_obj_begin(w);
		if (f->kind == FK_CHAN_LIST) {
			jsonw_key(w, "enum");
			jsonw_arr_begin(w);
			jsonw_str(w, "text");
			jsonw_str(w, "image");
			jsonw_str(w, "audio");
			jsonw_str(w, "video");
			jsonw_int(w, 1);
			jsonw_int(w, 2);
			jsonw_int(w, 3);
			jsonw_int(w, 4);
			jsonw_arr_end(w);
		} else {
			jsonw_key(w, "type");
			jsonw_str(w, json_type(f->kind));
		}
		jsonw_obj_end(w);
		schema_default(w, f, base);
		break;
	case FK_JSON:
		jsonw_key(w, "oneOf");
		jsonw_arr_begin(w);
		jsonw_obj_begin(w);
		jsonw_key(w, "type");
		jsonw_str(w, "string");
		jsonw_obj_end(w);
		jsonw_obj_begin(w);
		jsonw_key(w, "type");
		jsonw_str(w, "object");
		jsonw_obj_end(w);
		if (f->flags & FF_NULLABLE) {
			jsonw_obj_begin(w);
			jsonw_key(w, "type");
			jsonw_str(w, "null");
			jsonw_obj_end(w);
		}
		jsonw_arr_end(w);
		schema_default(w, f, base);
		break;
	case FK_NESTED: {
		jsonw_key(w, "oneOf");
		jsonw_arr_begin(w);
		char *tmp = NULL;
		const char *cb = base + f->off;
		if (f->flags & FF_OPTIONAL) {
			/* defaults of an absent optional section: a copy with the section's defaults applied */
			(void)tmp;
		}
		schema_object(w, f->cls, 0, cb, f->cls->type_tag);
		if (f->flags & FF_OPTIONAL) {
			jsonw_obj_begin(w);
			jsonw_key(w, "type");
			jsonw_str(w, "null");
			jsonw_obj_end(w);
		}
		jsonw_arr_end(w);
		jsonw_key(w, "default");
		if ((f->flags & FF_OPTIONAL) && !*(const bool *)(base + f->off2))
			jsonw_null(w);
		else
			jsonw_str(w, f->cls->name);
		break;
	}
	case FK_POLY:
		jsonw_key(w, "oneOf");
		jsonw_arr_begin(w);
		schema_poly_variants(w, f->cls);
		if (f->flags & FF_OPTIONAL) {
			jsonw_obj_begin(w);
			jsonw_key(w, "type");
			jsonw_str(w, "null");
			jsonw_obj_end(w);
		}
		jsonw_arr_end(w);
		jsonw_key(w, "default");
		if ((f->flags & FF_OPTIONAL) && !*(const bool *)(base + f->off2))
			jsonw_null(w);
		else
			jsonw_str(w, f->cls->variants[cfg_class_type(f->cls, base + f->off)].name);
		break;
	case FK_POLY_LIST:
		jsonw_key(w, "type");
		jsonw_str(w, "array");
		jsonw_key(w, "items");
		jsonw_obj_begin(w);
		jsonw_key(w, "oneOf");
		jsonw_arr_begin(w);
		schema_poly_variants(w, f->cls);
		jsonw_arr_end(w);
		jsonw_obj_end(w);
		schema_default(w, f, base);
		break;
	case FK_NULL:
		jsonw_key(w, "type");
		jsonw_str(w, "null");
		jsonw_key(w, "default");
		jsonw_null(w);
		break;
	case FK_MIN_ACTIVE:
		jsonw_key(w, "oneOf");
		jsonw_arr_begin(w);
		jsonw_obj_begin(w);
		jsonw_key(w, "type");
		jsonw_str(w, "integer");
		jsonw_key(w, "minimum");
		jsonw_int(w, 1);
		jsonw_obj_end(w);
		jsonw_obj_begin(w);
		jsonw_key(w, "const");
		jsonw_str(w, "max_observed");
		jsonw_obj_end(w);
		jsonw_arr_end(w);
		schema_default(w, f, base);
		break;
	}
	jsonw_obj_end(w);
}

static void schema_props(struct jsonw *w, const struct cfg_class *c, int variant, const char *base)
{
	const struct cfg_field *fs[64];
	size_t n = cfg_class_fields(c, variant, fs, 64);
	for (size_t i = 0; i < n; i++) {
		if (fs[i]->flags & FF_ALIAS)
			continue;
		jsonw_key(w, fs[i]->name);
		schema_field(w, fs[i], base);
	}
}

int config_export_schema(const struct cfg_class *root, const char *type_name, FILE *out)
{
	char *obj = xcalloc(1, root->size);
	root->defaults(obj, 0);
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "$schema");
	jsonw_str(&w, "http://json-schema.org/draft-07/schema#");
	char t[128];
	snprintf(t, sizeof t, "Veeksha %s Configuration", type_name);
	jsonw_key(&w, "title");
	jsonw_str(&w, t);
	snprintf(t, sizeof t, "Configuration schema for veeksha %s", type_name);
	jsonw_key(&w, "description");
	jsonw_str(&w, t);
	jsonw_key(&w, "type");
	jsonw_str(&w, "object");
	jsonw_key(&w, "properties");
	jsonw_obj_begin(&w);
	schema_props(&w, root, 0, obj);
	jsonw_obj_end(&w);
	jsonw_key(&w, "additionalProperties");
	jsonw_bool(&w, false);
	jsonw_obj_end(&w);
	buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, out);
	buf_free(&b);
	cfg_obj_free(root, obj);
	free(obj);
	return 0;
}

/* ================= describe ================= */
struct temp {
	const struct cfg_class *c;
	char *p;
};

static void print_fields(FILE *out, const struct cfg_class *c, int variant)
{
	const struct cfg_field *fs[64];
	size_t n = cfg_class_fields(c, variant, fs, 64);
	for (size_t i = 0; i < n; i++)
		if (!(fs[i]->flags & FF_ALIAS))
			fprintf(out, "  %-32s %s\n", fs[i]->name, cfg_field_type_name(fs[i]));
}

static bool flag_matches(const struct cfg_flag *fl, const char *const *comp, int ncomp)
{
	int plen = fl->plen;
	if (fl->kind == CFLAG_FROM_FILE)
		return false;
	if (fl->kind == CFLAG_SELECTOR)
		plen--;
	if (plen != ncomp)
		return false;
	for (int i = 0; i < ncomp; i++)
		if (strcmp(fl->path[i], comp[i]))
			return false;
	return true;
}

int config_describe(const struct cfg_class *root, const char *key, FILE *out)
{
	if (!key || !key[0]) {
		fprintf(out, "%s: %s\nkeys:\n", root->name, root->help);
		print_fields(out, root, 0);
		fprintf(out, "\nUse 'veeksha config describe <key>' with a dotted key, e.g. "
		             "traffic_scheduler.interval_generator.arrival_rate\n");
		return 0;
	}
	char kbuf[512];
	snprintf(kbuf, sizeof kbuf, "%s", key);
	const char *comp[CFG_MAX_DEPTH];
	int ncomp = 0;
	char *save = NULL;
	for (char *c = strtok_r(kbuf, ".", &save); c && ncomp < CFG_MAX_DEPTH; c = strtok_r(NULL, ".", &save))
		comp[ncomp++] = c;
	if (!ncomp) {
		fprintf(stderr, "veeksha: error: describe: empty key\n");
		return 2;
	}
	struct temp temps[CFG_MAX_DEPTH + 1];
	int ntemps = 0;
	char *obj = xcalloc(1, root->size);
	root->defaults(obj, 0);
	temps[ntemps++] = (struct temp){root, obj};
	const struct cfg_class *c = root;
	int variant = 0;
	char *base = obj;
	int rc = 2;
	char applies[512] = "";
	for (int d = 0; d < ncomp; d++) {
		const struct cfg_field *f = cfg_class_find(c, variant, comp[d]);
		applies[0] = '\0';
		if (c->poly && c->n_variants > 1) {
			/* which variants have this key? */
			int first = -1;
			for (size_t v = 0; v < c->n_variants; v++)
				if (cfg_class_find(c, (int)v, comp[d])) {
					if (first < 0)
						first = (int)v;
					snprintf(applies + strlen(applies), sizeof applies - strlen(applies), "%s%s",
					         applies[0] ? ", " : "", c->variants[v].name);
				}
			bool all = true;
			for (size_t v = 0; v < c->n_variants; v++)
				all &= cfg_class_find(c, (int)v, comp[d]) != NULL;
			if (all)
				applies[0] = '\0';
			if (!f && first >= 0) {
				cfg_obj_reset(c, base, first);
				variant = first;
				f = cfg_class_find(c, variant, comp[d]);
			}
		}
		if (!f) {
			const char *names[256];
			size_t nn = 0;
			size_t nv = c->poly ? c->n_variants : 1;
			for (size_t v = 0; v < nv; v++) {
				const struct cfg_field *fs[64];
				size_t n = cfg_class_fields(c, (int)v, fs, 64);
				for (size_t i = 0; i < n && nn < 256; i++)
					names[nn++] = fs[i]->name;
			}
			const char *dym = cfg_did_you_mean(comp[d], names, nn);
			if (dym)
				fprintf(stderr, "veeksha: error: %s: unknown key '%s' (did you mean '%s'?)\n", key,
				        comp[d], dym);
			else
				fprintf(stderr, "veeksha: error: %s: unknown key '%s'\n", key, comp[d]);
			goto out;
		}
		if (d == ncomp - 1) {
			fprintf(out, "key: %s\n", key);
			fprintf(out, "type: %s\n", cfg_field_type_name(f));
			if (f->kind == FK_POLY || f->kind == FK_POLY_LIST) {
				fprintf(out, "variants:");
				for (size_t v = 0; v < f->cls->n_variants; v++)
					fprintf(out, " %s", f->cls->variants[v].name);
				fputc('\n', out);
			}
			if (f->kind == FK_POLY) {
				bool *present = (f->flags & FF_OPTIONAL) ? (bool *)(base + f->off2) : NULL;
				fprintf(out, "default: %s\n",
				        present && !*present
				            ? "null"
				            : f->cls->variants[cfg_class_type(f->cls, base + f->off)].name);
			} else if (f->kind == FK_NESTED) {
				bool *present = (f->flags & FF_OPTIONAL) ? (bool *)(base + f->off2) : NULL;
				fprintf(out, "default: %s\n", present && !*present ? "null" : f->cls->name);
			} else {
				char *v = cfg_field_value_text(f, base);
				fprintf(out, "default: %s\n", v);
				free(v);
			}
			if (applies[0])
				fprintf(out, "applies to type: %s\n", applies);
			fprintf(out, "help: %s\n", f->help);
			if (f->kind == FK_NESTED) {
				fprintf(out, "keys:\n");
				print_fields(out, f->cls, 0);
			} else if (f->kind == FK_POLY) {
				fprintf(out, "keys (type %s):\n",
				        f->cls->variants[cfg_class_type(f->cls, base + f->off)].name);
				print_fields(out, f->cls, cfg_class_type(f->cls, base + f->off));
			}
			const struct cfg_flag_table *t = cfg_flags_for(root);
			bool any = false;
			for (size_t i = 0; i < t->n; i++) {
				if (!flag_matches(&t->v[i], comp, ncomp))
					continue;
				char nm[300];
				snprintf(nm, sizeof nm, "%s", t->v[i].name);
				for (char *p = nm; *p; p++)
					if (*p == '_')
						*p = '-';
				fprintf(out, "%s --%s", any ? "," : "flags:", nm);
				any = true;
			}
			if (any)
				fputc('\n', out);
			rc = 0;
			goto out;
		}
		if (f->kind == FK_NESTED) {
			base = cfg_nested_enter(f, base);
			c = f->cls;
			variant = 0;
		} else if (f->kind == FK_POLY) {
			base += f->off;
			c = f->cls;
			variant = cfg_class_type(c, base);
		} else if (f->kind == FK_POLY_LIST) {
			char *el = xcalloc(1, f->cls->size);
			int v = 0;
			for (size_t k = 0; k < f->cls->n_variants; k++)
				if (cfg_class_find(f->cls, (int)k, comp[d + 1])) {
					v = (int)k;
					break;
				}
			f->cls->defaults(el, v);
			temps[ntemps++] = (struct temp){f->cls, el};
			base = el;
			c = f->cls;
			variant = v;
		} else {
			fprintf(stderr, "veeksha: error: %s: '%s' has no sub-keys\n", key, comp[d]);
			goto out;
		}
	}
out:
	for (int i = ntemps; i-- > 0;) {
		cfg_obj_free(temps[i].c, temps[i].p);
		free(temps[i].p);
	}
	return rc;
}
