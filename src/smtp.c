/* smtp.c: the client state machine. Replies in, commands out; one function
 * changes the phase; every sent command has a pending entry that its reply
 * is judged against. It must never touch a socket. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "smtp.h"

enum smtp_phase {
	PH_GREETING,
	PH_EHLO,
	PH_STARTTLS,
	PH_TLS,
	PH_AUTH,
	PH_READY,
	PH_TRANSACTION,
	PH_BODY,
	PH_EOD,
	PH_RSET,
	PH_CANCEL,
	PH_DONE,
	PH_ABORT,
	PH_COUNT
};

static const char *const smtp_phase_names[] = {
	"greeting", "EHLO", "STARTTLS", "TLS handshake", "AUTH", "ready", "MAIL/RCPT/DATA",
	"message body", "end of data", "RSET", "QUIT", "done", "abort",
};
_Static_assert(sizeof smtp_phase_names / sizeof smtp_phase_names[0] == PH_COUNT,
	       "one name per phase");

enum smtp_cmd {
	CMD_GREETING, CMD_EHLO, CMD_HELO, CMD_STARTTLS, CMD_MAIL, CMD_RCPT,
	CMD_DATA, CMD_EOD, CMD_RSET, CMD_QUIT, CMD_AUTH, CMD_AUTH_STEP,
	CMD_RSET_NEXT, /* RSET that closes a failed message's transaction before the next */
};

struct smtp_pending {
	enum smtp_cmd cmd;
	size_t arg;          /* recipient index for CMD_RCPT */
};

struct smtp_buf {
	char *p;
	size_t len, cap;
};

/* Where a recipient stands in the session. */
enum smtp_rcpt_state {
	RS_WAITING,   /* not accepted yet: goes into the next transaction */
	RS_ACCEPTED,  /* accepted in the open transaction */
	RS_DELIVERED, /* accepted in a transaction whose end of data got 250 */
};

struct smtp {
	enum smtp_phase phase;
	char *ehlo_name;
	bool want_starttls;
	bool want_auth;
	bool authenticated;
	bool auth_verified;            /* the mechanism has proven the server */
	char *auth_mech;
	char *auth_initial;            /* initial response held back for a 334 */
	char *auth_challenge;          /* base64 text of the 334 being answered */
	bool auth_pipelined;           /* the MAIL group rides behind an unanswered AUTH */
	bool auth_refused;             /* ...and that AUTH was refused */
	bool auth_cancelled;           /* "*" sent: the reply to it only ends the exchange */
	bool serverinfo;
	bool tls_active;
	bool pipelining;               /* PIPELINING offered and used */
	struct reply_parser parser;
	struct caps caps;
	char *greeting;
	char *ehlo_text;
	/* commands sent and not answered yet, oldest first */
	struct smtp_pending *pend;
	size_t pend_head, pend_len, pend_cap;
	size_t handed;                 /* pending commands handed to the driver */
	uint64_t replies;              /* complete replies received */
	struct smtp_buf out, log;      /* queued commands, not handed out yet */
	struct smtp_buf wire, wlog;    /* handed out by smtp_output(): unchanged until sent */
	bool quit_sent;                /* QUIT is queued or gone */
	/* the envelope, for every transaction of the session */
	char *from;
	char **rcpt;
	size_t nrcpt;
	char *mail_params;
	char **rcpt_params;
	unsigned char *rstate;          /* enum smtp_rcpt_state per recipient */
	/* the open transaction */
	size_t *txn;                    /* its recipients (indices), in order */
	size_t ntxn;
	size_t txn_next;                /* next of them to send */
	size_t rcpt_ok;                 /* accepted in it */
	size_t deferred;                /* "too many recipients" in it */
	struct reply deferral;          /* the first such reply in it */
	size_t deferral_rcpt;
	bool data_sent;                 /* DATA is queued */
	bool mail_ok;
	bool mail_sent;                 /* MAIL went out and the transaction is open */
	bool failed;                    /* something in this transaction failed */
	bool last;                      /* the message is the session's last: QUIT follows it */
	bool msg_over;                  /* ...and it is over, not the last: res is final */
	struct smtp_result res;         /* the message in progress */
	struct smtp_result sres;        /* the session: what ended it, or OK */
	/* The message whose end of data went out with the next message's
	 * MAIL group behind it (RFC 2920 3.1), until the driver takes it. */
	struct {
		bool active;            /* there is one, not taken yet */
		bool over;              /* its end of data is answered, or the session ended */
		size_t accepted;        /* recipients accepted in its transaction */
		struct smtp_result res;
	} fin;
	struct smtp_result taken;       /* the last one smtp_take_finished() handed out */
};

/* ---- small helpers ----------------------------------------------------- */

