#include "workload/trace_reader.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/xalloc.h"

enum arr_state { ARR_START = 0, ARR_FIRST, ARR_NEXT, ARR_DONE };

struct csv_field {
	size_t off, len;
	bool quoted;
};

struct wl_trace_reader {
	char *name;
	enum wl_trace_fmt fmt;
	FILE *fp;
	const unsigned char *mem;
	size_t mem_len, mem_pos;
	bool at_start;      /* nothing read yet (BOM check) */
	uint64_t line, col; /* position of the next byte (1-based) */
	uint64_t row_line;
	bool failed;
	/* JSON array */
	enum arr_state arr;
	/* CSV */
	bool header_done;
	char **cols; /* NULL entries: unnamed columns, ignored */
	size_t n_cols;
	struct csv_field *fields;
	size_t n_fields, cap_fields;
	struct buf text; /* current line / element / record */
	char err[512];
};

static void rd_fail(struct wl_trace_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rd_fail(struct wl_trace_reader *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof r->err, fmt, ap);
	va_end(ap);
	r->failed = true;
}

static int rd_raw(struct wl_trace_reader *r)
{
	if (r->fp)
		return getc_unlocked(r->fp);
	if (r->mem_pos >= r->mem_len)
		return EOF;
	return r->mem[r->mem_pos++];
}

static int rd_peek(struct wl_trace_reader *r)
{
	if (r->fp) {
		int c = getc_unlocked(r->fp);
		if (c != EOF)
			ungetc(c, r->fp);
		return c;
	}
	if (r->mem_pos >= r->mem_len)
		return EOF;
	return r->mem[r->mem_pos];
}

static int rd_get(struct wl_trace_reader *r)
{
	int c = rd_raw(r);
	if (c == '\n') {
		r->line++;
		r->col = 1;
	} else if (c != EOF) {
		r->col++;
	}
	return c;
}

/* Skip a UTF-8 byte order mark at the start of the input. */
static int skip_bom(struct wl_trace_reader *r)
{
	r->at_start = false;
	if (rd_peek(r) != 0xEF)
		return 0;
	rd_raw(r);
	if (rd_peek(r) == 0xBB) {
		rd_raw(r);
		if (rd_peek(r) == 0xBF) {
			rd_raw(r);
			return 0;
		}
	}
	rd_fail(r, "%s:1:1: invalid UTF-8 at the start of the file", r->name);
	return -1;
}

static void skip_ws(struct wl_trace_reader *r)
{
	for (;;) {
		int c = rd_peek(r);
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			rd_get(r);
		else
			return;
	}
}

static void reset_pos(struct wl_trace_reader *r)
{
	r->at_start = true;
	r->line = 1;
	r->col = 1;
	r->row_line = 0;
	r->arr = ARR_START;
	r->failed = false;
	r->err[0] = '\0';
}

static enum wl_trace_fmt sniff_json(struct wl_trace_reader *r)
{
	/* look at the first non-blank byte without consuming the stream */
	if (r->fp) {
		long pos = ftell(r->fp);
		int c;
		do {
			c = getc_unlocked(r->fp);
		} while (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF || c == 0xBB || c == 0xBF);
		fseek(r->fp, pos, SEEK_SET);
		return c == '[' ? WL_TRACE_FMT_JSON_ARRAY : WL_TRACE_FMT_JSONL;
	}
	for (size_t i = 0; i < r->mem_len; i++) {
		unsigned char c = r->mem[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF || c == 0xBB || c == 0xBF)
			continue;
		return c == '[' ? WL_TRACE_FMT_JSON_ARRAY : WL_TRACE_FMT_JSONL;
	}
	return WL_TRACE_FMT_JSONL;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

struct wl_trace_reader *wl_trace_reader_open(const char *path, enum wl_trace_fmt fmt, char *err, size_t err_len)
{
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		snprintf(err, err_len, "%s: cannot open trace file: %s", path, strerror(errno));
		return NULL;
	}
	static const size_t bufsz = 1 << 16;
	setvbuf(fp, NULL, _IOFBF, bufsz);
	struct wl_trace_reader *r = xcalloc(1, sizeof *r);
	r->name = xstrdup(path);
	r->fp = fp;
	reset_pos(r);
	buf_init(&r->text);
	if (fmt == WL_TRACE_FMT_AUTO)
		fmt = ends_with_ci(path, ".csv") ? WL_TRACE_FMT_CSV : sniff_json(r);
	r->fmt = fmt;
	if (ferror(fp)) {
		snprintf(err, err_len, "%s: cannot read trace file: %s", path, strerror(errno));
		wl_trace_reader_close(r);
		return NULL;
	}
	return r;
}

