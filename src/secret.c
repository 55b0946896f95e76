/* secret.c: fetches secrets from commands; every buffer that held one is
 * wiped before it is freed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "secret.h"

#define SECRET_MAX 65536 /* OAuth tokens can be long; more is an error */

int secret_eval(const char *command, char **out, char *err, size_t errlen)
{
	int pfd[2] = { -1, -1 }, status = 0, rc = -1;
	char *buf = NULL;
	size_t len = 0;
	pid_t pid;

	*out = NULL;
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "passwordeval: cannot create a pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "passwordeval: cannot start /bin/sh: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(pfd[1], 1) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	pfd[1] = -1;
	buf = xmalloc(SECRET_MAX + 1);
	for (;;) {
		ssize_t n = read(pfd[0], buf + len, SECRET_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == SECRET_MAX) {
			char sink[4096];
			while (read(pfd[0], sink, sizeof sink) > 0)
				;
			explicit_bzero(sink, sizeof sink);
			break;
		}
	}
	close(pfd[0]);
	pfd[0] = -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "passwordeval command '%s' was killed by signal %d", command,
			 WTERMSIG(status));
		goto out;
	}
	if (WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "passwordeval command '%s' failed with exit status %d", command,
			 WEXITSTATUS(status));
		goto out;
	}
	buf[len] = '\0';
	{
		char *nl = memchr(buf, '\n', len);
		size_t keep = nl != NULL ? (size_t)(nl - buf) : len;
		if (keep > 0 && buf[keep - 1] == '\r')
			keep--;
		if (keep == 0) {
			snprintf(err, errlen, "passwordeval command '%s' printed an empty first line", command);
			goto out;
		}
		*out = xstrndup(buf, keep);
	}
	rc = 0;
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (buf != NULL) {
		explicit_bzero(buf, SECRET_MAX + 1);
		free(buf);
	}
	return rc;
}
