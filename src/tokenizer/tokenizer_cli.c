/* veeksha tokenize: encode / count / decode lines from stdin with a tokenizer. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/rng.h"
#include "core/xalloc.h"
#include "tokenizer/tokenizer.h"

static void cli_usage(FILE *f)
{
	fprintf(f, "usage: veeksha tokenize [--tokenizer PATH | --model ORG/NAME] [--count | --decode | --prompt N]\n"
	           "                        [--jsonl] [--suffix TEXT] [--seed N]\n"
	           "Reads lines from stdin. Default: prints one JSON array of token ids per line.\n"
	           "  --tokenizer PATH  tokenizer.json, or a directory holding one (default: resolution order of\n"
	           "                    docs/TOKENIZER.md, ending with the whitespace-word approximation)\n"
	           "  --model ORG/NAME  look the tokenizer up in the HuggingFace cache\n"
	           "  --count           print the number of tokens of each line\n"
	           "  --decode          read JSON arrays of ids, print the decoded text of each\n"
	           "  --jsonl           each input line (encode/count) or output line (decode) is a JSON string\n"
	           "  --prompt N        print a prompt of exactly N tokens built from the packaged corpus (no stdin)\n"
	           "  --suffix TEXT     suffix for --prompt (counts towards N)\n"
	           "  --seed N          random seed for --prompt (default 1)\n"
	           "  --name            print the resolved tokenizer name and exit\n");
}

static void put_json_string(struct buf *o, const char *s, size_t n)
{
	buf_putc(o, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			buf_puts(o, "\\\"");
			break;
		case '\\':
			buf_puts(o, "\\\\");
			break;
		case '\n':
			buf_puts(o, "\\n");
			break;
		case '\r':
			buf_puts(o, "\\r");
			break;
		case '\t':
			buf_puts(o, "\\t");
			break;
		default:
			if (c < 0x20)
				buf_printf(o, "\\u%04x", c);
			else
				buf_putc(o, (char)c);
		}
	}
	buf_putc(o, '"');
}

enum cli_mode { MODE_ENCODE, MODE_COUNT, MODE_DECODE, MODE_PROMPT, MODE_NAME };

int tokenizer_cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"tokenizer", required_argument, NULL, 't'},
	    {"model", required_argument, NULL, 'm'},
	    {"count", no_argument, NULL, 'c'},
	    {"decode", no_argument, NULL, 'd'},
	    {"jsonl", no_argument, NULL, 'j'},
	    {"prompt", required_argument, NULL, 'p'},
	    {"suffix", required_argument, NULL, 's'},
	    {"seed", required_argument, NULL, 'S'},
	    {"name", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL, *model = NULL, *suffix = NULL;
	enum cli_mode mode = MODE_ENCODE;
	bool jsonl = false;
	long long prompt_n = 0;
	unsigned long long seed = 1;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			path = optarg;
			break;
		case 'm':
			model = optarg;
			break;
		case 'c':
			mode = MODE_COUNT;
			break;
		case 'd':
			mode = MODE_DECODE;
			break;
		case 'j':
			jsonl = true;
			break;
		case 'p': {
			char *end;
			mode = MODE_PROMPT;
			prompt_n = strtoll(optarg, &end, 10);
			if (*optarg == 0 || *end || prompt_n < 0) {
				fprintf(stderr, "veeksha tokenize: --prompt needs a token count >= 0, got '%s'\n",
				        optarg);
				return 2;
			}
			break;
		}
		case 's':
			suffix = optarg;
			break;
		case 'S': {
			char *end;
			seed = strtoull(optarg, &end, 10);
			if (*optarg == 0 || *end) {
				fprintf(stderr, "veeksha tokenize: --seed needs an integer, got '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case 'n':
			mode = MODE_NAME;
			break;
		case 'h':
			cli_usage(stdout);
			return 0;
		default:
			cli_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "veeksha tokenize: unexpected argument '%s'\n", argv[optind]);
		cli_usage(stderr);
		return 2;
	}
	struct tok *t;
	if (path) {
		char err[512];
		t = tok_load(path, err, sizeof err);
		if (!t) {
			fprintf(stderr, "veeksha tokenize: %s\n", err);
			return 1;
		}
	} else {
		t = tok_resolve(NULL, model);
	}
	int rc = 0;
	struct buf o;
	buf_init(&o);
	if (mode == MODE_NAME) {
		printf("%s\n", tok_name(t));
		goto out;
	}
	if (mode == MODE_PROMPT) {
		struct rng r;
		rng_init(&r, seed);
		if (tok_prompt_build(t, &r, prompt_n, suffix, &o) != 0) {
			fprintf(stderr, "veeksha tokenize: cannot build a prompt of %lld tokens\n", prompt_n);
			rc = 1;
		} else {
			fwrite(o.data, 1, o.len, stdout);
			putchar('\n');
		}
		goto out;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct tok_ids ids = {0};
	long lineno = 0;
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = 0;
		buf_reset(&o);
		if (mode == MODE_DECODE) {
			cJSON *a = cJSON_Parse(line);
			if (!cJSON_IsArray(a)) {
				fprintf(stderr, "veeksha tokenize: line %ld: expected a JSON array of ids\n", lineno);
				cJSON_Delete(a);
				rc = 1;
				break;
			}
			ids.n = 0;
			cJSON *e;
			cJSON_ArrayForEach(e, a)
			{
				int32_t v = cJSON_IsNumber(e) ? (int32_t)e->valuedouble : -1;
				if (ids.n == ids.cap) {
					ids.cap = ids.cap ? ids.cap * 2 : 64;
					ids.v = xrealloc(ids.v, ids.cap * sizeof *ids.v);
				}
				ids.v[ids.n++] = v;
			}
			cJSON_Delete(a);
			struct buf txt;
			buf_init(&txt);
			if (tok_decode(t, ids.v, ids.n, &txt) != 0) {
				fprintf(stderr, "veeksha tokenize: line %ld: invalid token id\n", lineno);
				buf_free(&txt);
				rc = 1;
				break;
			}
			if (jsonl)
				put_json_string(&o, txt.data ? txt.data : "", txt.len);
			else
				buf_append(&o, txt.data ? txt.data : "", txt.len);
			buf_free(&txt);
		} else {
			const char *s = line;
			size_t len = (size_t)n;
			cJSON *js = NULL;
			if (jsonl) {
				js = cJSON_Parse(line);
				if (!cJSON_IsString(js)) {
					fprintf(stderr, "veeksha tokenize: line %ld: expected a JSON string\n", lineno);
					cJSON_Delete(js);
					rc = 1;
					break;
				}
				s = js->valuestring;
				len = strlen(s);
			}
			ids.n = 0;
			if (tok_encode(t, s, len, &ids) != 0) {
				fprintf(stderr, "veeksha tokenize: line %ld: cannot encode\n", lineno);
				cJSON_Delete(js);
				rc = 1;
				break;
			}
			cJSON_Delete(js);
			if (mode == MODE_COUNT) {
				buf_printf(&o, "%zu", ids.n);
			} else {
				buf_putc(&o, '[');
				for (size_t i = 0; i < ids.n; i++)
					buf_printf(&o, i ? ",%d" : "%d", ids.v[i]);
				buf_putc(&o, ']');
			}
		}
		buf_putc(&o, '\n');
		fwrite(o.data, 1, o.len, stdout);
	}
	free(line);
	tok_ids_free(&ids);
out:
	buf_free(&o);
	tok_free(t);
	return rc;
}
