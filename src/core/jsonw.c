#include "core/jsonw.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/xalloc.h"

static const double jsonw_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* "e+05" / "e-310" as printf's "e%c%02d" writes it; returns the end. */
static char *jsonw_put_exp(char *o, int e)
{
	*o++ = 'e';
	*o++ = e < 0 ? '-' : '+';
	unsigned u = (unsigned)(e < 0 ? -e : e);
	if (u >= 100)
		*o++ = (char)('0' + u / 100);
	*o++ = (char)('0' + u / 10 % 10);
	*o++ = (char)('0' + u % 10);
	*o = '\0';
	return o;
}

/* Writes into tmp the shortest of the 15-, 16- and 17-digit "%.*e" forms of v that reads back as v,
 * with a single snprintf: the 15- and 16-digit forms are rounded from the correctly rounded
 * 17-digit one. That double rounding is exact unless the dropped digits are exactly a tie
 * ("5", "50"), which may hide which side of the midpoint v lies on: then it returns false and the
 * caller formats with printf for each length. */
static bool jsonw_shortest_from17(double v, char *tmp)
{
	char s17[40];
	int n = snprintf(s17, sizeof s17, "%.16e", v);
	if (n <= 0 || n >= (int)sizeof s17)
		return false;
	const char *p = s17;
	bool neg = *p == '-';
	if (neg)
		p++;
	char d[17];
	int nd = 0;
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9' && nd < 17)
			d[nd++] = *p;
	if (nd != 17 || *p != 'e')
		return false;
	int exp10 = (int)strtol(p + 1, NULL, 10); /* the exponent of our own %.16e: 3 digits at most */
	for (int prec = 15; prec <= 16; prec++) {
		bool tie = d[prec] == '5';
		for (int i = prec + 1; i < 17 && tie; i++)
			tie = d[i] == '0';
		if (tie)
			return false;
		char r[17];
		memcpy(r, d, (size_t)prec);
		int e = exp10;
		if (d[prec] >= '5') {
			int i = prec - 1;
			while (i >= 0 && r[i] == '9')
				r[i--] = '0';
			if (i >= 0) {
				r[i]++;
			} else {
				r[0] = '1'; /* 9.99..e+E -> 1.00..e+(E+1) */
				e++;
			}
		}
		char *o = tmp;
		if (neg)
			*o++ = '-';
		*o++ = r[0];
		*o++ = '.';
		memcpy(o, r + 1, (size_t)prec - 1);
		o += prec - 1;
		jsonw_put_exp(o, e);
		if (strtod(tmp, NULL) == v)
			return true;
	}
	memcpy(tmp, s17, (size_t)n + 1);
	return true;
}

/* floor(log10(a)) by table, for a in [1e-7, 1e15) */
static int jsonw_lead10(double a)
{
	int lead;
	if (a >= 1.0) {
		lead = 0;
		while (lead < 15 && a >= jsonw_pow10[lead + 1])
			lead++;
	} else {
		lead = -1;
		while (a < 1.0 / jsonw_pow10[-lead] && lead > -8)
			lead--;
	}
	return lead;
}

/* Shortest repr digits without printf/strtod, for the common case of a value whose shortest repr
 * has at most 15 significant digits (e.g. nanosecond counts / 1e9). With k chosen so that
 * |v| * 10^k < 10^15, the candidate D = m * 10^-k, m = round(v * 10^k), is checked exactly:
 * (double)m / 10^k is the correctly rounded value of D (m and 10^k, k <= 22, are exact doubles
 * and IEEE division rounds correctly), so it equals v iff D reads back as v. Any other decimal of
 * <= 15 significant digits lies more than 2 ulp away from D, so D without its trailing zeros is
 * the unique shortest repr. If v's shortest repr needs 16-17 digits (or |v| is out of range) the
 * check fails and the caller takes the printf path. Digits (no sign) go to digits[], the
 * decimal exponent of the first digit to *exp10. */
