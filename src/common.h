/* common.h: what every kurier module includes: limits, the x-allocator
 * contract and the list of banned unsafe libc calls. */
#ifndef KURIER_COMMON_H
#define KURIER_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define KURIER_ERRLEN 512 /* size of the err buffers modules fill in */

/* Allocation that cannot fail: on exhaustion these print
 * "kurier: out of memory" and exit 71 (EX_OSERR). Defined in xmalloc.c. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Free a string that held a secret after wiping it; NULL is fine. */
void xfree_secret(char *s);

/* Read SIZE bytes (the file's size from fstat) from FD into a new
 * NUL-terminated buffer. 0, or -1 with errno on a read error or a file
 * that shrank. Defined in fileio.c. */
int read_whole_fd(int fd, size_t size, char **buf, size_t *len);

#include "banned.h"

#endif
