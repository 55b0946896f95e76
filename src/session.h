/* session.h: the driver. Runs the SMTP engine over a transport with
 * deadlines, streams the spooled message, writes the transcript and turns
 * the engine's result into messages and one outcome. */
#ifndef KURIER_SESSION_H
#define KURIER_SESSION_H

#include "common.h"
#include "diag.h"
#include "outcome.h"
#include "smtp.h"
#include "spool.h"
#include "tls.h"

struct session_conf {
	const char *account;      /* account name, for messages */
	const char *config_path;  /* the file it came from, for hints */
	const char *host;
	const char *port;         /* service name or number */
	const char *proxy_host;   /* NULL, or the SOCKS5 proxy that reaches host */
	const char *proxy_port;   /* its port */
	const char *ehlo_name;    /* EHLO argument */
	int timeout_s;            /* 0: the RFC 5321 timeouts per step */
	bool serverinfo;          /* --serverinfo: print greeting and capabilities */
	enum session_tls {
		SESSION_TLS_OFF,      /* plain SMTP: the account says tls off */
		SESSION_TLS_STARTTLS, /* RFC 3207, required: no AUTH or MAIL without it */
		SESSION_TLS_IMPLICIT, /* RFC 8314: TLS from the first byte */
	} tls;
	const struct tls_conf *tls_conf; /* when tls is not off */
	const char *auth;         /* "ON", a mechanism, or NULL: no AUTH */
	const char *user;         /* authentication identity */
	const char *secret;       /* password or token; never logged */
	size_t longest_body_line; /* octets, to explain a refused end of data */
};

/* What a submission did, for the log line (logfile, syslog). */
struct session_facts {
	char tls[192];        /* "TLS1.3 (cipher)" or "off" */
	char auth[128];       /* "MECH user=U" or "off" */
	char reply[1024];     /* the reply that decided the outcome, every line, joined
				 by " / " (cut at this size) */
	int code;             /* a refusal: its reply code, else 0 */
	char enh[16];         /* ... its enhanced status code, or "" */
	char text[1024];      /* ... its lines joined by '\n' (cut at this size) */
};

/* Submit the spooled message with envelope ENV (NULL for serverinfo).
 * Prints every failure as "kurier: HOST: COMMAND: REPLY; hint", fills
 * FACTS when it is not NULL, and returns the outcome. A batch of one
 * message (session_run_batch). */
enum outcome session_run(const struct session_conf *c, const struct smtp_envelope *env,
			 struct spool *msg, struct diag *d, struct session_facts *facts);

/* One message of a batch. C's longest_body_line is not used for it. */
struct session_item {
	const struct smtp_envelope *env;   /* in */
	struct spool *msg;                 /* in: sealed, rewindable (spool_rewind) */
	size_t longest_body_line;          /* in: for the "line over 998" explanation */
	enum outcome outcome;              /* out: OUTCOME_OK = 250 to its end of data */
	bool begun;                        /* out: false = the session ended before this
					      message's turn (its MAIL, or the engine's own
					      refusal of its envelope) */
	struct session_facts facts;        /* out: tls, auth, the reply that decided it */
};

/* Called as soon as item I's outcome is known: the queue removes an entry
 * right after its 250, so a crash later in the session cannot send it
 * twice. In item order, exactly once per item. With PIPELINING the next
 * item's MAIL group may already be on its way behind I's end of data
 * (RFC 2920 3.1); DONE for I still comes first, right after I's end of
 * data is answered, before any reply of the next item is acted on. */
typedef void session_item_done_fn(void *ctx, struct session_item *item, size_t i);

/* Send ITEMS[0..N) in order over one connection and one authentication
 * (RFC 5321 3.3). Every item ends up with an outcome; a refusal of one
 * message (MAIL, RCPT, DATA, end of data, or its envelope refused by the
 * engine) fails that message alone. Items not begun get the outcome that
 * ended the session (connect failure, TLS, AUTH, 421, timeout, EOF, the
 * RFC 2920 trap) with begun=false, and DONE (may be NULL) is called for
 * them too, in order. Each failure is printed as session_run prints it;
 * when N > 1 a message's lines name it ("HOST: message K of N: COMMAND:
 * ..."), the session's own failure is printed once, and one line counts
 * the messages not begun. Reply deadlines are per reply; the overall
 * limit of an hour is per message (the first shares its hour with the
 * connection, greeting and AUTH). Returns the worst outcome of the
 * session itself: OK when it reached QUIT (or its end after the last
 * message), else what ended it. */
enum outcome session_run_batch(const struct session_conf *c, struct session_item *items, size_t n,
			       session_item_done_fn *done, void *ctx, struct diag *d);

#endif
