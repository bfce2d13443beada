/* Hidden subcommands `veeksha completion bash|zsh` and `veeksha man [COMMAND | --output-dir DIR]`:
 * the shell completion scripts and the man pages, generated from what the binary itself knows, so
 * that they cannot drift from the code (the build runs them to make the installed files;
 * docs/INSTALL.md).
 *
 * Where the flags come from: every subcommand's own --help text (run in-process, its standard
 * output captured), so whatever --help lists is completed and documented; the configuration
 * commands add what the text does not say (enum values, which keys name files or directories)
 * from the descriptor tables through config_doc_flags(). Sub-subcommands (microbench prefill,
 * sweep status ...) are found in each command's usage lines or its "commands:" list. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_doc.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/xalloc.h"
#include "meta/meta_cli.h"

struct docs_flag {
	char *name;
	enum config_doc_value value;
	char **values;
	size_t n_values;
};

struct docs_text {
	char *title; /* "" for the command itself, else "prefill", "stress --stress-mode range" */
	char *text;
};

struct docs_cmd {
	char *key;           /* "benchmark", "microbench stress" */
	const char *summary; /* one line (top-level commands) */
	struct docs_text *texts;
	size_t n_texts;
	struct docs_flag *flags;
	size_t n_flags;
	char **subs;
	size_t n_subs;
};

struct docs_set {
	struct docs_cmd *v;
	size_t n, cap;
	char *error; /* the first help text that could not be captured */
};

/* ---------------- --help capture ---------------- */

/* Runs fn(argc, argv) with standard output redirected to a temporary file; returns what it
 * printed (its own diagnostics still go to stderr). A command that fails or prints nothing is
 * recorded in s->error: the build must not install pages that silently miss a command. */
static char *docs_capture(struct docs_set *s, int (*fn)(int, char **), int argc, char **argv)
{
	optind = 1; /* a command parsing with getopt must start from its own argv[1] */
	fflush(stdout);
	FILE *tmp = tmpfile();
	if (!tmp)
		return xstrdup("");
	int saved = dup(STDOUT_FILENO);
	if (saved < 0 || dup2(fileno(tmp), STDOUT_FILENO) < 0) {
		if (saved >= 0)
			close(saved);
		fclose(tmp);
		return xstrdup("");
	}
	int rc = fn(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	struct buf b;
	buf_init(&b);
	rewind(tmp);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, tmp)) > 0)
		buf_append(&b, chunk, n);
	fclose(tmp);
	if ((rc || !b.len) && !s->error) {
		struct buf cmd;
		buf_init(&cmd);
		for (int i = 0; i < argc; i++)
			buf_printf(&cmd, " %s", argv[i]);
		s->error = rc ? xasprintf("'veeksha%s' exited %d", cmd.data, rc)
		              : xasprintf("'veeksha%s' printed nothing", cmd.data);
		buf_free(&cmd);
	}
	return buf_steal(&b);
}

/* ---------------- flags from help text ---------------- */

static int docs_value_rank(enum config_doc_value v)
{
	switch (v) {
	case CONFIG_DOC_ENUM:
		return 4;
	case CONFIG_DOC_FILE:
	case CONFIG_DOC_DIR:
		return 3;
	case CONFIG_DOC_TEXT:
		return 2;
	default:
		return 1;
	}
}

/* Adds a flag or, when known, keeps the more informative of the two value kinds. */
static void docs_add_flag(struct docs_cmd *c, const char *name, enum config_doc_value value, char **values,
                          size_t n_values)
{
	for (size_t i = 0; i < c->n_flags; i++) {
		struct docs_flag *f = &c->flags[i];
		if (strcmp(f->name, name))
			continue;
		if (docs_value_rank(value) > docs_value_rank(f->value)) {
			for (size_t k = 0; k < f->n_values; k++)
				free(f->values[k]);
			free(f->values);
			f->value = value;
			f->values = values;
			f->n_values = n_values;
			return;
		}
		for (size_t k = 0; k < n_values; k++)
			free(values[k]);
		free(values);
		return;
	}
	c->flags = xrealloc(c->flags, (c->n_flags + 1) * sizeof *c->flags);
	c->flags[c->n_flags++] = (struct docs_flag){xstrdup(name), value, values, n_values};
}

