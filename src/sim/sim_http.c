/* A small HTTP/1.1 request-head parser for the simulated server. Pure function over a byte range:
 * it never reads past `len`, never allocates, and treats anything it does not understand as a 400. */
#include <string.h>

#include "sim/sim.h"

bool sim_str_eq(struct sim_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}

static char sim_http_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool sim_str_case_eq(struct sim_str s, const char *lit)
{
	size_t n = strlen(lit);
	if (s.n != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (sim_http_lower(s.p[i]) != sim_http_lower(lit[i]))
			return false;
	return true;
}

static bool sim_http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Does the comma-separated header value contain token `tok` (case-insensitive)? */
static bool sim_http_has_token(struct sim_str v, const char *tok)
{
	size_t i = 0;
	while (i < v.n) {
		while (i < v.n && (v.p[i] == ' ' || v.p[i] == '\t' || v.p[i] == ','))
			i++;
		size_t s = i;
		while (i < v.n && v.p[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v.p[e - 1] == ' ' || v.p[e - 1] == '\t'))
			e--;
		struct sim_str t = {v.p + s, e - s};
		if (t.n && sim_str_case_eq(t, tok))
			return true;
	}
	return false;
}

/* Find "\r\n\r\n" (or a bare "\n\n") terminating the head. Returns head length or 0. */
static size_t sim_http_head_end(const char *d, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (d[i] != '\n')
			continue;
		if (i + 1 < len && d[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && d[i + 1] == '\r' && d[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

enum sim_http_rc sim_http_parse(const char *d, size_t len, struct sim_http_req *r)
{
	memset(r, 0, sizeof *r);
	size_t head = sim_http_head_end(d, len);
	if (!head)
		return len > SIM_HTTP_MAX_HEAD ? SIM_HTTP_TOO_LARGE : SIM_HTTP_INCOMPLETE;
	if (head > SIM_HTTP_MAX_HEAD)
		return SIM_HTTP_TOO_LARGE;
	r->head_len = head;

	/* request line: METHOD SP target SP HTTP/1.x CRLF */
	size_t i = 0;
	while (i < head && sim_http_is_tchar((unsigned char)d[i]))
		i++;
	if (i == 0 || i >= head || d[i] != ' ')
		return SIM_HTTP_BAD;
	r->method = (struct sim_str){d, i};
	size_t ts = ++i;
	while (i < head && d[i] != ' ' && d[i] != '\r' && d[i] != '\n') {
		unsigned char c = (unsigned char)d[i];
		if (c <= 0x20 || c == 0x7f)
			return SIM_HTTP_BAD;
		i++;
	}
	if (i == ts || i >= head || d[i] != ' ')
		return SIM_HTTP_BAD;
	r->target = (struct sim_str){d + ts, i - ts};
	i++;
	if (head - i < 8 || memcmp(d + i, "HTTP/", 5) != 0)
		return SIM_HTTP_BAD;
	if (d[i + 5] != '1' || d[i + 6] != '.')
		return (d[i + 5] >= '0' && d[i + 5] <= '9') ? SIM_HTTP_BAD_VERSION : SIM_HTTP_BAD;
	if (d[i + 7] != '0' && d[i + 7] != '1')
		return (d[i + 7] >= '0' && d[i + 7] <= '9') ? SIM_HTTP_BAD_VERSION : SIM_HTTP_BAD;
	r->version_minor = d[i + 7] - '0';
	i += 8;
	if (i < head && d[i] == '\r')
		i++;
	if (i >= head || d[i] != '\n')
		return SIM_HTTP_BAD;
	i++;
	/* path = target up to '?' ; must start with '/' (origin form) */
	if (r->target.p[0] != '/')
		return SIM_HTTP_BAD;
	r->path = r->target;
	for (size_t k = 0; k < r->target.n; k++)
		if (r->target.p[k] == '?') {
			r->path.n = k;
			break;
		}

	/* header fields */
	bool seen_cl = false, seen_te = false;
	while (i < head) {
		if (d[i] == '\n')
			break; /* end of head */
		if (d[i] == '\r') {
			if (i + 1 < head && d[i + 1] == '\n')
				break;
			return SIM_HTTP_BAD;
		}
		size_t ns = i;
		while (i < head && sim_http_is_tchar((unsigned char)d[i]))
			i++;
		if (i == ns || i >= head || d[i] != ':')
			return SIM_HTTP_BAD;
		struct sim_str name = {d + ns, i - ns};
		i++;
		while (i < head && (d[i] == ' ' || d[i] == '\t'))
			i++;
		size_t vs = i;
		while (i < head && d[i] != '\r' && d[i] != '\n') {
			unsigned char c = (unsigned char)d[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return SIM_HTTP_BAD;
			i++;
		}
		size_t ve = i;
		while (ve > vs && (d[ve - 1] == ' ' || d[ve - 1] == '\t'))
			ve--;
		struct sim_str val = {d + vs, ve - vs};
		if (i < head && d[i] == '\r')
			i++;
		if (i >= head || d[i] != '\n')
			return SIM_HTTP_BAD;
		i++;

		if (sim_str_case_eq(name, "content-length")) {
			if (val.n == 0 || val.n > 18)
				return SIM_HTTP_BAD;
			uint64_t v = 0;
			for (size_t k = 0; k < val.n; k++) {
				if (val.p[k] < '0' || val.p[k] > '9')
					return SIM_HTTP_BAD;
				v = v * 10 + (uint64_t)(val.p[k] - '0');
			}
			if (seen_cl && v != r->content_length)
				return SIM_HTTP_BAD;
			seen_cl = true;
			r->has_content_length = true;
			r->content_length = v;
		} else if (sim_str_case_eq(name, "transfer-encoding")) {
			seen_te = true;
			if (sim_http_has_token(val, "chunked"))
				r->chunked = true;
			else
				return SIM_HTTP_BAD; /* only chunked is understood */
		} else if (sim_str_case_eq(name, "connection")) {
			if (sim_http_has_token(val, "close"))
				r->conn_close = true;
			if (sim_http_has_token(val, "keep-alive"))
				r->conn_keep_alive = true;
		} else if (sim_str_case_eq(name, "expect")) {
			if (sim_str_case_eq(val, "100-continue"))
				r->expect_continue = true;
		} else if (sim_str_case_eq(name, "authorization")) {
			r->authorization = val;
		} else if (sim_str_case_eq(name, "x-request-id")) {
			r->request_id = val;
		}
	}
	if (seen_cl && seen_te)
		return SIM_HTTP_BAD; /* request smuggling shape: refuse */
	if (r->has_content_length && r->content_length > SIM_HTTP_MAX_BODY)
		return SIM_HTTP_TOO_LARGE;
	return SIM_HTTP_OK;
}