struct wl_trace_reader *wl_trace_reader_open_mem(const void *data, size_t len, const char *name, enum wl_trace_fmt fmt)
{
	struct wl_trace_reader *r = xcalloc(1, sizeof *r);
	r->name = xstrdup(name ? name : "<memory>");
	r->mem = data;
	r->mem_len = len;
	reset_pos(r);
	buf_init(&r->text);
	r->fmt = fmt == WL_TRACE_FMT_AUTO ? sniff_json(r) : fmt;
	return r;
}

static void free_cols(struct wl_trace_reader *r)
{
	for (size_t i = 0; i < r->n_cols; i++)
		free(r->cols[i]);
	free(r->cols);
	r->cols = NULL;
	r->n_cols = 0;
	r->header_done = false;
}

void wl_trace_reader_close(struct wl_trace_reader *r)
{
	if (!r)
		return;
	if (r->fp)
		fclose(r->fp);
	free_cols(r);
	free(r->fields);
	buf_free(&r->text);
	free(r->name);
	free(r);
}

int wl_trace_reader_rewind(struct wl_trace_reader *r)
{
	if (r->fp) {
		clearerr(r->fp);
		if (fseek(r->fp, 0, SEEK_SET) != 0) {
			rd_fail(r, "%s: cannot rewind trace file: %s", r->name, strerror(errno));
			return -1;
		}
	} else {
		r->mem_pos = 0;
	}
	free_cols(r);
	reset_pos(r);
	return 0;
}

const char *wl_trace_reader_error(const struct wl_trace_reader *r)
{
	return r->err;
}
const char *wl_trace_reader_name(const struct wl_trace_reader *r)
{
	return r->name;
}
enum wl_trace_fmt wl_trace_reader_format(const struct wl_trace_reader *r)
{
	return r->fmt;
}
uint64_t wl_trace_reader_row_line(const struct wl_trace_reader *r)
{
	return r->row_line;
}

static int check_read_error(struct wl_trace_reader *r)
{
	if (r->fp && ferror(r->fp)) {
		rd_fail(r, "%s:%llu: read error: %s", r->name, (unsigned long long)r->line, strerror(errno));
		return -1;
	}
	return r->failed ? -1 : 0;
}

static bool too_big(struct wl_trace_reader *r, size_t len)
{
	if (len <= WL_TRACE_MAX_ROW_BYTES)
		return false;
	rd_fail(r, "%s:%llu: row larger than %zu MiB", r->name, (unsigned long long)r->row_line,
	        WL_TRACE_MAX_ROW_BYTES >> 20);
	return true;
}