static bool docs_is_value_char(char ch)
{
	return islower((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '_' || ch == '-' || ch == '.';
}

/* The value that follows a flag in help text: "{a, b}" or "a|b|c" (enum), an upper-case
 * metavariable (FILE, PATH, DIR, or text), or nothing (a switch). */
static enum config_doc_value docs_parse_value(const char *p, char ***values, size_t *n_values)
{
	*values = NULL;
	*n_values = 0;
	if (*p == '=')
		return CONFIG_DOC_TEXT;
	if (*p != ' ' || p[1] == ' ')
		return CONFIG_DOC_SWITCH;
	p++;
	if (*p == '{') {
		const char *end = strchr(p, '}');
		const char *nl = strchr(p, '\n');
		if (!end || (nl && nl < end))
			return CONFIG_DOC_TEXT;
		for (const char *q = p + 1; q < end;) {
			while (q < end && (*q == ' ' || *q == ','))
				q++;
			const char *s = q;
			while (q < end && *q != ',' && *q != ' ')
				q++;
			if (q > s) {
				*values = xrealloc(*values, (*n_values + 1) * sizeof **values);
				(*values)[(*n_values)++] = xstrndup(s, (size_t)(q - s));
			}
		}
		return *n_values ? CONFIG_DOC_ENUM : CONFIG_DOC_TEXT;
	}
	size_t len = 0;
	bool bar = false;
	while (docs_is_value_char(p[len]) || p[len] == '|') {
		bar |= p[len] == '|';
		len++;
	}
	if (len && bar && (p[len] == ' ' || p[len] == ']' || p[len] == '\n' || p[len] == ')' || !p[len])) {
		for (const char *q = p; q < p + len;) {
			const char *s = q;
			while (q < p + len && *q != '|')
				q++;
			if (q > s) {
				*values = xrealloc(*values, (*n_values + 1) * sizeof **values);
				(*values)[(*n_values)++] = xstrndup(s, (size_t)(q - s));
			}
			if (q < p + len)
				q++;
		}
		return CONFIG_DOC_ENUM;
	}
	if (isupper((unsigned char)*p)) {
		size_t m = 0;
		while (isupper((unsigned char)p[m]) || isdigit((unsigned char)p[m]) || p[m] == '_' || p[m] == '/')
			m++;
		if ((m == 4 && !strncmp(p, "FILE", 4)) || (m == 4 && !strncmp(p, "PATH", 4)))
			return CONFIG_DOC_FILE;
		if (m == 3 && !strncmp(p, "DIR", 3))
			return CONFIG_DOC_DIR;
		return CONFIG_DOC_TEXT;
	}
	return CONFIG_DOC_SWITCH;
}

/* Every --flag the text names, outside `quoted commands` (which name other commands' flags). A
 * token followed by '.', '_' or an upper-case letter is a placeholder or a dotted key, not a flag. */
static void docs_parse_flags(struct docs_cmd *c, const char *text)
{
	bool quoted = false;
	for (const char *p = text; *p; p++) {
		if (*p == '`') {
			quoted = !quoted;
			continue;
		}
		if (quoted || p[0] != '-' || p[1] != '-' ||
		    !(islower((unsigned char)p[2]) || isdigit((unsigned char)p[2])))
			continue;
		if (p > text && !strchr(" \t\n[(,|{", p[-1]))
			continue;
		size_t len = 2;
		while (islower((unsigned char)p[len]) || isdigit((unsigned char)p[len]) || p[len] == '-')
			len++;
		if (p[len] == '.' || p[len] == '_' || isupper((unsigned char)p[len])) {
			p += len - 1;
			continue;
		}
		while (p[len - 1] == '-')
			len--;
		char *name = xstrndup(p, len);
		char **values;
		size_t n_values;
		enum config_doc_value v = docs_parse_value(p + len, &values, &n_values);
		docs_add_flag(c, name, v, values, n_values);
		free(name);
		p += len - 1;
	}
}

/* ---------------- subcommands from help text ---------------- */

static void docs_add_sub(struct docs_cmd *c, const char *s, size_t n)
{
	for (size_t i = 0; i < c->n_subs; i++)
		if (strlen(c->subs[i]) == n && !strncmp(c->subs[i], s, n))
			return;
	c->subs = xrealloc(c->subs, (c->n_subs + 1) * sizeof *c->subs);
	c->subs[c->n_subs++] = xstrndup(s, n);
}

/* "usage: veeksha NAME a|b|c ...", "       veeksha NAME d ..." and the lines of a "commands:" list. */
static void docs_parse_subs(struct docs_cmd *c, const char *name, const char *text)
{
	char *prefix = xasprintf("veeksha %s ", name);
	bool in_commands = false;
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		size_t llen = eol ? (size_t)(eol - line) : strlen(line);
		const char *t = line;
		while (*t == ' ')
			t++;
		if (!strncmp(t, "usage: ", 7))
			t += 7;
		if (!strncmp(t, prefix, strlen(prefix))) {
			const char *w = t + strlen(prefix);
			if (islower((unsigned char)*w)) {
				const char *e = w;
				while (docs_is_value_char(*e) || *e == '|')
					e++;
				for (const char *s = w; s < e;) {
					const char *q = s;
					while (q < e && *q != '|')
						q++;
					docs_add_sub(c, s, (size_t)(q - s));
					s = q < e ? q + 1 : e;
				}
			}
		}
		if (llen == 9 && !strncmp(line, "commands:", 9)) {
			in_commands = true;
		} else if (in_commands) {
			if (llen == 0 || line[0] != ' ') {
				in_commands = false;
			} else if (line[1] == ' ' && line[2] != ' ' && islower((unsigned char)line[2])) {
				const char *e = line + 2;
				while (docs_is_value_char(*e))
					e++;
				docs_add_sub(c, line + 2, (size_t)(e - line - 2));
			}
		}
		line += llen + (eol ? 1 : 0);
	}
	free(prefix);
}

/* ---------------- building the set ---------------- */

static struct docs_cmd *docs_new(struct docs_set *s, const char *key, const char *summary)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	struct docs_cmd *c = &s->v[s->n++];
	memset(c, 0, sizeof *c);
	c->key = xstrdup(key);
	c->summary = summary;
	return c;
}

