#include "core/xalloc.h"

#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void xalloc_die(size_t n)
{
	fprintf(stderr, "veeksha: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		xalloc_die(n);
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		xalloc_die(count * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		xalloc_die(n);
	return q;
}

char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *out = NULL;
	int r = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (r < 0)
		xalloc_die(0);
	return out;
}

void xgrow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t ncap = *cap ? *cap : 8;
	while (ncap < need)
		ncap *= 2;
	*p = xrealloc(*p, ncap * elem);
	*cap = ncap;
}

/* glibc's malloc_trim() is not safe to enter from two threads before its allocator has been
 * initialised. That is the case under AddressSanitizer, where every allocation goes to ASan's
 * allocator: a second caller walked the arena's bins while the first was still setting them up and
 * crashed. Shard threads end at about the same time and each trims, hence the lock. */
void xheap_trim(void)
{
	static pthread_mutex_t trim_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&trim_lock);
	malloc_trim(0);
	pthread_mutex_unlock(&trim_lock);
}
