/* The lm-eval bridge's document messages (docs/INTEGRATIONS.md, Protocol) and the bridge's
 * start-up checks: what is accepted, and that every malformed input is one clear error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "integrations/bridge.h"
#include "core/xalloc.h"
#include "integrations/lmeval.h"
#include "integrations/wandb.h"

static int feed(const char *text, char *err, size_t err_len)
{
	return integ_lmeval_feed(text, strlen(text), tok_approx(), err, err_len);
}

#define GEN                                                                                                            \
	"{\"kind\":\"generate_until\",\"api_mode\":\"chat\",\"prompt\":\"Q: "                                          \
	"a\",\"sampling_params\":{\"until\":[\"x\"]}}"
#define LL                                                                                                             \
	"{\"kind\":\"loglikelihood\",\"api_mode\":\"completions\",\"prompt\":\"Q: a yes\",\"context_bytes\":4,"        \
	"\"sampling_params\":{\"echo\":true},\"target_output_tokens\":1}"

static void test_feed_valid(void **state)
{
	(void)state;
	char err[256] = "";
	assert_int_equal(feed("{\"type\":\"doc\",\"doc\":0,\"requests\":[" GEN "]}\n"
	                      "{\"type\":\"doc\",\"doc\":1,\"requests\":[" LL "," LL "]}\n"
	                      "{\"type\":\"docs_end\",\"count\":2}\n",
	                      err, sizeof err),
	                 0);
	/* no document at all is a valid (empty) list */
	assert_int_equal(feed("{\"type\":\"docs_end\",\"count\":0}", err, sizeof err), 0);
}

static void test_feed_errors(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(
	    feed("{\"type\":\"doc\",\"requests\":[" GEN "]}\n{\"type\":\"docs_end\",\"count\":3}\n", err, sizeof err),
	    -1);
	assert_non_null(strstr(err, "docs_end announced another count than the 1 documents"));
	assert_int_equal(feed("{\"type\":\"doc\",\"requests\":[]}\n", err, sizeof err), -1);
	assert_non_null(strstr(err, "document 0 has no requests"));
	assert_int_equal(feed("{\"type\":\"doc\",\"requests\":[{\"kind\":\"generate_until\",\"api_mode\":\"chat\"}]}\n",
	                      err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "lacks kind, prompt, api_mode or sampling_params"));
	assert_int_equal(feed("{\"type\":\"results\"}\n", err, sizeof err), -1);
	assert_non_null(strstr(err, "unexpected message type results"));
	assert_int_equal(feed("not json\n", err, sizeof err), -1);
	assert_non_null(strstr(err, "not a JSON object"));
	assert_int_equal(feed("{\"type\":\"doc\",\"requests\":[" GEN "]}\n", err, sizeof err), -1);
	assert_non_null(strstr(err, "no docs_end"));
}

static void test_bridge_env_checks(void **state)
{
	(void)state;
	char err[512];
	assert_null(bridge_start("lmeval", NULL, "lmeval_bridge.py", NULL, err, sizeof err));
	assert_non_null(strstr(err, "lmeval: env_path is not set"));
	assert_null(bridge_start("wandb", "/nonexistent/env", "wandb_bridge.py", NULL, err, sizeof err));
	assert_string_equal(err, "wandb: the environment /nonexistent/env does not exist (env_path must be a Python "
	                         "environment directory)");
	char dir[] = "/tmp/vk-integ-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_null(bridge_start("lmeval", dir, "lmeval_bridge.py", NULL, err, sizeof err));
	assert_non_null(strstr(err, "has no executable bin/python"));
	rmdir(dir);
}

static void test_script_path(void **state)
{
	(void)state;
	char err[512];
	setenv("VEEKSHA_BRIDGE_DIR", "/nonexistent/bridges", 1);
	assert_null(bridge_script_path("lmeval_bridge.py", err, sizeof err));
	assert_non_null(
	    strstr(err, "VEEKSHA_BRIDGE_DIR is /nonexistent/bridges, but it has no readable lmeval_bridge.py"));
	unsetenv("VEEKSHA_BRIDGE_DIR");
	/* a build tree finds the source tree's scripts */
	char *p = bridge_script_path("wandb_bridge.py", err, sizeof err);
	assert_non_null(p);
	assert_non_null(strstr(p, "wandb_bridge.py"));
	free(p);
}

static void wb_free(struct cfg_wandb *w)
{
	for (size_t i = 0; i < w->n_tags; i++)
		free(w->tags[i]);
	free(w->tags);
	free(w->group);
	free(w->run_name);
	memset(w, 0, sizeof *w);
}

/* The W&B defaults of a sweep point and of a capacity-search probe (docs/INTEGRATIONS.md): group
 * and run name only where unset, the kind's tag once, nothing when W&B is off. */
static void test_wandb_point_defaults(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	memset(&cfg, 0, sizeof cfg);
	struct cfg_wandb *w = &cfg.wandb;
	integ_wandb_sweep_point(&cfg, "/o/sweep_01");
	assert_null(w->group);
	assert_int_equal(w->n_tags, 0);

	w->enabled = true;
	w->tags = xcalloc(1, sizeof *w->tags);
	w->tags[w->n_tags++] = xstrdup("ci");
	integ_wandb_sweep_point(&cfg, "/o/sweep_01/");
	integ_wandb_sweep_point(&cfg, "/o/sweep_01");
	assert_string_equal(w->group, "sweep-sweep_01");
	assert_int_equal(w->n_tags, 2);
	assert_string_equal(w->tags[1], "sweep");
	assert_null(w->run_name);
	wb_free(w);

	w->enabled = true;
	integ_wandb_capsearch_probe(&cfg, "/o/07:12:2026-01:00:00-abcd1234", 3, "arrival_rate", "2.5");
	assert_string_equal(w->group, "capsearch-07:12:2026-01:00:00-abcd1234");
	assert_string_equal(w->run_name, "03-arrival_rate=2.5");
	assert_int_equal(w->n_tags, 1);
	assert_string_equal(w->tags[0], "capsearch");
	wb_free(w);

	w->enabled = true;
	w->group = xstrdup("mine");
	w->run_name = xstrdup("named");
	integ_wandb_capsearch_probe(&cfg, "/o/d", 12, "target_concurrent_sessions", "4");
	assert_string_equal(w->group, "mine");
	assert_string_equal(w->run_name, "named");
	wb_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_feed_valid),           cmocka_unit_test(test_feed_errors),
	    cmocka_unit_test(test_bridge_env_checks),    cmocka_unit_test(test_script_path),
	    cmocka_unit_test(test_wandb_point_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