static void buf_add(struct smtp_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t old = b->cap;
		b->cap = (b->len + n + 1) * 2;
		/* the buffer may hold an AUTH line: leave no copy behind */
		b->p = xrealloc_wipe(b->p, old, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static char *smtp_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *smtp_strf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* R on one line for logs: "CODE ENH first / second / ...". */
static char *smtp_reply_line(const struct reply *r)
{
	struct smtp_buf b = { 0 };
	const char *t = r->text != NULL ? r->text : "";
	char head[32];

	snprintf(head, sizeof head, "%d%s%s ", r->code, r->enh[0] ? " " : "", r->enh);
	buf_add(&b, head, strlen(head));
	for (; *t != '\0'; t++) {
		if (*t == '\n')
			buf_add(&b, " / ", 3);
		else
			buf_add(&b, t, 1);
	}
	return b.p;
}

/* Queue one command line (LINE without CRLF) and its pending entry. */
static void smtp_send(struct smtp *s, enum smtp_cmd cmd, size_t arg, const char *line)
{
	if (s->pend_head + s->pend_len == s->pend_cap) {
		if (s->pend_head > 0) {
			memmove(s->pend, s->pend + s->pend_head, s->pend_len * sizeof *s->pend);
			s->pend_head = 0;
		} else {
			s->pend_cap = s->pend_cap ? s->pend_cap * 2 : 16;
			s->pend = xrealloc(s->pend, s->pend_cap * sizeof *s->pend);
		}
	}
	s->pend[s->pend_head + s->pend_len].cmd = cmd;
	s->pend[s->pend_head + s->pend_len].arg = arg;
	s->pend_len++;
	if (cmd == CMD_QUIT)
		s->quit_sent = true;
	if (cmd == CMD_EOD) {
		buf_add(&s->out, ".\r\n", 3);
		buf_add(&s->log, ".\r\n", 3);
		return;
	}
	buf_add(&s->out, line, strlen(line));
	buf_add(&s->out, "\r\n", 2);
	buf_add(&s->log, line, strlen(line));
	buf_add(&s->log, "\r\n", 2);
}

/* Queue a command whose text after PUBLIC_LEN bytes is secret: the wire
 * gets all of it, the transcript "<redacted>" in its place. */
static void smtp_send_redacted(struct smtp *s, enum smtp_cmd cmd, const char *line, size_t public_len)
{
	smtp_send(s, cmd, 0, line);
	/* smtp_send logged the line whole: take the secret part back out. */
	s->log.len -= strlen(line) + 2 - public_len;
	explicit_bzero(s->log.p + s->log.len, strlen(line) + 2 - public_len);
	buf_add(&s->log, "<redacted>\r\n", 12);
}

/* The one function that changes the phase. */
static void smtp_set_phase(struct smtp *s, enum smtp_phase ph)
{
	s->phase = ph;
}

static enum outcome_step smtp_cmd_step(enum smtp_cmd c)
{
	switch (c) {
	case CMD_GREETING: return STEP_GREETING;
	case CMD_EHLO:
	case CMD_HELO: return STEP_EHLO;
	case CMD_STARTTLS: return STEP_STARTTLS;
	case CMD_MAIL: return STEP_MAIL;
	case CMD_RCPT: return STEP_RCPT;
	case CMD_DATA: return STEP_DATA;
	case CMD_EOD: return STEP_EOD;
	case CMD_AUTH:
	case CMD_AUTH_STEP: return STEP_AUTH;
	default: return STEP_OTHER;
	}
}

/* The text of command C as it was sent, for messages. */
static char *smtp_cmd_text(const struct smtp *s, enum smtp_cmd c, size_t arg)
{
	switch (c) {
	case CMD_GREETING: return xstrdup("connection greeting");
	case CMD_EHLO: return smtp_strf("EHLO %s", s->ehlo_name);
	case CMD_HELO: return smtp_strf("HELO %s", s->ehlo_name);
	case CMD_STARTTLS: return xstrdup("STARTTLS");
	case CMD_MAIL: return smtp_strf("MAIL FROM:<%s>", s->from ? s->from : "");
	case CMD_RCPT: return smtp_strf("RCPT TO:<%s>", arg < s->nrcpt ? s->rcpt[arg] : "");
	case CMD_DATA: return xstrdup("DATA");
	case CMD_EOD: return xstrdup("end of data");
	case CMD_RSET:
	case CMD_RSET_NEXT: return xstrdup("RSET");
	case CMD_QUIT: return xstrdup("QUIT");
	case CMD_AUTH:
	case CMD_AUTH_STEP: return smtp_strf("AUTH %s", s->auth_mech != NULL ? s->auth_mech : "");
	}
	return xstrdup("?");
}

/* Record the first failure in RES; later ones only make it worse. Takes
 * COMMAND. Returns true when this one was recorded. */
static bool smtp_record_in(struct smtp_result *res, enum outcome o, enum outcome_step step,
			   char *command, const struct reply *r, const char *text)
{
	if (res->outcome != OUTCOME_OK && outcome_worse(res->outcome, o) == res->outcome) {
		free(command);
		return false;
	}
	free(res->command);
	free(res->text);
	res->outcome = o;
	res->step = step;
	res->command = command;
	res->code = r != NULL ? r->code : 0;
	res->enh[0] = '\0';
	if (r != NULL)
		memcpy(res->enh, r->enh, sizeof res->enh);
	res->text = xstrdup(r != NULL ? (r->text != NULL ? r->text : "") : text != NULL ? text : "");
	res->hint = outcome_default_hint(o);
	return true;
}

/* A failure of the message in progress alone (a refusal of its MAIL,
 * RCPT, DATA or end of data, or the engine's own refusal of its
 * envelope): the session goes on with the next message. */
static bool smtp_record_message(struct smtp *s, enum outcome o, enum outcome_step step,
				char *command, const struct reply *r, const char *text)
{
	return smtp_record_in(&s->res, o, step, command, r, text);
}

/* A failure that ends the session while the end of data of the finishing
 * message is unanswered is that message's failure too: nobody knows
 * whether the server took it. Once answered, it is never touched again. */
static void smtp_record_fin(struct smtp *s, enum outcome o, enum outcome_step step,
			    const char *command, const struct reply *r, const char *text)
{
	if (!s->fin.active || s->fin.over)
		return;
	smtp_record_in(&s->fin.res, o, step, command != NULL ? xstrdup(command) : NULL, r, text);
	s->fin.over = true;
}

/* A failure of the session (greeting, EHLO, STARTTLS, TLS, AUTH, or one
 * that ends it: 421, EOF, timeout, protocol error): also the result of
 * the message in progress. Returns true when the message recorded it. */
static bool smtp_record(struct smtp *s, enum outcome o, enum outcome_step step, char *command,
			const struct reply *r, const char *text)
{
	smtp_record_fin(s, o, step, command, r, text);
	if (s->msg_over) /* between messages: the one before is settled */
		return smtp_record_in(&s->sres, o, step, command, r, text);
	smtp_record_in(&s->sres, o, step, command != NULL ? xstrdup(command) : NULL, r, text);
	return smtp_record_in(&s->res, o, step, command, r, text);
}

static void smtp_result_free(struct smtp_result *res)
{
	size_t i;

	free(res->command);
	free(res->text);
	free(res->final_reply);
	for (i = 0; i < res->nrejects; i++)
		free(res->rejects[i].text);
	free(res->rejects);
	memset(res, 0, sizeof *res);
	res->outcome = OUTCOME_OK;
}

static void smtp_abort(struct smtp *s, enum outcome o, enum outcome_step step, const char *text)
{
	smtp_record(s, o, step, NULL, NULL, text);
	smtp_set_phase(s, PH_ABORT);
}

/* Polite end: RSET if a transaction is open, then QUIT; in one group only
 * when the server pipelines, else QUIT follows the RSET reply. */
static void smtp_cancel(struct smtp *s)
{
	smtp_set_phase(s, PH_CANCEL);
	if (s->mail_sent) {
		s->mail_sent = false;
		smtp_send(s, CMD_RSET, 0, "RSET");
		if (!s->pipelining)
			return;
	}
	if (!s->quit_sent)
		smtp_send(s, CMD_QUIT, 0, "QUIT");
}

/* The message in progress is over without a 250 to its end of data (its
 * failure is recorded). The last one ends the session politely; after any
 * other the session goes on: RSET where the server still holds a
 * transaction (MAIL accepted, no end of data answered; RFC 5321 4.1.1.5),
 * pipelined ahead of the next MAIL group when the server pipelines, else
 * answered first. */
static void smtp_message_over(struct smtp *s)
{
	bool open = s->mail_sent && s->mail_ok;

	if (s->last) {
		smtp_cancel(s);
		return;
	}
	s->msg_over = true;
	s->mail_sent = false;
	if (open) {
		smtp_send(s, CMD_RSET_NEXT, 0, "RSET");
		if (!s->pipelining) {
			smtp_set_phase(s, PH_RSET);
			return;
		}
	}
	smtp_set_phase(s, PH_READY);
}

/* Drop whatever is still to be written (the session is over). */
static void smtp_drop_output(struct smtp *s)
{
	if (s->wire.len > 0)
		explicit_bzero(s->wire.p, s->wire.len);
	if (s->out.len > 0)
		explicit_bzero(s->out.p, s->out.len);
	s->wire.len = s->wlog.len = s->out.len = s->log.len = 0;
}

static void smtp_send_ehlo(struct smtp *s)
{
	char *l = smtp_strf("EHLO %s", s->ehlo_name);
	smtp_send(s, CMD_EHLO, 0, l);
	free(l);
	smtp_set_phase(s, PH_EHLO);
}

/* ---- transaction ------------------------------------------------------- */

static void smtp_send_rcpt(struct smtp *s, size_t i)
{
	char *l = smtp_strf("RCPT TO:<%s>%s", s->rcpt[i], s->rcpt_params[i]);
	smtp_send(s, CMD_RCPT, i, l);
	free(l);
}

/* RFC 2920 3.1: MAIL, the RCPTs and DATA go in one group; the DATA reply
 * tells whether any recipient was accepted. The group is queued in pieces
 * of SMTP_GROUP_MAX bytes, the next when the last has been written. */
static void smtp_fill_group(struct smtp *s)
{
	while (s->txn_next < s->ntxn && s->out.len < SMTP_GROUP_MAX)
		smtp_send_rcpt(s, s->txn[s->txn_next++]);
	if (s->txn_next == s->ntxn && !s->data_sent) {
		smtp_send(s, CMD_DATA, 0, "DATA");
		s->data_sent = true;
	}
}

/* A transaction in which no recipient was accepted because the server
 * deferred them ("too many recipients") makes no progress: stop (75)
 * rather than loop. */
static void smtp_no_progress(struct smtp *s)
{
	smtp_record_message(s, OUTCOME_TEMPFAIL, STEP_RCPT, smtp_cmd_text(s, CMD_RCPT, s->deferral_rcpt),
			    &s->deferral, NULL);
}

/* Lock-step: every RCPT of the transaction is answered. */
static void smtp_after_rcpts(struct smtp *s)
{
	if (!s->failed && s->rcpt_ok > 0) {
		smtp_send(s, CMD_DATA, 0, "DATA");
		s->data_sent = true;
		return;
	}
	if (!s->failed && s->deferred > 0)
		smtp_no_progress(s);
	smtp_message_over(s);
}

/* Open a transaction for every recipient not accepted yet. */
static void smtp_start_transaction(struct smtp *s)
{
	size_t i;
	char *l;

	s->ntxn = 0;
	for (i = 0; i < s->nrcpt; i++)
		if (s->rstate[i] == RS_WAITING)
			s->txn[s->ntxn++] = i;
	s->txn_next = 0;
	s->rcpt_ok = 0;
	s->deferred = 0;
	reply_free(&s->deferral);
	memset(&s->deferral, 0, sizeof s->deferral);
	s->data_sent = false;
	s->mail_ok = false;
	s->failed = false;
	l = smtp_strf("MAIL FROM:<%s>%s", s->from, s->mail_params);
	smtp_send(s, CMD_MAIL, 0, l);
	free(l);
	s->mail_sent = true;
	smtp_set_phase(s, PH_TRANSACTION);
	if (s->pipelining)
		smtp_fill_group(s);
}

/* Recipients left for a further transaction. */
static bool smtp_more_rcpts(const struct smtp *s)
{
	size_t i;

	for (i = 0; i < s->nrcpt; i++)
		if (s->rstate[i] == RS_WAITING)
			return true;
	return false;
}

char *smtp_xtext(const char *str)
{
	struct smtp_buf b = { 0 };
	const unsigned char *p;

	buf_add(&b, "", 0);
	for (p = (const unsigned char *)str; *p != '\0'; p++) {
		if (*p >= '!' && *p <= '~' && *p != '+' && *p != '=') {
			buf_add(&b, (const char *)p, 1);
		} else {
			char hex[4];
			snprintf(hex, sizeof hex, "+%02X", *p);
			buf_add(&b, hex, 3);
		}
	}
	return b.p;
}

static bool smtp_is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s & 0x80)
			return false;
	return true;
}

