/* smtp.h: the SMTP client engine (RFC 5321, RFC 2920 pipelining). Pure: it
 * is fed server bytes, hands out command bytes and tells its driver what to
 * do next. No sockets, no clock, no global state. */
#ifndef KURIER_SMTP_H
#define KURIER_SMTP_H

#include "common.h"
#include "outcome.h"
#include "reply.h"

enum smtp_body {
	SMTP_BODY_AUTO,      /* BODY=8BITMIME when the message has 8-bit octets */
	SMTP_BODY_7BIT,      /* -B7BIT: the caller declares 7-bit content */
	SMTP_BODY_8BITMIME,  /* -B8BITMIME: the caller declares 8-bit MIME */
};

struct smtp_params {
	const char *ehlo_name;   /* EHLO argument; copied */
	bool starttls;           /* STARTTLS is required before anything else */
	bool serverinfo;         /* stop after EHLO: --serverinfo */
	bool auth;               /* authenticate (RFC 4954) before MAIL */
};

struct smtp_envelope {
	const char *from;              /* reverse-path without <>; "" is the null sender */
	const char *const *rcpt;       /* forward-paths without <> */
	size_t nrcpt;
	uint64_t size;                 /* canonical message size (RFC 1870 SIZE=) */
	bool eightbit;                 /* the message has octets >= 0x80 */
	bool smtputf8;                 /* the envelope or headers need SMTPUTF8 */
	enum smtp_body body;
	const char *dsn_notify;        /* NOTIFY= value, or NULL */
	const char *dsn_ret;           /* RET= value (FULL or HDRS), or NULL */
	const char *dsn_envid;         /* ENVID= value (raw; xtext-encoded here), or NULL */
	bool dsn_required;             /* refuse (69) instead of dropping DSN without it */
};

enum smtp_action {
	SMTP_WRITE,          /* send smtp_output(), then call smtp_output_sent() */
	SMTP_READ,           /* read server bytes and smtp_feed() them (smtp_eof() on EOF) */
	SMTP_NEED_ENVELOPE,  /* the session is ready for a message: smtp_begin() or
				smtp_begin_message(); after a message that was not
				the last, its smtp_result() is final here (a
				finishing one is settled before: smtp_take_finished) */
	SMTP_START_TLS,      /* run the TLS handshake, then smtp_tls_started() */
	SMTP_SEND_BODY,      /* send the dot-stuffed message, then smtp_body_done()
				or smtp_body_done_next() */
	SMTP_AUTH_BEGIN,     /* choose a mechanism from smtp_caps()->auth, then smtp_auth_begin() */
	SMTP_AUTH_STEP,      /* answer smtp_auth_challenge() with smtp_auth_respond() */
	SMTP_DONE,           /* finished (sent or cancelled politely): see smtp_result()
				and smtp_session_result() */
	SMTP_ABORT,          /* drop the connection now: as SMTP_DONE */
};

struct smtp_reject {
	size_t rcpt;         /* index into the envelope's recipients */
	int code;
	char enh[16];
	char *text;          /* every line of the reply, joined by '\n' */
	enum outcome_hint hint; /* what to do about it (outcome_judge) */
};

struct smtp_result {
	enum outcome outcome;
	enum outcome_step step;      /* where the first failure happened */
	char *command;               /* the command that failed, without CRLF, or NULL */
	int code;                    /* its reply code, 0 when no reply is involved */
	char enh[16];
	char *text;                  /* reply text (every line, joined by '\n') or what went wrong */
	enum outcome_hint hint;      /* what to do about it */
	struct smtp_reject *rejects; /* every refused recipient, in order */
	size_t nrejects;
	char *final_reply;           /* last reply to an end of data, its lines joined by
					" / ", e.g. "250 2.0.0 ok" */
	unsigned transactions;       /* mail transactions whose end of data was accepted */
	size_t delivered;            /* recipients accepted in those transactions */
	bool dsn_dropped;            /* DSN was asked for but the server lacks it */
};

