/* fileio.c: opening and reading small whole files (aliases, netrc), and
 * the error-message writer every module shares; no parsing and no policy
 * here. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

int open_regular_file(const char *path, size_t max, int *fd, struct stat *st, char *err,
		      size_t errlen)
{
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), r = -1;

	*fd = -1;
	if (f < 0) {
		r = errno == ENOENT || errno == ENOTDIR ? -2 : -1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(f, st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((uintmax_t)st->st_size > (uintmax_t)max) {
		snprintf(err, errlen, "%s: file too large (more than %zu bytes)", path, max);
		goto out;
	}
	*fd = f;
	f = -1;
	r = 0;
out:
	if (f >= 0)
		close(f);
	return r;
}

int read_whole_fd(int fd, size_t size, char **buf, size_t *len)
{
	char *b = xmalloc(size + 1);
	size_t n = 0;

	while (n < size) {
		ssize_t r = read(fd, b + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO; /* the file shrank while we read it */
			free(b);
			*buf = NULL;
			*len = 0;
			return -1;
		}
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

int write_whole_fd(int fd, const void *buf, size_t len)
{
	const char *b = buf;

	while (len > 0) {
		ssize_t w = write(fd, b, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		b += w;
		len -= (size_t)w;
	}
	return 0;
}

void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