static void docs_add_text(struct docs_cmd *c, const char *title, char *text)
{
	c->texts = xrealloc(c->texts, (c->n_texts + 1) * sizeof *c->texts);
	c->texts[c->n_texts++] = (struct docs_text){xstrdup(title), text};
	docs_parse_flags(c, text);
}

static void docs_add_config_hints(struct docs_cmd *c)
{
	struct config_doc_flag *cf;
	size_t n = config_doc_flags(c->key, &cf);
	for (size_t i = 0; i < n; i++) {
		char **values = NULL;
		if (cf[i].n_values) {
			values = xcalloc(cf[i].n_values, sizeof *values);
			for (size_t k = 0; k < cf[i].n_values; k++)
				values[k] = xstrdup(cf[i].values[k]);
		}
		docs_add_flag(c, cf[i].name, cf[i].value, values, cf[i].n_values);
	}
	config_doc_flags_free(cf, n);
}

/* A flag that the parent's help text names on the same line as the subcommand ("stress also
 * takes --stress-mode manual|range|auto") selects a variant of it with its own flags. */
static const struct docs_flag *docs_variant_flag(const struct docs_cmd *parent, const char *sub)
{
	const char *text = parent->texts[0].text;
	size_t sl = strlen(sub);
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		size_t llen = eol ? (size_t)(eol - line) : strlen(line);
		if (llen > sl + 1 && !strncmp(line, sub, sl) && line[sl] == ' ') {
			for (size_t i = 0; i < parent->n_flags; i++) {
				const struct docs_flag *f = &parent->flags[i];
				const char *hit = strstr(line, f->name);
				if (f->value == CONFIG_DOC_ENUM && hit && hit < line + llen)
					return f;
			}
		}
		line += llen + (eol ? 1 : 0);
	}
	return NULL;
}

/* A command whose help names --list-presets (sim-server) lists its presets, GPUs and architectures
 * there ("presets:" then one "  name ..." line each): those names complete the flags that take them. */
static void docs_add_presets(struct docs_set *s, struct docs_cmd *c, const struct vk_command *k)
{
	static const struct {
		const char *section, *flag;
	} map[] = {{"presets", "--preset"}, {"gpus", "--gpu"}, {"architectures", "--model-arch"}};
	if (!strstr(c->texts[0].text, "--list-presets"))
		return;
	char *argv[4] = {(char *)k->name, "--list-presets", NULL};
	char *text = docs_capture(s, k->fn, 2, argv);
	const char *flag = NULL;
	char **values = NULL;
	size_t n_values = 0;
	for (const char *line = text;;) {
		const char *eol = strchr(line, '\n');
		size_t llen = eol ? (size_t)(eol - line) : strlen(line);
		bool header = llen && line[0] != ' ' && line[llen - 1] == ':';
		if ((header || !*line) && flag && n_values) {
			docs_add_flag(c, flag, CONFIG_DOC_ENUM, values, n_values);
			values = NULL;
			n_values = 0;
		}
		if (!*line)
			break;
		if (header) {
			flag = NULL;
			for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
				if (strlen(map[i].section) == llen - 1 && !strncmp(line, map[i].section, llen - 1))
					flag = map[i].flag;
		} else if (flag && llen > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ') {
			size_t n = 2;
			while (n < llen && line[n] != ' ')
				n++;
			values = xrealloc(values, (n_values + 1) * sizeof *values);
			values[n_values++] = xstrndup(line + 2, n - 2);
		}
		line += llen + (eol ? 1 : 0);
	}
	for (size_t i = 0; i < n_values; i++)
		free(values[i]);
	free(values);
	free(text);
}

static void docs_build(struct docs_set *s, const struct vk_command *commands, size_t n_commands)
{
	for (size_t i = 0; i < n_commands; i++) {
		const struct vk_command *k = &commands[i];
		char *argv[8] = {(char *)k->name, "--help", NULL};
		struct docs_cmd *c = docs_new(s, k->name, k->help);
		docs_add_text(c, "", docs_capture(s, k->fn, 2, argv));
		docs_add_config_hints(c);
		docs_add_presets(s, c, k);
		docs_parse_subs(c, k->name, c->texts[0].text);
		size_t parent = s->n - 1;
		for (size_t j = 0; j < s->v[parent].n_subs; j++) {
			const char *sub = s->v[parent].subs[j];
			char *key = xasprintf("%s %s", k->name, sub);
			struct docs_cmd *sc = docs_new(s, key, NULL);
			free(key);
			char *sargv[8] = {(char *)k->name, (char *)sub, "--help", NULL};
			docs_add_text(sc, sub, docs_capture(s, k->fn, 3, sargv));
			const struct docs_flag *vf = docs_variant_flag(&s->v[parent], sub);
			if (vf) {
				docs_add_flag(sc, vf->name, CONFIG_DOC_SWITCH, NULL, 0);
				for (size_t v = 0; v < vf->n_values; v++) {
					char *vargv[8] = {(char *)k->name, (char *)sub, vf->name,
					                  vf->values[v],   "--help",    NULL};
					char *title = xasprintf("%s %s %s", sub, vf->name, vf->values[v]);
					docs_add_text(sc, title, docs_capture(s, k->fn, 5, vargv));
					free(title);
				}
				/* The variant flag itself, with its values, as the parent names it. */
				char **values = xcalloc(vf->n_values ? vf->n_values : 1, sizeof *values);
				for (size_t v = 0; v < vf->n_values; v++)
					values[v] = xstrdup(vf->values[v]);
				docs_add_flag(sc, vf->name, CONFIG_DOC_ENUM, values, vf->n_values);
			}
			docs_add_config_hints(sc);
		}
	}
}