static bool smtp_wants_dsn(const struct smtp_envelope *env)
{
	return env->dsn_notify != NULL || env->dsn_ret != NULL || env->dsn_envid != NULL;
}

/* Why ENV cannot be sent to this server (T may hold the words), or NULL;
 * *O is the outcome then. */
static const char *smtp_envelope_problem(const struct smtp *s, const struct smtp_envelope *env,
					 char *t, size_t tlen, enum outcome *o)
{
	const char *why = NULL;
	bool want_dsn = smtp_wants_dsn(env);

	*o = OUTCOME_DATAERR;
	if (env->nrcpt == 0) {
		why = "no recipients";
	} else if ((s->caps.flags & CAP_SIZE) && s->caps.size_max > 0 && env->size > s->caps.size_max) {
		/* RFC 1870 section 6 */
		snprintf(t, tlen, "the message is %llu bytes but the server accepts at most %llu",
			 (unsigned long long)env->size, (unsigned long long)s->caps.size_max);
		why = t;
	} else if (env->eightbit && !(s->caps.flags & CAP_8BITMIME)) {
		/* RFC 6152: 8-bit data only to a server that offers 8BITMIME */
		why = "the message contains 8-bit octets but the server does not offer 8BITMIME";
	} else if (env->eightbit && env->body == SMTP_BODY_7BIT) {
		why = "-B7BIT was given but the message contains 8-bit octets";
	} else if (env->smtputf8 && !(s->caps.flags & CAP_SMTPUTF8)) {
		why = "the message needs SMTPUTF8 (a non-ASCII local part or header field) but the server does not offer it";
	} else if (want_dsn && env->dsn_required && !(s->caps.flags & CAP_DSN)) {
		why = "delivery status notifications were asked for (dsn_required on) but the server does not offer DSN";
		*o = OUTCOME_UNAVAILABLE;
	}
	return why;
}

/* What the server has said it cannot take is not sent at all: record the
 * bad-input outcome and QUIT. Returns true when ENV is refused. */
static bool smtp_refused_envelope(struct smtp *s, const struct smtp_envelope *env)
{
	char t[160];
	enum outcome o;
	const char *why = smtp_envelope_problem(s, env, t, sizeof t, &o);

	if (why == NULL)
		return false;
	smtp_record_message(s, o, STEP_MAIL, NULL, NULL, why);
	smtp_message_over(s);
	return true;
}

/* Free the envelope of the message before (none for the first). */
static void smtp_forget_message(struct smtp *s)
{
	size_t i;

	free(s->rstate);
	free(s->txn);
	reply_free(&s->deferral);
	memset(&s->deferral, 0, sizeof s->deferral);
	free(s->from);
	for (i = 0; i < s->nrcpt; i++) {
		free(s->rcpt[i]);
		free(s->rcpt_params[i]);
	}
	free(s->rcpt);
	free(s->rcpt_params);
	free(s->mail_params);
	s->rstate = NULL;
	s->txn = NULL;
	s->from = NULL;
	s->rcpt = s->rcpt_params = NULL;
	s->mail_params = NULL;
	s->nrcpt = s->ntxn = s->txn_next = 0;
}

