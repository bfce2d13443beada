/* Per-request metric formulas (docs/METRICS.md, Per-request metrics) with hand-computed inputs, and the
 * Python float formatting the files rely on. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

#include "core/jsonw.h"
#include "metrics/pct.h"
#include "metrics/eval_internal.h"
#include "client/record.h"

void eval_compute_row(const struct rec_record *rec, struct eval_row *row, struct dvec *gaps);

#define MS 1000000LL

static void mk(struct rec_record *r, int64_t sent, const int64_t *chunk_ms, size_t n, int64_t out_tokens)
{
	rec_init(r);
	r->is_stream = true;
	r->success = true;
	r->sent_ns = sent * MS;
	for (size_t i = 0; i < n; i++)
		rec_add_chunk(r, chunk_ms[i] * MS, 1);
	r->completed_ns = n ? chunk_ms[n - 1] * MS + 5 * MS : sent * MS;
	r->num_output_tokens = out_tokens;
	r->num_delta_prompt_tokens = 10;
	r->num_total_prompt_tokens = 30;
}

static void test_tpot_015(void **state)
{
	(void)state;
	/* ict = [0.1, 0.1, 0.2]: ttfc 0.1, e2e 0.4, n = 3 -> tpot (0.4-0.1)/2 = 0.15 */
	int64_t c[] = {1100, 1200, 1400};
	struct rec_record r;
	mk(&r, 1000, c, 3, 3);
	struct eval_row row;
	struct dvec gaps = {0};
	eval_compute_row(&r, &row, &gaps);
	assert_near(row.ttfc, 0.1, 1e-12);
	assert_near(row.e2e, 0.4, 1e-12);
	assert_near(row.tpot, 0.15, 1e-12);
	assert_near(row.norm_e2e, 0.4 / 3, 1e-12);
	assert_near(row.output_throughput, 3 / 0.4, 1e-9);
	assert_int_equal(row.n_tbc, 2);
	assert_near(gaps.v[0], 0.1, 1e-12);
	assert_near(gaps.v[1], 0.2, 1e-12);
	assert_int_equal(row.num_total_tokens, 33); /* total prompt + output */
	assert_true(row.is_stream);
	/* e2e is the sum of the inter-chunk times; it excludes the 5 ms after the last chunk */
	assert_near(row.e2e, gaps.v[0] + gaps.v[1] + row.ttfc, 1e-15);
	/* chunks carry one token each: itl == tpot */
	assert_near(row.itl, row.tpot, 1e-15);
	rec_free(&r);
	dvec_free(&gaps);
}

static void test_single_token_and_multi_token_chunks(void **state)
{
	(void)state;
	int64_t c[] = {1050};
	struct rec_record r;
	mk(&r, 1000, c, 1, 1);
	struct eval_row row;
	struct dvec gaps = {0};
	eval_compute_row(&r, &row, &gaps);
	assert_near(row.tpot, 0.0, 0); /* n <= 1 */
	assert_near(row.ttfc, 0.05, 1e-12);
	assert_int_equal(row.n_tbc, 0);
	rec_free(&r);

	/* 3 chunks, 1 + 4 + 5 tokens: itl = decode time / 9 tokens; tpot = decode time / (n-1) */
	rec_init(&r);
	r.is_stream = true;
	r.success = true;
	r.sent_ns = 0;
	rec_add_chunk(&r, 100 * MS, 1);
	rec_add_chunk(&r, 190 * MS, 4);
	rec_add_chunk(&r, 280 * MS, 5);
	r.num_output_tokens = 10;
	r.num_delta_prompt_tokens = 5;
	eval_compute_row(&r, &row, &gaps);
	assert_near(row.itl, 0.18 / 9, 1e-12);
	assert_near(row.tpot, 0.18 / 9, 1e-12);
	assert_int_equal(row.num_total_tokens, 15); /* no total prompt count -> delta + n */
	rec_free(&r);
	dvec_free(&gaps);
}

