#ifndef VK_METRICS_EVAL_TIMESERIES_H
#define VK_METRICS_EVAL_TIMESERIES_H
/* The run over time (docs/OBSERVABILITY.md, Time series): the evaluator writes the client's series,
 * metrics/timeseries.csv and timeseries.png, at eval_finalize; after the server-metrics scrape has
 * written metrics/server_metrics.csv, the runner calls eval_timeseries_plot_with_server() to draw the
 * client's series and the server's running/waiting/KV usage on one time axis
 * (metrics/timeseries_server.png). The readers of both CSVs are here too (tests, fuzz_timeseries). */
#include <stdbool.h>
#include <stddef.h>

/* The columns of metrics/timeseries.csv, in order. */
#define TS_CSV_HEADER                                                                                                  \
	"t_start_s,t_end_s,dispatched,completed,errored,cancelled,in_flight,in_flight_mean,output_tokens,"             \
	"output_tokens_per_s,ttfc_p50_s,ttfc_p99_s,tbc_p50_s"
enum ts_col {
	TS_T_START = 0,
	TS_T_END,
	TS_DISPATCHED,
	TS_COMPLETED,
	TS_ERRORED,
	TS_CANCELLED,
	TS_IN_FLIGHT,
	TS_IN_FLIGHT_MEAN,
	TS_OUTPUT_TOKENS,
	TS_OUTPUT_TOKENS_PER_S,
	TS_TTFC_P50,
	TS_TTFC_P99,
	TS_TBC_P50,
	TS_N_COLS
};

/* timeseries.csv read back: col[c][i] of row i (NaN for an empty cell). */
struct ts_table {
	double *col[TS_N_COLS];
	size_t n;
};
/* Parse the text of a timeseries.csv (the header must be TS_CSV_HEADER). 0, or -1 with err naming
 * the line ("<name>:<line>: ..."). */
int ts_table_parse(const char *text, size_t len, const char *name, struct ts_table *out, char *err, size_t err_len);
void ts_table_free(struct ts_table *t);

/* The server's series the combined plot draws, read from server_metrics.csv by the names of
 * docs/OBSERVABILITY.md (Name mapping): per scrape, label sets summed (running, waiting, generation
 * tokens) or averaged (KV usage, a fraction). */
enum ts_srv_key { TS_SRV_RUNNING = 0, TS_SRV_WAITING, TS_SRV_KV_USAGE, TS_SRV_GEN_TOKENS, TS_SRV_N };
struct ts_srv_series {
	const char *source; /* the sample name read (static), NULL: not in the file */
	double *t, *v;      /* per scrape, ascending t */
	size_t n;
};
struct ts_server {
	struct ts_srv_series s[TS_SRV_N];
	size_t rows, rows_skipped; /* data rows; rows that did not parse (counted, left out) */
	size_t first_bad_line;     /* line number of the first skipped row, 0: none */
};
/* Parse the text of a server_metrics.csv (t_s,name,labels,value). A bad header is an error (-1, err
 * naming the line); a bad row is skipped and counted. */
int ts_server_parse(const char *text, size_t len, const char *name, struct ts_server *out, char *err, size_t err_len);
void ts_server_free(struct ts_server *s);

/* metrics/timeseries_server.png from <run_dir>/metrics/timeseries.csv and server_metrics.csv. Nothing
 * when either file is missing (time series off, no scrape). Never fails a run: a file that cannot
 * be read or a failed plot is a warning. Returns 1 when a plot was drawn (or queued without
 * gnuplot: its .dat/.gp are written), 0 when there was nothing to draw, -1 after a warning. */
int eval_timeseries_plot_with_server(const char *run_dir);

#endif