void smtp_begin(struct smtp *s, const struct smtp_envelope *env)
{
	smtp_begin_message(s, env, true);
}

void smtp_begin_message(struct smtp *s, const struct smtp_envelope *env, bool last)
{
	struct smtp_buf mp = { 0 };
	bool want_dsn = smtp_wants_dsn(env);
	size_t i;

	if (s->phase != PH_READY)
		return;
	/* A new message, a new result: the one before was settled when the
	 * engine asked for this one. */
	smtp_forget_message(s);
	smtp_result_free(&s->res);
	s->last = last;
	s->msg_over = false;
	s->mail_sent = false;
	s->mail_ok = false;
	s->from = xstrdup(env->from);
	s->nrcpt = env->nrcpt;
	s->rcpt = xcalloc(env->nrcpt, sizeof *s->rcpt);
	s->rcpt_params = xcalloc(env->nrcpt, sizeof *s->rcpt_params);
	s->rstate = xcalloc(env->nrcpt + 1, sizeof *s->rstate);
	s->txn = xcalloc(env->nrcpt + 1, sizeof *s->txn);
	for (i = 0; i < env->nrcpt; i++)
		s->rcpt[i] = xstrdup(env->rcpt[i]);
	if (smtp_refused_envelope(s, env))
		return;

	buf_add(&mp, "", 0);
	if (s->caps.flags & CAP_SIZE) {
		char t[40];
		snprintf(t, sizeof t, " SIZE=%llu", (unsigned long long)env->size);
		buf_add(&mp, t, strlen(t));
	}
	if ((s->caps.flags & CAP_8BITMIME) &&
	    (env->body == SMTP_BODY_8BITMIME || (env->body == SMTP_BODY_AUTO && env->eightbit)))
		buf_add(&mp, " BODY=8BITMIME", 14);
	else if ((s->caps.flags & CAP_8BITMIME) && env->body == SMTP_BODY_7BIT)
		buf_add(&mp, " BODY=7BIT", 10);
	if (env->smtputf8)
		buf_add(&mp, " SMTPUTF8", 9);
	if (want_dsn && !(s->caps.flags & CAP_DSN))
		s->res.dsn_dropped = true;
	if (want_dsn && (s->caps.flags & CAP_DSN)) {
		if (env->dsn_ret != NULL) {
			buf_add(&mp, " RET=", 5);
			buf_add(&mp, env->dsn_ret, strlen(env->dsn_ret));
		}
		if (env->dsn_envid != NULL) {
			char *x = smtp_xtext(env->dsn_envid);
			buf_add(&mp, " ENVID=", 7);
			buf_add(&mp, x, strlen(x));
			free(x);
		}
	}
	s->mail_params = mp.p;
	for (i = 0; i < s->nrcpt; i++) {
		if ((s->caps.flags & CAP_DSN) && env->dsn_notify != NULL) {
			char *x = smtp_xtext(s->rcpt[i]);
			/* RFC 3461 4.2: ORCPT carries the address as the client got it. */
			if (smtp_is_ascii(s->rcpt[i]))
				s->rcpt_params[i] = smtp_strf(" NOTIFY=%s ORCPT=rfc822;%s", env->dsn_notify, x);
			else
				s->rcpt_params[i] = smtp_strf(" NOTIFY=%s", env->dsn_notify);
			free(x);
		} else {
			s->rcpt_params[i] = xstrdup("");
		}
	}
	smtp_start_transaction(s);
}

/* ---- reply handlers, one per command ----------------------------------- */

static bool smtp_ok(const struct reply *r)
{
	return r->code >= 200 && r->code < 300;
}

/* A refusal of command C: of the message in progress when C belongs to
 * its transaction, of the session otherwise (and always for 421, RFC
 * 5321 3.8: the server is closing the channel). */
static void smtp_fail_reply(struct smtp *s, enum smtp_cmd c, size_t arg, const struct reply *r)
{
	struct outcome_judgement j = outcome_judge(smtp_cmd_step(c), r->code, r->enh, r->text);
	bool message = r->code != 421 && (c == CMD_MAIL || c == CMD_RCPT || c == CMD_DATA || c == CMD_EOD);

	if (!message && s->fin.active && !s->fin.over) {
		char *t = smtp_cmd_text(s, c, arg);
		smtp_record_fin(s, j.outcome, smtp_cmd_step(c), t, r, NULL);
		s->fin.res.hint = j.hint;
		free(t);
	}
	if (!message && smtp_record_in(&s->sres, j.outcome, smtp_cmd_step(c), smtp_cmd_text(s, c, arg), r,
				       NULL))
		s->sres.hint = j.hint;
	if (!s->msg_over &&
	    smtp_record_message(s, j.outcome, smtp_cmd_step(c), smtp_cmd_text(s, c, arg), r, NULL))
		s->res.hint = j.hint;
}

static void on_greeting(struct smtp *s, const struct reply *r)
{
	free(s->greeting);
	s->greeting = xstrdup(r->text);
	if (r->code == 220) {
		smtp_send_ehlo(s);
		return;
	}
	smtp_fail_reply(s, CMD_GREETING, 0, r);
	/* RFC 5321 3.1: after a 554 greeting the client should QUIT; a 421
	 * server closes by itself. */
	if (r->code == 421)
		smtp_set_phase(s, PH_ABORT);
	else
		smtp_cancel(s);
}

static void smtp_after_ehlo(struct smtp *s)
{
	if (s->want_starttls && !s->tls_active) {
		if (!(s->caps.flags & CAP_STARTTLS)) {
			smtp_record(s, OUTCOME_UNAVAILABLE, STEP_STARTTLS, xstrdup("EHLO"), NULL,
				    "the server does not offer STARTTLS");
			smtp_cancel(s);
			return;
		}
		smtp_send(s, CMD_STARTTLS, 0, "STARTTLS");
		smtp_set_phase(s, PH_STARTTLS);
		return;
	}
	if (s->serverinfo) {
		smtp_send(s, CMD_QUIT, 0, "QUIT");
		smtp_set_phase(s, PH_CANCEL);
		return;
	}
	s->pipelining = (s->caps.flags & CAP_PIPELINING) != 0;
	if (s->want_auth && !s->authenticated) {
		smtp_set_phase(s, PH_AUTH);
		return;
	}
	smtp_set_phase(s, PH_READY);
}

/* ---- AUTH (RFC 4954) ---------------------------------------------------- */

#define SMTP_AUTH_LINE_MAX 500 /* longer initial responses wait for a 334 */

