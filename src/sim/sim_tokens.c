/* Token accounting for the simulated server, on top of src/tokenizer.
 *
 * Prompt tokens are counted with the served model's tokenizer (tok_count over the message contents,
 * no chat template), exactly as the client counts them. Output text is a sequence of common English
 * words with a leading space; at start-up every candidate word is checked to be exactly one token
 * under the tokenizer in use, so the streamed text re-tokenises to exactly the number of tokens
 * reported in `usage` (byte-level and SentencePiece BPE split at those spaces). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "sim/sim.h"
#include "tokenizer/tokenizer.h"

static const char *const sim_tok_words[] = {
    " the",  " of",    " and",   " to",    " in",    " is",    " that", " for",   " it",    " as",   " with",
    " on",   " be",    " at",    " by",    " this",  " we",    " are",  " or",    " from",  " an",   " was",
    " not",  " but",   " all",   " can",   " one",   " more",  " has",  " will",  " they",  " time", " new",
    " some", " would", " there", " which", " their", " about", " when", " model", " data",  " each", " other",
    " into", " most",  " also",  " only",  " first", " these", " over", " many",  " then",  " them", " two",
    " may",  " such",  " like",  " make",  " work",  " what",  " long", " very",  " after",
};
#define SIM_TOK_NWORDS (sizeof sim_tok_words / sizeof sim_tok_words[0])

static struct tok *sim_tok_t;
static const char *sim_tok_pieces[SIM_TOK_NWORDS];
static size_t sim_tok_piece_len[SIM_TOK_NWORDS];
static size_t sim_tok_npieces;
static pthread_once_t sim_tok_once = PTHREAD_ONCE_INIT;
/* SentencePiece-style tokenizers prepend "▁" to the text: the first piece then goes without its
 * leading space ("the of and" is 3 tokens where " the of and" would be 4). */
static bool sim_tok_strip_first;

/* one token alone, and two in a row stay two (no merge across the space) */
static bool sim_tok_piece_ok(struct tok *t, const char *w, bool strip_first)
{
	char pair[96];
	if (strlen(w) > 40)
		return false;
	const char *first = strip_first ? w + 1 : w;
	snprintf(pair, sizeof pair, "%s%s", first, w);
	return tok_count(t, first, strlen(first)) == 1 && tok_count(t, pair, strlen(pair)) == 2;
}

static int sim_tok_setup(struct tok *t)
{
	size_t n = 0;
	bool strip = tok_count(t, " the", 4) != 1 && tok_count(t, "the", 3) == 1;
	for (size_t i = 0; i < SIM_TOK_NWORDS; i++) {
		const char *w = sim_tok_words[i];
		if (!sim_tok_piece_ok(t, w, strip))
			continue;
		sim_tok_pieces[n] = w;
		sim_tok_piece_len[n] = strlen(w);
		n++;
	}
	if (n < 8) {
		/* small or unusual vocabulary: take " <letters>" pieces straight from it */
		size_t vocab = tok_vocab_size(t);
		for (size_t id = 0; id < vocab && id < 50000 && n < SIM_TOK_NWORDS; id++) {
			struct buf b;
			buf_init(&b);
			int32_t one = (int32_t)id;
			if (tok_decode(t, &one, 1, &b) == 0 && b.len > 0 && b.len < 30) {
				const char *p = b.data[0] == ' ' ? b.data + 1 : b.data;
				bool letters = *p != 0;
				for (const char *q = p; *q; q++)
					if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
						letters = false;
				char cand[40];
				snprintf(cand, sizeof cand, " %s", p);
				bool dup = false;
				for (size_t k = 0; k < n && !dup; k++)
					dup = !strcmp(sim_tok_pieces[k], cand);
				if (letters && !dup && sim_tok_piece_ok(t, cand, strip)) {
					sim_tok_pieces[n] = xstrdup(cand); /* lives for the process */
					sim_tok_piece_len[n] = strlen(cand);
					n++;
				}
			}
			buf_free(&b);
		}
	}
	if (n < 2)
		return -1;
	sim_tok_strip_first = strip;
	sim_tok_t = t;
	sim_tok_npieces = n;
	return 0;
}

static void sim_tok_default(void)
{
	if (!sim_tok_t && sim_tok_setup(tok_approx()) != 0)
		abort(); /* the approximation counts words: cannot fail */
}

static struct tok *sim_tok_get(void)
{
	pthread_once(&sim_tok_once, sim_tok_default);
	return sim_tok_t;
}

int sim_tok_init(const char *path, const char *model)
{
	struct tok *t;
	if (path && *path) {
		char err[512] = "";
		t = tok_load(path, err, sizeof err);
		if (!t) {
			fprintf(stderr, "sim-server: cannot load --tokenizer %s: %s\n", path, err);
			return -1;
		}
	} else {
		t = tok_resolve(NULL, model);
	}
	if (sim_tok_setup(t) != 0) {
		fprintf(stderr, "sim-server: tokenizer %s has too few single-token words for output text\n",
		        tok_name(t));
		return -1;
	}
	pthread_once(&sim_tok_once, sim_tok_default); /* keeps the default from overriding */
	return 0;
}

int64_t sim_tok_count(const char *text, size_t len)
{
	return (int64_t)tok_count(sim_tok_get(), text, len);
}

int sim_tok_encode(const char *text, size_t len, int32_t **ids, size_t *n)
{
	struct tok_ids v = {0};
	int rc = tok_encode(sim_tok_get(), text, len, &v);
	if (rc != 0) {
		tok_ids_free(&v);
		*ids = xcalloc(1, sizeof **ids);
		*n = 0;
		return -1;
	}
	*ids = v.v ? v.v : xcalloc(1, sizeof **ids);
	*n = v.n;
	return 0;
}

void sim_tok_decode(const int32_t *ids, size_t n, struct buf *out)
{
	tok_decode(sim_tok_get(), ids, n, out);
}

const char *sim_tok_output_piece(uint64_t seed, int64_t i, size_t *len)
{
	sim_tok_get();
	uint64_t x = seed + (uint64_t)i * 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	x ^= x >> 31;
	size_t k = (size_t)(x % sim_tok_npieces);
	if (i == 0 && sim_tok_strip_first) {
		*len = sim_tok_piece_len[k] - 1;
		return sim_tok_pieces[k] + 1;
	}
	*len = sim_tok_piece_len[k];
	return sim_tok_pieces[k];
}

const char *sim_tok_name(void)
{
	return tok_name(sim_tok_get());
}

bool sim_tok_is_approx(void)
{
	return tok_is_approx(sim_tok_get());
}

int64_t sim_tok_vocab_size(void)
{
	return (int64_t)tok_vocab_size(sim_tok_get());
}
