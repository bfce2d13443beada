/* `veeksha config [--config-type benchmark|capacity_search] show|describe|export-schema`. */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_internal.h"
#include "core/xalloc.h"

static void cli_usage(FILE *out)
{
	fprintf(out,
	        "usage: veeksha config [--config-type {benchmark,capacity_search}] <command> [options]\n\n"
	        "commands:\n"
	        "  show [--format yaml|json] [FLAGS...]  print the resolved configuration; FLAGS are those of\n"
	        "                                        'veeksha benchmark' (or capacity-search), e.g.\n"
	        "                                        --config FILE, --benchmark-config-from-file FILE,\n"
	        "                                        --server-type vllm ... (default command)\n"
	        "  describe [KEY]                        type, default and help of a dotted key\n"
	        "                                        (e.g. traffic_scheduler.interval_generator.arrival_rate)\n"
	        "  export-schema [-o FILE]               JSON Schema (draft-07) for *.veeksha.yml files\n");
}

int config_describe(const struct cfg_class *root, const char *key, FILE *out);
int config_export_schema(const struct cfg_class *root, const char *type_name, FILE *out);

static int cmd_show(const struct cfg_class *root, int argc, char **argv)
{
	bool json = false;
	char **args = xcalloc((size_t)argc + 2, sizeof *args);
	int n = 0;
	args[n++] = "show";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--format") || !strcmp(a, "-f")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "veeksha: error: %s: expected yaml or json\n", a);
				free(args);
				return 2;
			}
			const char *v = argv[++i];
			if (!strcmp(v, "json"))
				json = true;
			else if (!strcmp(v, "yaml"))
				json = false;
			else {
				fprintf(stderr, "veeksha: error: %s: expected yaml or json, got '%s'\n", a, v);
				free(args);
				return 2;
			}
			continue;
		}
		if (!strncmp(a, "--format=", 9)) {
			json = !strcmp(a + 9, "json");
			if (!json && strcmp(a + 9, "yaml")) {
				fprintf(stderr, "veeksha: error: --format: expected yaml or json, got '%s'\n", a + 9);
				free(args);
				return 2;
			}
			continue;
		}
		args[n++] = argv[i];
	}
	struct cfg_parse_result r;
	const char *prog = root == &cfg_cls_capacity ? "veeksha config show (capacity_search)" : "veeksha config show";
	char err[2048] = "";
	struct cfg_diag diag = {err, sizeof err};
	int rc = cfg_parse_args(root, 0, prog, n, args, &r, true, &diag);
	free(args);
	if (rc == CONFIG_HELP_PRINTED)
		return 0;
	if (rc != CONFIG_OK) {
		fprintf(stderr, "%s\n", err);
		return rc;
	}
	if (json && r.count > 1)
		printf("[\n");
	for (size_t i = 0; i < r.count; i++) {
		const void *item = (const char *)r.items + i * root->size;
		struct cfg_arena a = {0};
		struct onode *o = cfg_obj_to_onode(&a, root, item, 1);
		struct buf b;
		buf_init(&b);
		if (json) {
			cfg_emit_json(o, &b, 2);
			if (r.count > 1 && i + 1 < r.count)
				buf_putc(&b, ',');
			buf_putc(&b, '\n');
		} else {
			if (r.count > 1)
				buf_puts(&b, "---\n");
			cfg_emit_yaml(o, &b);
		}
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
		cfg_ar_free(&a);
	}
	if (json && r.count > 1)
		printf("]\n");
	for (size_t i = 0; i < r.count; i++)
		cfg_obj_free(root, (char *)r.items + i * root->size);
	free(r.items);
	return 0;
}

int config_cli_main(int argc, char **argv)
{
	const struct cfg_class *root = &cfg_cls_benchmark;
	const char *type_name = "benchmark";
	int i = 1;
	while (i < argc) {
		if (!strcmp(argv[i], "--config-type")) {
			if (i + 1 >= argc) {
				fprintf(stderr,
				        "veeksha: error: --config-type: expected benchmark or capacity_search\n");
				return 2;
			}
			const char *v = argv[i + 1];
			if (!strcmp(v, "benchmark")) {
				root = &cfg_cls_benchmark;
				type_name = "benchmark";
			} else if (!strcmp(v, "capacity_search") || !strcmp(v, "capacity-search")) {
				root = &cfg_cls_capacity;
				type_name = "capacity_search";
			} else {
				fprintf(
				    stderr,
				    "veeksha: error: --config-type: expected benchmark or capacity_search, got '%s'\n",
				    v);
				return 2;
			}
			i += 2;
			continue;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			cli_usage(stdout);
			return 0;
		}
		break;
	}
	if (i >= argc) {
		char *args[] = {"show", NULL};
		return cmd_show(root, 1, args);
	}
	const char *cmd = argv[i];
	if (!strcmp(cmd, "show"))
		return cmd_show(root, argc - i, argv + i);
	if (!strcmp(cmd, "describe")) {
		const char *key = NULL;
		for (int k = i + 1; k < argc; k++) {
			if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
				cli_usage(stdout);
				return 0;
			}
			if (key) {
				fprintf(stderr, "veeksha: error: describe takes one key\n");
				return 2;
			}
			key = argv[k];
		}
		return config_describe(root, key, stdout);
	}
	if (!strcmp(cmd, "export-schema")) {
		const char *outp = NULL;
		for (int k = i + 1; k < argc; k++) {
			if ((!strcmp(argv[k], "-o") || !strcmp(argv[k], "--output")) && k + 1 < argc)
				outp = argv[++k];
			else if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
				cli_usage(stdout);
				return 0;
			} else {
				fprintf(stderr, "veeksha: error: export-schema: unexpected argument '%s'\n", argv[k]);
				return 2;
			}
		}
		FILE *out = stdout;
		if (outp) {
			out = fopen(outp, "w");
			if (!out) {
				fprintf(stderr, "veeksha: error: -o: cannot write '%s'\n", outp);
				return 2;
			}
		}
		int rc = config_export_schema(root, type_name, out);
		if (outp && fclose(out) != 0)
			rc = 1;
		return rc;
	}
	fprintf(stderr, "veeksha: error: unknown config command '%s'\n", cmd);
	cli_usage(stderr);
	return 2;
}