static void docs_free(struct docs_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct docs_cmd *c = &s->v[i];
		free(c->key);
		for (size_t j = 0; j < c->n_texts; j++) {
			free(c->texts[j].title);
			free(c->texts[j].text);
		}
		free(c->texts);
		for (size_t j = 0; j < c->n_flags; j++) {
			free(c->flags[j].name);
			for (size_t k = 0; k < c->flags[j].n_values; k++)
				free(c->flags[j].values[k]);
			free(c->flags[j].values);
		}
		free(c->flags);
		for (size_t j = 0; j < c->n_subs; j++)
			free(c->subs[j]);
		free(c->subs);
	}
	free(s->v);
	free(s->error);
}

/* ---------------- shell completion ---------------- */

/* The data functions are the same text in bash and zsh: _veeksha_flags KEY prints the flags of a
 * command, _veeksha_value KEY FLAG what the flag takes (@none, @text, @file, @dir or the values). */
static void docs_emit_data(struct buf *b, const struct docs_set *s, const struct vk_command *commands,
                           size_t n_commands)
{
	buf_puts(b, "_veeksha_commands='");
	for (size_t i = 0; i < n_commands; i++)
		buf_printf(b, "%s%s", i ? " " : "", commands[i].name);
	buf_puts(b, " help'\n\n_veeksha_subs() {\n\tcase \"$1\" in\n");
	for (size_t i = 0; i < s->n; i++) {
		if (!s->v[i].n_subs)
			continue;
		buf_printf(b, "\t\"%s\") echo '", s->v[i].key);
		for (size_t j = 0; j < s->v[i].n_subs; j++)
			buf_printf(b, "%s%s", j ? " " : "", s->v[i].subs[j]);
		buf_puts(b, "' ;;\n");
	}
	buf_puts(b, "\tesac\n}\n\n_veeksha_flags() {\n\tcase \"$1\" in\n");
	for (size_t i = 0; i < s->n; i++) {
		buf_printf(b, "\t\"%s\") echo '", s->v[i].key);
		for (size_t j = 0; j < s->v[i].n_flags; j++)
			buf_printf(b, "%s%s", j ? " " : "", s->v[i].flags[j].name);
		buf_puts(b, "' ;;\n");
	}
	buf_puts(b, "\tesac\n}\n\n_veeksha_value() {\n\tcase \"$1 $2\" in\n");
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->v[i].n_flags; j++) {
			const struct docs_flag *f = &s->v[i].flags[j];
			if (f->value == CONFIG_DOC_SWITCH)
				continue;
			buf_printf(b, "\t\"%s %s\") echo '", s->v[i].key, f->name);
			if (f->value == CONFIG_DOC_TEXT)
				buf_puts(b, "@text");
			else if (f->value == CONFIG_DOC_FILE)
				buf_puts(b, "@file");
			else if (f->value == CONFIG_DOC_DIR)
				buf_puts(b, "@dir");
			for (size_t k = 0; f->value == CONFIG_DOC_ENUM && k < f->n_values; k++)
				buf_printf(b, "%s%s", k ? " " : "", f->values[k]);
			buf_puts(b, "' ;;\n");
		}
	}
	buf_puts(b, "\t*) echo '@none' ;;\n\tesac\n}\n\n");
	/* Arguments that are not paths: the dotted keys of `config describe KEY`. */
	buf_puts(b, "_veeksha_args() {\n\tcase \"$1\" in\n");
	for (size_t i = 0; i < s->n; i++) {
		char **keys;
		size_t n = config_doc_keys(s->v[i].key, &keys);
		if (n) {
			buf_printf(b, "\t\"%s\") echo '", s->v[i].key);
			for (size_t k = 0; k < n; k++)
				buf_printf(b, "%s%s", k ? " " : "", keys[k]);
			buf_puts(b, "' ;;\n");
		}
		for (size_t k = 0; k < n; k++)
			free(keys[k]);
		free(keys);
	}
	buf_puts(b, "\tesac\n}\n\n");
}