void smtp_auth_begin(struct smtp *s, const char *mech, const char *initial, bool verified)
{
	char *l;

	if (s->phase != PH_AUTH || s->auth_mech != NULL)
		return;
	s->auth_mech = xstrdup(mech);
	s->auth_verified = verified;
	if (initial != NULL && strlen(mech) + strlen(initial) + 7 <= SMTP_AUTH_LINE_MAX) {
		l = smtp_strf("AUTH %s %s", mech, initial[0] != '\0' ? initial : "=");
		smtp_send_redacted(s, CMD_AUTH, l, strlen(mech) + 6);
		explicit_bzero(l, strlen(l));
		free(l);
		/* A one-step mechanism whose whole answer is on the AUTH line
		 * ends in 235 or a refusal, never a 334: with PIPELINING the
		 * MAIL group goes in the same write (RFC 2920 3.1 puts AUTH
		 * among neither the commands that must end a group nor those
		 * that change the state of a transaction). */
		if (s->pipelining && verified && (strcmp(mech, "PLAIN") == 0 || strcmp(mech, "EXTERNAL") == 0)) {
			s->auth_pipelined = true;
			smtp_set_phase(s, PH_READY);
		}
		return;
	}
	/* RFC 4954 4: without room for it, the initial response answers the
	 * server's first (empty) challenge instead. */
	if (initial != NULL)
		s->auth_initial = xstrdup(initial);
	l = smtp_strf("AUTH %s", mech);
	smtp_send(s, CMD_AUTH, 0, l);
	free(l);
}

const char *smtp_auth_challenge(const struct smtp *s)
{
	return s->auth_challenge != NULL ? s->auth_challenge : "";
}

void smtp_auth_respond(struct smtp *s, const char *response, bool verified)
{
	if (s->phase != PH_AUTH || s->auth_challenge == NULL)
		return;
	s->auth_verified = verified;
	free(s->auth_challenge);
	s->auth_challenge = NULL;
	smtp_send_redacted(s, CMD_AUTH_STEP, response, 0);
}

void smtp_auth_fail(struct smtp *s, enum outcome o, const char *text)
{
	smtp_record(s, o, STEP_AUTH, smtp_cmd_text(s, CMD_AUTH, 0), NULL, text);
	smtp_set_phase(s, PH_ABORT);
}

void smtp_auth_cancel(struct smtp *s, enum outcome o, const char *text)
{
	if (s->phase != PH_AUTH || s->auth_challenge == NULL) {
		smtp_auth_fail(s, o, text);
		return;
	}
	smtp_record(s, o, STEP_AUTH, smtp_cmd_text(s, CMD_AUTH, 0), NULL, text);
	free(s->auth_challenge);
	s->auth_challenge = NULL;
	s->auth_cancelled = true;
	smtp_send(s, CMD_AUTH_STEP, 0, "*");
}

/* The reply to an AUTH that the MAIL group followed in the same write. */
static void on_auth_pipelined(struct smtp *s, const struct reply *r)
{
	s->auth_pipelined = false;
	if (r->code == 235) {
		s->authenticated = true; /* the MAIL group's replies follow */
		return;
	}
	s->auth_refused = true;
	if (r->code == 334) {
		/* The server would read the MAIL line as the SASL answer. */
		smtp_record(s, OUTCOME_PROTOCOL, STEP_AUTH, smtp_cmd_text(s, CMD_AUTH, 0), NULL,
			    "the server sent a challenge (334) after a complete initial response");
		smtp_set_phase(s, PH_ABORT);
		return;
	}
	smtp_fail_reply(s, CMD_AUTH, 0, r);
}

static void on_auth(struct smtp *s, const struct reply *r)
{
	if (s->auth_pipelined) {
		on_auth_pipelined(s, r);
		return;
	}
	if (s->auth_cancelled) {
		/* the 501 to our "*": the failure is already recorded */
		smtp_cancel(s);
		return;
	}
	if (r->code == 334) {
		const char *t = r->text != NULL ? r->text : "";
		if (s->auth_initial != NULL) {
			char *init = s->auth_initial;
			s->auth_initial = NULL;
			smtp_send_redacted(s, CMD_AUTH_STEP, init[0] != '\0' ? init : "", 0);
			xfree_secret(init);
			return;
		}
		free(s->auth_challenge);
		s->auth_challenge = xstrndup(t, strcspn(t, "\n"));
		return;
	}
	if (r->code == 235) {
		if (!s->auth_verified) {
			/* RFC 5802 5: the server must prove it knows the password; a
			 * 235 without that proof is not believed. */
			smtp_record(s, OUTCOME_NOPERM, STEP_AUTH, smtp_cmd_text(s, CMD_AUTH, 0), NULL,
				    "the server said 235 without proving its identity (no valid SCRAM server signature)");
			smtp_set_phase(s, PH_ABORT);
			return;
		}
		s->authenticated = true;
		smtp_set_phase(s, PH_READY);
		return;
	}
	smtp_fail_reply(s, CMD_AUTH, 0, r);
	smtp_cancel(s);
}

static void on_ehlo(struct smtp *s, enum smtp_cmd c, const struct reply *r)
{
	if (smtp_ok(r)) {
		free(s->ehlo_text);
		s->ehlo_text = xstrdup(r->text);
		if (c == CMD_EHLO)
			reply_parse_caps(r, &s->caps);
		else
			memset(&s->caps, 0, sizeof s->caps);
		smtp_after_ehlo(s);
		return;
	}
	/* RFC 5321 4.1.4: a server that does not know EHLO answers 500 or 502;
	 * then HELO, without extensions. */
	if (c == CMD_EHLO && (r->code == 500 || r->code == 502) && !s->want_starttls) {
		char *l = smtp_strf("HELO %s", s->ehlo_name);
		smtp_send(s, CMD_HELO, 0, l);
		free(l);
		return;
	}
	smtp_fail_reply(s, c, 0, r);
	smtp_cancel(s);
}

static void on_starttls(struct smtp *s, const struct reply *r)
{
	if (r->code == 220) {
		smtp_set_phase(s, PH_TLS);
		return;
	}
	smtp_fail_reply(s, CMD_STARTTLS, 0, r);
	smtp_cancel(s);
}

static void on_mail(struct smtp *s, const struct reply *r)
{
	if (smtp_ok(r)) {
		s->mail_ok = true;
		if (!s->pipelining)
			smtp_send_rcpt(s, s->txn[s->txn_next++]);
		return;
	}
	smtp_fail_reply(s, CMD_MAIL, 0, r);
	s->failed = true;
	if (!s->pipelining)
		smtp_message_over(s);
}

/* RFC 5321 4.5.3.1.10: a server out of room for recipients answers 452
 * (older ones 552, which the client treats as 452, with X.5.3 "too many
 * recipients" of RFC 3463 or the words); the recipient waits for a
 * further transaction. */
static bool smtp_too_many(const struct reply *r)
{
	if (r->code == 452)
		return true;
	return r->code == 552 && (strcmp(r->enh, "5.5.3") == 0 ||
				  (r->text != NULL && strcasestr(r->text, "too many recipients") != NULL));
}

