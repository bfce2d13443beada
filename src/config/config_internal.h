#ifndef VK_CONFIG_INTERNAL_H
#define VK_CONFIG_INTERNAL_H
/* Internals of the configuration module: an arena, a generic YAML-ish node tree (with source
 * positions), the class/field descriptor tables that drive loading, flags, serialisation, help,
 * describe and schema export. Not used outside src/config. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"
#include "core/buf.h"

/* ---- arena ---- */
struct cfg_arena_blk;
struct cfg_arena {
	struct cfg_arena_blk *head;
};
void *cfg_ar_alloc(struct cfg_arena *a, size_t n); /* zeroed */
char *cfg_ar_strndup(struct cfg_arena *a, const char *s, size_t n);
char *cfg_ar_strdup(struct cfg_arena *a, const char *s);
void cfg_ar_free(struct cfg_arena *a);

/* ---- node tree ---- */
struct cn_src {
	const char *file; /* file name (NULL: not from a file) */
	int line, col;    /* 1-based */
	const char *flag; /* command-line flag ("--seed") when from the CLI */
};

enum cn_kind { CN_SCALAR = 0, CN_MAP, CN_SEQ };

struct cnode;
struct cn_entry {
	const char *key;
	struct cn_src ksrc;
	struct cnode *val;
};

struct cn_implied {
	const char *type; /* variant implied by a flattened flag */
	const char *flag;
	struct cn_implied *next;
};

struct cnode {
	enum cn_kind kind;
	struct cn_src src;
	/* scalar */
	const char *text;
	bool quoted; /* quoted / block scalar: always a string */
	bool cli;    /* raw command-line text: typed by the field (like argparse) */
	/* map */
	struct cn_entry *ents;
	size_t n_ents;
	bool type_overridden; /* the CLI changed this section's type */
	struct cn_implied *implied;
	/* seq */
	struct cnode **items;
	size_t n_items;
	bool expand; /* !expand */
	/* Alias-expansion bookkeeping (cfg_yaml_parse): nodes and levels this node stands for once
	 * every alias below it is expanded; 0 = not computed yet, SIZE_MAX = being computed. */
	size_t exp_nodes;
	size_t exp_height;
};

/* Scalar typing (PyYAML 1.1 SafeLoader resolver, plus 1e3-style floats). */
enum sv_kind { SV_NULL = 0, SV_BOOL, SV_INT, SV_FLOAT, SV_STR };
struct sval {
	enum sv_kind k;
	bool b;
	int64_t i;
	double d;
};
void cfg_scalar_resolve(const char *text, bool quoted, struct sval *out);
bool cfg_parse_int_text(const char *s, int64_t *out);  /* Python int(): decimal, underscores */
bool cfg_parse_float_text(const char *s, double *out); /* Python float() */

struct cnode *cn_new(struct cfg_arena *a, enum cn_kind k, const struct cn_src *src);
struct cnode *cn_scalar(struct cfg_arena *a, const char *text, const struct cn_src *src);
struct cn_entry *cn_find(const struct cnode *map, const char *key);
void cn_map_add(struct cfg_arena *a, struct cnode *map, const char *key, const struct cn_src *ksrc, struct cnode *val);
void cn_seq_add(struct cfg_arena *a, struct cnode *seq, struct cnode *item);
bool cn_is_null(const struct cnode *n);

/* ---- errors ---- */
/* Where a load's error messages go: the caller's err/err_len (docs/ARCHITECTURE.md, Conventions),
 * passed down through the loader instead of a global. Each error is one line naming file:line:column
 * or the flag and the dotted key; several are joined by newlines. Warnings go to stderr at once. */
