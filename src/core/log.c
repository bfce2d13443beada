#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum log_level log_level_current = LOG_INFO;

void log_set_level(enum log_level lvl)
{
	log_level_current = lvl;
}
enum log_level log_get_level(void)
{
	return log_level_current;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	if (lvl < log_level_current)
		return;
	static const char *names[] = {"debug", "info", "warning", "error"};
	char line[2048];
	int off = snprintf(line, sizeof line, "veeksha: %s: ", names[lvl]);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + off, sizeof line - (size_t)off - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)off + (n < 0 ? 0 : (size_t)n);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}