static bool jsonw_shortest_int(double v, char *digits, size_t *nd, int *exp10)
{
	double a = fabs(v);
	if (!(a >= 1e-7 && a < 1e15))
		return false;
	int lead = jsonw_lead10(a);
	int k = 14 - lead; /* 15 significant digits: a * 10^k in [1e14, 1e15) (roughly) */
	if (k < 0 || k > 22)
		return false;
	double p = jsonw_pow10[k];
	double x = a * p;
	if (!(x < 9.0e15))
		return false;
	int64_t m = llrint(x);
	if (m <= 0 || (double)m / p != a)
		return false;
	/* digits of m, trailing zeros dropped (first, by whole groups: fewer divisions) */
	char t[24];
	int n = 0;
	uint64_t u = (uint64_t)m;
	int zeros = 0;
	while (u % 100000 == 0) {
		u /= 100000;
		zeros += 5;
	}
	while (u % 10 == 0) {
		u /= 10;
		zeros++;
	}
	k -= zeros;
	while (u) {
		t[n++] = (char)('0' + u % 10);
		u /= 10;
	}
	int lo = 0;
	while (lo < n - 1 && t[lo] == '0')
		lo++;
	if (n - lo > 15)
		return false; /* uniqueness above holds for <= 15 significant digits only */
	size_t o = 0;
	for (int i = n - 1; i >= lo; i--)
		digits[o++] = t[i];
	digits[o] = '\0';
	*nd = o;
	*exp10 = n - 1 - k;
	return true;
}

typedef unsigned __int128 jsonw_u128;

static const uint64_t jsonw_pow5[28] = {1ull,
                                        1ull * 5,
                                        25ull,
                                        125ull,
                                        625ull,
                                        3125ull,
                                        15625ull,
                                        78125ull,
                                        390625ull,
                                        1953125ull,
                                        9765625ull,
                                        48828125ull,
                                        244140625ull,
                                        1220703125ull,
                                        6103515625ull,
                                        30517578125ull,
                                        152587890625ull,
                                        762939453125ull,
                                        3814697265625ull,
                                        19073486328125ull,
                                        95367431640625ull,
                                        476837158203125ull,
                                        2384185791015625ull,
                                        11920928955078125ull,
                                        59604644775390625ull,
                                        298023223876953125ull,
                                        1490116119384765625ull,
                                        7450580596923828125ull};

/* round(p / 2^sh), half to even; 0 < sh < 128 */
static jsonw_u128 jsonw_shr_round(jsonw_u128 p, int sh)
{
	jsonw_u128 q = p >> sh, r = p & ((((jsonw_u128)1) << sh) - 1), half = ((jsonw_u128)1) << (sh - 1);
	return q + (r > half || (r == half && (q & 1)));
}

/* Shortest repr digits for the 16- and 17-digit cases, by exact integer arithmetic instead of
 * printf + strtod, for 1e-7 <= |v| < 1e15 (normal doubles). v = f * 2^e exactly; the decimal
 * candidates m * 10^-j are the correctly rounded v * 10^j = f * 5^j * 2^(e+j) (128-bit, exact);
 * the 16-digit one is kept iff it lies inside v's rounding interval (half an ulp each side, the
 * lower half-gap halved at a power of two, ends included only for an even f, as strtod rounds
 * ties to even), else the correctly rounded 17-digit one is v's repr (the nearest of the shortest,
 * as Python's repr). Callers try the <= 15-digit path first. */
