/* msa-buf.c: growable strings for the test MSA. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msa-buf.h"

void msa_oom(void)
{
	fputs("msa: out of memory\n", stderr);
	exit(1);
}

char *msa_strdup(const char *s)
{
	return msa_memdup(s, strlen(s));
}

char *msa_memdup(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		msa_oom();
	if (n)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	if (n > SIZE_MAX - b->len - 1)
		msa_oom();
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
		char *d = realloc(b->data, cap);
		if (!d)
			msa_oom();
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (k > 0)
		buf_add(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

char *buf_take(struct buf *b)
{
	if (!b->data)
		buf_add(b, "", 0);
	char *d = b->data;
	*b = (struct buf){ NULL, 0, 0 };
	return d;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
