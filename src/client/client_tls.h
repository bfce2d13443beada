#ifndef VK_CLIENT_TLS_H
#define VK_CLIENT_TLS_H
/* Which certificates a client trusts and presents (docs/CLIENT.md, TLS): client.ca_bundle (a PEM
 * file or a directory of hashed certificates), else the environment as the Python clients read it
 * (CURL_CA_BUNDLE, then SSL_CERT_FILE; SSL_CERT_DIR), else the system's store; client.tls_cert and
 * client.tls_key for servers that require a client certificate (mutual TLS). */
#include <stddef.h>

#include "config/config_types.h"

struct client_tls {
	const char *ca_file, *ca_dir; /* NULL: the system's store */
	const char *ca_source;        /* where ca_file/ca_dir came from: "client.ca_bundle", "SSL_CERT_FILE", ... */
	const char *cert, *key;       /* NULL: no client certificate */
};

/* Fill t from cfg and the environment (the strings stay owned by cfg and environ). 0, or -1 with
 * err naming the key or variable when a path cannot be read or tls_key comes without tls_cert. */
int client_tls_resolve(const struct cfg_client *cfg, struct client_tls *t, char *err, size_t err_len);

/* Set the trust and client-certificate options on a curl easy handle (a CURL *). */
void client_tls_apply(void *curl_easy, const struct client_tls *t);

#endif
