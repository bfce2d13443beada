/* libFuzzer target for src/tokenizer: encode/decode/count over arbitrary bytes with the
 * approximation and the tiny tokenizer.json fixtures (tests/data/tokenizer/).
 * Properties: never crash; count == number of ids; for valid UTF-8 input the byte-level fixture
 * round-trips exactly (decode(encode(x)) == x); decoding arbitrary ids never reads out of bounds and
 * rejects out-of-range ids; prompts built for small targets have exactly that many tokens; NFC is
 * idempotent on valid UTF-8. Inputs starting with '{' are also loaded as a tokenizer.json (loader
 * robustness: any outcome but a crash is fine; a loaded tokenizer must encode and decode). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/rng.h"
#include "tokenizer/tok_nfc.h"
#include "tokenizer/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tok *fz_bytelevel, *fz_sp;

static struct tok *fz_load(const char *name)
{
	char path[4096];
	const char *src = getenv("VK_SOURCE_DIR");
	char err[512];
	if (src)
		snprintf(path, sizeof path, "%s/tests/data/tokenizer/%s", src, name);
	else {
		/* this file lives in <src>/tests/fuzz/ */
		snprintf(path, sizeof path, "%s", __FILE__);
		char *slash = strrchr(path, '/');
		if (slash)
			snprintf(slash, sizeof path - (size_t)(slash - path), "/../data/tokenizer/%s", name);
	}
	struct tok *t = tok_load(path, err, sizeof err);
	if (!t) {
		fprintf(stderr, "fuzz_tokenizer: %s\n", err);
		abort();
	}
	return t;
}

static bool fz_valid_utf8(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t l;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			l = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			l = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			l = 4;
		else
			return false;
		if (i + l > n)
			return false;
		for (size_t k = 1; k < l; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
		if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] > 0x9F) ||
		    (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] > 0x8F))
			return false;
		i += l;
	}
	return true;
}

/* may_fail: a fuzzed tokenizer.json may have no way to encode a character (no unk token and no
 * byte fallback); encode then fails cleanly, as tokenizers does. */
static void fz_check(const struct tok *t, const uint8_t *data, size_t size, bool roundtrip, bool may_fail)
{
	struct tok_ids ids = {0};
	if (tok_encode(t, (const char *)data, size, &ids) != 0) {
		tok_ids_free(&ids);
		if (may_fail)
			return;
		abort();
	}
	if (tok_count(t, (const char *)data, size) != ids.n)
		abort();
	for (size_t i = 0; i < ids.n; i++)
		if (ids.v[i] < 0 || (size_t)ids.v[i] >= tok_vocab_size(t))
			abort();
	struct buf b;
	buf_init(&b);
	if (tok_decode(t, ids.v, ids.n, &b) != 0)
		abort();
	if (roundtrip && (b.len != size || (size && memcmp(b.data, data, size) != 0)))
		abort();
	buf_free(&b);
	tok_ids_free(&ids);
}

static void fz_load_json(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-tokenizer-json", 0);
	if (fd < 0)
		return;
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	char path[64], err[256];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct tok *t = tok_load(path, err, sizeof err);
	close(fd);
	if (!t)
		return;
	fz_check(t, (const uint8_t *)"Hello world, 123 <s>", 20, false, true);
	fz_check(t, data, size, false, true);
	tok_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fz_bytelevel) {
		fz_bytelevel = fz_load("tiny_bytelevel.json");
		fz_sp = fz_load("tiny_sentencepiece.json");
	}
	if (size > 0 && data[0] == '{')
		fz_load_json(data, size);
	bool valid = fz_valid_utf8(data, size);
	fz_check(tok_approx(), data, size, false, false);
	fz_check(fz_bytelevel, data, size, valid, false);
	fz_check(fz_sp, data, size, false, false);

	if (valid) {
		struct buf n1, n2;
		buf_init(&n1);
		buf_init(&n2);
		tok_nfc((const char *)data, size, &n1);
		tok_nfc(n1.data ? n1.data : "", n1.len, &n2);
		if (n1.len != n2.len || (n1.len && memcmp(n1.data, n2.data, n1.len) != 0))
			abort();
		buf_free(&n1);
		buf_free(&n2);
	}

	/* arbitrary ids: in-range ones decode, out-of-range ones are rejected */
	size_t n = size / 4;
	int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
	bool in_range = true;
	for (size_t i = 0; i < n; i++) {
		uint32_t v;
		memcpy(&v, data + 4 * i, 4);
		ids[i] = (int32_t)(v % 700u) - 8; /* some negative, some past the fixture vocab */
		if (ids[i] < 0 || (size_t)ids[i] >= tok_vocab_size(fz_sp))
			in_range = false;
	}
	struct buf b;
	buf_init(&b);
	if ((tok_decode(fz_sp, ids, n, &b) == 0) != in_range)
		abort();
	free(ids);
	buf_free(&b);

	/* small exact prompts */
	if (size >= 2) {
		struct rng r;
		rng_init(&r, (uint64_t)data[0] * 257u + data[1]);
		int64_t target = 1 + data[0] % 64;
		struct buf p;
		buf_init(&p);
		if (tok_prompt_build(fz_bytelevel, &r, target, NULL, &p) != 0 ||
		    tok_count(fz_bytelevel, p.data, p.len) != (size_t)target)
			abort();
		buf_free(&p);
	}
	return 0;
}
