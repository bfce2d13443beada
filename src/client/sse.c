/* Incremental SSE parser (see sse.h). */
#include "client/sse.h"

#include <string.h>

void sse_init(struct sse_parser *p, sse_event_fn cb, void *ctx)
{
	memset(p, 0, sizeof *p);
	p->cb = cb;
	p->ctx = ctx;
	buf_init(&p->line);
	buf_init(&p->data);
	p->max_event_bytes = SSE_DEFAULT_MAX_EVENT_BYTES;
	p->at_start = true;
}

void sse_reset(struct sse_parser *p)
{
	buf_reset(&p->line);
	buf_reset(&p->data);
	p->type[0] = '\0';
	p->has_data = false;
	p->last_cr = false;
	p->at_start = true;
	p->bom_pos = 0;
	p->stopped = 0;
	p->n_events = 0;
}

void sse_free(struct sse_parser *p)
{
	buf_free(&p->line);
	buf_free(&p->data);
}

bool sse_is_done(const char *data, size_t len)
{
	while (len && (*data == ' ' || *data == '\t' || *data == '\n')) {
		data++;
		len--;
	}
	while (len && (data[len - 1] == ' ' || data[len - 1] == '\t' || data[len - 1] == '\n'))
		len--;
	return len == 6 && memcmp(data, "[DONE]", 6) == 0;
}

static int sse_dispatch(struct sse_parser *p)
{
	if (!p->has_data) {
		p->type[0] = '\0';
		return 0;
	}
	struct sse_event ev = {.data = p->data.data ? p->data.data : "", .data_len = p->data.len, .type = p->type};
	p->n_events++;
	int rc = p->cb ? p->cb(p->ctx, &ev) : 0;
	buf_reset(&p->data);
	p->has_data = false;
	p->type[0] = '\0';
	return rc;
}

/* One complete line (without its terminator). */
static int sse_line(struct sse_parser *p, const char *s, size_t n)
{
	if (n == 0)
		return sse_dispatch(p);
	if (s[0] == ':')
		return 0; /* comment / keep-alive */
	const char *colon = memchr(s, ':', n);
	size_t flen = colon ? (size_t)(colon - s) : n;
	const char *v = colon ? colon + 1 : s + n;
	size_t vlen = (size_t)(s + n - v);
	if (vlen && *v == ' ') {
		v++;
		vlen--;
	}
	bool is_error = flen == 5 && memcmp(s, "error", 5) == 0;
	if ((flen == 4 && memcmp(s, "data", 4) == 0) || is_error) {
		if (p->data.len + vlen + 1 > p->max_event_bytes)
			return -1;
		if (p->has_data)
			buf_putc(&p->data, '\n');
		buf_append(&p->data, v, vlen);
		p->has_data = true;
		/* "error: {...}" (llama.cpp's streamed errors; not a WHATWG field): the event is an error
		 * event with that data, as "event: error" + "data: {...}" (docs/CLIENT.md, SSE parser) */
		if (is_error)
			memcpy(p->type, "error", sizeof "error");
	} else if (flen == 5 && memcmp(s, "event", 5) == 0) {
		size_t k = vlen < SSE_EVENT_TYPE_MAX - 1 ? vlen : SSE_EVENT_TYPE_MAX - 1;
		memcpy(p->type, v, k);
		p->type[k] = '\0';
	}
	/* id, retry and unknown fields are ignored */
	return 0;
}

static const char SSE_BOM[3] = {'\xEF', '\xBB', '\xBF'};

/* Leading byte order mark: matched bytes are held back; on a mismatch they become line data. */
static size_t sse_skip_bom(struct sse_parser *p, const char *bytes, size_t len)
{
	size_t i = 0;
	while (p->at_start && i < len) {
		if (bytes[i] == SSE_BOM[p->bom_pos]) {
			p->bom_pos++;
			i++;
			if (p->bom_pos == sizeof SSE_BOM)
				p->at_start = false;
		} else {
			buf_append(&p->line, SSE_BOM, p->bom_pos);
			p->at_start = false;
		}
	}
	return i;
}

/* Offset of the first '\n' or '\r' in s[0..n), n when there is none. */
static size_t sse_find_eol(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);
	size_t lim = nl ? (size_t)(nl - s) : n;
	const char *cr = memchr(s, '\r', lim);
	return cr ? (size_t)(cr - s) : lim;
}

int sse_feed(struct sse_parser *p, const char *bytes, size_t len)
{
	if (p->stopped)
		return p->stopped;
	size_t i = 0;
	if (p->at_start) {
		i = sse_skip_bom(p, bytes, len);
		if (i == len)
			return 0;
	}
	if (p->last_cr && i < len) {
		p->last_cr = false;
		if (bytes[i] == '\n')
			i++;
	}
	while (i < len) {
		/* find the next line terminator (two vectorized scans instead of a byte loop) */
		size_t j = sse_find_eol(bytes + i, len - i) + i;
		if (j == len) {
			/* partial line: keep it for the next feed */
			if (p->line.len + (len - i) > p->max_event_bytes) {
				p->stopped = -1;
				return -1;
			}
			buf_append(&p->line, bytes + i, len - i);
			break;
		}
		int rc;
		if (p->line.len) {
			buf_append(&p->line, bytes + i, j - i);
			rc = sse_line(p, p->line.data, p->line.len);
			buf_reset(&p->line);
		} else {
			rc = sse_line(p, bytes + i, j - i);
		}
		if (bytes[j] == '\r') {
			if (j + 1 < len) {
				if (bytes[j + 1] == '\n')
					j++;
			} else {
				p->last_cr = true;
			}
		}
		i = j + 1;
		if (rc) {
			p->stopped = rc;
			return rc;
		}
	}
	return 0;
}

int sse_finish(struct sse_parser *p)
{
	if (p->stopped)
		return p->stopped;
	int rc = 0;
	if (p->at_start && p->bom_pos) {
		buf_append(&p->line, SSE_BOM, p->bom_pos); /* stream ended inside a partial mark */
		p->at_start = false;
	}
	if (p->line.len) {
		rc = sse_line(p, p->line.data, p->line.len);
		buf_reset(&p->line);
	}
	if (!rc)
		rc = sse_dispatch(p);
	p->last_cr = false;
	if (rc)
		p->stopped = rc;
	return rc;
}
