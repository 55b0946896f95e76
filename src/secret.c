/* secret.c: fetches secrets from commands, ~/.netrc and the terminal, and
 * keeps the process from dumping them; every buffer that held one is wiped
 * before it is freed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common.h"
#include "secret.h"

#define SECRET_MAX 65536 /* OAuth tokens can be long; more is an error */
#define SECRET_NETRC_MAX 1048576

int secret_protect_process(void)
{
	struct rlimit none = { 0, 0 };
	int r = 0;

	if (setrlimit(RLIMIT_CORE, &none) != 0)
		r = -1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		r = -1;
	return r;
}

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

/* Next netrc token from *P (white space separated; quotes are not part of
 * the format). A '#' where a token would start opens a comment to the end
 * of the line, as in the other netrc readers: a commented-out entry must
 * never supply a password. Returns its length, 0 at the end. */
static size_t secret_token(const char **p, const char **tok)
{
	const char *s = *p;
	size_t n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s != '#')
			break;
		while (*s != '\0' && *s != '\n')
			s++;
	}
	*tok = s;
	while (s[n] != '\0' && s[n] != ' ' && s[n] != '\t' && s[n] != '\n' && s[n] != '\r')
		n++;
	*p = s + n;
	return n;
}

/* A macro (its name, then lines) runs to the next empty line, CRLF or
 * not; its text is never read as tokens. Returns where the entry after it
 * starts. */
static const char *secret_skip_macro(const char *p)
{
	const char *nl = strchr(p, '\n');

	while (nl != NULL) {
		const char *l = nl + 1;
		if (*l == '\n' || (*l == '\r' && l[1] == '\n'))
			return l;
		nl = strchr(l, '\n');
	}
	return p + strlen(p);
}

static bool secret_tok_is(const char *t, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(t, w, n) == 0;
}

int secret_netrc(const char *path, const char *host, const char *user, char **out,
		 char *err, size_t errlen)
{
	int fd = -1, rc;
	struct stat st;
	char *buf = NULL;
	const char *p, *t;
	size_t n, len = 0;
	bool in_entry = false, host_ok = false, user_ok = false;
	char *pass = NULL;

	*out = NULL;
	/* A FIFO or a device in its place fails rather than blocks. */
	rc = open_regular_file(path, SECRET_NETRC_MAX, &fd, &st, err, errlen);
	if (rc == -2)
		return 1; /* no ~/.netrc */
	if (rc != 0)
		goto out;
	rc = 1;
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: readable by group or others; run 'chmod 600 %s'", path, path);
		rc = -1;
		goto out;
	}
	if (read_whole_fd(fd, (size_t)st.st_size, &buf, &len) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
		goto out;
	}
	p = buf;
	while ((n = secret_token(&p, &t)) > 0) {
		if (secret_tok_is(t, n, "machine") || secret_tok_is(t, n, "default")) {
			if (in_entry && host_ok && user_ok && pass != NULL)
				break;
			xfree_secret(pass);
			pass = NULL;
			in_entry = true;
			user_ok = false;
			if (secret_tok_is(t, n, "default")) {
				host_ok = true;
			} else {
				n = secret_token(&p, &t);
				host_ok = n > 0 && strlen(host) == n && strncasecmp(t, host, n) == 0;
			}
		} else if (secret_tok_is(t, n, "login")) {
			n = secret_token(&p, &t);
			user_ok = n > 0 && strlen(user) == n && memcmp(t, user, n) == 0;
		} else if (secret_tok_is(t, n, "password")) {
			n = secret_token(&p, &t);
			xfree_secret(pass);
			pass = xstrndup(t, n);
		} else if (secret_tok_is(t, n, "macdef")) {
			p = secret_skip_macro(p);
		}
	}
	if (in_entry && host_ok && user_ok && pass != NULL) {
		*out = pass;
		pass = NULL;
		rc = 0;
	}
out:
	xfree_secret(pass);
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int secret_prompt(const char *prompt, char **out)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct termios old, quiet;
	char buf[4096];
	size_t len = 0;
	bool echo_off;

	*out = NULL;
	if (fd < 0)
		return 1;
	echo_off = tcgetattr(fd, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* the prompt is a courtesy; reading still works */
	}
	while (len + 1 < sizeof buf) {
		ssize_t r = read(fd, buf + len, 1);
		if (r <= 0 || buf[len] == '\n')
			break;
		len++;
	}
	if (echo_off)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* as above */
	}
	close(fd);
	*out = xstrndup(buf, len);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

int secret_lookup(const struct secret_sources *src, char **out, char *err, size_t errlen)
{
	char msg[KURIER_ERRLEN], prompt[600];
	int r;

	*out = NULL;
	if (src->password != NULL) {
		*out = xstrdup(src->password);
		return 0;
	}
	if (src->passwordeval != NULL) {
		if (secret_eval(src->passwordeval, out, msg, sizeof msg) == 0)
			return 0;
		snprintf(err, errlen, "%s: %s; fix the command or the passwordeval line", src->where_eval, msg);
		return -1;
	}
	r = secret_netrc(src->netrc, src->host, src->user, out, msg, sizeof msg);
	if (r < 0) {
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	if (r == 0)
		return 0;
	snprintf(prompt, sizeof prompt, "password for %s at %s: ", src->user, src->host);
	if (secret_prompt(prompt, out) == 0)
		return 0;
	snprintf(err, errlen, "%s: account '%s' has no password for %s: add password or passwordeval, "
		 "a line in ~/.netrc, or run kurier from a terminal to be asked", src->config, src->account,
		 src->user);
	return -1;
}
