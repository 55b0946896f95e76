/* spool.h: holds the canonical message between reading and sending: in
 * memory up to SPOOL_MEM_MAX, beyond that in an unlinked temporary file,
 * so memory stays flat for any message size. */
#ifndef KURIER_SPOOL_H
#define KURIER_SPOOL_H

#include <sys/types.h>

#include "common.h"

#define SPOOL_MEM_MAX (512 * 1024)

struct spool {
	char *buf;        /* the memory part, or the write buffer of the file */
	size_t len;       /* bytes in buf */
	int fd;           /* -1 while everything fits in buf */
	uint64_t size;    /* total bytes written */
	uint64_t rpos;    /* read position */
};

void spool_init(struct spool *s);
/* Append; a msg_sink_fn. Returns 0 or -1 with ERR (temporary file errors). */
int spool_write(void *spool, const char *buf, size_t len, char *err, size_t errlen);
/* Done writing: flush to the file if there is one, read from the start. */
int spool_seal(struct spool *s, char *err, size_t errlen);
/* Read up to LEN bytes; 0 at the end, -1 with ERR on error. */
ssize_t spool_read(struct spool *s, char *buf, size_t len, char *err, size_t errlen);
/* Read position back to the start (for a retry). */
void spool_rewind(struct spool *s);
void spool_free(struct spool *s);

#endif