static const char docs_bash_main[] =
    "# The command and subcommand typed so far: the first word that is not a flag, then a known\n"
    "# subcommand of it.\n"
    "_veeksha_key() {\n"
    "\tlocal i w cmd='' sub=''\n"
    "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
    "\t\tw=${COMP_WORDS[i]}\n"
    "\t\t[[ $w == -* || $w == = ]] && continue\n"
    "\t\tif [[ -z $cmd ]]; then\n"
    "\t\t\tcmd=$w\n"
    "\t\telif [[ -z $sub && \" $(_veeksha_subs \"$cmd\") \" == *\" $w \"* ]]; then\n"
    "\t\t\tsub=$w\n"
    "\t\tfi\n"
    "\tdone\n"
    "\techo \"$cmd${sub:+ $sub}\"\n"
    "}\n\n"
    "_veeksha() {\n"
    "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev='' key v\n"
    "\t((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
    "\t# --flag=value: bash splits at '=' (COMP_WORDBREAKS).\n"
    "\tif [[ $cur == = ]]; then\n"
    "\t\tcur=''\n"
    "\telif [[ $prev == = ]] && ((COMP_CWORD > 1)); then\n"
    "\t\tprev=${COMP_WORDS[COMP_CWORD - 2]}\n"
    "\tfi\n"
    "\tkey=$(_veeksha_key)\n"
    "\tCOMPREPLY=()\n"
    "\tif [[ -z $key && $cur == -* ]]; then\n"
    "\t\tCOMPREPLY=($(compgen -W '--help --version' -- \"$cur\"))\n"
    "\t\treturn 0\n"
    "\telif [[ -z $key ]]; then\n"
    "\t\tCOMPREPLY=($(compgen -W \"$_veeksha_commands\" -- \"$cur\"))\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\tif [[ $prev == -* ]]; then\n"
    "\t\tv=$(_veeksha_value \"$key\" \"$prev\")\n"
    "\t\tcase $v in\n"
    "\t\t@none) ;;\n"
    "\t\t@text) return 0 ;;\n"
    "\t\t@file)\n"
    "\t\t\tcompopt -o filenames 2>/dev/null || true\n"
    "\t\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "\t\t\treturn 0\n"
    "\t\t\t;;\n"
    "\t\t@dir)\n"
    "\t\t\tcompopt -o filenames 2>/dev/null || true\n"
    "\t\t\tCOMPREPLY=($(compgen -d -- \"$cur\"))\n"
    "\t\t\treturn 0\n"
    "\t\t\t;;\n"
    "\t\t*)\n"
    "\t\t\tCOMPREPLY=($(compgen -W \"$v\" -- \"$cur\"))\n"
    "\t\t\treturn 0\n"
    "\t\t\t;;\n"
    "\t\tesac\n"
    "\tfi\n"
    "\tif [[ $cur == -* ]]; then\n"
    "\t\tCOMPREPLY=($(compgen -W \"$(_veeksha_flags \"$key\")\" -- \"$cur\"))\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\tlocal subs\n"
    "\tsubs=$(_veeksha_subs \"$key\")\n"
    "\tif [[ -n $subs ]]; then\n"
    "\t\tCOMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\tv=$(_veeksha_args \"$key\")\n"
    "\tif [[ -n $v ]]; then\n"
    "\t\tCOMPREPLY=($(compgen -W \"$v\" -- \"$cur\"))\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\tcompopt -o filenames 2>/dev/null || true\n"
    "\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "\treturn 0\n"
    "}\n\n"
    "complete -F _veeksha veeksha\n";

static const char docs_zsh_main[] = "_veeksha_key() {\n"
                                    "\tlocal i w cmd='' sub=''\n"
                                    "\tfor ((i = 2; i < CURRENT; i++)); do\n"
                                    "\t\tw=${words[i]}\n"
                                    "\t\t[[ $w == -* ]] && continue\n"
                                    "\t\tif [[ -z $cmd ]]; then\n"
                                    "\t\t\tcmd=$w\n"
                                    "\t\telif [[ -z $sub && \" $(_veeksha_subs \"$cmd\") \" == *\" $w \"* ]]; then\n"
                                    "\t\t\tsub=$w\n"
                                    "\t\tfi\n"
                                    "\tdone\n"
                                    "\techo \"$cmd${sub:+ $sub}\"\n"
                                    "}\n\n"
                                    "_veeksha() {\n"
                                    "\tlocal cur=${words[CURRENT]} prev=${words[CURRENT-1]} key v subs\n"
                                    "\tkey=$(_veeksha_key)\n"
                                    "\tif [[ -z $key && $cur == -* ]]; then\n"
                                    "\t\tcompadd -- --help --version\n"
                                    "\t\treturn\n"
                                    "\telif [[ -z $key ]]; then\n"
                                    "\t\tcompadd -- ${=_veeksha_commands}\n"
                                    "\t\treturn\n"
                                    "\tfi\n"
                                    "\tif [[ $prev == -* ]]; then\n"
                                    "\t\tv=$(_veeksha_value \"$key\" \"$prev\")\n"
                                    "\t\tcase $v in\n"
                                    "\t\t@none) ;;\n"
                                    "\t\t@text) _message 'value'; return ;;\n"
                                    "\t\t@file) _files; return ;;\n"
                                    "\t\t@dir) _files -/; return ;;\n"
                                    "\t\t*) compadd -- ${=v}; return ;;\n"
                                    "\t\tesac\n"
                                    "\tfi\n"
                                    "\tif [[ $cur == -* ]]; then\n"
                                    "\t\tcompadd -- ${=$(_veeksha_flags \"$key\")}\n"
                                    "\t\treturn\n"
                                    "\tfi\n"
                                    "\tsubs=$(_veeksha_subs \"$key\")\n"
                                    "\tif [[ -n $subs ]]; then\n"
                                    "\t\tcompadd -- ${=subs}\n"
                                    "\t\treturn\n"
                                    "\tfi\n"
                                    "\tv=$(_veeksha_args \"$key\")\n"
                                    "\tif [[ -n $v ]]; then\n"
                                    "\t\tcompadd -- ${=v}\n"
                                    "\t\treturn\n"
                                    "\tfi\n"
                                    "\t_files\n"
                                    "}\n\n"
                                    "_veeksha \"$@\"\n";