static void test_non_stream_ttfc(void **state)
{
	(void)state;
	struct rec_record r;
	rec_init(&r);
	r.is_stream = false;
	r.success = true;
	r.sent_ns = 1000 * MS;
	r.completed_ns = 1750 * MS;
	r.num_output_tokens = 5;
	struct eval_row row;
	struct dvec gaps = {0};
	eval_compute_row(&r, &row, &gaps);
	assert_near(row.ttfc, 0.75, 1e-12); /* whole latency */
	assert_near(row.e2e, 0.75, 1e-12);
	assert_false(row.is_stream);
	assert_int_equal(row.n_tbc, 0);
	assert_near(row.tpot, 0.0, 1e-12); /* (e2e - ttfc)/(n-1) = 0 */
	rec_free(&r);

	/* streaming request without any content chunk: all zeros, is_stream false */
	rec_init(&r);
	r.is_stream = true;
	r.success = true;
	r.sent_ns = 10;
	r.completed_ns = 20;
	eval_compute_row(&r, &row, &gaps);
	assert_false(row.is_stream);
	assert_near(row.ttfc, 0, 0);
	assert_near(row.e2e, 0, 0);
	assert_near(row.output_throughput, 0, 0);
	rec_free(&r);
	dvec_free(&gaps);
}

/* Reasoning models (docs/METRICS.md, Reasoning): TTFC stays the first chunk (a reasoning one), TTFO
 * is the first answer chunk, reasoning duration spans the reasoning chunks. */
static void test_reasoning_row(void **state)
{
	(void)state;
	/* 3 reasoning chunks (1100, 1110, 1120), then 2 answer chunks (1130, 1140) */
	int64_t c[] = {1100, 1110, 1120, 1130, 1140};
	struct rec_record r;
	mk(&r, 1000, c, 5, 5);
	r.first_reasoning_ns = 1100 * MS;
	r.last_reasoning_ns = 1120 * MS;
	r.first_answer_ns = 1130 * MS;
	r.num_reasoning_tokens = 3;
	r.num_answer_tokens = 2;
	struct eval_row row;
	struct dvec gaps = {0};
	eval_compute_row(&r, &row, &gaps);
	assert_true(row.has_reasoning);
	assert_near(row.ttfc, 0.1, 1e-12); /* unchanged: the first chunk */
	assert_true(row.has_ttfo);
	assert_near(row.ttfo, 0.13, 1e-12);
	assert_true(row.has_reasoning_duration);
	assert_near(row.reasoning_duration, 0.02, 1e-12);
	assert_int_equal(row.num_reasoning_tokens, 3);
	assert_int_equal(row.num_answer_tokens, 2);
	assert_near(row.e2e, 0.14, 1e-12);

	/* the answer never started (max_tokens spent thinking): no TTFO */
	r.first_answer_ns = 0;
	r.num_reasoning_tokens = 5;
	r.num_answer_tokens = 0;
	eval_compute_row(&r, &row, &gaps);
	assert_true(row.has_reasoning);
	assert_false(row.has_ttfo);

	/* no reasoning: TTFO = TTFC, every token an answer token (whatever the record's split says) */
	r.first_reasoning_ns = r.last_reasoning_ns = 0;
	r.first_answer_ns = 1100 * MS;
	r.num_reasoning_tokens = 0;
	r.num_answer_tokens = 0;
	eval_compute_row(&r, &row, &gaps);
	assert_false(row.has_reasoning);
	assert_true(row.has_ttfo);
	assert_near(row.ttfo, row.ttfc, 0);
	assert_false(row.has_reasoning_duration);
	assert_int_equal(row.num_answer_tokens, 5);

	/* hidden reasoning (reasoning_tokens reported, no reasoning text): TTFO is the first chunk's */
	r.num_reasoning_tokens = 4;
	r.num_answer_tokens = 1;
	eval_compute_row(&r, &row, &gaps);
	assert_true(row.has_reasoning);
	assert_near(row.ttfo, 0.1, 1e-12);
	assert_false(row.has_reasoning_duration);
	rec_free(&r);

	/* non-streamed: TTFO = E2E */
	rec_init(&r);
	r.is_stream = false;
	r.success = true;
	r.sent_ns = 1000 * MS;
	r.completed_ns = 1750 * MS;
	rec_add_chunk(&r, 1750 * MS, 0);
	r.first_reasoning_ns = r.last_reasoning_ns = r.first_answer_ns = 1750 * MS;
	r.num_output_tokens = 5;
	r.num_reasoning_tokens = 3;
	r.num_answer_tokens = 2;
	eval_compute_row(&r, &row, &gaps);
	assert_near(row.ttfo, 0.75, 1e-12);
	assert_near(row.reasoning_duration, 0, 0);
	rec_free(&r);
	dvec_free(&gaps);
}

static void fmt_eq(double v, const char *want)
{
	char t[48];
	jsonw_format_double(v, t);
	assert_string_equal(t, want);
}

