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
/* Free N bytes at P after wiping them all (a buffer, not a string). */
void xfree_wipe(void *p, size_t n);
/* xrealloc for a buffer that may hold a secret: a new block of N bytes
 * gets the first min(OLD, N) bytes, and the OLD bytes at P are wiped
 * before they are freed, so no copy stays behind where realloc moved. */
void *xrealloc_wipe(void *p, size_t old, size_t n);

struct stat;
/* Open PATH for reading as every small file kurier reads must be opened:
 * without blocking (O_NONBLOCK: a FIFO or a terminal must not hang us),
 * and then only a regular file of at most MAX bytes. 0 with *FD (close it)
 * and *ST; -2 when PATH does not exist (ERR says so too); -1 with ERR
 * ("PATH: not a regular file", ...). Defined in fileio.c. */
int open_regular_file(const char *path, size_t max, int *fd, struct stat *st, char *err,
		      size_t errlen);

/* Read SIZE bytes (the file's size from fstat) from FD into a new
 * NUL-terminated buffer. 0, or -1 with errno on a read error or a file
 * that shrank. Defined in fileio.c. */
int read_whole_fd(int fd, size_t size, char **buf, size_t *len);
/* Write all LEN bytes of BUF to FD (retrying after EINTR and short
 * writes). 0, or -1 with errno set. */
int write_whole_fd(int fd, const void *buf, size_t len);

/* Write a message into ERR (ERRLEN bytes, cut as snprintf cuts; nothing
 * when ERR is NULL or ERRLEN 0): how modules report what went wrong.
 * Defined in fileio.c. */
void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#include "banned.h"

#endif
