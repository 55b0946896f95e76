/* proxy.c: the SOCKS5 client handshake (RFC 1928) over bytes: method
 * negotiation without authentication, then CONNECT. Never touches a socket
 * and never reads past the proxy's reply. */
#include <stdio.h>
#include <string.h>

#include "proxy.h"

enum proxy_state {
	PS_GREETING,   /* method offer to send */
	PS_METHOD,     /* reading the method choice: VER METHOD */
	PS_CONNECT,    /* CONNECT request to send */
	PS_REPLY,      /* reading VER REP RSV ATYP */
	PS_NAMELEN,    /* reading the length of a bound name (ATYP 3) */
	PS_BOUND,      /* reading the bound address and port */
	PS_DONE,
	PS_FAIL,
	PS_COUNT
};

static const char *const proxy_state_names[] = {
	"greeting", "method", "connect", "reply", "name length", "bound address", "done", "failed",
};
_Static_assert(sizeof proxy_state_names / sizeof proxy_state_names[0] == PS_COUNT,
	       "a name for every proxy state");

#define SOCKS_VERSION 5
#define SOCKS_NO_AUTH 0x00      /* RFC 1928 3 */
#define SOCKS_NO_METHOD 0xff
#define SOCKS_CONNECT 1         /* RFC 1928 4 */
#define SOCKS_ATYP_IPV4 1
#define SOCKS_ATYP_NAME 3
#define SOCKS_ATYP_IPV6 4

/* The one place the state changes; the next part needs NEED bytes. */
static void proxy_set(struct proxy *p, enum proxy_state s, size_t need)
{
	p->state = (int)s;
	p->have = 0;
	p->need = need;
}

/* Fail with WHY, and what the proxy sent: "(SOCKS5 DETAIL CODE)". */
static void proxy_failed(struct proxy *p, enum outcome o, const char *why, const char *detail,
			 unsigned code)
{
	snprintf(p->err, sizeof p->err, "%s (SOCKS5 %s %u)", why, detail, code);
	p->fail = o;
	p->outlen = 0;
	proxy_set(p, PS_FAIL, 0);
}

const char *proxy_reply_text(unsigned rep)
{
	/* RFC 1928 6, in the words a user needs */
	static const char *const text[] = {
		"succeeded",
		"the proxy failed (general SOCKS server failure)",
		"the proxy's rules do not allow this connection",
		"the proxy could not reach the host: network unreachable",
		"the proxy could not reach the host: host unreachable",
		"the proxy could not reach the host: connection refused",
		"the proxy could not reach the host: TTL expired",
		"the proxy does not support the CONNECT command",
		"the proxy does not support this address type",
	};
	return rep < sizeof text / sizeof text[0] ? text[rep] : "the proxy refused with an unknown reply code";
}

int proxy_init(struct proxy *p, const char *host, const unsigned char *ip, size_t iplen,
	       unsigned port, char *err, size_t errlen)
{
	size_t n = strlen(host), o = 0;

	memset(p, 0, sizeof *p);
	if (n == 0 || n > PROXY_HOST_MAX || (ip != NULL && iplen != 4 && iplen != 16)) {
		snprintf(err, errlen, "the host name '%.64s%s' cannot go to a SOCKS5 proxy: it must be "
			 "1 to %d octets long", host, n > 64 ? "..." : "", PROXY_HOST_MAX);
		return -1;
	}
	if (port == 0 || port > 65535) {
		snprintf(err, errlen, "port %u cannot go to a SOCKS5 proxy", port);
		return -1;
	}
	memcpy(p->host, host, n + 1);
	p->port = port;
	p->fail = OUTCOME_OK;
	/* RFC 1928 4: VER CMD RSV ATYP DST.ADDR DST.PORT. The greeting is sent
	 * first and this waits for the method choice. */
	p->out[o++] = SOCKS_VERSION;
	p->out[o++] = SOCKS_CONNECT;
	p->out[o++] = 0;
	if (ip != NULL) {
		p->out[o++] = iplen == 4 ? SOCKS_ATYP_IPV4 : SOCKS_ATYP_IPV6;
		memcpy(p->out + o, ip, iplen);
		o += iplen;
	} else {
		p->out[o++] = SOCKS_ATYP_NAME;
		p->out[o++] = (unsigned char)n;
		memcpy(p->out + o, host, n);
		o += n;
	}
	p->out[o++] = (unsigned char)(port >> 8);
	p->out[o++] = (unsigned char)(port & 0xff);
	p->outlen = o;
	proxy_set(p, PS_GREETING, 0);
	return 0;
}

