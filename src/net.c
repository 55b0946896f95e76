/* net.c: the plain TCP transport: name resolution, connecting to each
 * address in turn with a deadline, the SOCKS5 handshake through a proxy
 * (proxy.c decides, this moves the bytes), non-blocking reads and writes. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "proxy.h"
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

bool net_addr_is_loopback(const struct sockaddr *sa, socklen_t len)
{
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* Open a TCP connection to HOST:PORT (the mail host, or the proxy when
 * PROXY), trying each address in turn. Returns the fd, or -1 with *FAIL
 * and ERR set. */
static int net_dial(const char *host, const char *port, bool proxy, int timeout_ms,
		    enum outcome *fail, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc, last = 0, one = 1;
	char addr[INET6_ADDRSTRLEN] = "";
	const char *what = proxy ? "the proxy " : "";

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
		/* A proxy that cannot be found is one that cannot be reached:
		 * NOHOST is about the mail host's name. */
		*fail = rc == EAI_AGAIN ? OUTCOME_TEMPFAIL
		      : rc == EAI_SERVICE ? OUTCOME_CONFIG
		      : (rc == EAI_NONAME || rc == EAI_NODATA) ? (proxy ? OUTCOME_TEMPFAIL : OUTCOME_NOHOST)
		      : rc == EAI_SYSTEM ? OUTCOME_OSERR : OUTCOME_TEMPFAIL;
		snprintf(err, errlen, "cannot resolve %shost name %s: %s%s", proxy ? "the proxy's " : "",
			 host, gai_strerror(rc), rc == EAI_AGAIN ? " (a temporary DNS failure)" : "");
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
			freeaddrinfo(res);
			return fd;
		}
		close(fd);
	}
	freeaddrinfo(res);
	*fail = last == EMFILE || last == ENFILE || last == ENOMEM ? OUTCOME_OSERR : OUTCOME_TEMPFAIL;
	snprintf(err, errlen, "cannot connect to %s%s port %s%s%s%s: %s", what, host, port,
		 addr[0] ? " (last tried " : "", addr, addr[0] ? ")" : "",
		 last == ETIMEDOUT ? "connection timed out" : strerror(last));
	return -1;
}

/* Wait until FD is ready for EV or DEADLINE passes. 1 ready, 0 timed out,
 * -1 error (errno). */
static int net_wait(int fd, short ev, long deadline)
{
	struct pollfd pfd = { fd, ev, 0 };

	for (;;) {
		long left = deadline - net_now_ms();
		int r;
		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r > 0;
	}
}

/* Ask the proxy on FD for a tunnel to TO's host (RFC 1928). 0, or -1 with
 * *FAIL and a reason in WHY. */
static int net_socks(int fd, const struct net_target *to, enum outcome *fail, char *why, size_t whylen)
{
	struct proxy p;
	unsigned char ip[16], buf[sizeof p.in];
	size_t iplen = 0, off = 0;
	long deadline = net_now_ms() + to->timeout_ms;
	unsigned long port;
	char *end;
	int r = -1;

	errno = 0;
	port = strtoul(to->port, &end, 10);
	if (errno != 0 || *end != '\0' || end == to->port) {
		*fail = OUTCOME_CONFIG;
		snprintf(why, whylen, "the port must be a number to go to a SOCKS5 proxy, not '%s'", to->port);
		goto out;
	}
	if (inet_pton(AF_INET, to->host, ip) == 1)
		iplen = 4;
	else if (inet_pton(AF_INET6, to->host, ip) == 1)
		iplen = 16;
	if (proxy_init(&p, to->host, iplen > 0 ? ip : NULL, iplen, (unsigned)(port > 65535 ? 0 : port),
		       why, whylen) != 0) {
		*fail = OUTCOME_CONFIG;
		goto out;
	}
	for (;;) {
		enum proxy_step step = proxy_next(&p);
		const unsigned char *o;
		size_t len;
		ssize_t n;
		int w;

		if (step == PROXY_DONE)
			break;
		if (step == PROXY_FAIL) {
			*fail = proxy_fail(&p);
			snprintf(why, whylen, "%s", proxy_error(&p));
			goto out;
		}
		w = net_wait(fd, step == PROXY_WRITE ? POLLOUT : POLLIN, deadline);
		if (w <= 0) {
			*fail = OUTCOME_TEMPFAIL;
			if (w == 0)
				snprintf(why, whylen, "the proxy did not answer within %d second%s",
					 (to->timeout_ms + 999) / 1000, to->timeout_ms > 1000 ? "s" : "");
			else
				snprintf(why, whylen, "%s", strerror(errno));
			goto out;
		}
		if (step == PROXY_WRITE) {
			o = proxy_output(&p, &len);
			do
				n = send(fd, o + off, len - off, MSG_NOSIGNAL);
			while (n < 0 && errno == EINTR);
			if (n > 0 && (off += (size_t)n) == len) {
				off = 0;
				proxy_sent(&p);
			}
		} else {
			/* exactly what the reply still needs: the host's first
			 * bytes stay in the socket for the session */
			do
				n = recv(fd, buf, proxy_want(&p), 0);
			while (n < 0 && errno == EINTR);
			if (n >= 0)
				proxy_input(&p, buf, (size_t)n);
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			*fail = OUTCOME_TEMPFAIL;
			snprintf(why, whylen, "%s", strerror(errno));
			goto out;
		}
	}
	r = 0;
out:
	return r;
}

int net_connect(const struct net_target *to, struct transport *t, enum outcome *fail, char *err,
		size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char why[KURIER_ERRLEN];
	int fd = -1, r = -1;

	memset(t, 0, sizeof *t);
	t->fd = -1;
	if (to->proxy_host == NULL) {
		if ((fd = net_dial(to->host, to->port, false, to->timeout_ms, fail, err, errlen)) < 0)
			goto out;
		/* Whether this is the machine itself (where AUTH may go without
		 * TLS) is decided by the address connected to, never by how the
		 * host name is spelled. */
		t->loopback = getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
			      net_addr_is_loopback((struct sockaddr *)&ss, sl);
	} else {
		if ((fd = net_dial(to->proxy_host, to->proxy_port, true, to->timeout_ms, fail, err,
				   errlen)) < 0)
			goto out;
		if (net_socks(fd, to, fail, why, sizeof why) != 0) {
			snprintf(err, errlen, "cannot connect to %s port %s through the proxy %s port %s: %s",
				 to->host, to->port, to->proxy_host, to->proxy_port, why);
			goto out;
		}
		/* Where the proxy's tunnel ends is not known here: never loopback. */
		t->loopback = false;
	}
	t->fd = fd;
	fd = -1;
	t->ops = &net_ops;
	t->fail = OUTCOME_OK;
	snprintf(t->peer, sizeof t->peer, "%s", to->host);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}
