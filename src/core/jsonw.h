#ifndef VK_CORE_JSONW_H
#define VK_CORE_JSONW_H
/* Streaming JSON writer producing exactly what Python's json.dumps produces:
 *  - indent 0: one line with ", " and ": " separators (json.dumps default);
 *  - indent N: pretty printed like json.dumps(indent=N);
 *  - floats in Python repr (shortest round-trip: 0.1, 1e-05, 2.0), Infinity/NaN spelled as Python does;
 *  - non-ASCII escaped as \uXXXX (ensure_ascii=True).
 * Appends to a struct buf. Not thread-safe. No allocation beyond the buffer's growth. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define JSONW_MAX_DEPTH 64

struct jsonw {
	struct buf *out;
	int indent;
	int depth;
	bool first[JSONW_MAX_DEPTH]; /* no element written yet at this depth */
	bool after_key;
};

/* Python repr of a double into out (at least 32 bytes). Returns length. */
size_t jsonw_format_double(double v, char *out);
/* Decimal digits of v into out (at most 20 bytes, no NUL); returns their count. */
size_t jsonw_format_u64(uint64_t v, char *out);
/* The same with a '-' for a negative v (at most 20 bytes). */
size_t jsonw_format_i64(int64_t v, char *out);

void jsonw_init(struct jsonw *w, struct buf *out, int indent);
void jsonw_obj_begin(struct jsonw *w);
void jsonw_obj_end(struct jsonw *w);
void jsonw_arr_begin(struct jsonw *w);
void jsonw_arr_end(struct jsonw *w);
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_str(struct jsonw *w, const char *s); /* NULL writes null */
void jsonw_strn(struct jsonw *w, const char *s, size_t n);
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_double(struct jsonw *w, double v);
void jsonw_double_round(struct jsonw *w, double v, int ndigits); /* Python round(v, ndigits) then repr */
void jsonw_bool(struct jsonw *w, bool v);
void jsonw_null(struct jsonw *w);
void jsonw_raw(struct jsonw *w, const char *json); /* pre-serialised value */
/* Escape s as a JSON string (with quotes) into b. */
void jsonw_escape(struct buf *b, const char *s, size_t n);

/* m = v * 10^ndigits rounded to the nearest integer, half-even on the exact binary value (what
 * Python's round() and printf's %.*f do), without printf: for |v| < 1e9 and ndigits <= 5 the
 * product is below 2^47. Adding and removing 1.5 * 2^52 rounds it to an integer as nearbyint does,
 * without its library call; only a product that lands exactly on a half needs its exact rounding
 * error (fma, a library call on baseline x86-64, so only then) to decide the side. False when out
 * of that range. Every rounded number of the output files comes through here (millions per run),
 * hence inline. */
static inline bool jsonw_round_scaled(double v, int ndigits, int64_t *m)
{
	static const double pow10[6] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5};
	if (ndigits < 0 || ndigits > 5 || !(fabs(v) < 1e9))
		return false;
	const double k = 6755399441055744.0; /* 1.5 * 2^52 */
	double p = pow10[ndigits];
	double prod = v * p;
	double r = (prod + k) - k;
	double frac = prod - r; /* exact */
	if (frac == 0.5 || frac == -0.5) {
		double err = fma(v, p, -prod); /* v * p == prod + err exactly */
		if (frac == 0.5 && err > 0)
			r += 1.0;
		else if (frac == -0.5 && err < 0)
			r -= 1.0;
	}
	*m = (int64_t)r;
	return true;
}

/* Python round(v, ndigits) (round-half-even on the decimal representation). */
double jsonw_py_round(double v, int ndigits);
/* repr(round(v, ndigits)) into out (at least 32 bytes) with one snprintf, for 1 <= ndigits <= 5 and
 * |v| < 1e9 with a result of at least 1e-4; returns its length, or 0 when that fast path does not apply. */
size_t jsonw_format_round_fast(double v, int ndigits, char *out);
/* repr(round(v, ndigits)) into out (at least 32 bytes), by the fast path when it applies; returns its
 * length. What jsonw_double_round writes. */
size_t jsonw_format_round(double v, int ndigits, char *out);

/* Python's json module (so the reference, and this writer, docs/OUTPUTS.md) writes non-finite numbers
 * as the bare tokens Infinity, -Infinity and NaN, which strict JSON parsers (cJSON) reject: a
 * slo_results.json whose P99 TTFC is Infinity (errored requests count as infinitely slow) would read
 * as no file at all. Returns a copy of in (xmalloc'd) in which, outside strings, Infinity becomes 1e999
 * (strtod's inf) and NaN null. */
char *jsonw_python_to_strict(const char *in);

#endif
