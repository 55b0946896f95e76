/* outcome.h: every way a run can end, and the one table that maps each to a
 * sysexits(3) code, a label and a hint. Pure. */
#ifndef KURIER_OUTCOME_H
#define KURIER_OUTCOME_H

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

/* Classify a server reply CODE (with enhanced code ENH, may be "") to STEP
 * that is not the success the client waited for: 4xx is always
 * OUTCOME_TEMPFAIL; 5xx depends on the step (RCPT: NOUSER; size or 8-bit
 * refusals: DATAERR; AUTH: NOPERM; else UNAVAILABLE); anything else (a 2xx
 * or 3xx out of place) is OUTCOME_PROTOCOL. */
enum outcome outcome_from_reply(enum outcome_step step, int code, const char *enh);

/* The more severe of two outcomes for a run with several failures: a
 * permanent failure beats a temporary one, anything beats OK. */
enum outcome outcome_worse(enum outcome a, enum outcome b);

#endif