static bool jsonw_shortest_wide(double v, char *digits, size_t *nd, int *exp10)
{
	double a = fabs(v);
	if (!(a >= 1e-7 && a < 1e15))
		return false;
	uint64_t bits;
	memcpy(&bits, &a, sizeof bits);
	int be = (int)((bits >> 52) & 0x7ff);
	uint64_t f = (bits & ((1ull << 52) - 1)) | (1ull << 52);
	int e = be - 1075;
	int lead = jsonw_lead10(a);
	static const jsonw_u128 e16 = (jsonw_u128)10000000000000000ull, e17 = (jsonw_u128)100000000000000000ull;
	int k = 16 - lead; /* 17 significant digits */
	jsonw_u128 m17 = 0;
	for (int tries = 0; tries < 3; tries++) {
		if (k < 1 || k > 27 || -(e + k) < 1 || -(e + k) > 120)
			return false;
		m17 = jsonw_shr_round((jsonw_u128)f * jsonw_pow5[k], -(e + k));
		if (m17 < e16)
			k++;
		else if (m17 > e17)
			k--;
		else
			break;
	}
	if (m17 < e16 || m17 > e17)
		return false;
	/* the 16-digit candidate at j = k - 1 */
	int j = k - 1, sh = -(e + j);
	if (j < 0 || sh < 1 || sh > 120)
		return false;
	jsonw_u128 p5 = jsonw_pow5[j];
	jsonw_u128 P = (jsonw_u128)f * p5; /* v * 10^j * 2^sh */
	jsonw_u128 m16 = jsonw_shr_round(P, sh);
	jsonw_u128 ms = m16 << sh;
	bool below = ms < P;
	jsonw_u128 d2 = 2 * (below ? P - ms : ms - P); /* 2 |D - v| in units of 2^-sh * 10^-j */
	jsonw_u128 t = p5;                             /* one ulp of v in the same units: 5^j * 2 / 2 */
	bool inside;
	if (below && f == (1ull << 52) && be > 1)
		inside = 2 * d2 < t || (2 * d2 == t && (f & 1) == 0);
	else
		inside = d2 < t || (d2 == t && (f & 1) == 0);
	jsonw_u128 m = inside ? m16 : m17;
	int jj = inside ? j : k;
	uint64_t m64 = (uint64_t)m; /* <= 10^17 */
	char tmp[48];
	int n = 0;
	while (m64) {
		tmp[n++] = (char)('0' + (int)(m64 % 10));
		m64 /= 10;
	}
	int lo = 0;
	while (lo < n - 1 && tmp[lo] == '0')
		lo++;
	size_t o = 0;
	for (int i = n - 1; i >= lo; i--)
		digits[o++] = tmp[i];
	digits[o] = '\0';
	*nd = o;
	*exp10 = n - 1 - jj;
	return true;
}

size_t jsonw_format_double(double v, char *out)
{
	if (isnan(v))
		return (size_t)sprintf(out, "NaN");
	if (isinf(v))
		return (size_t)sprintf(out, v > 0 ? "Infinity" : "-Infinity");
	if (v == 0.0)
		return (size_t)sprintf(out, signbit(v) ? "-0.0" : "0.0");

	/* Shortest round-trip digits. If some k <= 15 digit decimal reads back as v, the correctly
	 * rounded 15-digit form is that decimal zero-padded (15-digit spacing > 2 ulp), so trying
	 * 15, 16, 17 digits and stripping trailing zeros below gives Python's repr with at most
	 * three snprintf/strtod rounds instead of up to seventeen. */
	char digits[24];
	size_t nd = 0;
	int exp10 = 0;
	bool neg = false;
	if (jsonw_shortest_int(v, digits, &nd, &exp10) || jsonw_shortest_wide(v, digits, &nd, &exp10)) {
		neg = v < 0;
		goto emit;
	}
	char tmp[40];
	if (fabs(v) < DBL_MIN || !jsonw_shortest_from17(v, tmp)) {
		/* (subnormals have fewer significant bits: search every length for them) */
		for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
			snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
			if (prec == 17 || strtod(tmp, NULL) == v)
				break;
		}
	}
	/* tmp = [-]d[.ddd]e[+-]XX */
	const char *p = tmp;
	if (*p == '-') {
		neg = true;
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	exp10 = (int)strtol(p + 1, NULL, 10);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';

emit:;
	char *o = out;
	if (neg)
		*o++ = '-';
	if (exp10 >= -5 && exp10 < 16) {
		if (exp10 >= 0) {
			for (int i = 0; i <= exp10; i++)
				*o++ = (size_t)i < nd ? digits[i] : '0';
			*o++ = '.';
			if ((size_t)exp10 + 1 < nd) {
				for (size_t i = (size_t)exp10 + 1; i < nd; i++)
					*o++ = digits[i];
			} else {
				*o++ = '0';
			}
		} else {
			*o++ = '0';
			*o++ = '.';
			for (int i = 0; i < -exp10 - 1; i++)
				*o++ = '0';
			for (size_t i = 0; i < nd; i++)
				*o++ = digits[i];
		}
		/* Python switches to exponent form below 1e-4 */
		if (exp10 < -4) {
			o = out + (neg ? 1 : 0);
			goto sci;
		}
		*o = '\0';
		return (size_t)(o - out);
	}
sci:
	*o++ = digits[0];
	if (nd > 1) {
		*o++ = '.';
		for (size_t i = 1; i < nd; i++)
			*o++ = digits[i];
	}
	o = jsonw_put_exp(o, exp10);
	return (size_t)(o - out);
}