static void on_rcpt(struct smtp *s, size_t idx, const struct reply *r)
{
	if (smtp_ok(r) && s->mail_ok) {
		s->rstate[idx] = RS_ACCEPTED;
		s->rcpt_ok++;
	} else if (s->mail_ok && smtp_too_many(r)) {
		if (s->deferred++ == 0) {
			s->deferral = *r;
			s->deferral.text = xstrdup(r->text != NULL ? r->text : "");
			s->deferral_rcpt = idx;
		}
		/* Lock-step: the rest would be refused the same way. */
		if (!s->pipelining)
			s->txn_next = s->ntxn;
	} else if (s->mail_ok) {
		struct outcome_judgement jd = outcome_judge(STEP_RCPT, r->code, r->enh, r->text);
		struct smtp_reject *j;
		s->res.rejects = xrealloc(s->res.rejects, (s->res.nrejects + 1) * sizeof *s->res.rejects);
		j = &s->res.rejects[s->res.nrejects++];
		j->rcpt = idx;
		j->code = r->code;
		memcpy(j->enh, r->enh, sizeof j->enh);
		j->text = xstrdup(r->text != NULL ? r->text : "");
		j->hint = jd.hint;
		smtp_fail_reply(s, CMD_RCPT, idx, r);
		s->failed = true;
	}
	if (!s->pipelining) {
		if (s->txn_next < s->ntxn)
			smtp_send_rcpt(s, s->txn[s->txn_next++]);
		else
			smtp_after_rcpts(s);
	}
}

static void on_data(struct smtp *s, const struct reply *r)
{
	if (r->code == 354) {
		if (s->failed || s->rcpt_ok == 0) {
			/* RFC 2920 3.1: DATA was pipelined and accepted although a
			 * recipient was refused. An end of data now would deliver
			 * to the others; the only safe end is to drop the line. */
			if (!s->failed && s->deferred > 0)
				smtp_no_progress(s);
			/* The message keeps its own failure; the session, and
			 * every message not begun, end here. */
			smtp_record_in(&s->sres, OUTCOME_TEMPFAIL, STEP_DATA, xstrdup("DATA"), NULL,
				       "the connection was dropped: DATA was accepted (354) although a "
				       "recipient was refused, and an end of data would have delivered "
				       "the message to the others");
			smtp_set_phase(s, PH_ABORT);
			return;
		}
		smtp_set_phase(s, PH_BODY);
		return;
	}
	/* After a refused MAIL or RCPT, the DATA refusal is a consequence;
	 * so it is when every recipient was deferred. */
	if (!s->failed && s->rcpt_ok == 0 && s->deferred > 0)
		smtp_no_progress(s);
	else if (!s->failed)
		smtp_fail_reply(s, CMD_DATA, 0, r);
	s->failed = true;
	smtp_message_over(s);
}

/* The reply to the end of data of the finishing message, the next
 * message's replies behind it. Its transaction is over either way (RFC
 * 5321 4.1.1.4); a refusal is its failure alone. */
static void on_eod_finishing(struct smtp *s, const struct reply *r)
{
	struct smtp_result *res = &s->fin.res;

	free(res->final_reply);
	res->final_reply = smtp_reply_line(r);
	if (smtp_ok(r)) {
		res->transactions++;
		res->delivered += s->fin.accepted;
	} else {
		struct outcome_judgement j = outcome_judge(STEP_EOD, r->code, r->enh, r->text);
		if (smtp_record_in(res, j.outcome, STEP_EOD, smtp_cmd_text(s, CMD_EOD, 0), r, NULL))
			res->hint = j.hint;
	}
	s->fin.over = true;
}

static void on_eod(struct smtp *s, const struct reply *r)
{
	size_t i;

	/* The first end of data pending is the finishing message's: the next
	 * one's goes out only after its 354, which follows this reply. */
	if (s->fin.active && !s->fin.over) {
		on_eod_finishing(s, r);
		return;
	}
	free(s->res.final_reply);
	s->res.final_reply = smtp_reply_line(r);
	s->mail_sent = false; /* answered either way: the transaction is over */
	if (smtp_ok(r)) {
		s->res.transactions++;
		for (i = 0; i < s->nrcpt; i++) {
			if (s->rstate[i] == RS_ACCEPTED) {
				s->rstate[i] = RS_DELIVERED;
				s->res.delivered++;
			}
		}
		/* RFC 5321 4.5.3.1.10: the deferred recipients go in a further
		 * transaction on this connection. */
		if (smtp_more_rcpts(s)) {
			smtp_start_transaction(s);
			return;
		}
	} else {
		smtp_fail_reply(s, CMD_EOD, 0, r);
	}
	/* The reply closed the transaction (RFC 5321 4.1.1.4): the next
	 * message needs no RSET. */
	if (!s->last) {
		s->msg_over = true;
		smtp_set_phase(s, PH_READY);
		return;
	}
	/* Done as soon as the last end of data is answered: QUIT went out
	 * with it when pipelining; otherwise it goes now and its reply is not
	 * awaited. */
	if (!s->quit_sent)
		smtp_send(s, CMD_QUIT, 0, "QUIT");
	s->pend_len = 0;
	s->handed = 0;
	smtp_set_phase(s, PH_DONE);
}

/* The reply to the RSET that closed a failed message's transaction
 * before the next message. RFC 5321 4.1.1.5: it must be 250; after
 * anything else the server's state is unknown and the session ends. */
static void on_rset_next(struct smtp *s, const struct reply *r)
{
	if (smtp_ok(r)) {
		if (s->phase == PH_RSET)
			smtp_set_phase(s, PH_READY);
		return;
	}
	smtp_record(s, OUTCOME_PROTOCOL, STEP_OTHER, xstrdup("RSET"), r, NULL);
	smtp_set_phase(s, PH_ABORT);
}

