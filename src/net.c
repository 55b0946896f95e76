/* net.c: the plain TCP transport: name resolution, connecting to each
 * address in turn with a deadline, and non-blocking reads and writes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "transport.h"

static ssize_t net_read(struct transport *t, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(t->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return TR_AGAIN;
	t->fail = OUTCOME_TEMPFAIL;
	snprintf(t->err, sizeof t->err, "cannot read from %s: %s", t->peer, strerror(errno));
	return -1;
}

static ssize_t net_write(struct transport *t, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return TR_AGAIN;
	t->fail = OUTCOME_TEMPFAIL;
	snprintf(t->err, sizeof t->err, "cannot write to %s: %s", t->peer, strerror(errno));
	return -1;
}

static short net_events(struct transport *t, short want)
{
	return want;
}

static bool net_pending(struct transport *t)
{
	return false;
}

static void net_close(struct transport *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static const struct transport_ops net_ops = {
	"tcp", net_read, net_write, net_events, net_pending, net_close,
};

static long net_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Connect FD to AI within TIMEOUT_MS. Returns 0 or an errno value. */
static int net_try(int fd, const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	long deadline = net_now_ms() + timeout_ms;
	int soerr = 0;
	socklen_t sl = sizeof soerr;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	for (;;) {
		long left = deadline - net_now_ms();
		int r;
		if (left <= 0)
			return ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		if (r == 0)
			return ETIMEDOUT;
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		return errno;
	return soerr;
}

int net_connect(const char *host, const char *port, int timeout_ms, struct transport *t,
		enum outcome *fail, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc, last = 0, one = 1;
	char addr[INET6_ADDRSTRLEN] = "";

	memset(t, 0, sizeof *t);
	t->fd = -1;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc == EAI_ADDRFAMILY || (rc == EAI_NONAME && (hints.ai_flags & AI_ADDRCONFIG))) {
		/* AI_ADDRCONFIG hides loopback on a host without other addresses. */
		hints.ai_flags = 0;
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc != 0) {
		*fail = rc == EAI_AGAIN ? OUTCOME_TEMPFAIL
		      : (rc == EAI_NONAME || rc == EAI_NODATA) ? OUTCOME_NOHOST
		      : rc == EAI_SERVICE ? OUTCOME_CONFIG
		      : rc == EAI_SYSTEM ? OUTCOME_OSERR : OUTCOME_TEMPFAIL;
		snprintf(err, errlen, "cannot resolve host name %s: %s%s", host, gai_strerror(rc),
			 rc == EAI_AGAIN ? " (a temporary DNS failure)" : "");
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (ai->ai_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr, addr, sizeof addr);
		else
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr, addr, sizeof addr);
		last = net_try(fd, ai, timeout_ms);
		if (last == 0) {
			/* Each command group and body block leaves in one write; no
			 * Nagle delay behind them. */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			t->fd = fd;
			t->ops = &net_ops;
			t->fail = OUTCOME_OK;
			snprintf(t->peer, sizeof t->peer, "%s", host);
			freeaddrinfo(res);
			return 0;
		}
		close(fd);
	}
	freeaddrinfo(res);
	*fail = last == EMFILE || last == ENFILE || last == ENOMEM ? OUTCOME_OSERR : OUTCOME_TEMPFAIL;
	snprintf(err, errlen, "cannot connect to %s port %s%s%s%s: %s", host, port,
		 addr[0] ? " (last tried " : "", addr, addr[0] ? ")" : "",
		 last == ETIMEDOUT ? "connection timed out" : strerror(last));
	return -1;
}
