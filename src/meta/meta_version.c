/* `veeksha version` / `veeksha --version`: the version of this build (git describe, captured at
 * build time by cmake/vk_install.cmake) and the versions of the libraries it runs with, as those
 * libraries report them at run time (a bug report needs what is loaded, not what was compiled
 * against). docs/INSTALL.md. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libfyaml.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "meta/meta_cli.h"

/* Defined in the generated build-version file (git describe, or "unknown" outside a checkout). */
extern const char vk_build_describe[];
extern const char vk_build_type[];

int meta_version_main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: veeksha version\n"
		       "Prints the version of veeksha (git describe of the build) and of the libraries it uses.\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "veeksha version: takes no arguments (got '%s')\n", argv[1]);
		return 2;
	}
	printf("veeksha %s (git %s, %s build", VK_VERSION, vk_build_describe, vk_build_type);
#if defined(__clang__)
	printf(", clang %s)\n", __clang_version__);
#elif defined(__GNUC__)
	printf(", gcc %s)\n", __VERSION__);
#else
	printf(")\n");
#endif
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	printf("libcurl %s", cv->version);
	if (cv->ssl_version)
		printf(" (TLS: %s)", cv->ssl_version);
	printf("\n");
	printf("libfyaml %s\n", fy_library_version());
	char pcre[64] = "?";
	if (pcre2_config(PCRE2_CONFIG_VERSION, pcre) < 0)
		snprintf(pcre, sizeof pcre, "?");
	printf("PCRE2 %s\n", pcre);
	printf("cJSON %s\n", cJSON_Version());
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "veeksha version: cannot write the output\n");
		return 1;
	}
	return 0;
}
