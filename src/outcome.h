/* outcome.h: every way a run can end, and the one table that maps each to a
 * sysexits(3) code, a label and a hint. Pure. */
#ifndef KURIER_OUTCOME_H
#define KURIER_OUTCOME_H

#include <stdbool.h>

enum outcome {
	OUTCOME_OK,          /* accepted for all recipients */
	OUTCOME_USAGE,       /* bad command line */
	OUTCOME_DATAERR,     /* bad input: no recipients, bad address, too large, 8-bit */
	OUTCOME_NOUSER,      /* a recipient was rejected permanently */
	OUTCOME_NOHOST,      /* the host name does not exist */
	OUTCOME_UNAVAILABLE, /* other permanent refusal by the server */
	OUTCOME_SOFTWARE,    /* internal error */
	OUTCOME_OSERR,       /* operating system error */
	OUTCOME_IOERR,       /* error reading the message */
	OUTCOME_TEMPFAIL,    /* temporary failure: try again later */
	OUTCOME_PROTOCOL,    /* the server broke the protocol */
	OUTCOME_NOPERM,      /* authentication refused */
	OUTCOME_CONFIG,      /* configuration error */
	OUTCOME_COUNT
};

struct outcome_info {
	enum outcome outcome;
	int code;            /* the exit status */
	const char *name;    /* EX_ name from sysexits.h */
	const char *meaning; /* one line, for the man page and --help */
};

/* The table row for O (never NULL for O < OUTCOME_COUNT). */
const struct outcome_info *outcome_info(enum outcome o);
int outcome_exit_code(enum outcome o);

/* Which protocol step a server reply answered; used to classify replies. */
enum outcome_step {
	STEP_CONNECT,
	STEP_GREETING,
	STEP_EHLO,
	STEP_STARTTLS,
	STEP_TLS,        /* the handshake itself */
	STEP_AUTH,
	STEP_MAIL,
	STEP_RCPT,
	STEP_DATA,
	STEP_EOD,
	STEP_OTHER
};

/* What the user should do about a failure; outcome_hint_text() says it. */
enum outcome_hint {
	HINT_NOT_SENT,      /* nothing to do but know: the message was not sent */
	HINT_TRY_LATER,     /* a temporary failure */
	HINT_RECIPIENT,     /* the recipient address is wrong */
	HINT_MAILBOX,       /* the recipient's mailbox cannot take it */
	HINT_SENDER,        /* the envelope sender is refused: -f or from */
	HINT_AUTH_REQUIRED, /* the server wants AUTH: auth, user, a password source */
	HINT_AUTH_REFUSED,  /* the credentials are wrong (details: auth_refusal_hint) */
	HINT_POLICY,        /* the server's policy refuses it */
	HINT_PROTOCOL,      /* the server does not speak SMTP correctly */
	HINT_COUNT
};

struct outcome_judgement {
	enum outcome outcome;
	enum outcome_hint hint;
};

/* THE judgement of a server reply that is not the success the client
 * waited for: STEP it answered, reply CODE, enhanced code ENH (RFC 3463,
 * "" or NULL when none) and TEXT (the reply's lines, NULL allowed). 4xx is
 * OUTCOME_TEMPFAIL; a 2xx or 3xx out of place is OUTCOME_PROTOCOL. For
 * 5xx: authentication required (530, X.7.0, X.7.57, or a text that says
 * authentication) at MAIL, RCPT or DATA is OUTCOME_NOPERM; too large or
 * unconvertible content is OUTCOME_DATAERR; a refused sender (X.1.7,
 * X.1.8, a text naming the sender, anything else at MAIL but policy) and
 * other X.7.x policy refusals are OUTCOME_UNAVAILABLE; at RCPT, X.1.x and
 * X.2.x and plain 550, 551 and 553 are OUTCOME_NOUSER; AUTH refusals are
 * OUTCOME_NOPERM; the rest OUTCOME_UNAVAILABLE. The hint always fits. */
struct outcome_judgement outcome_judge(enum outcome_step step, int code, const char *enh,
				       const char *text);

/* The hint for a failure that is no server reply (timeout, broken line). */
enum outcome_hint outcome_default_hint(enum outcome o);

/* One line of advice for H, lower case, no final stop (never NULL). */
const char *outcome_hint_text(enum outcome_hint h);

/* The more severe of two outcomes for a run with several failures: a
 * permanent failure beats a temporary one, anything beats OK. */
enum outcome outcome_worse(enum outcome a, enum outcome b);

/* Whether O may go away by itself: a 4xx, a connection refused, reset or
 * timed out, a temporary DNS failure, a TLS handshake cut off. Such a
 * message is worth a fallback account, the queue and a retry; any other
 * failure is the same on every try. */
bool outcome_is_temporary(enum outcome o);

#endif
