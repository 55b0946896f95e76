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
};

/* Submit the spooled message with envelope ENV (NULL for serverinfo).
 * Prints every failure as "kurier: HOST: COMMAND: REPLY; hint", fills
 * FACTS when it is not NULL, and returns the outcome. */
enum outcome session_run(const struct session_conf *c, const struct smtp_envelope *env,
			 struct spool *msg, struct diag *d, struct session_facts *facts);

#endif