/* ---------------- man pages ---------------- */

/* Roff text: backslashes and dashes escaped, a leading '.' or '\'' made literal, and break points
 * (\:) after the separators of long words (flag names of 130 characters) so that groff can fit
 * them in 80 columns. */
static void roff_text(struct buf *b, const char *s, size_t n)
{
	if (n && (s[0] == '.' || s[0] == '\''))
		buf_puts(b, "\\&");
	size_t word = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch == ' ' || ch == '\t') {
			word = i + 1;
			buf_putc(b, ' ');
			continue;
		}
		size_t wend = i;
		while (wend < n && s[wend] != ' ' && s[wend] != '\t')
			wend++;
		bool long_word = wend - word > 30;
		if (ch == '\\')
			buf_puts(b, "\\e");
		else if (ch == '-')
			buf_puts(b, "\\-");
		else
			buf_putc(b, ch);
		/* Not inside the leading "--" of a flag (a line must not end with a lone "--"). */
		if (long_word && strchr("-_./,", ch) && i + 1 < wend && i > word && isalnum((unsigned char)s[i - 1]))
			buf_puts(b, "\\:");
	}
	buf_putc(b, '\n');
}

static void roff_puts(struct buf *b, const char *s)
{
	roff_text(b, s, strlen(s));
}

static bool docs_is_usage(const char *t, size_t n, bool in_usage)
{
	if (n >= 7 && !strncmp(t, "usage: ", 7))
		return true;
	return in_usage && n && (t[0] == '[' || (n >= 8 && !strncmp(t, "veeksha ", 8)));
}

/* Help text as man-page sections: usage lines (SYNOPSIS, or paragraphs when synopsis is false),
 * "name:" headers as .SS, indented "term  description" lines as .TP items (deeper-indented lines
 * continue them), other lines as filled paragraphs. */
static void roff_help(struct buf *b, const char *text, bool synopsis)
{
	enum { ST_NONE, ST_PARA, ST_ITEM } st = ST_NONE;
	bool in_usage = false, had_usage = false, pending_desc = false;
	size_t item_indent = 0;
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		size_t llen = eol ? (size_t)(eol - line) : strlen(line);
		size_t indent = 0;
		while (indent < llen && line[indent] == ' ')
			indent++;
		const char *t = line + indent;
		size_t tl = llen - indent;
		line += llen + (eol ? 1 : 0);
		if (!tl) {
			st = ST_NONE;
			pending_desc |= in_usage && synopsis;
			in_usage = false;
			continue;
		}
		if (docs_is_usage(t, tl, in_usage)) {
			if (!in_usage) {
				if (synopsis && !had_usage)
					buf_puts(b, ".SH SYNOPSIS\n");
				else
					buf_puts(b, ".PP\n");
			} else {
				buf_puts(b, ".br\n");
			}
			if (tl >= 7 && !strncmp(t, "usage: ", 7)) {
				t += 7;
				tl -= 7;
			}
			roff_text(b, t, tl);
			in_usage = had_usage = true;
			st = ST_NONE;
			continue;
		}
		if (in_usage || pending_desc) {
			if (synopsis)
				buf_puts(b, ".SH DESCRIPTION\n");
			in_usage = pending_desc = false;
		}
		if (!indent && t[tl - 1] == ':' && tl < 40 && !memchr(t, '.', tl)) {
			buf_puts(b, ".SS ");
			roff_text(b, t, tl - 1);
			st = ST_NONE;
			continue;
		}
		if (!indent) {
			if (st != ST_PARA)
				buf_puts(b, ".PP\n");
			roff_text(b, t, tl);
			st = ST_PARA;
			continue;
		}
		if (st == ST_ITEM && indent > item_indent) {
			roff_text(b, t, tl);
			continue;
		}
		const char *gap = NULL;
		for (size_t i = 0; i + 1 < tl; i++)
			if (t[i] == ' ' && t[i + 1] == ' ') {
				gap = t + i;
				break;
			}
		buf_puts(b, ".TP\n");
		if (gap) {
			roff_text(b, t, (size_t)(gap - t));
			while (*gap == ' ')
				gap++;
			roff_text(b, gap, tl - (size_t)(gap - t));
		} else {
			roff_text(b, t, tl);
		}
		st = ST_ITEM;
		item_indent = indent;
	}
	if (synopsis && !had_usage)
		buf_puts(b, ".SH DESCRIPTION\n");
}

static void roff_upper(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '-')
			buf_puts(b, "\\-");
		else
			buf_putc(b, (char)toupper((unsigned char)*s));
	}
}

static void roff_header(struct buf *b, const char *page)
{
	buf_puts(b, ".TH ");
	roff_upper(b, page);
	buf_printf(b, " 1 \"\" \"veeksha %s\" \"Veeksha Manual\"\n", VK_VERSION);
	buf_puts(b, ".\\\" Generated by `veeksha man` from the --help texts and flag tables of the binary:\n"
	            ".\\\" do not edit (docs/INSTALL.md).\n\n"
	            /* Flag names of 130 characters cannot be justified: ragged right, no hyphenation. */
	            ".ad l\n.nh\n");
}

