/* libFuzzer target for the streaming trace readers (src/workload/trace_reader.c).
 * The first input byte picks the format (CSV, JSONL, JSON array, auto-detected JSON); the rest is
 * the file. Properties: no crash/leak/UB; every row is a JSON object; an error is sticky and names
 * the input; reading again after a rewind yields the same rows (same count, same printed text). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workload/trace_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_trace_hash(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

/* Read every row; returns the status that ended the loop and a digest of the rows. */
static int fuzz_trace_read_all(struct wl_trace_reader *r, size_t *n_rows, uint64_t *digest)
{
	cJSON *row;
	int rc;
	*n_rows = 0;
	*digest = 1469598103934665603ULL;
	while ((rc = wl_trace_reader_next(r, &row)) == 0) {
		if (!row || !cJSON_IsObject(row))
			abort();
		if (wl_trace_reader_row_line(r) == 0)
			abort();
		char *text = cJSON_PrintUnformatted(row);
		if (text) {
			*digest = fuzz_trace_hash(*digest, text);
			free(text);
		}
		cJSON_Delete(row);
		(*n_rows)++;
	}
	if (row)
		abort();
	if (rc < 0) {
		const char *e = wl_trace_reader_error(r);
		if (!e[0] || strncmp(e, "fuzz.in", 7) != 0)
			abort();
		if (wl_trace_reader_next(r, &row) != -1 || row)
			abort(); /* errors are sticky */
	} else if (wl_trace_reader_next(r, &row) != 1 || row) {
		abort(); /* end of input is sticky */
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const enum wl_trace_fmt fmts[] = {WL_TRACE_FMT_CSV, WL_TRACE_FMT_JSONL, WL_TRACE_FMT_JSON_ARRAY,
						 WL_TRACE_FMT_AUTO};
	enum wl_trace_fmt fmt = fmts[data[0] % 4];
	struct wl_trace_reader *r = wl_trace_reader_open_mem(data + 1, size - 1, "fuzz.in", fmt);
	if (fmt == WL_TRACE_FMT_CSV && wl_trace_reader_read_header(r) == 0)
		(void)wl_trace_reader_has_column(r, "input_length");
	size_t n1, n2;
	uint64_t d1, d2;
	int rc1 = fuzz_trace_read_all(r, &n1, &d1);
	if (wl_trace_reader_rewind(r) != 0)
		abort();
	int rc2 = fuzz_trace_read_all(r, &n2, &d2);
	if (rc1 != rc2 || n1 != n2 || d1 != d2)
		abort();
	wl_trace_reader_close(r);
	return 0;
}
