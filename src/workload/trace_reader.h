#ifndef VK_WORKLOAD_TRACE_READER_H
#define VK_WORKLOAD_TRACE_READER_H
/* Streaming row readers for trace files (docs/TRACES.md).
 *
 * A reader yields one row at a time as a cJSON object (column/key -> value); memory use is
 * bounded by the largest row (WL_TRACE_MAX_ROW_BYTES), never by the file size.
 *
 * Formats:
 *  - JSONL: one JSON object per line; blank lines are ignored.
 *  - JSON array: a top-level array of objects (e.g. ShareGPT), split element by element without
 *    loading the whole array.
 *  - CSV (RFC 4180): header row, comma separator, "quoted" fields with "" escapes and embedded
 *    newlines, CRLF or LF. The reference's renames num_prefill_tokens -> input_length and
 *    num_decode_tokens -> output_length are applied to the header. Field values are typed:
 *    empty -> key absent; a number -> number; true/false -> bool; a field starting with '[' or
 *    '{' that parses as JSON -> that JSON value (JSON-in-CSV); anything else -> string.
 *
 * Errors name the file, the line (and column where it is known); see wl_trace_reader_error(). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define WL_TRACE_MAX_ROW_BYTES ((size_t)64 << 20)

enum wl_trace_fmt { WL_TRACE_FMT_AUTO = 0, WL_TRACE_FMT_JSONL, WL_TRACE_FMT_JSON_ARRAY, WL_TRACE_FMT_CSV };

struct wl_trace_reader;

/* Open a file. WL_TRACE_FMT_AUTO: ".csv" (any case) -> CSV; otherwise JSON: a file whose first
 * non-blank character is '[' is a JSON array, else JSONL. NULL + message on failure. */
struct wl_trace_reader *wl_trace_reader_open(const char *path, enum wl_trace_fmt fmt, char *err, size_t err_len);
/* Read from memory (not copied; must outlive the reader). `name` is used in messages.
 * WL_TRACE_FMT_AUTO sniffs JSON array vs JSONL only (CSV must be asked for). */
struct wl_trace_reader *wl_trace_reader_open_mem(const void *data, size_t len, const char *name, enum wl_trace_fmt fmt);
/* 0: *row holds the next row (caller owns it: cJSON_Delete); 1: end of input; -1: error. */
int wl_trace_reader_next(struct wl_trace_reader *r, cJSON **row);
/* Start again from the beginning of the input. 0 or -1 (error message set). */
int wl_trace_reader_rewind(struct wl_trace_reader *r);
const char *wl_trace_reader_error(const struct wl_trace_reader *r);
const char *wl_trace_reader_name(const struct wl_trace_reader *r);
enum wl_trace_fmt wl_trace_reader_format(const struct wl_trace_reader *r);
/* Line (1-based) where the last returned row starts. */
uint64_t wl_trace_reader_row_line(const struct wl_trace_reader *r);
/* CSV: true when the header has column `name` (after renames). JSON formats: always true
 * (keys are checked per row). */
bool wl_trace_reader_has_column(const struct wl_trace_reader *r, const char *name);
/* CSV: 1-based column number of `name`, 0 if absent or not CSV. */
size_t wl_trace_reader_column_index(const struct wl_trace_reader *r, const char *name);
/* A CSV field (or a JSON string) as a decimal number: digits with an optional sign, fraction and
 * exponent; hex, inf, nan and blanks are not numbers. */
bool wl_trace_parse_decimal(const char *s, double *out);
/* CSV: make sure the header has been read (so has_column answers); 0 or -1. No-op otherwise. */
int wl_trace_reader_read_header(struct wl_trace_reader *r);
void wl_trace_reader_close(struct wl_trace_reader *r);

#endif
