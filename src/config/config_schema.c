/* `config describe` and `config export-schema` (JSON Schema draft-07, reference §1.4). */
#include <stdio.h>

#include "config/config_internal.h"

int config_describe(const struct cfg_class *root, const char *key, FILE *out);
int config_export_schema(const struct cfg_class *root, const char *type_name, FILE *out);

int config_describe(const struct cfg_class *root, const char *key, FILE *out)
{
	(void)root;
	(void)key;
	(void)out;
	fprintf(stderr, "veeksha: error: config describe is not implemented yet\n");
	return 2;
}

int config_export_schema(const struct cfg_class *root, const char *type_name, FILE *out)
{
	(void)root;
	(void)type_name;
	(void)out;
	fprintf(stderr, "veeksha: error: config export-schema is not implemented yet\n");
	return 2;
}
