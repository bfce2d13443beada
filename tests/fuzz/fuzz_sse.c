/* libFuzzer target for the incremental SSE parser (src/client/sse.c) and the OpenAI event decoder
 * (src/client/openai.c, run on every event of the whole-input pass).
 * Differential property: feeding the input in one piece, byte by byte, and split at positions
 * derived from the input must dispatch exactly the same events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/openai.h"
#include "client/sse.h"

struct digest {
	int decode; /* also run the OpenAI decoder on each event */
	uint64_t h;
	size_t n;
	size_t bytes;
	struct oai_memo memo; /* the events as one stream's chunks (oai_parse_stream) */
};

/* two decodings of one event that must agree */
static void fuzz_sse_same_event(const struct oai_event *oe, const struct oai_event *ce)
{
	if (!oe->content != !ce->content || oe->content_len != ce->content_len ||
	    (oe->content && memcmp(oe->content, ce->content, oe->content_len) != 0))
		abort();
	if (!oe->reasoning != !ce->reasoning || oe->reasoning_len != ce->reasoning_len ||
	    (oe->reasoning && memcmp(oe->reasoning, ce->reasoning, oe->reasoning_len) != 0))
		abort();
	if (!oe->tool_text != !ce->tool_text || oe->tool_text_len != ce->tool_text_len ||
	    (oe->tool_text && memcmp(oe->tool_text, ce->tool_text, oe->tool_text_len) != 0))
		abort();
	if (oe->choice_index != ce->choice_index || oe->more_choices != ce->more_choices ||
	    oe->has_choices != ce->has_choices)
		abort();
	if (!oe->finish_reason != !ce->finish_reason ||
	    (oe->finish_reason && strcmp(oe->finish_reason, ce->finish_reason) != 0))
		abort();
	if (oe->has_usage != ce->has_usage || oe->prompt_tokens != ce->prompt_tokens ||
	    oe->completion_tokens != ce->completion_tokens || oe->reasoning_tokens != ce->reasoning_tokens ||
	    oe->is_error != ce->is_error || oe->error_code != ce->error_code ||
	    strcmp(oe->error_msg, ce->error_msg) != 0)
		abort();
}

static int fuzz_sse_on_event(void *ctx, const struct sse_event *ev)
{
	struct digest *d = ctx;
	/* FNV-1a over type, data and separators */
	for (const char *t = ev->type; *t; t++)
		d->h = (d->h ^ (uint8_t)*t) * 1099511628211ULL;
	d->h = (d->h ^ 0x100) * 1099511628211ULL;
	for (size_t i = 0; i < ev->data_len; i++)
		d->h = (d->h ^ (uint8_t)ev->data[i]) * 1099511628211ULL;
	if (ev->data[ev->data_len] != '\0')
		abort();
	d->h = (d->h ^ 0x200) * 1099511628211ULL;
	d->n++;
	d->bytes += ev->data_len;
	(void)sse_is_done(ev->data, ev->data_len);
	if (d->decode) {
		struct oai_event oe, ce, se;
		int rf = oai_parse(ev->data, ev->data_len, &oe);
		int rc = oai_parse_cjson(ev->data, ev->data_len, &ce);
		/* and read as the next chunk of a stream, from where the bytes it shares with an earlier
		 * event end */
		int rs = oai_parse_stream(ev->data, ev->data_len, &se, &d->memo);
		/* the allocation-free chunk scanner must agree with the cJSON path */
		if (rf != rc || rs != rc)
			abort();
		if (rf == OAI_PARSE_OK) {
			if (oe.content && strlen(oe.content) != oe.content_len)
				abort();
			if (oe.is_error && oe.error_msg[0] == '\0')
				abort();
			fuzz_sse_same_event(&oe, &ce);
			fuzz_sse_same_event(&se, &ce);
			oai_event_clear(&oe);
			oai_event_clear(&ce);
			oai_event_clear(&se);
		}
		char msg[64];
		oai_error_message(ev->data, ev->data_len, msg, sizeof msg);
	}
	return 0;
}

static struct digest fuzz_sse_run(const uint8_t *data, size_t size, size_t step_seed)
{
	struct digest d = {.decode = step_seed == 0, .h = 1469598103934665603ULL};
	oai_memo_reset(&d.memo);
	struct sse_parser p;
	sse_init(&p, fuzz_sse_on_event, &d);
	size_t i = 0;
	uint64_t s = step_seed;
	while (i < size) {
		size_t step;
		if (step_seed == 0) {
			step = size;
		} else if (step_seed == 1) {
			step = 1;
		} else {
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			step = 1 + (size_t)((s >> 33) % 17);
		}
		if (step > size - i)
			step = size - i;
		if (sse_feed(&p, (const char *)data + i, step) != 0)
			abort(); /* the callback never stops and inputs are far below the size limit */
		i += step;
	}
	if (sse_finish(&p) != 0)
		abort();
	if (p.n_events != d.n)
		abort();
	sse_free(&p);
	return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	struct digest whole = fuzz_sse_run(data, size, 0);
	struct digest bytewise = fuzz_sse_run(data, size, 1);
	uint64_t seed = 2 + (size ? data[0] : 0);
	struct digest split = fuzz_sse_run(data, size, seed);
	if (whole.h != bytewise.h || whole.n != bytewise.n || whole.h != split.h || whole.n != split.n)
		abort();
	return 0;
}