static void test_python_float_format(void **state)
{
	(void)state;
	fmt_eq(0.1, "0.1");
	fmt_eq(1e-05, "1e-05");
	fmt_eq(2.0, "2.0");
	fmt_eq(111.99751, "111.99751");
	fmt_eq(3.1326499993156176e-05, "3.1326499993156176e-05");
	fmt_eq(8.200156668206873, "8.200156668206873");
	fmt_eq(INFINITY, "Infinity");
	fmt_eq(0.0001, "0.0001");
	fmt_eq(1e16, "1e+16");
	fmt_eq(123456789012345.0, "123456789012345.0");
	fmt_eq(0.35000000000000003, "0.35000000000000003");
	fmt_eq(5619.999999999996, "5619.999999999996");
	fmt_eq(jsonw_py_round(0.098216471, 5), "0.09822");
	fmt_eq(jsonw_py_round(111.9975080346934, 5), "111.99751");
	fmt_eq(1e-310, "1e-310");
	fmt_eq(-2.5e+300, "-2.5e+300");
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 0);
	jsonw_arr_begin(&w);
	jsonw_int(&w, INT64_MIN);
	jsonw_int(&w, 0);
	jsonw_int(&w, -5);
	jsonw_int(&w, INT64_MAX);
	jsonw_arr_end(&w);
	buf_putc(&b, '\0');
	assert_string_equal(b.data, "[-9223372036854775808, 0, -5, 9223372036854775807]");
	buf_free(&b);
}

/* the one-snprintf fast path of jsonw_double_round must print exactly what the general path
 * (round, then shortest repr) prints, over many magnitudes and ndigits, and on exact ties */
static void fast_eq(double v, int nd)
{
	char fast[48], slow[48], ref[64];
	/* jsonw_py_round (integer path) against printf's correctly rounded, half-even %.*f */
	snprintf(ref, sizeof ref, "%.*f", nd, v);
	double want = strtod(ref, NULL), got = jsonw_py_round(v, nd);
	if (memcmp(&want, &got, sizeof want) != 0)
		fail_msg("py_round v=%.17g nd=%d got=%a want=%a", v, nd, got, want);
	size_t n = jsonw_format_round_fast(v, nd, fast);
	jsonw_format_double(jsonw_py_round(v, nd), slow);
	if (n) {
		if (strcmp(fast, slow) != 0)
			fail_msg("v=%.17g nd=%d fast=%s slow=%s", v, nd, fast, slow);
	} else {
		/* the fast path only declines zero results and out-of-range inputs */
		assert_true(nd < 1 || nd > 5 || !(fabs(v) < 1e9) || jsonw_py_round(v, nd) == 0.0);
	}
}

static void test_round_fast_path(void **state)
{
	(void)state;
	uint64_t x = 0x9E3779B97F4A7C15ull;
	long tried = 0;
	for (int i = 0; i < 400000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		double mant = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
		int e = (int)(x % 19) - 9;                            /* 1e-9 .. 1e9 */
		double v = mant * pow(10.0, e);
		if (x & (1ull << 5))
			v = -v;
		fast_eq(v, 1 + (int)((x >> 7) % 5));
		tried++;
	}
	/* short decimals, exact binary ties (x.5 at the last place) and boundaries */
	for (int i = 0; i < 200000; i++) {
		double v = (double)i / 1e5 + 0.000005;
		fast_eq(v, 5);
		fast_eq(-v, 5);
		fast_eq((double)i / 64.0, 5); /* exact binary fractions with ties at 6 decimals */
		fast_eq((double)i * 0.125, 2);
		fast_eq((double)i / 4096.0 + 1e6, 5); /* ties at the 6th+ decimal, large integer part */
		fast_eq(-(double)i / 8.0 / 1e4, 4);
	}
	double edge[] = {0.0, -0.0, 1e-4,  4.9999e-6, 5e-6,  5.000001e-6, 999999999.999994, 999999999.999996,
	                 1e9, -1e9, 0.125, 2.5,       1e-10, 123.456785,  0.000015};
	for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
		for (int nd = 1; nd <= 5; nd++)
			fast_eq(edge[i], nd);
	assert_true(tried > 0);
	char t[48];
	assert_int_equal(jsonw_format_round_fast(111.9975080346934, 5, t), 9);
	assert_string_equal(t, "111.99751");
	assert_int_equal(jsonw_format_round_fast(2.0, 5, t), 3);
	assert_string_equal(t, "2.0");
	/* below 1e-4 (zero-delay chunk gaps): Python's exponent form */
	assert_int_equal(jsonw_format_round_fast(0.0000312, 5, t), 5);
	assert_string_equal(t, "3e-05");
	assert_int_equal(jsonw_format_round_fast(-0.000018, 5, t), 6);
	assert_string_equal(t, "-2e-05");
	assert_int_equal(jsonw_format_round_fast(0.000004, 5, t), 0); /* rounds to 0.0: general path */
}

