/* auth.h: SMTP authentication mechanisms: which one to use, and each step
 * of it. libgsasl runs CRAM-MD5, DIGEST-MD5, GSSAPI and EXTERNAL; PLAIN and
 * LOGIN are done here (libgsasl leaves copies of the password in freed
 * memory), as are SCRAM (with channel binding) and the OAuth 2 mechanisms
 * XOAUTH2 and OAUTHBEARER on GnuTLS's primitives, because libgsasl 2.2.0
 * cannot signal channel-binding support (y,,) and has no OAuth. Responses
 * are base64, and every buffer that held a secret is wiped before it is
 * freed. */
#ifndef KURIER_AUTH_H
#define KURIER_AUTH_H

#include "common.h"

struct auth_creds {
	const char *user;     /* authentication identity */
	const char *secret;   /* password or OAuth 2 bearer token */
	const char *host;     /* server name (GSSAPI, OAUTHBEARER) */
	const char *port;     /* server port (OAUTHBEARER) */
	const char *nonce;    /* SCRAM client nonce; NULL: random (tests fix it) */
};

struct auth_binding {
	const char *type;            /* "tls-exporter" or "tls-unique", NULL when none */
	const unsigned char *data;
	size_t len;
	bool server_plus;            /* the server offered the mechanism's -PLUS variant */
};

/* AUTH_ERROR: stop at once, the server cannot be trusted (drop the
 * connection). AUTH_CANCEL: the client refuses to go on with a server
 * that may be honest but is set up unsafely: cancel the exchange with "*"
 * (RFC 4954 4) and QUIT. */
enum auth_status { AUTH_MORE, AUTH_DONE, AUTH_ERROR, AUTH_CANCEL };

/* The AUTH policy: credentials of any kind go only inside TLS, or to this
 * machine (LOOPBACK: the connected address is 127.0.0.0/8 or ::1). Through
 * a proxy (PROXIED) the end of the tunnel cannot be seen, so only TLS
 * counts. Returns true, or false with ERR saying what to change. */
bool auth_may_send(bool tls, bool loopback, bool proxied, char *err, size_t errlen);

/* Pick the mechanism. CONFIGURED is "ON" (strongest both sides offer:
 * SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-1, PLAIN,
 * LOGIN) or a mechanism name (used only if offered); OFFERED the server's
 * list. PLAIN and LOGIN only when SECURE (TLS or loopback), -PLUS only with
 * a binding. Returns the name, or NULL with ERR. */
const char *auth_choose(const char *configured, const char *offered, bool secure,
			bool have_binding, char *err, size_t errlen);

struct auth;

/* Start MECH. The strings in C and B are copied. NULL with ERR when the
 * mechanism is unknown or cannot start. */
struct auth *auth_new(const char *mech, const struct auth_creds *c, const struct auth_binding *b,
		      char *err, size_t errlen);
/* The initial response (RFC 4954) in *OUT (base64, "" for an empty one),
 * or NULL when the mechanism waits for the server to speak first. */
int auth_initial(struct auth *a, char **out, char *err, size_t errlen);
/* Answer the base64 CHALLENGE; *OUT is the base64 response. AUTH_ERROR:
 * ERR says why (e.g. a wrong SCRAM server signature): stop, do not answer.
 * AUTH_CANCEL: ERR says why (a SCRAM iteration count below 4096, a
 * mandatory extension): answer "*", and auth_failure_hint() says what to do. */
enum auth_status auth_step(struct auth *a, const char *challenge, char **out, char *err, size_t errlen);
/* The server has proven itself (SCRAM) or cannot (the other mechanisms). */
bool auth_verified(const struct auth *a);
/* An OAuth 2 error the server sent (decoded JSON), or NULL. */
const char *auth_server_error(const struct auth *a);
/* What to do about the failure auth_step() decided on the client's side,
 * or NULL when the server refused (then auth_refusal_hint). */
const char *auth_failure_hint(const struct auth *a);
/* What to check when a login with mechanism MECH is refused. */
const char *auth_refusal_hint(const char *mech);

/* The version of libgsasl in use, for --version. */
const char *auth_library_version(void);
void auth_free(struct auth *a);

#endif
