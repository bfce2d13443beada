/* A full disk while the evaluator writes (docs/FAILURES.md, "A full disk"): each output reports its
 * failure once, with the reason; request_level_metrics.jsonl and the dispatch trace end with a complete
 * line (never a torn one); summary_stats.json and the other JSON files are whole or absent.
 *
 * The disk is "full" for a forked child whose file-size limit (RLIMIT_FSIZE) is lowered, with SIGXFSZ
 * ignored so that a write past the limit fails with EFBIG the way a full disk fails with ENOSPC. The
 * child's stderr (the log) goes to a pipe, which the limit does not apply to. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "metrics/evaluator.h"

#define MS 1000000LL
#define START (10000 * MS)
#define FSIZE_LIMIT_BYTES 2048 /* a few rows; less than summary_stats.json */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *s = malloc(cap);
	size_t got;
	while ((got = fread(s + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n < 2)
			s = realloc(s, cap *= 2);
	}
	fclose(f);
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

static size_t count_substr(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Every line ends in '\n' and is a JSON object; returns the number of lines. */
static size_t expect_whole_jsonl(const char *path)
{
	size_t len = 0;
	char *s = slurp(path, &len);
	assert_non_null(s);
	if (len)
		assert_int_equal(s[len - 1], '\n');
	size_t lines = 0;
	char *save = NULL;
	for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(line);
		if (!cJSON_IsObject(j))
			fail_msg("%s: line %zu does not parse: %.80s", path, lines + 1, line);
		cJSON_Delete(j);
		lines++;
	}
	free(s);
	return lines;
}

static void add_ok(struct evaluator *e, uint64_t id, int64_t t_ms)
{
	struct wl_request q = {0};
	q.id = id;
	q.session_id = id;
	q.prompt_text = "hello world";
	q.target_prompt_tokens = 10;
	q.target_output_tokens = 4;
	q.history_parent = -1;
	eval_register_request(e, &q, 1, START + t_ms * MS, START + t_ms * MS);
	struct rec_record r;
	rec_init(&r);
	r.request_id = id;
	r.session_id = id;
	r.session_total_requests = 1;
	r.intended_ns = r.dispatched_ns = START + t_ms * MS;
	r.sent_ns = START + (t_ms + 1) * MS;
	for (int i = 0; i < 4; i++)
		rec_add_chunk(&r, START + (t_ms + 10 + i) * MS, 1);
	r.completed_ns = START + (t_ms + 14) * MS;
	r.processed_ns = r.completed_ns;
	r.num_delta_prompt_tokens = r.num_total_prompt_tokens = r.target_prompt_tokens = 10;
	r.num_output_tokens = r.requested_output_tokens = 4;
	r.is_stream = true;
	r.success = true;
	eval_record_completed(e, &r, true);
	rec_free(&r);
}

/* The child: a run of n_rows requests under the file-size limit. Exit status: 0 when eval_finalize
 * reported the I/O failure (-1), 1 otherwise. */
static void child_run(const char *dir, size_t n_rows, int log_fd)
{
	dup2(log_fd, STDERR_FILENO);
	setenv("VK_NO_PLOTS", "1", 1); /* no gnuplot child */
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = {FSIZE_LIMIT_BYTES, FSIZE_LIMIT_BYTES};
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(2);
	struct cfg_slo slo = {.percentile = 0.99, .name = "P99 TTFC", .metric = CFG_SLO_TTFC, .value = 0.5};
	struct cfg_evaluator ev = {0};
	ev.type = CFG_EVAL_PERFORMANCE;
	ev.slos = &slo;
	ev.n_slos = 1;
	ev.stream_metrics = true; /* the periodic rewrites fail too: reported once */
	ev.stream_metrics_interval = 0.001;
	struct cfg_benchmark cfg = {0};
	cfg.evaluators = &ev;
	cfg.n_evaluators = 1;
	cfg.trace_recorder.enabled = true;
	cfg.trace_recorder.include_content = true;
	struct evaluator *e = eval_create(&cfg, dir, START, "words");
	if (!e)
		_exit(3);
	for (size_t i = 0; i < n_rows; i++) {
		add_ok(e, i, (int64_t)i * 20);
		/* the runner's flush: the first rows reach the file before it is "full" */
		eval_tick(e, START + ((int64_t)i * 20 + 15) * MS);
	}
	int rc = eval_finalize(e, START + ((int64_t)n_rows * 20 + 100) * MS);
	eval_free(e);
	_exit(rc == -1 ? 0 : 1);
}

static void test_disk_full(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/vk_metrics_diskfull_XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		child_run(dir, 400, pfd[1]);
	}
	close(pfd[1]);
	/* read the log while the child runs (it could fill the pipe) */
	size_t cap = 1 << 16, n = 0;
	char *log = malloc(cap);
	ssize_t got;
	while ((got = read(pfd[0], log + n, cap - n - 1)) > 0 || (got < 0 && errno == EINTR)) {
		if (got > 0)
			n += (size_t)got;
		if (cap - n < 2)
			log = realloc(log, cap *= 2);
	}
	log[n] = '\0';
	close(pfd[0]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (getenv("VK_TEST_SHOW_LOG"))
		fprintf(stderr, "child log:\n%s\n", log);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "child log:\n%s\n", log);
		fail_msg("child status %d (want: finalize reported the failure)", status);
	}

	/* one warning per JSONL output, with the reason */
	if (count_substr(log, "writing metrics/request_level_metrics.jsonl failed: File too large") != 1 ||
	    count_substr(log, "request_level_metrics.jsonl") != 1 ||
	    count_substr(log, "writing traces/dispatch_trace.jsonl failed: File too large") != 1 ||
	    count_substr(log, "dispatch_trace.jsonl") != 1) {
		fprintf(stderr, "child log:\n%s\n", log);
		fail_msg("want exactly one warning per JSONL output");
	}
	/* the periodic summary rewrites: one warning, then the final write's own error */
	assert_true(count_substr(log, "summary_stats.json") <= 2);
	/* the chrome trace names its reason */
	assert_non_null(strstr(log, "chrome_trace.json: File too large"));

	char p[512];
	/* the JSONL files parse line by line and keep the rows written before the failure */
	snprintf(p, sizeof p, "%s/metrics/request_level_metrics.jsonl", dir);
	size_t rows = expect_whole_jsonl(p);
	assert_true(rows >= 1 && rows < 400);
	snprintf(p, sizeof p, "%s/traces/dispatch_trace.jsonl", dir);
	size_t regs = expect_whole_jsonl(p);
	assert_true(regs >= 1 && regs < 400);
	/* summary_stats.json: larger than the limit, so absent (never half-written); every JSON file
	 * that exists parses; no temporary file is left behind */
	snprintf(p, sizeof p, "%s/metrics/summary_stats.json", dir);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof p, "%s/metrics", dir);
	DIR *d = opendir(p);
	assert_non_null(d);
	struct dirent *de;
	size_t n_json = 0;
	while ((de = readdir(d))) {
		if (strstr(de->d_name, ".tmp"))
			fail_msg("temporary file left: %s", de->d_name);
		size_t l = strlen(de->d_name);
		if (l > 5 && strcmp(de->d_name + l - 5, ".json") == 0) {
			char fp[1024];
			snprintf(fp, sizeof fp, "%s/%s", p, de->d_name);
			char *s = slurp(fp, NULL);
			cJSON *j = cJSON_Parse(s);
			if (!j)
				fail_msg("%s does not parse", de->d_name);
			cJSON_Delete(j);
			free(s);
			n_json++;
		}
	}
	closedir(d);
	assert_true(n_json >= 1); /* the small ones (slo_results.json, ...) fit */
	free(log);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_disk_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