double jsonw_py_round(double v, int ndigits)
{
	if (!isfinite(v))
		return v;
	int64_t m;
	if (jsonw_round_scaled(v, ndigits, &m))
		return m ? (double)m / jsonw_pow10[ndigits] : copysign(0.0, v);
	/* Python rounds the exact binary value correctly; printf with %.*f does the same
	 * (correctly rounded, half-even on exact ties). */
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%.*f", ndigits, v);
	return strtod(tmp, NULL);
}

void jsonw_init(struct jsonw *w, struct buf *out, int indent)
{
	w->out = out;
	w->indent = indent;
	w->depth = 0;
	w->first[0] = true;
	w->after_key = false;
}

static void jsonw_newline(struct jsonw *w)
{
	buf_putc(w->out, '\n');
	for (int i = 0; i < w->depth * w->indent; i++)
		buf_putc(w->out, ' ');
}

static void jsonw_before_value(struct jsonw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	if (!w->first[w->depth])
		buf_puts(w->out, w->indent ? "," : ", ");
	w->first[w->depth] = false;
	if (w->indent)
		jsonw_newline(w);
}

static void jsonw_open(struct jsonw *w, char c)
{
	jsonw_before_value(w);
	buf_putc(w->out, c);
	if (w->depth + 1 < JSONW_MAX_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

static void jsonw_close(struct jsonw *w, char c)
{
	bool empty = w->first[w->depth];
	if (w->depth > 0)
		w->depth--;
	if (w->indent && !empty)
		jsonw_newline(w);
	buf_putc(w->out, c);
}

void jsonw_obj_begin(struct jsonw *w)
{
	jsonw_open(w, '{');
}
void jsonw_obj_end(struct jsonw *w)
{
	jsonw_close(w, '}');
}
void jsonw_arr_begin(struct jsonw *w)
{
	jsonw_open(w, '[');
}
void jsonw_arr_end(struct jsonw *w)
{
	jsonw_close(w, ']');
}

/* End of the leading run of bytes that are written as they are (0x20..0x7e except '"' and '\\'):
 * 16 bytes per step where SSE2 is available. */
static const unsigned char *jsonw_plain_end(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i c1f = _mm_set1_epi8(0x1F), c7f = _mm_set1_epi8(0x7F);
	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash));
		m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x));
		m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_max_epu8(x, c7f), x));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
		p++;
	return p;
}

/* '"' + s + '"' + tail in one reservation, for s without bytes to escape */
static void jsonw_put_plain(struct buf *b, const char *s, size_t n, const char *tail, size_t tail_n)
{
	buf_reserve(b, n + 2 + tail_n);
	char *o = b->data + b->len;
	*o++ = '"';
	memcpy(o, s, n);
	o += n;
	*o++ = '"';
	memcpy(o, tail, tail_n);
	o += tail_n;
	*o = '\0';
	b->len = (size_t)(o - b->data);
}