struct smtp;

struct smtp *smtp_new(const struct smtp_params *p);
void smtp_free(struct smtp *s);

enum smtp_action smtp_next(struct smtp *s);

/* Most command bytes the engine queues for one write: a pipelined group
 * (RFC 2920) with more recipients goes out in several writes of about this
 * size. A single command line is always queued whole, so the queue holds
 * at most SMTP_GROUP_MAX bytes plus one line plus RSET and QUIT. */
#define SMTP_GROUP_MAX 65536

/* Bytes to write and their transcript form (the same commands with
 * secrets replaced by <redacted>). Taking them means they are on their way
 * to the server: they stay valid and unchanged, whatever is fed to the
 * engine meanwhile, until smtp_output_sent(); commands the engine queues
 * in between (a refusal read while a long group is written) go out in the
 * next write. smtp_output_log() before smtp_output() shows what the next
 * smtp_output() hands out. */
void smtp_output(struct smtp *s, const char **buf, size_t *len);
void smtp_output_log(const struct smtp *s, const char **buf, size_t *len);
void smtp_output_sent(struct smtp *s);

/* Server bytes; may be called at any time, also while output is pending. */
void smtp_feed(struct smtp *s, const char *buf, size_t len);
/* The server closed the connection. */
void smtp_eof(struct smtp *s);
/* The driver failed (transport error, timeout, bad input): end with
 * OUTCOME O at this step; TEXT says what happened. POLITE sends QUIT.
 * Once the last end of data is answered 250 the outcome stays success
 * (RFC 5321 4.1.1.10): a failure then only drops what is left to send. */
void smtp_fail(struct smtp *s, enum outcome o, const char *text, bool polite);

/* The TLS handshake (the driver's own step) failed: end with OUTCOME O,
 * WHAT names the step, TEXT says what happened and what to do. */
void smtp_fail_at(struct smtp *s, enum outcome o, const char *what, const char *text);

/* Submit ENV (copied): one mail transaction, and further ones on the same
 * connection for the recipients a server defers with 452 (or 552 "too
 * many recipients", RFC 5321 4.5.3.1.10); the body is asked for again
 * (SMTP_SEND_BODY) for each. The message is the session's last:
 * smtp_begin_message(s, env, true). */
void smtp_begin(struct smtp *s, const struct smtp_envelope *env);
/* Several messages per session (RFC 5321 3.3): the same for one message
 * of a series, in the state SMTP_NEED_ENVELOPE only. It starts a new
 * smtp_result(), which describes this message alone from now on.
 * LAST: QUIT follows it (pipelined with its end of data when the server
 * pipelines), as with smtp_begin(). Otherwise, once the message is over
 * (its end of data answered, 250 or not, or a refusal of MAIL, RCPT or
 * DATA, or of its envelope by the engine: SIZE, 8BITMIME, SMTPUTF8,
 * DSN), the engine asks for the next message with SMTP_NEED_ENVELOPE,
 * after an RSET where the server still holds a transaction (pipelined
 * ahead of the next MAIL group when the server pipelines). A 4xx or 5xx
 * to one message is that message's failure alone. What ends the session
 * (421, EOF, a timeout or error from the driver, a protocol error, the
 * RFC 2920 trap of a 354 after a refused recipient, which drops the
 * connection) is the failure of the message in progress and of the
 * session (smtp_session_result()); a message whose last end of data got
 * 250 is never touched again. */
void smtp_begin_message(struct smtp *s, const struct smtp_envelope *env, bool last);
/* Authentication (RFC 4954). MECH with its base64 initial response (NULL:
 * none; "" is sent as "="): the engine sends it with AUTH when the line
 * stays short, else after the first 334. VERIFIED says whether the
 * mechanism has already proven the server (SCRAM's signature); a 235 that
 * arrives before that is refused. Neither argument ever reaches the
 * transcript. */
