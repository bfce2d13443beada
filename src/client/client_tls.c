#include "client/client_tls.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *client_tls_env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* 0 when path can be read: a file, or (when is_dir is given) a file or a directory, *is_dir saying
 * which; -1 with err naming `what` otherwise. */
static int client_tls_check(const char *what, const char *path, int *is_dir, char *err, size_t err_len)
{
	struct stat st;
	if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
		snprintf(err, err_len, "%s: cannot read '%s': %s", what, path, strerror(errno));
		return -1;
	}
	bool dir = S_ISDIR(st.st_mode);
	if (is_dir)
		*is_dir = dir;
	else if (dir) {
		snprintf(err, err_len, "%s: '%s' is a directory, not a PEM file", what, path);
		return -1;
	}
	return 0;
}

int client_tls_resolve(const struct cfg_client *cfg, struct client_tls *t, char *err, size_t err_len)
{
	memset(t, 0, sizeof *t);
	const char *bundle = cfg->ca_bundle && *cfg->ca_bundle ? cfg->ca_bundle : NULL;
	if (bundle) {
		int dir = 0;
		if (client_tls_check("client.ca_bundle", bundle, &dir, err, err_len) != 0)
			return -1;
		*(dir ? &t->ca_dir : &t->ca_file) = bundle;
		t->ca_source = "client.ca_bundle";
	} else {
		/* requests reads CURL_CA_BUNDLE (and REQUESTS_CA_BUNDLE), httpx and OpenSSL SSL_CERT_FILE /
		 * SSL_CERT_DIR: honour them in that order */
		static const char *const file_vars[] = {"CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"};
		for (size_t i = 0; i < sizeof file_vars / sizeof file_vars[0] && !t->ca_file; i++) {
			const char *v = client_tls_env(file_vars[i]);
			if (!v)
				continue;
			char what[64];
			snprintf(what, sizeof what, "%s (environment)", file_vars[i]);
			if (client_tls_check(what, v, NULL, err, err_len) != 0)
				return -1;
			t->ca_file = v;
			t->ca_source = file_vars[i];
		}
		const char *d = client_tls_env("SSL_CERT_DIR");
		if (d) {
			int dir = 0;
			if (client_tls_check("SSL_CERT_DIR (environment)", d, &dir, err, err_len) != 0)
				return -1;
			if (dir) {
				t->ca_dir = d;
				if (!t->ca_source)
					t->ca_source = "SSL_CERT_DIR";
			}
		}
	}
	t->cert = cfg->tls_cert && *cfg->tls_cert ? cfg->tls_cert : NULL;
	t->key = cfg->tls_key && *cfg->tls_key ? cfg->tls_key : NULL;
	if (t->key && !t->cert) {
		snprintf(err, err_len, "client.tls_key is set without client.tls_cert");
		return -1;
	}
	if (t->cert && client_tls_check("client.tls_cert", t->cert, NULL, err, err_len) != 0)
		return -1;
	if (t->key && client_tls_check("client.tls_key", t->key, NULL, err, err_len) != 0)
		return -1;
	return 0;
}

void client_tls_apply(void *curl_easy, const struct client_tls *t)
{
	CURL *e = curl_easy;
	if (t->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
	if (t->ca_dir) {
		curl_easy_setopt(e, CURLOPT_CAPATH, t->ca_dir);
		if (!t->ca_file) /* the directory alone, not the system bundle beside it */
			curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
	}
	if (t->cert)
		curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert);
	if (t->key)
		curl_easy_setopt(e, CURLOPT_SSLKEY, t->key);
}
