/* xmalloc.c: the one place that decides what out-of-memory means. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void die_oom(void)
{
	fputs("kurier: out of memory\n", stderr);
	exit(71); /* EX_OSERR */
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		die_oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		die_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		die_oom();
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void xfree_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void xfree_wipe(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

void *xrealloc_wipe(void *p, size_t old, size_t n)
{
	void *q = xmalloc(n);

	if (p != NULL) {
		memcpy(q, p, old < n ? old : n);
		xfree_wipe(p, old);
	}
	return q;
}
