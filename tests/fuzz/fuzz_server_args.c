/* libFuzzer target for the managed-server command builders (src/server/server_argv.c): the input is
 * the additional_args JSON text. Properties: no crash/leak for any input; every engine builds a
 * NULL-terminated argv of non-NULL strings or reports an error; the four engines agree on whether
 * the text is acceptable; the diagnosis scanner accepts any text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	static const enum cfg_server_type types[] = {CFG_SERVER_VLLM, CFG_SERVER_SGLANG, CFG_SERVER_VAJRA,
	                                             CFG_SERVER_SIM};
	int first_rc = 0;
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		struct cfg_server s;
		memset(&s, 0, sizeof s);
		s.type = types[t];
		s.model = "m";
		s.host = "127.0.0.1";
		s.port = 8000;
		s.api_key = "k";
		s.tensor_parallel_size = 2;
		s.dtype = "auto";
		s.max_model_len = 4096;
		s.additional_args = text;
		char **argv = NULL;
		char err[256];
		int rc = server_build_argv(&s, NULL, 0, &argv, err, sizeof err);
		if (t == 0)
			first_rc = rc;
		else if (rc != first_rc)
			abort();
		if (rc == 0) {
			size_t n = 0;
			while (argv[n])
				n++;
			if (n < 8)
				abort();
			server_argv_free(argv);
		} else if (argv != NULL || err[0] == '\0') {
			abort();
		}
	}
	(void)server_diagnose_log(text);
	free(text);
	return 0;
}
