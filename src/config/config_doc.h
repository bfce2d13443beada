#ifndef VK_CONFIG_DOC_H
#define VK_CONFIG_DOC_H
/* What shell completion and the man pages need to know about the flattened configuration flags
 * beyond the text of --help: which values a flag takes (enum names, section types, files,
 * directories). Built from the same descriptor tables as --help (docs/INSTALL.md). */
#include <stddef.h>

enum config_doc_value {
	CONFIG_DOC_SWITCH = 0, /* takes no value (--quiet, --x / --no-x) */
	CONFIG_DOC_TEXT,       /* free text: a number, a string, a list */
	CONFIG_DOC_FILE,       /* a file path */
	CONFIG_DOC_DIR,        /* a directory path */
	CONFIG_DOC_ENUM        /* one of values[0 .. n_values) */
};

struct config_doc_flag {
	char *name; /* with its dashes: "--server-type", "--no-quiet" */
	enum config_doc_value value;
	const char **values; /* CONFIG_DOC_ENUM: names (static storage); the array is owned */
	size_t n_values;
};

/* The configuration flags of a command: "benchmark", "config show", "capacity-search",
 * "microbench prefill", "microbench decode", "microbench stress" (every stress mode's flags).
 * Returns how many were stored in *out (free with config_doc_flags_free); 0 and *out = NULL when
 * the command does not take configuration flags. */
size_t config_doc_flags(const char *command, struct config_doc_flag **out);
void config_doc_flags_free(struct config_doc_flag *flags, size_t n);

/* The dotted keys a command takes as an argument ("config describe": every key and section of a
 * benchmark config, as `veeksha config describe KEY` accepts them). Returns how many were stored
 * in *out (free each and the array); 0 and *out = NULL for other commands. */
size_t config_doc_keys(const char *command, char ***out);

#endif
