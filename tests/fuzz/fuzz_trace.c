/* libFuzzer target for the streaming trace readers (src/workload/trace_reader.c) and, for JSON
 * inputs, the trace session generator's flavors (src/workload/trace_gen.c).
 * The first input byte picks the format (bits 0-1: CSV, JSONL, JSON array, auto-detected JSON), the
 * flavor (bits 2-4) and timestamp replay (bit 5); the rest is the file.
 * Reader properties: no crash/leak/UB; every row is a JSON object; an error is sticky and names
 * the input; reading again after a rewind yields the same rows (same count, same printed text).
 * Generator properties: sessions are linear with consecutive request ids, every request has a
 * prompt, history only where pre-populated; an error is sticky. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config_types.h"
#include "core/log.h"
#include "tokenizer/tokenizer.h"
#include "workload/request.h"
#include "workload/trace_gen.h"
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

/* Generator inputs with large numbers would spend the fuzzing time building huge prompts. */
static int fuzz_trace_small_numbers(const uint8_t *p, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= '0' && p[i] <= '9') {
			if (++run > 4)
				return 0;
		} else {
			if (run && (p[i] == 'e' || p[i] == 'E'))
				return 0;
			run = 0;
		}
	}
	return 1;
}

static void fuzz_trace_generator(const uint8_t *data, size_t size, unsigned sel)
{
	static const enum cfg_flavor_type flavors[] = {CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN,
	                                               CFG_FLAVOR_SHARED_PREFIX,
	                                               CFG_FLAVOR_RAG,
	                                               CFG_FLAVOR_REQUEST_LOG,
	                                               CFG_FLAVOR_UNTIMED_CONTENT_MULTI_TURN,
	                                               CFG_FLAVOR_SHAREGPT,
	                                               CFG_FLAVOR_MOONCAKE,
	                                               CFG_FLAVOR_MOONCAKE};
	int fd = memfd_create("fuzz_trace", 0);
	if (fd < 0)
		return;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct cfg_benchmark cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.seed = 1;
	struct cfg_session_gen *sg = &cfg.session_generator;
	sg->type = CFG_SESSION_GEN_TRACE;
	sg->trace_file = path;
	sg->wrap_mode = true;
	struct cfg_trace_flavor *f = &sg->flavor;
	f->type = flavors[(sel >> 2) & 7];
	f->corpus_file = (char *)"";
	f->page_size = 2;
	f->block_size = 4;
	f->num_documents = 3;
	f->conversation_column = (char *)"conversations";
	f->role_key = (char *)"from";
	f->content_key = (char *)"value";
	f->user_role_value = (char *)"human";
	f->assistant_role_value = (char *)"gpt";
	f->replay_timestamps = (sel >> 5) & 1;
	f->time_scale = 0.5;
	char err[512];
	struct wl_trace_gen *g = wl_trace_gen_create(&cfg, tok_approx(), err, sizeof err);
	if (!g) {
		if (!err[0])
			abort();
		close(fd);
		return;
	}
	uint64_t next_req = 0, next_sess = 0;
	for (int i = 0; i < 40; i++) {
		struct wl_session *s = NULL;
		int rc = wl_trace_gen_next(g, &s);
		if (rc != 0) {
			if (s || rc == 1) /* wrap_mode: never exhausted */
				abort();
			if (!wl_trace_gen_error(g)[0] || wl_trace_gen_next(g, &s) >= 0)
				abort();
			break;
		}
		if (!s || s->id != next_sess++ || s->n_nodes == 0 || s->n_edges != s->n_nodes - 1)
			abort();
		for (size_t k = 0; k < s->n_nodes; k++) {
			const struct wl_request *q = &s->requests[k];
			if (q->id != next_req++ || q->node_id != k || q->session_id != s->id || !q->prompt_text)
				abort();
			if (q->n_history && (!q->history || !q->history_prepopulated))
				abort();
			if (q->target_prompt_tokens < 0 || q->target_output_tokens < 0)
				abort();
		}
		wl_session_free(s);
	}
	wl_trace_gen_free(g);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	log_set_level(LOG_QUIET);
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
	if (fmt != WL_TRACE_FMT_CSV && fuzz_trace_small_numbers(data + 1, size - 1))
		fuzz_trace_generator(data + 1, size - 1, data[0]);
	return 0;
}
