#include "client/record.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void rec_init(struct rec_record *r)
{
	memset(r, 0, sizeof *r);
}

void rec_reset(struct rec_record *r)
{
	struct rec_chunk *chunks = r->chunks;
	size_t cap = r->cap_chunks;
	char *text = r->text;
	size_t text_cap = r->text_cap;
	memset(r, 0, sizeof *r);
	r->chunks = chunks;
	r->cap_chunks = cap;
	r->text = text;
	r->text_cap = text_cap;
	if (r->text)
		r->text[0] = '\0';
}

void rec_free(struct rec_record *r)
{
	free(r->chunks);
	free(r->text);
	memset(r, 0, sizeof *r);
}

void rec_add_chunk(struct rec_record *r, int64_t t_ns, int32_t tokens)
{
	if (r->n_chunks == r->cap_chunks)
		xgrow((void **)&r->chunks, &r->cap_chunks, r->n_chunks + 1, sizeof *r->chunks);
	r->chunks[r->n_chunks].t_ns = t_ns;
	r->chunks[r->n_chunks].tokens = tokens;
	r->n_chunks++;
}

void rec_append_text(struct rec_record *r, const char *s, size_t n)
{
	if (r->text_len + n + 1 > r->text_cap)
		xgrow((void **)&r->text, &r->text_cap, r->text_len + n + 1, 1);
	memcpy(r->text + r->text_len, s, n);
	r->text_len += n;
	r->text[r->text_len] = '\0';
}

void rec_set_error(struct rec_record *r, enum rec_error kind, int code, const char *fmt, ...)
{
	r->success = false;
	r->error_kind = kind;
	r->error_code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error_msg, sizeof r->error_msg, fmt, ap);
	va_end(ap);
}

const char *rec_error_class_name(enum rec_error kind)
{
	switch (kind) {
	case REC_OK:
		return "ok";
	case REC_ERR_HTTP:
		return "http";
	case REC_ERR_CONNECT:
		return "connect";
	case REC_ERR_TLS:
		return "tls";
	case REC_ERR_TIMEOUT:
		return "timeout";
	case REC_ERR_RESET:
		return "reset";
	case REC_ERR_SERVER:
		return "server_error";
	case REC_ERR_MALFORMED:
		return "stream_protocol";
	case REC_ERR_EMPTY:
		return "empty";
	case REC_ERR_TOO_LARGE:
		return "too_large";
	case REC_ERR_CLIENT:
		return "client";
	case REC_ERR_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}