void jsonw_escape(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (jsonw_plain_end((const unsigned char *)s, (const unsigned char *)s + n) == (const unsigned char *)s + n) {
		jsonw_put_plain(b, s, n, "", 0);
		return;
	}
	buf_reserve(b, n + 2);
	buf_putc(b, '"');
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			const unsigned char *q = jsonw_plain_end(p, end);
			buf_append(b, p, (size_t)(q - p));
			p = q;
			continue;
		}
		char esc[16];
		switch (c) {
		case '"':
			buf_puts(b, "\\\"");
			p++;
			continue;
		case '\\':
			buf_puts(b, "\\\\");
			p++;
			continue;
		case '\n':
			buf_puts(b, "\\n");
			p++;
			continue;
		case '\r':
			buf_puts(b, "\\r");
			p++;
			continue;
		case '\t':
			buf_puts(b, "\\t");
			p++;
			continue;
		case '\b':
			buf_puts(b, "\\b");
			p++;
			continue;
		case '\f':
			buf_puts(b, "\\f");
			p++;
			continue;
		default:
			break;
		}
		uint32_t cp;
		size_t len = 1;
		if (c < 0x80) {
			cp = c;
		} else if ((c & 0xe0) == 0xc0 && p + 1 < end && (p[1] & 0xc0) == 0x80) {
			cp = ((c & 0x1fu) << 6) | (p[1] & 0x3fu);
			len = 2;
		} else if ((c & 0xf0) == 0xe0 && p + 2 < end && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
			cp = ((c & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
			len = 3;
		} else if ((c & 0xf8) == 0xf0 && p + 3 < end && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
		           (p[3] & 0xc0) == 0x80) {
			cp = ((c & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) | (p[3] & 0x3fu);
			len = 4;
		} else {
			cp = 0xfffd; /* invalid UTF-8 byte */
		}
		p += len;
		/* "\\uXXXX" (a surrogate pair above the BMP), without printf */
		unsigned units[2];
		int nu = 0;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			units[nu++] = 0xd800 + (cp >> 10);
			units[nu++] = 0xdc00 + (cp & 0x3ff);
		} else {
			units[nu++] = cp;
		}
		char *o = esc;
		for (int u = 0; u < nu; u++) {
			*o++ = '\\';
			*o++ = 'u';
			*o++ = hex[units[u] >> 12];
			*o++ = hex[(units[u] >> 8) & 15];
			*o++ = hex[(units[u] >> 4) & 15];
			*o++ = hex[units[u] & 15];
		}
		buf_append(b, esc, (size_t)(o - esc));
	}
	buf_putc(b, '"');
}

void jsonw_key(struct jsonw *w, const char *key)
{
	jsonw_before_value(w);
	size_t n = strlen(key);
	if (jsonw_plain_end((const unsigned char *)key, (const unsigned char *)key + n) ==
	    (const unsigned char *)key + n) {
		jsonw_put_plain(w->out, key, n, ": ", 2);
	} else {
		jsonw_escape(w->out, key, n);
		buf_puts(w->out, ": ");
	}
	w->after_key = true;
}

void jsonw_strn(struct jsonw *w, const char *s, size_t n)
{
	jsonw_before_value(w);
	jsonw_escape(w->out, s, n);
}

void jsonw_str(struct jsonw *w, const char *s)
{
	if (!s) {
		jsonw_null(w);
		return;
	}
	jsonw_strn(w, s, strlen(s));
}

size_t jsonw_format_u64(uint64_t v, char *out)
{
	char t[20];
	size_t n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = t[n - 1 - i];
	return n;
}

size_t jsonw_format_i64(int64_t v, char *out)
{
	if (v >= 0)
		return jsonw_format_u64((uint64_t)v, out);
	out[0] = '-';
	return 1 + jsonw_format_u64(0 - (uint64_t)v, out + 1);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	jsonw_before_value(w);
	char tmp[24];
	buf_append(w->out, tmp, jsonw_format_i64(v, tmp));
}

