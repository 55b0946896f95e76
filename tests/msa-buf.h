/* msa-buf.h: the test MSA's growable strings (msa.c, msa-sasl.c). Always
 * NUL-terminated after the first add; running out of memory ends the MSA
 * with exit 1, a test-server's only sensible answer. */
#ifndef MSA_BUF_H
#define MSA_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap;
};

void msa_oom(void);
/* Copies, NUL-terminated; out of memory ends the MSA. */
char *msa_strdup(const char *s);
char *msa_memdup(const char *p, size_t n);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
/* At most 511 bytes of output are added. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The buffer's string (never NULL), leaving the buffer empty. */
char *buf_take(struct buf *b);
void buf_free(struct buf *b);

#endif