/* Whether a help text already shows a flag's values ("--x {a, b}", "--x a|b"). */
static bool docs_text_lists_values(const struct docs_cmd *c, const char *flag)
{
	size_t fl = strlen(flag);
	for (size_t j = 0; j < c->n_texts; j++)
		for (const char *p = strstr(c->texts[j].text, flag); p; p = strstr(p + 1, flag)) {
			const char *v = p + fl;
			if (*v != ' ' || (p > c->texts[j].text && !strchr(" \t\n[(,|{", p[-1])))
				continue;
			v++;
			if (*v == '{')
				return true;
			while (*v && *v != ' ' && *v != '\n' && *v != ']') {
				if (*v == '|')
					return true;
				v++;
			}
		}
	return false;
}

static void roff_command_page(struct buf *b, const struct docs_set *s, size_t idx)
{
	const struct docs_cmd *c = &s->v[idx];
	char *page = xasprintf("veeksha-%s", c->key);
	roff_header(b, page);
	buf_puts(b, ".SH NAME\n");
	buf_printf(b, "veeksha\\-");
	for (const char *p = c->key; *p; p++)
		buf_puts(b, *p == '-' ? "\\-" : (char[2]){*p, 0});
	buf_puts(b, " \\- ");
	roff_puts(b, c->summary ? c->summary : "");
	roff_help(b, c->texts[0].text, true);
	size_t prefix = strlen(c->key) + 1;
	for (size_t i = idx + 1;
	     i < s->n && !strncmp(s->v[i].key, c->key, prefix - 1) && s->v[i].key[prefix - 1] == ' '; i++) {
		const struct docs_cmd *sc = &s->v[i];
		for (size_t j = 0; j < sc->n_texts; j++) {
			if (!strcmp(sc->texts[j].text, c->texts[0].text))
				continue; /* "veeksha sweep status --help" prints the sweep page's text */
			buf_puts(b, ".SH \"");
			roff_upper(b, c->key);
			buf_putc(b, ' ');
			roff_upper(b, sc->texts[j].title);
			buf_puts(b, "\"\n");
			roff_help(b, sc->texts[j].text, false);
		}
	}
	/* Values the text does not list (enum keys show only a metavariable in --help). */
	bool any = false;
	for (size_t i = idx; i < s->n; i++) {
		if (i != idx && (strncmp(s->v[i].key, c->key, prefix - 1) || s->v[i].key[prefix - 1] != ' '))
			break;
		for (size_t j = 0; j < s->v[i].n_flags; j++) {
			const struct docs_flag *f = &s->v[i].flags[j];
			if (f->value != CONFIG_DOC_ENUM || docs_text_lists_values(&s->v[i], f->name))
				continue;
			if (!any)
				buf_puts(b, ".SH \"FLAG VALUES\"\n");
			any = true;
			buf_puts(b, ".TP\n");
			roff_puts(b, f->name);
			struct buf v;
			buf_init(&v);
			for (size_t k = 0; k < f->n_values; k++)
				buf_printf(&v, "%s%s", k ? ", " : "", f->values[k]);
			roff_text(b, v.data, v.len);
			buf_free(&v);
		}
	}
	buf_puts(b, ".SH \"SEE ALSO\"\n.BR veeksha (1)\n");
	free(page);
}

static void roff_main_page(struct buf *b, const struct docs_set *s, const struct vk_command *commands,
                           size_t n_commands)
{
	roff_header(b, "veeksha");
	buf_puts(b, ".SH NAME\nveeksha \\- benchmark LLM inference servers\n"
	            ".SH SYNOPSIS\n.B veeksha\n.I command\n[options]\n.br\n.B veeksha\n\\-\\-help | \\-\\-version\n"
	            ".SH DESCRIPTION\n"
	            "Veeksha measures the latency and throughput of OpenAI\\-compatible inference servers (vLLM,\n"
	            "SGLang, Vajra or its built\\-in simulator): it generates a workload, sends it on a schedule,\n"
	            "records every request and writes its metrics, plots and SLO verdicts to a run directory.\n"
	            "Each command has its own page, e.g.\n.BR veeksha\\-benchmark (1).\n"
	            ".SH COMMANDS\n");
	for (size_t i = 0; i < n_commands; i++) {
		buf_puts(b, ".TP\n.B ");
		roff_puts(b, commands[i].name);
		roff_puts(b, commands[i].help);
		for (size_t j = 0; j < s->n; j++)
			if (!strcmp(s->v[j].key, commands[i].name) && strcmp(commands[i].name, "version")) {
				buf_puts(b, ".br\nSee\n.BR veeksha\\-");
				for (const char *p = commands[i].name; *p; p++)
					buf_puts(b, *p == '-' ? "\\-" : (char[2]){*p, 0});
				buf_puts(b, " (1).\n");
			}
	}
	buf_puts(b,
	         ".SH \"EXIT STATUS\"\n"
	         ".TP\n0\nsuccess\n.TP\n1\na runtime failure (the run's files are still written)\n"
	         ".TP\n2\na usage or configuration error (the message names the file, line and key)\n"
	         ".TP\n3\nan SLO was not met, with \\-\\-fail\\-on\\-slo\n"
	         ".SH ENVIRONMENT\n.TP\n.B OPENAI_API_BASE\nendpoint of the server under test (like client.api_base)\n"
	         ".TP\n.B OPENAI_API_KEY\nAPI key (like client.api_key)\n"
	         ".SH FILES\nThe documentation and example configurations are installed under\n"
	         ".IR share/doc/veeksha/ ;\nthe shell completions under\n"
	         ".I share/bash\\-completion/completions/veeksha\nand\n.IR share/zsh/site\\-functions/_veeksha .\n"
	         ".SH \"SEE ALSO\"\n");
	bool first = true;
	for (size_t i = 0; i < n_commands; i++) {
		if (!strcmp(commands[i].name, "version"))
			continue;
		buf_puts(b, first ? "" : ",\n");
		buf_puts(b, ".BR veeksha\\-");
		for (const char *p = commands[i].name; *p; p++)
			buf_puts(b, *p == '-' ? "\\-" : (char[2]){*p, 0});
		buf_puts(b, " (1)");
		first = false;
	}
	buf_puts(b, "\n");
}

