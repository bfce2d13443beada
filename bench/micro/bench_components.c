/* Component micro-benchmarks (issue 10, scenario 7): SSE parse + chunk decode + stamping ns/chunk,
 * DDSketch insert ns/value, tokenizer encode MB/s, prompt building ms per 100k tokens, config load ms.
 * Prints one JSON object. Usage: bench_components [tokenizer.json] [config.yml] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/openai.h"
#include "client/sse.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/rng.h"
#include "core/sketch.h"
#include "tokenizer/tokenizer.h"

struct bench_sse_ctx {
	size_t events;
	size_t content_bytes;
	int64_t last_ns;
};

static int bench_on_event(void *ctx, const struct sse_event *ev)
{
	struct bench_sse_ctx *c = ctx;
	c->last_ns = clock_mono_ns(); /* the client stamps each content event */
	if (sse_is_done(ev->data, ev->data_len))
		return 0;
	struct oai_event oe;
	memset(&oe, 0, sizeof oe);
	if (oai_parse(ev->data, ev->data_len, &oe) == 0)
		c->content_bytes += oe.content_len;
	oai_event_clear(&oe);
	c->events++;
	return 0;
}

static double bench_sse_ns_per_chunk(void)
{
	const char *chunk = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
	                    "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok\"},"
	                    "\"finish_reason\":null}]}\n\n";
	size_t n = 200000, len = strlen(chunk);
	struct bench_sse_ctx c = {0};
	struct sse_parser p;
	sse_init(&p, bench_on_event, &c);
	int64_t t0 = clock_mono_ns();
	for (size_t i = 0; i < n; i++)
		sse_feed(&p, chunk, len);
	int64_t t1 = clock_mono_ns();
	sse_free(&p);
	return (double)(t1 - t0) / (double)n;
}

static double bench_sketch_ns(void)
{
	struct sketch s;
	sketch_init(&s, 0.001);
	struct rng r;
	rng_init(&r, 1);
	size_t n = 2000000;
	double *v = malloc(n * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = 0.001 + rng_uniform01(&r) * 2.0;
	int64_t t0 = clock_mono_ns();
	for (size_t i = 0; i < n; i++)
		sketch_add(&s, v[i]);
	int64_t t1 = clock_mono_ns();
	free(v);
	sketch_free(&s);
	return (double)(t1 - t0) / (double)n;
}

static double bench_tok_mb_s(const struct tok *t)
{
	struct buf text;
	buf_init(&text);
	struct rng r;
	rng_init(&r, 3);
	tok_prompt_build(t, &r, 200000, NULL, &text);
	struct tok_ids ids = {0};
	int64_t t0 = clock_mono_ns();
	int reps = 3;
	for (int i = 0; i < reps; i++) {
		ids.n = 0;
		tok_encode(t, text.data, text.len, &ids);
	}
	int64_t t1 = clock_mono_ns();
	double mb = (double)text.len * reps / 1e6;
	tok_ids_free(&ids);
	buf_free(&text);
	return mb / ((double)(t1 - t0) / 1e9);
}

static double bench_prompt_ms(const struct tok *t)
{
	struct buf out;
	buf_init(&out);
	struct rng r;
	rng_init(&r, 5);
	int64_t t0 = clock_mono_ns();
	tok_prompt_build(t, &r, 100000, NULL, &out);
	int64_t t1 = clock_mono_ns();
	buf_free(&out);
	return (double)(t1 - t0) / 1e6;
}

static double bench_config_ms(const char *path)
{
	int reps = 20;
	int64_t t0 = clock_mono_ns();
	for (int i = 0; i < reps; i++) {
		struct config_benchmark_set set;
		memset(&set, 0, sizeof set);
		char cerr[2048];
		if (config_load_benchmark_file(path, &set, cerr, sizeof cerr) != 0) {
			fprintf(stderr, "%s\n", cerr);
			return -1;
		}
		config_benchmark_set_free(&set);
	}
	int64_t t1 = clock_mono_ns();
	return (double)(t1 - t0) / 1e6 / reps;
}

int main(int argc, char **argv)
{
	const char *tok_path = argc > 1 && *argv[1] ? argv[1] : NULL;
	const char *cfg_path = argc > 2 ? argv[2] : NULL;
	struct tok *approx = tok_approx();
	struct tok *real = NULL;
	char err[256];
	if (tok_path)
		real = tok_load(tok_path, err, sizeof err);
	printf("{\"sse_parse_decode_stamp_ns_per_chunk\": %.1f, \"ddsketch_insert_ns_per_value\": %.1f, "
	       "\"tokenizer_approx_encode_mb_s\": %.1f, \"prompt_build_approx_ms_per_100k_tokens\": %.2f",
	       bench_sse_ns_per_chunk(), bench_sketch_ns(), bench_tok_mb_s(approx), bench_prompt_ms(approx));
	if (real)
		printf(", \"tokenizer\": \"%s\", \"tokenizer_encode_mb_s\": %.1f, \"prompt_build_ms_per_100k_tokens\": "
		       "%.2f",
		       tok_name(real), bench_tok_mb_s(real), bench_prompt_ms(real));
	if (cfg_path)
		printf(", \"config_load_ms\": %.3f", bench_config_ms(cfg_path));
	printf("}\n");
	tok_free(real);
	return 0;
}
