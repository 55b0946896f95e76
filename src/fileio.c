/* fileio.c: reading small whole files (aliases, netrc) from an open fd;
 * no parsing and no policy here. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

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