void smtp_auth_begin(struct smtp *s, const char *mech, const char *initial_b64, bool verified);
/* The base64 text of the server's 334 challenge being answered. */
const char *smtp_auth_challenge(const struct smtp *s);
/* RESPONSE_B64 answers the challenge ("*" cancels); VERIFIED as above. */
void smtp_auth_respond(struct smtp *s, const char *response_b64, bool verified);
/* The client refused to go on (e.g. a wrong SCRAM server signature). */
void smtp_auth_fail(struct smtp *s, enum outcome o, const char *text);
/* The client refuses to go on with a server that may be honest but is set
 * up unsafely (a SCRAM iteration count below 4096): TEXT is the failure,
 * "*" cancels the exchange (RFC 4954 4), and after the server's 501, QUIT. */
void smtp_auth_cancel(struct smtp *s, enum outcome o, const char *text);

/* The transport now runs TLS. */
void smtp_tls_started(struct smtp *s);
/* The whole body went out: the end-of-data (and QUIT when pipelining)
 * becomes the output, to be sent in the same write as the last block. */
void smtp_body_done(struct smtp *s);
/* The same, with NEXT (copied), the message of the series after this one,
 * LAST as for smtp_begin_message(). When the server pipelines, this
 * message needs no further transaction (no 452-deferred recipients) and
 * is not the last, the one finishing before it has been taken, and the
 * engine would take NEXT (SIZE, 8BITMIME, SMTPUTF8, DSN), NEXT is begun
 * at once: its MAIL group follows the end of
 * data in the same output (RFC 2920 3.1), so both are answered in one
 * round trip, and true is returned. This message is then "finishing":
 * smtp_result() describes NEXT from now on, and this message's result is
 * handed out by smtp_take_finished() once its end of data is answered
 * (250 or not; a refusal is its failure alone) or the session ends before
 * that (then with the session's failure). Otherwise it is smtp_body_done()
 * and false is returned: the engine asks for NEXT with
 * SMTP_NEED_ENVELOPE as before. */
bool smtp_body_done_next(struct smtp *s, const struct smtp_envelope *next, bool last);
/* The result of the finishing message (smtp_body_done_next) once it is
 * settled, else NULL; each one is handed out once. The driver asks after
 * every step (a feed, EOF, a failure), before it settles the message in
 * progress, so that results come out in message order. Valid until the
 * next call or smtp_free(). */
const struct smtp_result *smtp_take_finished(struct smtp *s);

/* The message in progress, or the last one when the session is over;
 * before the first message, the session's set-up (greeting, EHLO,
 * STARTTLS, TLS, AUTH). Valid until the next smtp_begin_message(). */
const struct smtp_result *smtp_result(const struct smtp *s);
/* The session alone: OUTCOME_OK, or the failure that ended it (or the
 * first failure of its set-up); only outcome, step, command, code, enh,
 * text and hint are used. Messages not begun get this outcome. */
const struct smtp_result *smtp_session_result(const struct smtp *s);
const struct caps *smtp_caps(const struct smtp *s);
/* The greeting and EHLO reply texts, for --serverinfo. */
const char *smtp_greeting(const struct smtp *s);
const char *smtp_ehlo_text(const struct smtp *s);
/* RFC 5321 4.5.3.2 timeout in seconds for what the engine waits for now. */
int smtp_wait_timeout(const struct smtp *s);
/* How many complete replies have arrived: a wait for the next one keeps
 * its deadline while this does not change, however the bytes trickle in. */
uint64_t smtp_replies(const struct smtp *s);
/* Name of the step the engine is in, for traces and messages. */
const char *smtp_step_name(const struct smtp *s);
/* true when PIPELINING is in use: MAIL, the RCPTs and DATA go out as
 * one group (in pieces of SMTP_GROUP_MAX bytes). */
bool smtp_pipelining(const struct smtp *s);

/* RFC 3461 section 4 xtext encoding of S into a new string. */
char *smtp_xtext(const char *s);

#endif
