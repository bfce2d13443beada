/* Fuzz the simulated server's HTTP request-head parser and its OpenAI body handling
 * (sim_http_parse, sim_api_parse for chat and completions, token counting/encoding). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_sim_body(const char *p, size_t n)
{
	struct sim_api_req r;
	char err[256];
	if (sim_api_parse(SIM_API_CHAT, p, n, &r, err, sizeof err) == 0) {
		if (r.prompt_tokens < 0 || r.n_stop > SIM_API_MAX_STOP || (r.has_max_tokens && r.max_tokens < 1))
			abort();
	} else if (!memchr(err, 0, sizeof err)) {
		abort();
	}
	if (sim_api_parse(SIM_API_COMPLETIONS, p, n, &r, err, sizeof err) == 0 && r.prompt_tokens < 0)
		abort();
	int32_t *ids;
	size_t nids;
	sim_tok_encode(p, n, &ids, &nids);
	if ((int64_t)nids != sim_tok_count(p, n))
		abort();
	struct buf b;
	buf_init(&b);
	sim_tok_decode(ids, nids, &b);
	buf_free(&b);
	free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* private copy so ASan catches any read past the end */
	char *d = malloc(size ? size : 1);
	memcpy(d, data, size);
	struct sim_http_req h;
	enum sim_http_rc rc = sim_http_parse(d, size, &h);
	if (rc == SIM_HTTP_OK) {
		if (h.head_len > size || h.method.n == 0 || h.path.n == 0 || h.path.p[0] != '/')
			abort();
		/* any prefix of a complete head is incomplete or an error, never OK with a longer head */
		struct sim_http_req h2;
		enum sim_http_rc rc2 = sim_http_parse(d, h.head_len - 1, &h2);
		if (rc2 == SIM_HTTP_OK && h2.head_len > h.head_len - 1)
			abort();
		size_t body = size - h.head_len;
		if (h.has_content_length && h.content_length < body)
			body = (size_t)h.content_length;
		fuzz_sim_body(d + h.head_len, body);
	} else if (size > 0 && d[0] == '{') {
		fuzz_sim_body(d, size);
	}
	free(d);
	return 0;
}
