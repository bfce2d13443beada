/* libFuzzer target for the time-series readers (src/metrics/eval_ts_server.c): timeseries.csv
 * (ts_table_parse) and server_metrics.csv (ts_server_parse), which the runner reads back to draw
 * metrics/timeseries_server.png (docs/OBSERVABILITY.md, Time series).
 * Properties: never reads past the input; an accepted timeseries.csv printed back (%.17g, empty
 * cells for NaN) parses to the same values; a server file's rows are counted once (skipped <= rows),
 * every series is in ascending time with as many values as times. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "metrics/eval_timeseries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan catches any read past the end */
	char *in = malloc(size ? size : 1);
	if (size)
		memcpy(in, data, size);
	char err[256];
	struct ts_table t;
	if (ts_table_parse(in, size, "fuzz.csv", &t, err, sizeof err) == 0) {
		struct buf b;
		buf_init(&b);
		buf_puts(&b, TS_CSV_HEADER "\n");
		for (size_t i = 0; i < t.n; i++)
			for (int c = 0; c < TS_N_COLS; c++) {
				if (!isnan(t.col[c][i]))
					buf_printf(&b, "%.17g", t.col[c][i]);
				buf_putc(&b, c + 1 == TS_N_COLS ? '\n' : ',');
			}
		struct ts_table u;
		if (ts_table_parse(b.data, b.len, "again.csv", &u, err, sizeof err) != 0 || u.n != t.n)
			abort();
		for (size_t i = 0; i < t.n; i++)
			for (int c = 0; c < TS_N_COLS; c++)
				if (!same(t.col[c][i], u.col[c][i]))
					abort();
		ts_table_free(&u);
		buf_free(&b);
		ts_table_free(&t);
	}
	struct ts_server s;
	if (ts_server_parse(in, size, "fuzz.csv", &s, err, sizeof err) == 0) {
		if (s.rows_skipped > s.rows || (s.rows_skipped && !s.first_bad_line))
			abort();
		for (int k = 0; k < TS_SRV_N; k++) {
			if (s.s[k].n > s.rows || (s.s[k].n && !s.s[k].source))
				abort();
			for (size_t i = 1; i < s.s[k].n; i++)
				if (!(s.s[k].t[i] > s.s[k].t[i - 1]))
					abort();
		}
		ts_server_free(&s);
	}
	free(in);
	return 0;
}