/* Parse r->text as a JSON object; error positions are reported relative to (line0, col0). */
static int parse_object(struct wl_trace_reader *r, cJSON **row, uint64_t line0, uint64_t col0)
{
	const char *end = NULL;
	const char *s = r->text.data ? r->text.data : "";
	cJSON *v = cJSON_ParseWithLengthOpts(s, r->text.len, &end, false);
	if (!v) {
		/* translate the error offset into line:column */
		uint64_t line = line0, col = col0;
		const char *stop = end && end >= s && end <= s + r->text.len ? end : s;
		for (const char *p = s; p < stop; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		rd_fail(r, "%s:%llu:%llu: malformed JSON", r->name, (unsigned long long)line, (unsigned long long)col);
		return -1;
	}
	/* only whitespace may follow */
	for (const char *p = end; p && p < s + r->text.len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			cJSON_Delete(v);
			rd_fail(r, "%s:%llu: trailing data after the JSON value", r->name,
			        (unsigned long long)r->row_line);
			return -1;
		}
	}
	if (!cJSON_IsObject(v)) {
		cJSON_Delete(v);
		rd_fail(r, "%s:%llu: expected a JSON object", r->name, (unsigned long long)r->row_line);
		return -1;
	}
	*row = v;
	return 0;
}

static int next_jsonl(struct wl_trace_reader *r, cJSON **row)
{
	for (;;) {
		buf_reset(&r->text);
		r->row_line = r->line;
		int c;
		bool blank = true;
		bool any = false;
		while ((c = rd_get(r)) != EOF && c != '\n') {
			any = true;
			if (c != ' ' && c != '\t' && c != '\r')
				blank = false;
			buf_putc(&r->text, (char)c);
			if (too_big(r, r->text.len))
				return -1;
		}
		if (check_read_error(r))
			return -1;
		if (c == EOF && !any)
			return 1;
		if (blank)
			continue;
		return parse_object(r, row, r->row_line, 1);
	}
}