static void smtp_on_reply(struct smtp *s, const struct reply *r)
{
	struct smtp_pending p;

	if ((s->pend_len == 0 || s->handed == 0) && r->code == 421) {
		/* RFC 5321 3.8: a server may announce its shutdown at any time,
		 * also right behind the reply to the last command. */
		smtp_record(s, OUTCOME_TEMPFAIL, STEP_OTHER, NULL, r, NULL);
		smtp_set_phase(s, PH_ABORT);
		return;
	}
	if (s->pend_len == 0 || s->handed == 0) {
		char t[600], *why;
		reply_format(r, t, sizeof t);
		/* after handed == 0: a reply to a command the server cannot
		 * have seen yet */
		why = s->pend_len == 0 ? smtp_strf("unexpected reply '%s' when no command was pending", t)
				       : smtp_strf("reply '%s' arrived before the client sent its command", t);
		smtp_abort(s, OUTCOME_PROTOCOL, STEP_OTHER, why);
		free(why);
		return;
	}
	s->handed--;
	p = s->pend[s->pend_head];
	s->pend_head++;
	s->pend_len--;
	if (s->pend_len == 0)
		s->pend_head = 0;

	if (s->auth_refused && (p.cmd == CMD_MAIL || p.cmd == CMD_RCPT || p.cmd == CMD_DATA)) {
		/* The group behind a refused AUTH: its replies change nothing
		 * (a 421 too: the refusal stays the outcome), and a 354 is
		 * answered by closing, never by data. */
		if (r->code == 421 || (p.cmd == CMD_DATA && r->code == 354))
			smtp_set_phase(s, PH_ABORT);
		else if (p.cmd == CMD_DATA)
			smtp_cancel(s);
		return;
	}
	/* 421: the server is closing the channel (RFC 5321 3.8). */
	if (r->code == 421 && p.cmd != CMD_QUIT && s->phase != PH_CANCEL) {
		smtp_fail_reply(s, p.cmd, p.arg, r);
		smtp_set_phase(s, PH_ABORT);
		return;
	}
	switch (p.cmd) {
	case CMD_GREETING: on_greeting(s, r); break;
	case CMD_EHLO:
	case CMD_HELO: on_ehlo(s, p.cmd, r); break;
	case CMD_STARTTLS: on_starttls(s, r); break;
	case CMD_MAIL: on_mail(s, r); break;
	case CMD_RCPT: on_rcpt(s, p.arg, r); break;
	case CMD_DATA: on_data(s, r); break;
	case CMD_EOD: on_eod(s, r); break;
	case CMD_AUTH:
	case CMD_AUTH_STEP: on_auth(s, r); break;
	case CMD_RSET:
		if (!s->pipelining)
			smtp_send(s, CMD_QUIT, 0, "QUIT");
		break;
	case CMD_RSET_NEXT: on_rset_next(s, r); break;
	case CMD_QUIT:
		s->pend_len = 0;
		s->handed = 0;
		smtp_set_phase(s, PH_DONE);
		break;
	}
}

/* ---- the driver's side ------------------------------------------------- */

struct smtp *smtp_new(const struct smtp_params *p)
{
	struct smtp *s = xcalloc(1, sizeof *s);

	s->ehlo_name = xstrdup(p->ehlo_name != NULL ? p->ehlo_name : "localhost");
	s->want_starttls = p->starttls;
	s->want_auth = p->auth;
	s->serverinfo = p->serverinfo;
	reply_parser_init(&s->parser);
	s->res.outcome = OUTCOME_OK;
	s->sres.outcome = OUTCOME_OK;
	s->pend_cap = 16;
	s->pend = xcalloc(s->pend_cap, sizeof *s->pend);
	s->pend[0].cmd = CMD_GREETING;
	s->pend_len = 1;
	s->handed = 1; /* the greeting is owed without a command */
	smtp_set_phase(s, PH_GREETING);
	return s;
}

void smtp_free(struct smtp *s)
{
	if (s == NULL)
		return;
	reply_parser_free(&s->parser);
	free(s->ehlo_name);
	free(s->greeting);
	free(s->ehlo_text);
	free(s->pend);
	smtp_drop_output(s);
	xfree_wipe(s->out.p, s->out.cap);
	xfree_wipe(s->log.p, s->log.cap);
	xfree_wipe(s->wire.p, s->wire.cap);
	xfree_wipe(s->wlog.p, s->wlog.cap);
	smtp_forget_message(s);
	free(s->auth_mech);
	xfree_secret(s->auth_initial);
	free(s->auth_challenge);
	smtp_result_free(&s->res);
	smtp_result_free(&s->sres);
	smtp_result_free(&s->fin.res);
	smtp_result_free(&s->taken);
	free(s);
}

enum smtp_action smtp_next(struct smtp *s)
{
	switch (s->phase) {
	case PH_ABORT:
		return SMTP_ABORT;
	case PH_DONE:
		return s->wire.len > 0 || s->out.len > 0 ? SMTP_WRITE : SMTP_DONE;
	case PH_READY:
		return SMTP_NEED_ENVELOPE;
	case PH_TLS:
		return SMTP_START_TLS;
	case PH_BODY:
		return SMTP_SEND_BODY;
	case PH_AUTH:
		if (s->wire.len > 0 || s->out.len > 0)
			return SMTP_WRITE;
		if (s->auth_mech == NULL)
			return SMTP_AUTH_BEGIN;
		if (s->auth_challenge != NULL)
			return SMTP_AUTH_STEP;
		return SMTP_READ;
	default:
		break;
	}
	if (s->wire.len > 0 || s->out.len > 0)
		return SMTP_WRITE;
	if (s->phase == PH_CANCEL && s->pend_len == 0)
		return SMTP_DONE;
	return SMTP_READ;
}

void smtp_output(struct smtp *s, const char **buf, size_t *len)
{
	if (s->wire.len == 0) {
		/* Hand the queue out and queue anew in the other buffer: what
		 * the driver writes from must not move while it writes. */
		struct smtp_buf t = s->wire;
		s->wire = s->out;
		s->out = t;
		t = s->wlog;
		s->wlog = s->log;
		s->log = t;
		s->handed = s->pend_len;
	}
	*buf = s->wire.p != NULL ? s->wire.p : "";
	*len = s->wire.len;
}

void smtp_output_log(const struct smtp *s, const char **buf, size_t *len)
{
	const struct smtp_buf *b = s->wire.len > 0 ? &s->wlog : &s->log;

	*buf = b->p != NULL ? b->p : "";
	*len = b->len;
}

void smtp_output_sent(struct smtp *s)
{
	/* the group may have carried a credential */
	if (s->wire.len > 0)
		explicit_bzero(s->wire.p, s->wire.len);
	s->wire.len = 0;
	s->wlog.len = 0;
	/* The next piece of a long pipelined group. */
	if (s->phase == PH_TRANSACTION && s->pipelining && !s->data_sent)
		smtp_fill_group(s);
}

/* Can BUF[0..LEN) be the start of a 421 reply? */
static bool smtp_maybe_421(const char *buf, size_t len)
{
	return len > 0 && memcmp(buf, "421", len < 3 ? len : 3) == 0;
}

void smtp_feed(struct smtp *s, const char *buf, size_t len)
{
	while (len > 0 && s->phase != PH_ABORT && s->phase != PH_DONE) {
		struct reply r = { 0 };
		char err[KURIER_ERRLEN];
		size_t used = 0;
		enum reply_status st = reply_parse(&s->parser, buf, len, &used, &r, err, sizeof err);

		buf += used;
		len -= used;
		if (st == REPLY_ERROR) {
			if (s->pend_len > 0)
				smtp_record(s, OUTCOME_PROTOCOL, smtp_cmd_step(s->pend[s->pend_head].cmd),
					    smtp_cmd_text(s, s->pend[s->pend_head].cmd, s->pend[s->pend_head].arg),
					    NULL, err);
			else
				smtp_record(s, OUTCOME_PROTOCOL, STEP_OTHER, NULL, NULL, err);
			smtp_set_phase(s, PH_ABORT);
			return;
		}
		if (st == REPLY_MORE)
			break;
		s->replies++;
		smtp_on_reply(s, &r);
		reply_free(&r);
		/* Bytes after the reply that answered the last pending command
		 * are a protocol error: this closes STARTTLS response injection
		 * (CVE-2011-0411) and catches servers that talk out of turn. */
		if (s->pend_len == 0 && s->phase != PH_DONE && s->phase != PH_ABORT &&
		    s->phase != PH_CANCEL && (len > 0 || reply_parser_busy(&s->parser)) &&
		    (s->phase == PH_TLS || !smtp_maybe_421(buf, len))) {
			bool tls = s->phase == PH_TLS;
			smtp_abort(s, OUTCOME_PROTOCOL, tls ? STEP_STARTTLS : STEP_OTHER,
				   tls ? "the server sent data after its STARTTLS reply and before the TLS "
					 "handshake (possible injection attack)"
				       : "the server sent data before the client's next command");
			return;
		}
	}
}

