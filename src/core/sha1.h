#ifndef VK_CORE_SHA1_H
#define VK_CORE_SHA1_H
/* SHA-1 (FIPS 180-4) for content hashes in run-directory names; not for security. */
#include <stddef.h>
#include <stdint.h>

void sha1_digest(const void *data, size_t len, uint8_t out[20]);
/* Lower-case hex of the digest, first n_hex characters (n_hex <= 40), NUL-terminated. */
void sha1_hex(const void *data, size_t len, char *out, size_t n_hex);

#endif