struct cfg_diag {
	char *err;
	size_t err_len;
};
void cfg_report(struct cfg_diag *d, const struct cn_src *src, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cfg_warn(const struct cn_src *src, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parse YAML text into a node tree. name: file name for positions (or NULL and flag set).
 * Returns NULL on error (reported to d). An empty document gives an empty map. */
struct cnode *cfg_yaml_parse(struct cfg_arena *a, const char *text, size_t len, const char *name, const char *flag,
                             struct cfg_diag *d);

/* Expand !expand / top-level list variants. Returns count (0 on error, reported to d). */
size_t cfg_expand_root(struct cfg_arena *a, struct cnode *root, struct cnode ***out, struct cfg_diag *d);
const char *cfg_did_you_mean(const char *word, const char *const *cands, size_t n);

/* ---- descriptors ---- */
enum cfg_fkind {
	FK_STR = 0,
	FK_INT,
	FK_FLOAT,
	FK_BOOL,
	FK_ENUM,      /* int enum, names in enums[] */
	FK_INT_LIST,  /* int64_t * at off, size_t count at off2 (FF_OPTIONAL: bool at off3) */
	FK_STR_LIST,  /* char ** at off, size_t at off2 */
	FK_CHAN_LIST, /* enum cfg_channel_type * at off, size_t at off2; written as values 1.. */
	FK_JSON,      /* char * JSON object text; accepts a JSON string or a mapping */
	FK_NESTED,    /* plain class at off (FF_OPTIONAL: bool presence at off2) */
	FK_POLY,      /* polymorphic class at off (FF_OPTIONAL: bool presence at off2) */
	FK_POLY_LIST, /* array of cls->size elements at off, size_t count at off2 */
	FK_NULL,      /* always null (audio/video sections) */
	FK_MIN_ACTIVE /* decode window min_active_requests: int > 0 or "max_observed" */
};

#define FF_NULLABLE 0x1u
#define FF_SECRET 0x2u
#define FF_OPTIONAL 0x4u
#define FF_NULL0 0x8u           /* int: null <-> 0 */
#define FF_ALIAS 0x10u          /* deprecated alias: accepted on input only */
#define FF_OURS 0x20u           /* not in the reference (documented) */
#define FF_ENV_OPENAI_KEY 0x40u /* secret whose null means $OPENAI_API_KEY (said so when redacted) */
#define FF_AUTO 0x80u           /* int: the string "auto" <-> CFG_INT_AUTO */

struct cfg_class;
struct cfg_field {
	const char *name;
	enum cfg_fkind kind;
	size_t off, off2, off3;
	const struct cfg_class *cls;
	const char *const *enums;
	unsigned flags;
	const char *help;
};

struct cfg_fgroup {
	const struct cfg_field *f;
	size_t n;
};

struct cfg_variant {
	const char *name;
	struct cfg_fgroup g[4];
};

/* Where a validator writes what is wrong: the caller's storage (no static buffer), as everywhere else
 * in the tree (docs/ARCHITECTURE.md, Conventions). */
struct cfg_verr {
	char msg[512];
	char key[160]; /* a dotted key path, when the validator names one below its own fields */
};
/* Validation: NULL if fine, else the message (ve->msg); *key = the field concerned (its name, or
 * ve->key). */
typedef const char *(*cfg_validate_fn)(const void *p, int type, const char **key, struct cfg_verr *ve);

struct cfg_class {
	const char *name;      /* Python class name ("RuntimeConfig") */
	const char *file_stem; /* root from-file flag stem ("benchmark_config") or NULL */
	size_t size;           /* struct size (list elements) */
	bool poly;
	size_t type_off;
	const struct cfg_variant *variants;
	size_t n_variants;
	struct cfg_fgroup fields; /* plain class */
	const char *type_tag;     /* plain class written with a trailing `type: <tag>` */
	bool from_file;           /* gets a *_from_file flag */
	void (*defaults)(void *p, int type);
	cfg_validate_fn validate;
	const char *help;
};

extern const struct cfg_class cfg_cls_benchmark;
extern const struct cfg_class cfg_cls_capacity;
extern const struct cfg_class cfg_cls_server;
extern const struct cfg_class cfg_cls_mb_prefill;
extern const struct cfg_class cfg_cls_mb_decode;
extern const struct cfg_class cfg_cls_mb_manual;
extern const struct cfg_class cfg_cls_mb_range;
extern const struct cfg_class cfg_cls_mb_auto;

/* Fields of a class (variant index for poly classes), in declaration order. */
size_t cfg_class_fields(const struct cfg_class *c, int variant, const struct cfg_field **out, size_t cap);
const struct cfg_field *cfg_class_find(const struct cfg_class *c, int variant, const char *name);
int cfg_class_variant(const struct cfg_class *c, const char *name); /* case-insensitive; -1 */
int cfg_class_type(const struct cfg_class *c, const void *p);
/* The section of FK_NESTED field f in the object at base; an optional section that is absent gets
 * its defaults first and is marked present. */
char *cfg_nested_enter(const struct cfg_field *f, char *base);

/* Generic memory management over descriptors. */
void cfg_obj_free(const struct cfg_class *c, void *p);
void cfg_obj_copy(const struct cfg_class *c, void *dst, const void *src);
void cfg_obj_reset(const struct cfg_class *c, void *p, int type); /* free + defaults */

/* ---- output tree (serialisation) ---- */
enum on_kind { ON_NULL = 0, ON_BOOL, ON_INT, ON_FLOAT, ON_STR, ON_MAP, ON_SEQ };
struct onode {
	enum on_kind k;
	bool b;
	int64_t i;
	double d;
	const char *s;
	const char **keys;
	struct onode **vals;
	size_t n, cap;
};
struct onode *on_new(struct cfg_arena *a, enum on_kind k);
void on_add(struct cfg_arena *a, struct onode *coll, const char *key, struct onode *v);
struct onode *cfg_obj_to_onode(struct cfg_arena *a, const struct cfg_class *c, const void *p, int redact);
struct onode *cfg_field_to_onode(struct cfg_arena *a, const struct cfg_field *f, const void *base, int redact);
void cfg_emit_yaml(const struct onode *n, struct buf *b);
void cfg_emit_json(const struct onode *n, struct buf *b, int indent);
void cfg_emit_yaml_scalar(const struct onode *n, struct buf *b);

/* ---- flattened flags ---- */
#define CFG_MAX_DEPTH 12
enum cfg_flag_kind { CFLAG_VALUE = 0, CFLAG_SELECTOR, CFLAG_FROM_FILE };
struct cfg_flag {
	char *name; /* underscores */
	enum cfg_flag_kind kind;
	const char *path[CFG_MAX_DEPTH];
	int plen;
	const char *implied[CFG_MAX_DEPTH]; /* implied[d]: variant of the section at path[0..d] */
	const struct cfg_field *field;      /* CFLAG_VALUE; for selectors the poly field */
	const struct cfg_class *cls;        /* class the flag's section belongs to */
};
struct cfg_flag_table {
	struct cfg_flag *v;
	size_t n, cap;
};
const struct cfg_flag_table *cfg_flags_for(const struct cfg_class *root);
const struct cfg_flag *cfg_flag_find(const struct cfg_flag_table *t, const char *name);

/* Parsing engine shared by benchmark / capacity / microbench. */
struct cfg_parse_result {
	void *items; /* array of root->size */
	size_t count;
	struct cfg_run_opts opts;
};
/* CONFIG_OK, CONFIG_HELP_PRINTED, or CONFIG_EXIT_USAGE with the message(s) in d. */
int cfg_parse_args(const struct cfg_class *root, int root_type, const char *prog, int argc, char **argv,
                   struct cfg_parse_result *out, bool allow_run_opts, struct cfg_diag *d);
int cfg_load_string(const struct cfg_class *root, int root_type, const char *text, size_t len, const char *name,
                    struct cfg_parse_result *out, struct cfg_diag *d);
void cfg_print_help(const struct cfg_class *root, int root_type, const char *prog, FILE *out);

/* Default value of a field as reached through a flag (for help/describe); caller frees. */
char *cfg_flag_default_text(const struct cfg_class *root, int root_type, const struct cfg_flag *fl);
char *cfg_field_value_text(const struct cfg_field *f, const void *base);
const char *cfg_field_type_name(const struct cfg_field *f);

#endif