void smtp_eof(struct smtp *s)
{
	if (s->phase == PH_DONE || s->phase == PH_ABORT)
		return;
	if (s->phase == PH_CANCEL) {
		smtp_set_phase(s, PH_DONE);
		smtp_drop_output(s);
		return;
	}
	smtp_record(s, OUTCOME_TEMPFAIL,
		    s->pend_len > 0 ? smtp_cmd_step(s->pend[s->pend_head].cmd) : STEP_OTHER,
		    s->pend_len > 0 ? smtp_cmd_text(s, s->pend[s->pend_head].cmd, s->pend[s->pend_head].arg)
				    : NULL,
		    NULL, "the server closed the connection unexpectedly");
	smtp_set_phase(s, PH_ABORT);
}

void smtp_fail(struct smtp *s, enum outcome o, const char *text, bool polite)
{
	enum outcome_step step;
	char *cmd;

	if (s->phase == PH_DONE) {
		/* RFC 5321 4.1.1.10: the 250 to the end of data made the server
		 * responsible for the message; what happens to QUIT after it
		 * changes nothing (a retry would deliver it twice). */
		smtp_drop_output(s);
		return;
	}
	step = s->pend_len > 0 ? smtp_cmd_step(s->pend[s->pend_head].cmd) : STEP_OTHER;
	cmd = s->pend_len > 0 ? smtp_cmd_text(s, s->pend[s->pend_head].cmd, s->pend[s->pend_head].arg)
			      : NULL;
	smtp_record(s, o, step, cmd, NULL, text);
	if (polite && s->phase == PH_READY) {
		smtp_cancel(s);
		return;
	}
	smtp_set_phase(s, PH_ABORT);
}

void smtp_fail_at(struct smtp *s, enum outcome o, const char *what, const char *text)
{
	smtp_record(s, o, STEP_TLS, xstrdup(what), NULL, text);
	smtp_set_phase(s, PH_ABORT);
}

void smtp_tls_started(struct smtp *s)
{
	if (s->phase != PH_TLS)
		return;
	s->tls_active = true;
	/* RFC 3207 4.2: forget everything learnt before TLS and ask again. */
	memset(&s->caps, 0, sizeof s->caps);
	smtp_send_ehlo(s);
}

void smtp_body_done(struct smtp *s)
{
	if (s->phase != PH_BODY)
		return;
	smtp_send(s, CMD_EOD, 0, NULL);
	/* QUIT rides with the last end of data of the last message; a further
	 * transaction for deferred recipients follows this one. */
	if (s->pipelining && s->last && !smtp_more_rcpts(s))
		smtp_send(s, CMD_QUIT, 0, "QUIT");
	smtp_set_phase(s, PH_EOD);
}

bool smtp_body_done_next(struct smtp *s, const struct smtp_envelope *next, bool last)
{
	char t[160];
	enum outcome o;

	if (s->phase != PH_BODY)
		return false;
	/* RFC 2920 3.1: the end of data may be followed by MAIL in the same
	 * group. Only when the finishing message needs no further
	 * transaction (452-deferred recipients go first), is not the last
	 * (QUIT rides with that one), and the engine would not refuse NEXT
	 * itself (such a refusal would settle NEXT before the message before
	 * it); one finishing message at a time. */
	if (next == NULL || !s->pipelining || s->last || s->fin.active || smtp_more_rcpts(s) ||
	    smtp_envelope_problem(s, next, t, sizeof t, &o) != NULL) {
		smtp_body_done(s);
		return false;
	}
	smtp_send(s, CMD_EOD, 0, NULL);
	s->fin.active = true;
	s->fin.over = false;
	s->fin.accepted = s->rcpt_ok;
	s->fin.res = s->res;
	memset(&s->res, 0, sizeof s->res);
	s->res.outcome = OUTCOME_OK;
	/* The end of data closes the transaction, whatever its reply. */
	s->mail_sent = false;
	smtp_set_phase(s, PH_READY);
	smtp_begin_message(s, next, last);
	return true;
}

const struct smtp_result *smtp_take_finished(struct smtp *s)
{
	if (!s->fin.active)
		return NULL;
	if (!s->fin.over) {
		if (s->phase != PH_ABORT && s->phase != PH_DONE)
			return NULL;
		/* the engine records why a session ends; this is a safety net */
		smtp_record_fin(s, s->sres.outcome != OUTCOME_OK ? s->sres.outcome : OUTCOME_TEMPFAIL,
				STEP_EOD, "end of data", NULL,
				"the session ended before the end of data was answered");
	}
	smtp_result_free(&s->taken);
	s->taken = s->fin.res;
	memset(&s->fin, 0, sizeof s->fin);
	s->fin.res.outcome = OUTCOME_OK;
	return &s->taken;
}

const struct smtp_result *smtp_result(const struct smtp *s)
{
	return &s->res;
}

const struct smtp_result *smtp_session_result(const struct smtp *s)
{
	return &s->sres;
}

const struct caps *smtp_caps(const struct smtp *s)
{
	return &s->caps;
}

const char *smtp_greeting(const struct smtp *s)
{
	return s->greeting != NULL ? s->greeting : "";
}

const char *smtp_ehlo_text(const struct smtp *s)
{
	return s->ehlo_text != NULL ? s->ehlo_text : "";
}

int smtp_wait_timeout(const struct smtp *s)
{
	/* RFC 5321 4.5.3.2 */
	if (s->phase == PH_BODY)
		return 180;
	/* After a refusal only QUIT is left; its reply is a courtesy. */
	if (s->phase == PH_CANCEL)
		return 30;
	if (s->pend_len == 0)
		return 300;
	switch (s->pend[s->pend_head].cmd) {
	case CMD_DATA: return 120;
	case CMD_EOD: return 600;
	default: return 300;
	}
}

const char *smtp_step_name(const struct smtp *s)
{
	return smtp_phase_names[s->phase];
}

uint64_t smtp_replies(const struct smtp *s)
{
	return s->replies;
}

bool smtp_pipelining(const struct smtp *s)
{
	return s->pipelining;
}
