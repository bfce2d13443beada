#ifndef VK_CORE_XALLOC_H
#define VK_CORE_XALLOC_H
/* Allocation wrappers that abort with a message on out-of-memory. */
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s); /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Grow *p (element size elem) so that it holds at least need elements; *cap updated. */
void xgrow(void **p, size_t *cap, size_t need, size_t elem);
/* Give freed heap back to the kernel (malloc_trim). Safe to call from any number of threads at
 * once: calls are serialised. */
void xheap_trim(void);

#endif
