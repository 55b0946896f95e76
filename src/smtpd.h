/* smtpd.h: the server side of SMTP (RFC 5321) for -bs: client bytes in,
 * reply bytes, message data and the envelope out. Pure: no I/O, no clock,
 * no global state; the driver owns stdio, the spool and the submission. */
#ifndef KURIER_SMTPD_H
#define KURIER_SMTPD_H

#include "common.h"
#include "address.h"

#define SMTPD_LINE_MAX 512       /* RFC 5321 4.5.3.1.4: a command line with CRLF */
#define SMTPD_RCPTS_MAX 100      /* RFC 5321 4.5.3.1.8: the least a server must take */
#define SMTPD_READ_MAX 65536     /* bytes one smtpd_feed() after SMTPD_READ always takes */
#define SMTPD_DATA_CHUNK 16384   /* most message bytes handed out at once */
#define SMTPD_OUT_FLUSH 4096     /* replies pending past this go out mid-group */
#define SMTPD_VERDICT_LINES 8    /* lines of an upstream text passed back */

struct smtpd_params {
	const char *hostname;     /* greeting and EHLO name; copied; NULL: "localhost" */
	uint64_t size_max;        /* SIZE to advertise and enforce; 0: no limit */
	size_t rcpts_max;         /* recipients per message; 0: SMTPD_RCPTS_MAX */
	size_t line_max;          /* command line with CRLF; 0 (or less than
				     SMTPD_LINE_MAX): SMTPD_LINE_MAX. MAIL and RCPT get
				     the room their extensions add on top */
	bool one_notify;          /* the messages go on with one NOTIFY for all their
				     recipients: a RCPT whose NOTIFY (or its absence)
				     differs from the first recipient's is deferred with
				     452 to a further transaction */
};

enum smtpd_body {
	SMTPD_BODY_NONE,          /* no BODY= parameter */
	SMTPD_BODY_7BIT,          /* BODY=7BIT */
	SMTPD_BODY_8BITMIME,      /* BODY=8BITMIME (RFC 6152) */
};

struct smtpd_rcpt {
	char *addr;               /* forward-path without <>; addr_check()ed; a bare
				     local part ("postmaster") is left to the driver */
	char *notify;             /* NOTIFY= value upper-cased ("NEVER", "SUCCESS,FAILURE"), or NULL */
	char *orcpt;              /* ORCPT= value as sent ("rfc822;a+2Bb@x"; RFC 3461
				     4.2: relayed unchanged), or NULL */
};

/* One mail transaction; valid from the MAIL reply until smtpd_verdict()
 * (or the end of a dropped or aborted message). */
struct smtpd_envelope {
	char *from;               /* reverse-path without <>; "" is the null sender */
	bool has_size;
	uint64_t size;            /* SIZE= the client declared (RFC 1870) */
	enum smtpd_body body;
	bool smtputf8;            /* SMTPUTF8 (RFC 6531) */
	char *ret;                /* RET= FULL or HDRS (upper case), or NULL */
	char *envid;              /* ENVID= xtext-decoded (RFC 3461 4.4), or NULL */
	struct smtpd_rcpt *rcpt;  /* accepted recipients, in order */
	size_t nrcpt;
};

enum smtpd_action {
	SMTPD_WRITE,         /* write smtpd_output(), then call smtpd_output_sent() */
	SMTPD_READ,          /* read client bytes and smtpd_feed() them (smtpd_eof() on EOF) */
	SMTPD_MESSAGE_DATA,  /* append smtpd_message_data() to the spool, then smtpd_message_taken() */
	SMTPD_MESSAGE_END,   /* the end of data arrived: submit or queue the message
				with smtpd_envelope(), then smtpd_verdict() */
	SMTPD_MESSAGE_DROP,  /* the engine refused the message it streamed (over the
				SIZE limit) and answered the client itself: discard the spool */
	SMTPD_DONE,          /* QUIT answered or the input ended: check smtpd_aborted() */
};

struct smtpd;

/* A new session; its greeting (220) is the first output. */
struct smtpd *smtpd_new(const struct smtpd_params *p);
void smtpd_free(struct smtpd *s);

/* What the driver does next. Commands are answered in the order they
 * came; the replies to a pipelined group (RFC 2920) are held until the
 * input holds no further complete command line (or SMTPD_OUT_FLUSH bytes
 * are pending), so a pipelining client gets one write per group. */
enum smtpd_action smtpd_next(struct smtpd *s);

/* Client bytes, any split. Returns how many were taken: all of them, up
 * to SMTPD_READ_MAX, when called after SMTPD_READ; fewer only when the
 * driver feeds beyond that (the input buffer has a fixed maximum). */
size_t smtpd_feed(struct smtpd *s, const char *buf, size_t len);
/* The client's input ended. What was fed before is still answered. */
void smtpd_eof(struct smtpd *s);

/* Reply bytes to write (SMTPD_WRITE); unchanged until smtpd_output_sent(). */
void smtpd_output(const struct smtpd *s, const char **buf, size_t *len);
void smtpd_output_sent(struct smtpd *s);

/* The next piece of the message (SMTPD_MESSAGE_DATA), at most
 * SMTPD_DATA_CHUNK bytes: dot-stuffing removed (RFC 5321 4.5.2), line
 * ends as received (CRLF, and any bare LF or CR passed on as it came),
 * without the final ".\r\n". Unchanged until smtpd_message_taken(). */
void smtpd_message_data(const struct smtpd *s, const char **buf, size_t *len);
void smtpd_message_taken(struct smtpd *s);

/* The transaction in progress (after SMTPD_MESSAGE_END: the message's). */
const struct smtpd_envelope *smtpd_envelope(const struct smtpd *s);

/* The result of the submission of the message that SMTPD_MESSAGE_END
 * announced: CODE 250 once it is accepted upstream or safely queued;
 * otherwise the upstream's 4xx or 5xx with its enhanced code (ENH, "" or
 * NULL for none) and TEXT (lines joined by '\n'; NULL for a default).
 * The reply passed to the client keeps the code's class: a code that is
 * not a valid reply becomes 451 4.3.0, an ENH of another class is
 * replaced, control and 8-bit octets in TEXT become '?', each line is cut
 * to fit 512 octets and at most SMTPD_VERDICT_LINES lines are kept. The
 * envelope is then reset for a next message (RFC 5321 4.1.1.4). */
void smtpd_verdict(struct smtpd *s, int code, const char *enh, const char *text);

/* true when the input ended inside a message's data (before its final
 * ".\r\n"): the driver must not submit that message. */
bool smtpd_aborted(const struct smtpd *s);
/* Messages whose end of data was answered with a 2xx verdict. */
unsigned smtpd_messages(const struct smtpd *s);
/* Name of the state the engine is in, for traces. */
const char *smtpd_state_name(const struct smtpd *s);

#endif
