/* transport.h: the byte pipe under the SMTP engine. Plain TCP (net.c),
 * directly or through a SOCKS5 proxy, implements it; a TLS transport is
 * layered on the same interface.
 * All operations are non-blocking: the session's poll loop owns time. */
#ifndef KURIER_TRANSPORT_H
#define KURIER_TRANSPORT_H

#include <sys/socket.h>
#include <sys/types.h>

#include "common.h"
#include "outcome.h"

#define TR_AGAIN (-2) /* read/write would block: poll for transport_events() */

struct transport;

struct transport_ops {
	const char *name;
	/* > 0 bytes moved, 0 on orderly EOF (read only), -1 on error with
	 * t->err set, TR_AGAIN when it would block. */
	ssize_t (*read)(struct transport *t, void *buf, size_t len);
	ssize_t (*write)(struct transport *t, const void *buf, size_t len);
	/* poll(2) events to wait for on t->fd before retrying an operation in
	 * direction WANT (POLLIN or POLLOUT); TLS may need the other one. */
	short (*events)(struct transport *t, short want);
	/* true when read() would return data without the fd being readable. */
	bool (*pending)(struct transport *t);
	void (*close)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	int fd;
	enum outcome fail;           /* classification of the last error */
	char err[KURIER_ERRLEN];     /* what the last error was */
	char peer[128];              /* "host [address]:port", for messages */
	bool loopback;               /* the connected peer is this machine (127.0.0.0/8,
	                                ::1) and no proxy stands between */
	void *impl;                  /* the implementation's own state */
};

struct net_target {
	const char *host;       /* the mail host: a name or an address literal */
	const char *port;       /* its port (a number when a proxy is used) */
	const char *proxy_host; /* NULL: connect directly; else a SOCKS5 proxy */
	const char *proxy_port; /* the proxy's port */
	int timeout_ms;         /* for each address tried, and for the proxy's answers */
};

/* Connect to TO's host and port. Directly: every address getaddrinfo
 * returns is tried in turn, each for at most TO->timeout_ms. Through a
 * proxy: only the proxy's name is resolved here; the host goes to it by
 * name (RFC 1928, no authentication) and the handshake must finish within
 * TO->timeout_ms; there is never a direct connection around it. On success
 * returns 0 and T is ready (TCP NODELAY, non-blocking, T->loopback set).
 * On failure returns -1, ERR says what happened and *FAIL classifies it:
 * NOHOST (the mail host's name does not exist), TEMPFAIL (refused,
 * unreachable, timed out; a proxy that refused or failed), PROTOCOL (the
 * proxy does not speak SOCKS5), CONFIG, OSERR. */
int net_connect(const struct net_target *to, struct transport *t, enum outcome *fail, char *err,
		size_t errlen);

/* true when SA is an address of this machine: 127.0.0.0/8, ::1, or
 * ::ffff:127.0.0.0/104. */
bool net_addr_is_loopback(const struct sockaddr *sa, socklen_t len);

static inline ssize_t transport_read(struct transport *t, void *buf, size_t len)
{
	return t->ops->read(t, buf, len);
}

static inline ssize_t transport_write(struct transport *t, const void *buf, size_t len)
{
	return t->ops->write(t, buf, len);
}

static inline short transport_events(struct transport *t, short want)
{
	return t->ops->events(t, want);
}

static inline bool transport_pending(struct transport *t)
{
	return t->ops->pending(t);
}

static inline void transport_close(struct transport *t)
{
	if (t->ops != NULL)
		t->ops->close(t);
	t->ops = NULL;
}

#endif