/* the formatter before its single-snprintf fast path (three snprintf + strtod rounds), kept here as
 * the reference the fast path must match byte for byte */
static size_t ref_format_double(double v, char *out)
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
	char tmp[40];
	int prec;
	/* (subnormals have fewer significant bits: search every length for them) */
	for (prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
		if (prec == 17 || strtod(tmp, NULL) == v)
			break;
	}
	/* tmp = [-]d[.ddd]e[+-]XX */
	char digits[24];
	size_t nd = 0;
	const char *p = tmp;
	bool neg = false;
	if (*p == '-') {
		neg = true;
		p++;
	}
	for (; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			digits[nd++] = *p;
	int exp10 = atoi(p + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';

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
	o += sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
	return (size_t)(o - out);
}

static void test_format_double_matches_reference(void **state)
{
	(void)state;
	uint64_t x = 0x2545F4914F6CDD1Dull;
	char got[48], want[48];
	for (int i = 0; i < 400000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		double v;
		switch (i % 5) {
		case 0: /* any finite bit pattern */
			memcpy(&v, &x, sizeof v);
			if (!isfinite(v))
				continue;
			break;
		case 1: /* timestamps-like magnitudes */
			v = (double)(x >> 11) / 9007199254740992.0 * pow(10.0, (int)(x % 13) - 3);
			break;
		case 2: /* short decimals and their sums (ties, carries) */
			v = (double)(x % 100000000) / 1e5 + (double)((x >> 40) % 1000) * 1e6;
			break;
		case 3: /* nanosecond counts in seconds and microseconds (the integer fast path) */
			v = (double)(int64_t)(x % 1000000000000000ull) / ((x >> 60) & 1 ? 1e9 : 1e3);
			if ((x >> 59) & 1)
				v = -v;
			break;
		default: /* near powers of ten: 9.999...e+E carries */
			v = pow(10.0, (int)(x % 40) - 20) * (1.0 - (double)(x >> 54) * 1e-16);
			break;
		}
		jsonw_format_double(v, got);
		ref_format_double(v, want);
		if (strcmp(got, want) != 0)
			fail_msg("v=%a got=%s want=%s", v, got, want);
	}
	double edge[] = {0.1,
	                 0.3,
	                 1e23,
	                 5e-324,
	                 2.2250738585072014e-308,
	                 1.7976931348623157e308,
	                 9.999999999999999e22,
	                 123456789012345680.0,
	                 0.5,
	                 1234567.8900000001,
	                 99999999999999.99,
	                 0.09999999999999999};
	for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
		jsonw_format_double(edge[i], got);
		ref_format_double(edge[i], want);
		assert_string_equal(got, want);
	}
}

static int ref_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The radix sort skips a pass whose digit every key shares, so the sorted keys can end in the
 * scratch array (an odd number of passes) or in place (even): both must come back exactly sorted.
 * Small integers differ only in their top bits (most passes skipped); 1 + j/2^(m+off) differ in m
 * mantissa bits starting `off` below the top one, which sets which passes run: one (m = 2, off = 0:
 * bits 50-51 only), two (m = 3: bits 49-51), and so on as m and off sweep. */
static void test_pct_sort_pass_parity(void **state)
{
	(void)state;
	size_t n = 4096;
	double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
	for (int off = -1; off <= 40; off += 3) {
		for (int m = 1; m <= 12; m++) {
			for (size_t i = 0; i < n; i++) {
				size_t j = (i * 2654435761u) % n; /* a fixed shuffle */
				a[i] =
				    off < 0 ? (double)(j % 7) : 1.0 + ldexp((double)(j % ((size_t)1 << m)), -(m + off));
			}
			memcpy(b, a, n * sizeof *a);
			pct_sort(a, n);
			qsort(b, n, sizeof *b, ref_cmp);
			assert_memory_equal(a, b, n * sizeof *a);
		}
	}
	free(a);
	free(b);
}