void jsonw_double(struct jsonw *w, double v)
{
	jsonw_before_value(w);
	char tmp[48];
	size_t n = jsonw_format_double(v, tmp);
	buf_append(w->out, tmp, n);
}

/* Fast path of repr(round(v, ndigits)) for 1 <= ndigits <= 5 and |v| < 1e9: "%.*f" is the correctly
 * rounded decimal D (at most 9 + 5 = 14 significant digits); Python's round() returns the double
 * nearest to D, and since every decimal of <= 15 significant digits survives a trip through a
 * double, the shortest repr of that double is D without its trailing zeros. Returns 0 when the
 * fast path does not apply (zero or below-1e-4 result, out of range): the caller takes the general path. */
size_t jsonw_format_round_fast(double v, int ndigits, char *out)
{
	int64_t m;
	if (ndigits < 1 || ndigits > 5 || !jsonw_round_scaled(v, ndigits, &m))
		return 0;
	uint64_t u = (uint64_t)(m < 0 ? -m : m);
	uint64_t p = (uint64_t)jsonw_pow10[ndigits];
	/* 0.0 / -0.0 (the general path spells the sign as Python does) and results below 1e-4, which
	 * Python prints in exponent form */
	if (u == 0)
		return 0;
	char *o = out;
	if (m < 0)
		*o++ = '-';
	if (u * 10000 < p) {
		/* below 1e-4: only ndigits = 5 gets here, with u in 1..9, i.e. u * 1e-5, which Python
		 * prints as "<u>e-05" */
		if (ndigits != 5 || u > 9)
			return 0;
		*o++ = (char)('0' + u);
		memcpy(o, "e-05", 5);
		return (size_t)(o + 4 - out);
	}
	char t[24];
	int n = 0;
	uint64_t ip = u / p, fp = u % p;
	do {
		t[n++] = (char)('0' + ip % 10);
		ip /= 10;
	} while (ip);
	while (n)
		*o++ = t[--n];
	*o++ = '.';
	for (int i = ndigits - 1; i >= 0; i--) {
		t[i] = (char)('0' + fp % 10);
		fp /= 10;
	}
	int keep = ndigits;
	while (keep > 1 && t[keep - 1] == '0')
		keep--;
	memcpy(o, t, (size_t)keep);
	o += keep;
	*o = '\0';
	return (size_t)(o - out);
}

size_t jsonw_format_round(double v, int ndigits, char *out)
{
	size_t n = jsonw_format_round_fast(v, ndigits, out);
	return n ? n : jsonw_format_double(jsonw_py_round(v, ndigits), out);
}

void jsonw_double_round(struct jsonw *w, double v, int ndigits)
{
	char tmp[48];
	size_t n = jsonw_format_round(v, ndigits, tmp);
	jsonw_before_value(w);
	buf_append(w->out, tmp, n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	jsonw_before_value(w);
	buf_puts(w->out, v ? "true" : "false");
}

void jsonw_null(struct jsonw *w)
{
	jsonw_before_value(w);
	buf_puts(w->out, "null");
}

void jsonw_raw(struct jsonw *w, const char *json)
{
	jsonw_before_value(w);
	buf_puts(w->out, json);
}

char *jsonw_python_to_strict(const char *in)
{
	size_t n = strlen(in);
	char *out = xmalloc(n + n / 3 + 2); /* "NaN" -> "null" grows by a third at most */
	size_t o = 0;
	bool in_str = false;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		if (in_str) {
			out[o++] = ch;
			if (ch == '\\' && i + 1 < n)
				out[o++] = in[++i];
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
			out[o++] = ch;
		} else if (strncmp(in + i, "Infinity", 8) == 0) {
			memcpy(out + o, "1e999", 5);
			o += 5;
			i += 7;
		} else if (strncmp(in + i, "NaN", 3) == 0) {
			memcpy(out + o, "null", 4);
			o += 4;
			i += 2;
		} else {
			out[o++] = ch;
		}
	}
	out[o] = '\0';
	return out;
}