static int docs_write(const char *dir, const char *name, const struct buf *b)
{
	char *path = xasprintf("%s/%s", dir, name);
	int rc = fs_write_file_or_log(path, b->data, b->len);
	free(path);
	return rc ? 1 : 0;
}

static void docs_usage(FILE *out)
{
	fprintf(out, "usage: veeksha completion bash|zsh\n"
	             "       veeksha man [COMMAND | --output-dir DIR]\n"
	             "Print the shell completion script or a man page (troff), generated from the flags of this\n"
	             "binary; --output-dir writes veeksha.1 and veeksha-COMMAND.1 for every command into DIR.\n");
}

int meta_docs_main(int argc, char **argv, const struct vk_command *commands, size_t n_commands)
{
	bool man = !strcmp(argv[0], "man");
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		docs_usage(stdout);
		return 0;
	}
	const char *shell = NULL, *page = NULL, *out_dir = NULL;
	if (!man) {
		if (argc != 2 || (strcmp(argv[1], "bash") && strcmp(argv[1], "zsh"))) {
			fprintf(stderr, "veeksha completion: expected 'bash' or 'zsh'%s%s\n", argc >= 2 ? ", got " : "",
			        argc >= 2 ? argv[1] : "");
			docs_usage(stderr);
			return 2;
		}
		shell = argv[1];
	} else if (argc == 3 && !strcmp(argv[1], "--output-dir")) {
		out_dir = argv[2];
	} else if (argc == 2 && argv[1][0] != '-') {
		page = argv[1];
	} else if (argc != 1) {
		docs_usage(stderr);
		return 2;
	}
	size_t page_idx = 0;
	struct docs_set s = {0};
	docs_build(&s, commands, n_commands);
	if (s.error) {
		fprintf(stderr, "veeksha %s: %s; the generated pages and completions would miss it\n", argv[0],
		        s.error);
		docs_free(&s);
		return 1;
	}
	if (page) {
		for (page_idx = 0; page_idx < s.n; page_idx++)
			if (!strcmp(s.v[page_idx].key, page))
				break;
		if (page_idx == s.n || strchr(page, ' ')) {
			fprintf(stderr, "veeksha man: no page for '%s' (a command of 'veeksha --help')\n", page);
			docs_free(&s);
			return 2;
		}
	}
	struct buf b;
	buf_init(&b);
	int rc = 0;
	if (shell) {
		if (!strcmp(shell, "zsh"))
			buf_puts(&b, "#compdef veeksha\n");
		buf_printf(&b,
		           "# %s completion for veeksha %s. Generated by `veeksha completion %s` from the flags of\n"
		           "# the binary: do not edit (docs/INSTALL.md).\n\n",
		           shell, VK_VERSION, shell);
		docs_emit_data(&b, &s, commands, n_commands);
		buf_puts(&b, !strcmp(shell, "zsh") ? docs_zsh_main : docs_bash_main);
		fwrite(b.data, 1, b.len, stdout);
	} else if (page) {
		roff_command_page(&b, &s, page_idx);
		fwrite(b.data, 1, b.len, stdout);
	} else if (!out_dir) {
		roff_main_page(&b, &s, commands, n_commands);
		fwrite(b.data, 1, b.len, stdout);
	} else if (fs_mkdir_p(out_dir)) {
		fprintf(stderr, "veeksha man: cannot create %s\n", out_dir);
		rc = 1;
	} else {
		roff_main_page(&b, &s, commands, n_commands);
		rc |= docs_write(out_dir, "veeksha.1", &b);
		for (size_t i = 0; i < s.n; i++) {
			if (strchr(s.v[i].key, ' ') || !strcmp(s.v[i].key, "version"))
				continue;
			buf_reset(&b);
			roff_command_page(&b, &s, i);
			char *name = xasprintf("veeksha-%s.1", s.v[i].key);
			rc |= docs_write(out_dir, name, &b);
			free(name);
		}
	}
	buf_free(&b);
	docs_free(&s);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "veeksha %s: cannot write the output\n", argv[0]);
		rc = 1;
	}
	return rc;
}