enum proxy_step proxy_next(const struct proxy *p)
{
	switch ((enum proxy_state)p->state) {
	case PS_GREETING:
	case PS_CONNECT:
		return PROXY_WRITE;
	case PS_METHOD:
	case PS_REPLY:
	case PS_NAMELEN:
	case PS_BOUND:
		return PROXY_READ;
	case PS_DONE:
		return PROXY_DONE;
	case PS_FAIL:
	case PS_COUNT:
		break;
	}
	return PROXY_FAIL;
}

const unsigned char *proxy_output(const struct proxy *p, size_t *len)
{
	/* RFC 1928 3: VER NMETHODS METHODS; only "no authentication" */
	static const unsigned char greeting[] = { SOCKS_VERSION, 1, SOCKS_NO_AUTH };

	if (p->state == PS_GREETING) {
		*len = sizeof greeting;
		return greeting;
	}
	*len = p->state == PS_CONNECT ? p->outlen : 0;
	return p->out;
}

void proxy_sent(struct proxy *p)
{
	if (p->state == PS_GREETING)
		proxy_set(p, PS_METHOD, 2);
	else if (p->state == PS_CONNECT)
		proxy_set(p, PS_REPLY, 4);
}

size_t proxy_want(const struct proxy *p)
{
	return proxy_next(p) == PROXY_READ ? p->need - p->have : 0;
}

/* A part of the reply is complete in p->in: judge it. */
static void proxy_on_part(struct proxy *p)
{
	const unsigned char *b = p->in;

	switch ((enum proxy_state)p->state) {
	case PS_METHOD:
		if (b[0] != SOCKS_VERSION)
			proxy_failed(p, OUTCOME_PROTOCOL, "the proxy does not speak SOCKS5", "answer with version",
				     b[0]);
		else if (b[1] == SOCKS_NO_METHOD)
			proxy_failed(p, OUTCOME_TEMPFAIL, "the proxy requires authentication, which kurier "
				     "does not offer", "method", b[1]);
		else if (b[1] != SOCKS_NO_AUTH)
			proxy_failed(p, OUTCOME_PROTOCOL, "the proxy chose a method kurier did not offer",
				     "method", b[1]);
		else
			proxy_set(p, PS_CONNECT, 0);
		break;
	case PS_REPLY:
		/* RFC 1928 6: VER REP RSV ATYP BND.ADDR BND.PORT. A refusal may
		 * be cut short by the proxy closing: judge REP before the rest. */
		if (b[0] != SOCKS_VERSION)
			proxy_failed(p, OUTCOME_PROTOCOL, "the proxy does not speak SOCKS5", "answer with version",
				     b[0]);
		else if (b[1] != 0)
			proxy_failed(p, OUTCOME_TEMPFAIL, proxy_reply_text(b[1]), "reply", b[1]);
		else if (b[3] == SOCKS_ATYP_IPV4)
			proxy_set(p, PS_BOUND, 4 + 2);
		else if (b[3] == SOCKS_ATYP_IPV6)
			proxy_set(p, PS_BOUND, 16 + 2);
		else if (b[3] == SOCKS_ATYP_NAME)
			proxy_set(p, PS_NAMELEN, 1);
		else
			proxy_failed(p, OUTCOME_PROTOCOL, "the proxy's reply has an unknown address type",
				     "address type", b[3]);
		break;
	case PS_NAMELEN:
		proxy_set(p, PS_BOUND, (size_t)b[0] + 2);
		break;
	case PS_BOUND:
		proxy_set(p, PS_DONE, 0);
		break;
	case PS_GREETING:
	case PS_CONNECT:
	case PS_DONE:
	case PS_FAIL:
	case PS_COUNT:
		break;
	}
}

void proxy_input(struct proxy *p, const unsigned char *buf, size_t n)
{
	size_t want = proxy_want(p);

	if (want == 0)
		return;
	if (n == 0) {
		snprintf(p->err, sizeof p->err, "the proxy closed the connection during the SOCKS5 "
			 "handshake (waiting for its %s)", proxy_state_names[p->state]);
		p->fail = OUTCOME_TEMPFAIL;
		proxy_set(p, PS_FAIL, 0);
		return;
	}
	if (n > want)
		n = want;
	memcpy(p->in + p->have, buf, n);
	p->have += n;
	if (p->have == p->need)
		proxy_on_part(p);
}

enum outcome proxy_fail(const struct proxy *p)
{
	return p->fail;
}

const char *proxy_error(const struct proxy *p)
{
	return p->err;
}