static int next_json_array(struct wl_trace_reader *r, cJSON **row)
{
	if (r->arr == ARR_DONE)
		return 1;
	if (r->arr == ARR_START) {
		skip_ws(r);
		int c = rd_get(r);
		if (check_read_error(r))
			return -1;
		if (c == EOF) {
			r->arr = ARR_DONE;
			return 1;
		}
		if (c != '[') {
			rd_fail(r, "%s:%llu:%llu: expected '[' (a JSON array)", r->name, (unsigned long long)r->line,
			        (unsigned long long)(r->col - 1));
			return -1;
		}
		r->arr = ARR_FIRST;
	}
	skip_ws(r);
	int c = rd_peek(r);
	if (r->arr == ARR_NEXT) {
		c = rd_get(r);
		if (c == ',') {
			skip_ws(r);
			c = rd_peek(r);
		} else if (c != ']') {
			if (check_read_error(r))
				return -1;
			rd_fail(r, "%s:%llu:%llu: expected ',' or ']' in the JSON array", r->name,
			        (unsigned long long)r->line, (unsigned long long)(c == EOF ? r->col : r->col - 1));
			return -1;
		}
	} else if (c == ']') {
		rd_get(r);
	}
	if (c == ']') {
		r->arr = ARR_DONE;
		skip_ws(r);
		if (rd_peek(r) != EOF) {
			rd_fail(r, "%s:%llu:%llu: trailing data after the JSON array", r->name,
			        (unsigned long long)r->line, (unsigned long long)r->col);
			return -1;
		}
		return check_read_error(r) ? -1 : 1;
	}
	/* one element: an object, delimited by brace depth outside strings */
	buf_reset(&r->text);
	r->row_line = r->line;
	uint64_t col0 = r->col;
	c = rd_get(r);
	if (c != '{') {
		if (check_read_error(r))
			return -1;
		rd_fail(r, "%s:%llu:%llu: expected a JSON object as array element", r->name,
		        (unsigned long long)r->row_line, (unsigned long long)col0);
		return -1;
	}
	buf_putc(&r->text, '{');
	int depth = 1;
	bool in_str = false, esc = false;
	while (depth > 0) {
		c = rd_get(r);
		if (c == EOF) {
			if (check_read_error(r))
				return -1;
			rd_fail(r, "%s:%llu:%llu: unterminated JSON object (end of file)", r->name,
			        (unsigned long long)r->row_line, (unsigned long long)col0);
			return -1;
		}
		buf_putc(&r->text, (char)c);
		if (too_big(r, r->text.len))
			return -1;
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	r->arr = ARR_NEXT;
	return parse_object(r, row, r->row_line, col0);
}

/* ---------------- CSV ---------------- */

static void add_field(struct wl_trace_reader *r, size_t off, bool quoted)
{
	xgrow((void **)&r->fields, &r->cap_fields, r->n_fields + 1, sizeof *r->fields);
	r->fields[r->n_fields++] = (struct csv_field){off, r->text.len - off, quoted};
}

/* Read one record into r->fields (texts NUL-separated in r->text). 0, 1 (EOF), -1. */
static int csv_record(struct wl_trace_reader *r)
{
	for (;;) {
		buf_reset(&r->text);
		r->n_fields = 0;
		r->row_line = r->line;
		int c = rd_get(r);
		if (c == EOF)
			return check_read_error(r) ? -1 : 1;
		if (c == '\n' || (c == '\r' && rd_peek(r) == '\n')) {
			if (c == '\r')
				rd_get(r);
			continue; /* blank line */
		}
		for (;;) { /* one field per iteration; c is its first byte */
			size_t off = r->text.len;
			bool quoted = false;
			if (c == '"') {
				quoted = true;
				uint64_t qline = r->line, qcol = r->col - 1;
				for (;;) {
					c = rd_get(r);
					if (c == EOF) {
						if (check_read_error(r))
							return -1;
						rd_fail(r, "%s:%llu:%llu: unterminated quoted field", r->name,
						        (unsigned long long)qline, (unsigned long long)qcol);
						return -1;
					}
					if (c == '"') {
						if (rd_peek(r) == '"') {
							rd_get(r);
						} else {
							break;
						}
					}
					buf_putc(&r->text, (char)c);
					if (too_big(r, r->text.len))
						return -1;
				}
				c = rd_get(r);
				if (c != ',' && c != '\n' && c != '\r' && c != EOF) {
					rd_fail(r, "%s:%llu:%llu: unexpected character after a closing quote", r->name,
					        (unsigned long long)r->line, (unsigned long long)(r->col - 1));
					return -1;
				}
			} else {
				while (c != ',' && c != '\n' && c != '\r' && c != EOF) {
					buf_putc(&r->text, (char)c);
					if (too_big(r, r->text.len))
						return -1;
					c = rd_get(r);
				}
			}
			add_field(r, off, quoted);
			buf_putc(&r->text, '\0');
			if (c == ',') {
				c = rd_get(r);
				continue;
			}
			if (c == '\r') {
				if (rd_peek(r) == '\n')
					rd_get(r);
				else if (rd_peek(r) != EOF) {
					rd_fail(r, "%s:%llu:%llu: bare carriage return", r->name,
					        (unsigned long long)r->line, (unsigned long long)(r->col - 1));
					return -1;
				}
			}
			if (check_read_error(r))
				return -1;
			return 0;
		}
	}
}

static const char *field_text(const struct wl_trace_reader *r, size_t i)
{
	return r->text.data + r->fields[i].off;
}

static int csv_header(struct wl_trace_reader *r)
{
	int rc = csv_record(r);
	if (rc != 0)
		return rc;
	r->n_cols = r->n_fields;
	r->cols = xcalloc(r->n_cols, sizeof *r->cols);
	for (size_t i = 0; i < r->n_fields; i++) {
		const char *name = field_text(r, i);
		if (strcmp(name, "num_prefill_tokens") == 0)
			name = "input_length";
		else if (strcmp(name, "num_decode_tokens") == 0)
			name = "output_length";
		if (name[0] == '\0')
			continue; /* unnamed column (e.g. a pandas index): ignored */
		for (size_t j = 0; j < i; j++) {
			if (r->cols[j] && strcmp(r->cols[j], name) == 0) {
				rd_fail(r, "%s:%llu: duplicate column '%s' (columns %zu and %zu)", r->name,
				        (unsigned long long)r->row_line, name, j + 1, i + 1);
				return -1;
			}
		}
		r->cols[i] = xstrdup(name);
	}
	r->header_done = true;
	return 0;
}

int wl_trace_reader_read_header(struct wl_trace_reader *r)
{
	if (r->fmt != WL_TRACE_FMT_CSV || r->header_done)
		return 0;
	if (r->failed)
		return -1;
	if (r->at_start && skip_bom(r))
		return -1;
	int rc = csv_header(r);
	if (rc == 1) {
		rd_fail(r, "%s: empty CSV file (no header row)", r->name);
		return -1;
	}
	return rc;
}

size_t wl_trace_reader_column_index(const struct wl_trace_reader *r, const char *name)
{
	if (r->fmt != WL_TRACE_FMT_CSV)
		return 0;
	for (size_t i = 0; i < r->n_cols; i++)
		if (r->cols[i] && strcmp(r->cols[i], name) == 0)
			return i + 1;
	return 0;
}

bool wl_trace_reader_has_column(const struct wl_trace_reader *r, const char *name)
{
	if (r->fmt != WL_TRACE_FMT_CSV)
		return true;
	return wl_trace_reader_column_index(r, name) != 0;
}

bool wl_trace_parse_decimal(const char *s, double *out)
{
	if (!*s)
		return false;
	/* reject what strtod accepts but a CSV number is not: hex, inf, nan, leading blanks */
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	if (!((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')))
		return false;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static cJSON *field_value(const char *s, size_t len)
{
	double d;
	if (wl_trace_parse_decimal(s, &d))
		return cJSON_CreateNumber(d);
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return cJSON_CreateTrue();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return cJSON_CreateFalse();
	const char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[' || *p == '{') {
		const char *end = NULL;
		cJSON *v = cJSON_ParseWithLengthOpts(s, len, &end, false);
		if (v) {
			bool trailing = false;
			for (const char *q = end; q < s + len; q++)
				if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
					trailing = true;
			if (!trailing)
				return v;
			cJSON_Delete(v);
		}
	}
	return cJSON_CreateString(s);
}

static int next_csv(struct wl_trace_reader *r, cJSON **row)
{
	if (!r->header_done) {
		int rc = wl_trace_reader_read_header(r);
		if (rc != 0)
			return rc;
	}
	int rc = csv_record(r);
	if (rc != 0)
		return rc;
	if (r->n_fields != r->n_cols) {
		rd_fail(r, "%s:%llu: row has %zu fields but the header has %zu columns", r->name,
		        (unsigned long long)r->row_line, r->n_fields, r->n_cols);
		return -1;
	}
	cJSON *obj = cJSON_CreateObject();
	for (size_t i = 0; i < r->n_fields; i++) {
		if (!r->cols[i] || r->fields[i].len == 0)
			continue;
		const char *s = field_text(r, i);
		if (strlen(s) != r->fields[i].len) {
			cJSON_Delete(obj);
			rd_fail(r, "%s:%llu: column %zu '%s': NUL byte in field", r->name,
			        (unsigned long long)r->row_line, i + 1, r->cols[i]);
			return -1;
		}
		cJSON_AddItemToObject(obj, r->cols[i], field_value(s, r->fields[i].len));
	}
	*row = obj;
	return 0;
}

int wl_trace_reader_next(struct wl_trace_reader *r, cJSON **row)
{
	*row = NULL;
	if (r->failed)
		return -1;
	if (r->at_start && skip_bom(r))
		return -1;
	switch (r->fmt) {
	case WL_TRACE_FMT_CSV:
		return next_csv(r, row);
	case WL_TRACE_FMT_JSON_ARRAY:
		return next_json_array(r, row);
	case WL_TRACE_FMT_JSONL:
	case WL_TRACE_FMT_AUTO:
	default:
		return next_jsonl(r, row);
	}
}
