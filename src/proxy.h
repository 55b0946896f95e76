/* proxy.h: the SOCKS5 client handshake (RFC 1928, "no authentication
 * required" only) as a state machine over bytes. Pure: no sockets, no
 * clock; net.c moves the bytes and owns the deadline. */
#ifndef KURIER_PROXY_H
#define KURIER_PROXY_H

#include "common.h"
#include "outcome.h"

#define PROXY_HOST_MAX 255 /* RFC 1928 5: the name's length is one octet */

enum proxy_step {
	PROXY_WRITE, /* send all of proxy_output(), then proxy_sent() */
	PROXY_READ,  /* read at most proxy_want() bytes, give them to proxy_input() */
	PROXY_DONE,  /* the tunnel to the host is open: what follows is the host's */
	PROXY_FAIL,  /* refused or broken: proxy_fail() and proxy_error() say why */
};

struct proxy {
	int state;                  /* private: enum in proxy.c */
	unsigned char out[7 + PROXY_HOST_MAX]; /* the request waiting to be sent */
	size_t outlen;
	unsigned char in[4 + 1 + PROXY_HOST_MAX + 2]; /* the reply being read */
	size_t have, need;          /* bytes in IN, bytes the current part needs */
	enum outcome fail;          /* OUTCOME_OK until PROXY_FAIL */
	char err[KURIER_ERRLEN];    /* why, in words, after "the proxy ..." */
	char host[PROXY_HOST_MAX + 1]; /* the destination, for messages */
	unsigned port;
};

/* Start a handshake asking for a tunnel to HOST port PORT. IP (4 or 16
 * bytes, or NULL) is HOST as an address when HOST is an IP literal; else
 * HOST goes to the proxy as a name (address type 3), so the proxy resolves
 * it and no local DNS query happens. Returns 0, or -1 with ERR set (a host
 * name longer than 255 octets, port 0 or above 65535: OUTCOME_CONFIG). */
int proxy_init(struct proxy *p, const char *host, const unsigned char *ip, size_t iplen,
	       unsigned port, char *err, size_t errlen);

/* What the caller does next. */
enum proxy_step proxy_next(const struct proxy *p);

/* In PROXY_WRITE: the bytes to send. */
const unsigned char *proxy_output(const struct proxy *p, size_t *len);
/* All of proxy_output() went out. */
void proxy_sent(struct proxy *p);

/* In PROXY_READ: how many bytes the reply still needs (> 0). Reading more
 * would swallow the host's first bytes (the SMTP greeting). */
size_t proxy_want(const struct proxy *p);
/* Feed N bytes (1 <= N <= proxy_want()) of the proxy's reply; N = 0 means
 * the proxy closed the connection. */
void proxy_input(struct proxy *p, const unsigned char *buf, size_t n);

/* After PROXY_FAIL: the outcome (TEMPFAIL for a refusal or a closed
 * connection, PROTOCOL for a reply that is not SOCKS5) and the reason. */
enum outcome proxy_fail(const struct proxy *p);
const char *proxy_error(const struct proxy *p);

/* The reason for SOCKS5 reply code REP (RFC 1928 6), e.g. "the proxy
 * could not reach the host: connection refused". */
const char *proxy_reply_text(unsigned rep);

#endif
