/* libFuzzer: the lines an lm-eval bridge writes while loading documents (docs/INTEGRATIONS.md,
 * Protocol) turned into documents and sessions: no crash, no leak, whatever the bridge writes. */
#include <stddef.h>
#include <stdint.h>

#include "integrations/lmeval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	integ_lmeval_feed((const char *)data, size, tok_approx(), err, sizeof err);
	return 0;
}