/* pct_sort_copy gives exactly what qsort of a copy gives, and leaves the source as it was:
 * - whole nanoseconds (the 32-bit key path) with 1, 2 or 3 active digits, so the keys end in either
 *   half of the destination (both expansions), with runs of equal values and 0.0;
 * - the edges of that path: 2^32 - 1 ns (kept) and 2^32 ns, -0.0, a negative value, NaN, a value
 *   that is not a whole ns (each sends the copy the general way, placed first, in the middle or last). */
static void check_sort_copy(const double *src, size_t n)
{
	double *got = malloc(n * sizeof *got), *want = malloc(n * sizeof *want), *keep = malloc(n * sizeof *keep);
	memcpy(want, src, n * sizeof *want);
	memcpy(keep, src, n * sizeof *keep);
	qsort(want, n, sizeof *want, ref_cmp);
	pct_sort_copy(got, src, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t x, y;
		memcpy(&x, &got[i], sizeof x);
		memcpy(&y, &want[i], sizeof y);
		if (x != y && !(isnan(got[i]) && isnan(want[i])))
			fail_msg("value %zu of %zu: %.17g, want %.17g", i, n, got[i], want[i]);
	}
	assert_memory_equal(src, keep, n * sizeof *keep);
	free(got);
	free(want);
	free(keep);
}

static void test_pct_sort_copy_ns(void **state)
{
	(void)state;
	size_t n = 5000;
	double *v = malloc(n * sizeof *v);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	/* digit widths: below 2^11 ns (one pass), 2^22 (two), 2^32 (three) */
	uint64_t spans[] = {(uint64_t)1 << 11, (uint64_t)1 << 22, ((uint64_t)1 << 32) - 1, 7};
	for (size_t k = 0; k < sizeof spans / sizeof spans[0]; k++) {
		for (size_t i = 0; i < n; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t ns = (x >> 17) % spans[k];
			v[i] = (double)ns / 1e9;
		}
		v[n / 2] = 0.0;
		if (spans[k] > ((uint64_t)1 << 22)) /* (elsewhere it would make the third digit active) */
			v[n / 3] = (double)(((uint64_t)1 << 32) - 1) / 1e9;
		check_sort_copy(v, n);
	}
	/* one value off the path at the start, the middle, the end */
	double odd[] = {(double)((uint64_t)1 << 32) / 1e9, -0.0, -1e-9, NAN, 0.1 + 1e-12, INFINITY};
	size_t at[] = {0, n / 2, n - 1};
	for (size_t o = 0; o < sizeof odd / sizeof odd[0]; o++) {
		for (size_t a = 0; a < 3; a++) {
			for (size_t i = 0; i < n; i++)
				v[i] = (double)((i * 2654435761u) % 100000) / 1e9;
			v[at[a]] = odd[o];
			check_sort_copy(v, n);
		}
	}
	/* small arrays take the general path */
	check_sort_copy(v, 3);
	free(v);
}

/* pct_sort (radix sort for large arrays) gives exactly what qsort gives */
static void test_pct_sort_matches_qsort(void **state)
{
	(void)state;
	uint64_t x = 0x853c49e6748fea9bull;
	size_t sizes[] = {0, 1, 2, 511, 512, 513, 5000, 100000};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k];
		double *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			switch (x % 5) {
			case 0:
				a[i] = (double)(x % 7);
				break; /* many duplicates */
			case 1:
				a[i] = -(double)(x >> 11) / 9007199254740992.0;
				break; /* negatives */
			case 2:
				a[i] = 0.0;
				break;
			case 3:
				a[i] = (double)(x >> 11) * 1e-3;
				break;
			default:
				a[i] = ldexp((double)(x >> 40), (int)(x % 200) - 100);
				break;
			}
		}
		memcpy(b, a, n * sizeof *a);
		pct_sort(a, n);
		if (n > 1)
			qsort(b, n, sizeof *b, ref_cmp);
		if (n)
			assert_memory_equal(a, b, n * sizeof *a);
		free(a);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tpot_015),
	    cmocka_unit_test(test_single_token_and_multi_token_chunks),
	    cmocka_unit_test(test_non_stream_ttfc),
	    cmocka_unit_test(test_reasoning_row),
	    cmocka_unit_test(test_python_float_format),
	    cmocka_unit_test(test_round_fast_path),
	    cmocka_unit_test(test_format_double_matches_reference),
	    cmocka_unit_test(test_pct_sort_matches_qsort),
	    cmocka_unit_test(test_pct_sort_pass_parity),
	    cmocka_unit_test(test_pct_sort_copy_ns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
