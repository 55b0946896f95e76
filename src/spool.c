/* spool.c: memory first, then an unlinked 0600 temporary file; the file
 * never has a name that another process could open. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "spool.h"

void spool_init(struct spool *s)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
}

static int spool_open_file(struct spool *s, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		s->fd = fd;
		return 0;
	}
#endif
	snprintf(path, sizeof path, "%s/kurier-spool-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create a temporary file in %s: %s", dir, strerror(errno));
		return -1;
	}
	unlink(path);
	s->fd = fd;
	return 0;
}

static int spool_flush(struct spool *s, char *err, size_t errlen)
{
	size_t off = 0;

	while (off < s->len) {
		ssize_t w = write(s->fd, s->buf + off, s->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "cannot write the temporary spool file: %s",
				 w < 0 ? strerror(errno) : "short write");
			return -1;
		}
		off += (size_t)w;
	}
	s->len = 0;
	return 0;
}

int spool_write(void *spool, const char *buf, size_t len, char *err, size_t errlen)
{
	struct spool *s = spool;

	if (s->buf == NULL)
		s->buf = xmalloc(SPOOL_MEM_MAX);
	s->size += len;
	while (len > 0) {
		size_t room = SPOOL_MEM_MAX - s->len;
		size_t n = len < room ? len : room;

		memcpy(s->buf + s->len, buf, n);
		s->len += n;
		buf += n;
		len -= n;
		if (s->len == SPOOL_MEM_MAX && len > 0) {
			if (s->fd < 0 && spool_open_file(s, err, errlen) != 0)
				return -1;
			if (spool_flush(s, err, errlen) != 0)
				return -1;
		}
	}
	return 0;
}

int spool_seal(struct spool *s, char *err, size_t errlen)
{
	if (s->fd >= 0 && spool_flush(s, err, errlen) != 0)
		return -1;
	s->rpos = 0;
	return 0;
}

ssize_t spool_read(struct spool *s, char *buf, size_t len, char *err, size_t errlen)
{
	uint64_t left = s->size - s->rpos;
	size_t n = left < len ? (size_t)left : len;
	ssize_t r;

	if (n == 0)
		return 0;
	if (s->fd < 0) {
		memcpy(buf, s->buf + s->rpos, n);
		s->rpos += n;
		return (ssize_t)n;
	}
	do
		r = pread(s->fd, buf, n, (off_t)s->rpos);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		snprintf(err, errlen, "cannot read the temporary spool file: %s",
			 r < 0 ? strerror(errno) : "unexpected end");
		return -1;
	}
	s->rpos += (uint64_t)r;
	return r;
}

void spool_rewind(struct spool *s)
{
	s->rpos = 0;
}

void spool_free(struct spool *s)
{
	free(s->buf);
	if (s->fd >= 0)
		close(s->fd);
	spool_init(s);
}
