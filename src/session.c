/* session.c: the only module that knows all the others: it moves bytes
 * between the engine, the transport and the spool under deadlines. It
 * holds no protocol logic of its own. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "auth.h"
#include "message.h"
#include "session.h"
#include "transport.h"

#define SESSION_IO_BLOCK 65536
#define SESSION_BLK_SIZE (SESSION_IO_BLOCK * 2 + 64) /* body block: stuffed data plus commands */
#define SESSION_CONNECT_TIMEOUT 60
#define SESSION_OVERALL_TIMEOUT 3600L /* seconds; no message may take longer */

struct session {
	const struct session_conf *conf;
	struct diag *diag;
	const struct smtp_envelope *env;
	const struct session_item *item; /* the message in progress, or NULL */
	size_t nitems;           /* messages in the batch */
	char host[300];          /* HOST, or "HOST: message K of N" in a batch */
	struct smtp *smtp;
	struct transport tr;
	char *in;                /* read buffer */
	char *blk;               /* body block: stuffed message plus the end of data */
	char *raw;               /* spool read buffer */
	long reply_deadline;     /* when the awaited reply must be complete */
	uint64_t reply_count;    /* smtp_replies() when reply_deadline was set */
	long overall_deadline;   /* the whole session */
	struct auth *auth;       /* the mechanism in progress */
	char auth_mech[64];
};

static long session_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static long session_deadline(const struct session *s)
{
	int t = s->conf->timeout_s > 0 ? s->conf->timeout_s : smtp_wait_timeout(s->smtp);
	long d = session_now_ms() + t * 1000L;
	return d < s->overall_deadline ? d : s->overall_deadline;
}

/* The deadline for the reply being awaited: set once per reply, so a
 * server that drips bytes cannot stretch it. */
static long session_reply_deadline(struct session *s)
{
	if (s->reply_deadline == 0 || s->reply_count != smtp_replies(s->smtp)) {
		s->reply_deadline = session_deadline(s);
		s->reply_count = smtp_replies(s->smtp);
	}
	return s->reply_deadline;
}

static void session_timeout(struct session *s)
{
	char t[400];

	if (session_now_ms() >= s->overall_deadline)
		snprintf(t, sizeof t, "the %s took longer than %ld seconds in all (%s)",
			 s->nitems > 1 ? "message" : "session", SESSION_OVERALL_TIMEOUT,
			 smtp_step_name(s->smtp));
	else
		snprintf(t, sizeof t, "timed out after %d seconds waiting for the server (%s)%s",
			 s->conf->timeout_s > 0 ? s->conf->timeout_s : smtp_wait_timeout(s->smtp),
			 smtp_step_name(s->smtp),
			 /* A TLS server waits for a ClientHello and never greets. */
			 smtp_replies(s->smtp) == 0 && s->conf->tls != SESSION_TLS_IMPLICIT
			 ? "; no greeting arrived: if this port expects TLS on connect (465), set tls_starttls off"
			 : "");
	smtp_fail(s->smtp, OUTCOME_TEMPFAIL, t, false);
}

/* Read what the server sent and feed it to the engine. Returns -1 when the
 * engine has been told of an EOF or error. */
static int session_read_some(struct session *s)
{
	ssize_t n = transport_read(&s->tr, s->in, SESSION_IO_BLOCK);

	if (n == TR_AGAIN)
		return 0;
	if (n == 0) {
		diag_trace_note(s->diag, "connection closed by the server");
		smtp_eof(s->smtp);
		return -1;
	}
	if (n < 0) {
		smtp_fail(s->smtp, s->tr.fail, s->tr.err, false);
		return -1;
	}
	diag_trace(s->diag, 'S', s->in, (size_t)n);
	smtp_feed(s->smtp, s->in, (size_t)n);
	return 0;
}

/* Wait until the transport is ready for WANT (and, when READ_TOO, also
 * take in server bytes meanwhile). Returns 1 ready, 0 try again, -1 the
 * engine has ended (timeout, EOF, error). */
static int session_wait(struct session *s, short want, bool read_too, long deadline)
{
	struct pollfd pfd;
	long left = deadline - session_now_ms();
	int r;

	if (want == POLLIN && transport_pending(&s->tr))
		return 1;
	if (left <= 0) {
		session_timeout(s);
		return -1;
	}
	pfd.fd = s->tr.fd;
	pfd.events = transport_events(&s->tr, want);
	if (read_too)
		pfd.events |= POLLIN;
	pfd.revents = 0;
	r = poll(&pfd, 1, (int)(left > 1000000 ? 1000000 : left));
	if (r < 0 && errno == EINTR)
		return 0;
	if (r < 0) {
		char t[200];
		snprintf(t, sizeof t, "poll: %s", strerror(errno));
		smtp_fail(s->smtp, OUTCOME_OSERR, t, false);
		return -1;
	}
	if (r == 0)
		return 0;
	if (read_too && want != POLLIN && (pfd.revents & (POLLIN | POLLHUP | POLLERR))) {
		/* RFC 2920 3.1: read replies while a long group is still being
		 * written, or both sides block on full buffers. */
		if (session_read_some(s) != 0)
			return -1;
	}
	/* TLS may need the other direction to finish: whatever it asked for
	 * being ready means try again. */
	return (pfd.revents & (transport_events(&s->tr, want) | POLLHUP | POLLERR)) ? 1 : 0;
}

/* Write LEN bytes of BUF completely before DEADLINE. READ_TOO: also take
 * replies in while writing (pipelined groups). */
static int session_write_all(struct session *s, const char *buf, size_t len, bool read_too)
{
	long deadline = session_deadline(s);
	size_t off = 0;

	while (off < len) {
		ssize_t n = transport_write(&s->tr, buf + off, len - off);
		int r;

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n != TR_AGAIN) {
			smtp_fail(s->smtp, s->tr.fail, s->tr.err, false);
			return -1;
		}
		while ((r = session_wait(s, POLLOUT, read_too, deadline)) == 0)
			;
		/* A reply taken in meanwhile may have ended the session. */
		if (r < 0 || smtp_next(s->smtp) == SMTP_ABORT)
			return -1;
	}
	return 0;
}

static void session_do_write(struct session *s)
{
	const char *buf, *log;
	size_t len, loglen;

	smtp_output(s->smtp, &buf, &len);
	smtp_output_log(s->smtp, &log, &loglen);
	diag_trace(s->diag, 'C', log, loglen);
	if (session_write_all(s, buf, len, true) == 0)
		smtp_output_sent(s->smtp);
}

static void session_do_read(struct session *s)
{
	long deadline = session_reply_deadline(s);
	int r;

	while ((r = session_wait(s, POLLIN, false, deadline)) == 0)
		;
	if (r > 0)
		session_read_some(s);
}

/* Stream the spool through the dot-stuffer in blocks; the last block
 * carries the end of data (and QUIT, or the next message's MAIL group) in
 * the same write. NEXT (may be NULL): the message after this one, LAST
 * whether it is the session's last. Returns true when the engine began
 * NEXT behind the end of data (smtp_body_done_next). */
static bool session_send_body(struct session *s, struct spool *msg, const struct smtp_envelope *next,
			      bool last)
{
	struct msg_stuffer st = { false };
	char err[KURIER_ERRLEN];
	uint64_t total = 0;
	size_t have = 0, len, loglen;
	const char *buf, *log;
	bool overlap;

	spool_rewind(msg);
	for (;;) {
		ssize_t n = spool_read(msg, s->raw, SESSION_IO_BLOCK / 2, err, sizeof err);
		if (n < 0) {
			smtp_fail(s->smtp, OUTCOME_IOERR, err, false);
			return false;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		have += msg_stuff(&st, s->raw, (size_t)n, s->blk + have);
		if (have >= SESSION_IO_BLOCK / 2) {
			if (session_write_all(s, s->blk, have, false) != 0)
				return false;
			have = 0;
		}
	}
	diag_trace_note(s->diag, "message body: %llu bytes", (unsigned long long)total);
	overlap = smtp_body_done_next(s->smtp, next, last);
	smtp_output(s->smtp, &buf, &len);
	smtp_output_log(s->smtp, &log, &loglen);
	if (have + len <= SESSION_BLK_SIZE) {
		memcpy(s->blk + have, buf, len);
		buf = s->blk;
		len += have;
	} else if (session_write_all(s, s->blk, have, false) != 0) {
		/* a group too long to share the block: the body's tail first */
		return overlap;
	}
	diag_trace(s->diag, 'C', log, loglen);
	/* Behind the next message's group, replies are read while writing,
	 * as for any pipelined group (RFC 2920 3.1). */
	if (session_write_all(s, buf, len, overlap) == 0)
		smtp_output_sent(s->smtp);
	return overlap;
}

/* The advice for hint H in words; "authentication required" names the
 * lines to set and where. */
static const char *session_hint(const struct session *s, enum outcome_hint h, char *buf, size_t len)
{
	const struct session_conf *c = s->conf;

	if (h != HINT_AUTH_REQUIRED)
		return outcome_hint_text(h);
	if (s->auth_mech[0] != '\0')
		snprintf(buf, len, "the server requires authentication although kurier authenticated "
			 "(%s%s%s); check the user of account '%s'%s%s", s->auth_mech,
			 c->user != NULL ? " as " : "", c->user != NULL ? c->user : "",
			 c->account != NULL ? c->account : "default", c->config_path != NULL ? " in " : "",
			 c->config_path != NULL ? c->config_path : "");
	else
		snprintf(buf, len, "%s for account '%s'%s%s", outcome_hint_text(h),
			 c->account != NULL ? c->account : "default", c->config_path != NULL ? " in " : "",
			 c->config_path != NULL ? c->config_path : "");
	return buf;
}

/* A refusal on stderr: every line of the reply (RFC 5321 4.2.1), each as
 * "HOST: COMMAND: CODE ENH text" with the server's '-' after the code on
 * all but the last, which carries EXTRA and then HINT (either may be
 * NULL). No control octets get through. */
static void session_print_reply(const char *host, const char *command, int code, const char *enh,
				const char *text, const char *extra, const char *hint)
{
	const char *line = text != NULL ? text : "";

	for (;;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl != NULL ? (size_t)(nl - line) : strlen(line);
		char *one = xstrndup(line, n), safe[1200];

		diag_printable(one, safe, sizeof safe);
		free(one);
		diag_error("%s: %s%s%d%c%s%s%s%s%s%s", host, command != NULL ? command : "",
			   command != NULL ? ": " : "", code, nl != NULL ? '-' : ' ', enh,
			   enh[0] ? " " : "", safe, nl == NULL && extra != NULL ? extra : "",
			   nl == NULL && hint != NULL ? "; " : "", nl == NULL && hint != NULL ? hint : "");
		if (nl == NULL)
			break;
		line = nl + 1;
	}
}

static const char *session_auth_hint(const struct session *s, const struct smtp_result *r);

static void session_report(const struct session *s, const struct smtp_result *r)
{
	const char *host = s->host;
	char hint[1024];
	size_t i;

	for (i = 0; i < r->nrejects; i++) {
		const struct smtp_reject *j = &r->rejects[i];
		char cmd[600];
		snprintf(cmd, sizeof cmd, "RCPT TO:<%s>",
			 s->env != NULL && j->rcpt < s->env->nrcpt ? s->env->rcpt[j->rcpt] : "?");
		session_print_reply(host, cmd, j->code, j->enh, j->text, NULL,
				    session_hint(s, j->hint, hint, sizeof hint));
	}
	if (r->nrejects > 0) {
		diag_error("%s: message not sent: %zu of %zu recipients rejected", host, r->nrejects,
			   s->env != NULL ? s->env->nrcpt : 0);
		return;
	}
	if (r->step == STEP_AUTH) {
		const char *json = s->auth != NULL ? auth_server_error(s->auth) : NULL;
		const char *h = r->outcome == OUTCOME_UNAVAILABLE ? "the message was not sent"
								    : session_auth_hint(s, r);
		char cmd[300], extra[600];
		snprintf(cmd, sizeof cmd, "AUTH%s%s%s%s", s->auth_mech[0] ? " " : "", s->auth_mech,
			 s->conf->user != NULL ? " as " : "", s->conf->user != NULL ? s->conf->user : "");
		snprintf(extra, sizeof extra, "%s%s%s", json ? " (server says: " : "", json ? json : "",
			 json ? ")" : "");
		if (r->code != 0)
			session_print_reply(host, cmd, r->code, r->enh, r->text, extra, h);
		else
			diag_error("%s: %s: %s%s; %s", host, cmd, r->text, extra, h);
		return;
	}
	if (r->step == STEP_TLS)
		diag_error("%s: %s: %s", host, r->command, r->text); /* the text says what to do */
	else if (r->step == STEP_STARTTLS) {
		const char *cmd = r->command != NULL ? r->command : "STARTTLS";
		if (r->code != 0)
			session_print_reply(host, cmd, r->code, r->enh, r->text, NULL,
					    r->outcome == OUTCOME_TEMPFAIL ? "try again later" : NULL);
		else
			diag_error("%s: %s: %s%s", host, cmd, r->text,
				   r->outcome == OUTCOME_TEMPFAIL ? "; try again later" : "");
		if (r->outcome == OUTCOME_UNAVAILABLE)
			diag_error("account '%s' in %s requires TLS and kurier never sends without it; set "
				   "'tls_starttls off' if the server does TLS on connect (port 465), or "
				   "'tls off' to send in clear on a trusted network",
				   s->conf->account, s->conf->config_path);
	}
	else if (r->code != 0)
		session_print_reply(host, r->command, r->code, r->enh, r->text, NULL,
				    session_hint(s, r->hint, hint, sizeof hint));
	else if (r->command != NULL)
		diag_error("%s: %s: %s; %s", host, r->command, r->text, session_hint(s, r->hint, hint, sizeof hint));
	else
		diag_error("%s: %s; %s", host, r->text, session_hint(s, r->hint, hint, sizeof hint));
	/* Part of the recipients got the message in earlier transactions. */
	if (r->delivered > 0)
		diag_error("%s: %zu of %zu recipients got the message in %u earlier transaction%s; "
			   "sending it again reaches them twice", host, r->delivered,
			   s->env != NULL ? s->env->nrcpt : 0, r->transactions, r->transactions == 1 ? "" : "s");
	/* RFC 5322 2.1.1: at most 998 octets per line. kurier sends longer
	 * body lines as they are, so a server that refuses them is explained. */
	if (r->step == STEP_EOD && r->code >= 500 && s->item != NULL && s->item->longest_body_line > 998)
		diag_error("the message has a body line of %zu octets, more than the 998 that RFC 5322 "
			   "allows, and kurier does not rewrap it; wrap the text, or send the part "
			   "quoted-printable or base64 encoded",
			   s->item->longest_body_line);
}

/* Upgrade the connection; on failure the engine is told and -1 returned. */
static int session_start_tls(struct session *s)
{
	enum outcome fail = OUTCOME_OK;
	char err[KURIER_ERRLEN];
	int t = s->conf->timeout_s > 0 ? s->conf->timeout_s : SESSION_CONNECT_TIMEOUT;

	diag_trace_note(s->diag, "TLS handshake");
	long deadline = session_now_ms() + t * 1000L;

	if (deadline > s->overall_deadline)
		deadline = s->overall_deadline;
	if (tls_start(&s->tr, s->conf->tls_conf, deadline, &fail, err, sizeof err) != 0) {
		diag_trace_note(s->diag, "TLS failed: %s", err);
		smtp_fail_at(s->smtp, fail, "TLS handshake", err);
		return -1;
	}
	if (diag_tracing(s->diag)) {
		struct tls_info ti;
		if (tls_get_info(&s->tr, &ti) == 0)
			diag_trace_note(s->diag, "TLS established: %s, %s%s", ti.version, ti.cipher,
					ti.resumed ? ", resumed session" : "");
	}
	return 0;
}

/* RFC 4954: choose the mechanism and start it. */
static void session_auth_begin(struct session *s)
{
	const struct session_conf *c = s->conf;
	bool tls = tls_active(&s->tr), secure = tls || s->tr.loopback;
	struct auth_binding b = { NULL, NULL, 0, false };
	unsigned char *cb = NULL;
	size_t cblen = 0;
	char err[KURIER_ERRLEN], *initial = NULL;
	struct auth_creds cr = { c->user, c->secret, c->host, c->port, NULL };
	const char *mech;

	if (!auth_may_send(tls, s->tr.loopback, c->proxy_host != NULL, err, sizeof err)) {
		smtp_auth_fail(s->smtp, OUTCOME_CONFIG, err);
		return;
	}
	if (tls) {
		const char *type = tls_channel_binding_type(&s->tr);
		if (type != NULL && tls_channel_binding(&s->tr, type, &cb, &cblen) == 0) {
			b.type = type;
			b.data = cb;
			b.len = cblen;
		}
	}
	mech = auth_choose(c->auth, smtp_caps(s->smtp)->auth, secure, b.type != NULL, err, sizeof err);
	if (mech == NULL) {
		smtp_auth_fail(s->smtp, OUTCOME_UNAVAILABLE, err);
		goto out;
	}
	snprintf(s->auth_mech, sizeof s->auth_mech, "%s", mech);
	if (b.type != NULL && strncmp(mech, "SCRAM-", 6) == 0 && strstr(mech, "-PLUS") == NULL) {
		char plus[64];
		snprintf(plus, sizeof plus, "%s-PLUS", mech);
		b.server_plus = auth_choose(plus, smtp_caps(s->smtp)->auth, true, true, err, sizeof err) != NULL;
	}
	s->auth = auth_new(mech, &cr, &b, err, sizeof err);
	if (s->auth == NULL) {
		smtp_auth_fail(s->smtp, OUTCOME_UNAVAILABLE, err);
		goto out;
	}
	/* The first step failing here means the credential is unusable (no
	 * Kerberos ticket, a name SASLprep refuses): refused, like a bad one. */
	if (auth_initial(s->auth, &initial, err, sizeof err) != 0) {
		smtp_auth_fail(s->smtp, OUTCOME_NOPERM, err);
		goto out;
	}
	if (c->user != NULL)
		diag_note(s->diag, 1, "%s: authenticating as %s with %s", c->host, c->user, mech);
	else
		diag_note(s->diag, 1, "%s: authenticating with %s", c->host, mech);
	smtp_auth_begin(s->smtp, mech, initial, auth_verified(s->auth));
out:
	xfree_secret(initial);
	free(cb);
}

static void session_auth_step(struct session *s)
{
	char err[KURIER_ERRLEN], *out = NULL;
	enum auth_status st = auth_step(s->auth, smtp_auth_challenge(s->smtp), &out, err, sizeof err);

	if (st == AUTH_CANCEL) {
		smtp_auth_cancel(s->smtp, OUTCOME_NOPERM, err);
		return;
	}
	if (st == AUTH_ERROR) {
		smtp_auth_fail(s->smtp, OUTCOME_NOPERM, err);
		return;
	}
	smtp_auth_respond(s->smtp, out, auth_verified(s->auth));
	xfree_secret(out);
}

/* What to do about a refused login, for replies users meet often. */
static const char *session_auth_hint(const struct session *s, const struct smtp_result *r)
{
	if (r->text != NULL && strstr(r->text, "basic authentication is disabled") != NULL)
		return "the provider has turned off password logins: use OAuth 2 (auth xoauth2 or oauthbearer with a token from passwordeval)";
	if (r->text != NULL && strcasestr(r->text, "application-specific password") != NULL)
		return "the provider wants an app password: create one in the account's security settings and use it as the password";
	if (r->outcome == OUTCOME_TEMPFAIL)
		return "try again later";
	if (s->auth != NULL && auth_failure_hint(s->auth) != NULL)
		return auth_failure_hint(s->auth);
	return auth_refusal_hint(s->auth_mech);
}

static void session_print_serverinfo(const struct session *s)
{
	const struct caps *c = smtp_caps(s->smtp);
	struct tls_info ti;

	printf("SMTP server at %s, port %s:\n", s->conf->host, s->conf->port);
	printf("    %s\n", smtp_greeting(s->smtp));
	if (s->conf->tls != SESSION_TLS_OFF && tls_get_info((struct transport *)&s->tr, &ti) == 0) {
		printf("TLS session:\n");
		printf("    Protocol: %s\n", ti.version);
		printf("    Cipher suite: %s\n", ti.cipher);
		printf("    Resumed: %s\n", ti.resumed ? "yes" : "no");
		printf("TLS certificate:\n");
		printf("    Subject: %s\n", ti.subject);
		printf("    Issuer: %s\n", ti.issuer);
		printf("    Valid from: %s\n", ti.not_before);
		printf("    Valid until: %s\n", ti.not_after);
		printf("    Names: %s\n", ti.san);
		printf("    SHA-256 fingerprint: %s\n", ti.sha256);
	}
	printf("Capabilities%s:\n", s->conf->tls == SESSION_TLS_STARTTLS ? " (after STARTTLS)" : "");
	{
		const char *t = smtp_ehlo_text(s->smtp), *nl = strchr(t, '\n');
		/* The first EHLO line is the server's name, not a capability. */
		while (nl != NULL) {
			const char *line = nl + 1;
			nl = strchr(line, '\n');
			printf("    %.*s\n", (int)(nl != NULL ? (size_t)(nl - line) : strlen(line)), line);
		}
	}
	if (c->flags & CAP_SIZE) {
		if (c->size_max > 0)
			printf("Maximum message size: %llu bytes\n", (unsigned long long)c->size_max);
		else
			printf("Maximum message size: not announced\n");
	}
}

/* FACTS of a message whose result is R. */
static void session_fill_facts(struct session *s, const struct smtp_result *r, struct session_facts *f)
{
	struct tls_info ti;

	snprintf(f->tls, sizeof f->tls, "off");
	if (s->tr.ops != NULL && tls_active(&s->tr) && tls_get_info(&s->tr, &ti) == 0)
		snprintf(f->tls, sizeof f->tls, "%s (%s)", ti.version, ti.cipher);
	if (s->auth_mech[0] != '\0')
		snprintf(f->auth, sizeof f->auth, "%s user=%s", s->auth_mech,
			 s->conf->user != NULL ? s->conf->user : "");
	else
		snprintf(f->auth, sizeof f->auth, "off");
	if (r->outcome == OUTCOME_OK && r->final_reply != NULL)
		snprintf(f->reply, sizeof f->reply, "%s", r->final_reply);
	else if (r->code != 0) {
		f->code = r->code;
		snprintf(f->enh, sizeof f->enh, "%s", r->enh);
		snprintf(f->text, sizeof f->text, "%s", r->text != NULL ? r->text : "");
		/* every line of the reply, joined by " / " */
		size_t n = (size_t)snprintf(f->reply, sizeof f->reply, "%d%s%s ", r->code,
					    r->enh[0] ? " " : "", r->enh);
		const char *t;
		for (t = r->text != NULL ? r->text : ""; *t != '\0' && n + 4 < sizeof f->reply; t++) {
			if (*t == '\n') {
				memcpy(f->reply + n, " / ", 3);
				n += 3;
			} else {
				f->reply[n++] = *t;
			}
		}
		f->reply[n] = '\0';
	}
	else
		snprintf(f->reply, sizeof f->reply, "%s", r->text != NULL ? r->text : "");
}

/* Name the message in progress in what is printed about it. */
static void session_set_item(struct session *s, const struct session_item *it, size_t i)
{
	s->item = it;
	s->env = it != NULL ? it->env : NULL;
	if (it != NULL && s->nitems > 1)
		snprintf(s->host, sizeof s->host, "%s: message %zu of %zu", s->conf->host, i + 1, s->nitems);
	else
		snprintf(s->host, sizeof s->host, "%s", s->conf->host);
}

/* Message IT (number I) is over with result R: print it, fill its facts,
 * hand it to DONE. */
static void session_finish_item(struct session *s, struct session_item *it, size_t i,
				const struct smtp_result *r, session_item_done_fn *done, void *ctx)
{
	it->outcome = r->outcome;
	if (r->outcome != OUTCOME_OK)
		session_report(s, r);
	else if (!s->conf->serverinfo)
		diag_note(s->diag, 1, "%s: message accepted: %s", s->host,
			  r->final_reply != NULL ? r->final_reply : "");
	if (r->outcome == OUTCOME_OK && r->dsn_dropped)
		diag_warn("%s: the server does not offer DSN; delivery status notification options were dropped",
			  s->host);
	session_fill_facts(s, r, &it->facts);
	if (done != NULL)
		done(ctx, it, i);
}

/* The message ITEMS[*FIN] whose end of data went out ahead of the message
 * in progress (CUR), once the engine has settled it: print it and hand it
 * to DONE under its own name. Called after every step, so that it is
 * settled before the message after it and as soon as its reply is in. */
static void session_take_finished(struct session *s, struct session_item *items, size_t *fin, size_t cur,
				  session_item_done_fn *done, void *ctx)
{
	const struct smtp_result *r;

	if (*fin >= s->nitems || (r = smtp_take_finished(s->smtp)) == NULL)
		return;
	session_set_item(s, &items[*fin], *fin);
	session_finish_item(s, &items[*fin], *fin, r, done, ctx);
	session_set_item(s, cur < s->nitems ? &items[cur] : NULL, cur);
	*fin = s->nitems;
}

/* The session ended before ITEMS[FIRST..N): they get its outcome R (a
 * temporary failure if it has none). */
static void session_finish_rest(struct session *s, struct session_item *items, size_t first,
				size_t n, const struct smtp_result *r, session_item_done_fn *done, void *ctx)
{
	struct smtp_result ended = { 0 };
	char why[] = "the session ended before this message";
	size_t i;

	if (first >= n)
		return;
	if (r->outcome == OUTCOME_OK && !s->conf->serverinfo) {
		/* the engine always says why; this is a safety net */
		ended.outcome = OUTCOME_TEMPFAIL;
		ended.text = why;
		r = &ended;
	}
	if (n > 1)
		diag_error("%s: %zu of %zu messages not sent; the session ended before them", s->conf->host,
			   n - first, n);
	for (i = first; i < n; i++) {
		items[i].outcome = r->outcome;
		items[i].begun = false;
		session_fill_facts(s, r, &items[i].facts);
		if (done != NULL)
			done(ctx, &items[i], i);
	}
}

enum outcome session_run_batch(const struct session_conf *c, struct session_item *items, size_t n,
			       session_item_done_fn *done, void *ctx, struct diag *d)
{
	struct smtp_params p = { c->ehlo_name, c->tls == SESSION_TLS_STARTTLS, c->serverinfo,
				 c->auth != NULL && !c->serverinfo };
	struct session s;
	enum outcome fail = OUTCOME_OK, o;
	char err[KURIER_ERRLEN];
	int cto = (c->timeout_s > 0 ? c->timeout_s : SESSION_CONNECT_TIMEOUT) * 1000;
	struct net_target to = { c->host, c->port, c->proxy_host, c->proxy_port, cto };
	bool running = true;
	size_t next = 0;         /* the next item to begin */
	size_t cur = n;          /* the item in progress; n: none */
	size_t fin = n;          /* the item whose end of data awaits its reply behind CUR; n: none */
	size_t i;

	if (n == 0)
		return OUTCOME_OK;
	for (i = 0; i < n; i++) {
		items[i].outcome = OUTCOME_OK;
		items[i].begun = false;
		memset(&items[i].facts, 0, sizeof items[i].facts);
	}
	memset(&s, 0, sizeof s);
	s.conf = c;
	s.diag = d;
	s.nitems = n;
	session_set_item(&s, NULL, 0);
	if (c->proxy_host != NULL)
		diag_note(d, 1, "connecting to %s port %s through the proxy %s port %s", c->host, c->port,
			  c->proxy_host, c->proxy_port);
	else
		diag_note(d, 1, "connecting to %s port %s", c->host, c->port);
	if (net_connect(&to, &s.tr, &fail, err, sizeof err) != 0) {
		diag_error("%s; %s", err, fail == OUTCOME_TEMPFAIL ? "try again later, or check host and port"
					  : c->proxy_host != NULL ? "check proxy_host and proxy_port"
					  : "check the host setting");
		if (n > 1)
			diag_error("%s: %zu of %zu messages not sent; the session ended before them", c->host, n, n);
		for (i = 0; i < n; i++) {
			items[i].outcome = fail;
			snprintf(items[i].facts.tls, sizeof items[i].facts.tls, "off");
			snprintf(items[i].facts.auth, sizeof items[i].facts.auth, "off");
			snprintf(items[i].facts.reply, sizeof items[i].facts.reply, "%s", err);
			if (done != NULL)
				done(ctx, &items[i], i);
		}
		return fail;
	}
	diag_trace_note(d, "connected to %s port %s", c->host, c->port);
	s.smtp = smtp_new(&p);
	s.in = xmalloc(SESSION_IO_BLOCK);
	s.blk = xmalloc(SESSION_BLK_SIZE);
	s.raw = xmalloc(SESSION_IO_BLOCK / 2);
	s.overall_deadline = session_now_ms() + SESSION_OVERALL_TIMEOUT * 1000L;
	if (c->tls == SESSION_TLS_IMPLICIT)
		session_start_tls(&s);
	while (running) {
		session_take_finished(&s, items, &fin, cur, done, ctx);
		switch (smtp_next(s.smtp)) {
		case SMTP_WRITE:
			session_do_write(&s);
			break;
		case SMTP_READ:
			session_do_read(&s);
			break;
		case SMTP_NEED_ENVELOPE:
			/* The message before is over: settle it before the
			 * next one is begun. */
			if (cur < n)
				session_finish_item(&s, &items[cur], cur, smtp_result(s.smtp), done, ctx);
			if (next == n || items[next].env == NULL) {
				cur = n;
				session_set_item(&s, NULL, 0);
				smtp_fail(s.smtp, OUTCOME_SOFTWARE, "no envelope", true);
				break;
			}
			cur = next++;
			items[cur].begun = true;
			session_set_item(&s, &items[cur], cur);
			/* Each message gets its own hour; the first shares it
			 * with the set-up. */
			if (cur > 0)
				s.overall_deadline = session_now_ms() + SESSION_OVERALL_TIMEOUT * 1000L;
			smtp_begin_message(s.smtp, items[cur].env, cur == n - 1);
			break;
		case SMTP_START_TLS:
			if (session_start_tls(&s) == 0)
				smtp_tls_started(s.smtp);
			break;
		case SMTP_SEND_BODY:
			/* The next message may go out behind this one's end of
			 * data; this one is then finishing (smtp_body_done_next). */
			if (session_send_body(&s, items[cur].msg, next < n ? items[next].env : NULL,
					      next == n - 1)) {
				fin = cur;
				cur = next++;
				items[cur].begun = true;
				session_set_item(&s, &items[cur], cur);
				s.overall_deadline = session_now_ms() + SESSION_OVERALL_TIMEOUT * 1000L;
			}
			break;
		case SMTP_AUTH_BEGIN:
			session_auth_begin(&s);
			break;
		case SMTP_AUTH_STEP:
			session_auth_step(&s);
			break;
		case SMTP_DONE:
		case SMTP_ABORT:
			running = false;
			break;
		}
	}
	session_take_finished(&s, items, &fin, cur, done, ctx);
	if (cur < n) {
		session_finish_item(&s, &items[cur], cur, smtp_result(s.smtp), done, ctx);
		session_set_item(&s, NULL, 0);
	} else if (next == 0) {
		/* Before any message: the set-up failed (or --serverinfo). */
		o = smtp_result(s.smtp)->outcome;
		if (o != OUTCOME_OK)
			session_report(&s, smtp_result(s.smtp));
		else if (c->serverinfo)
			session_print_serverinfo(&s);
	}
	session_finish_rest(&s, items, next, n, smtp_session_result(s.smtp), done, ctx);
	o = smtp_session_result(s.smtp)->outcome;
	transport_close(&s.tr);
	auth_free(s.auth);
	smtp_free(s.smtp);
	free(s.in);
	free(s.blk);
	free(s.raw);
	return o;
}

enum outcome session_run(const struct session_conf *c, const struct smtp_envelope *env,
			 struct spool *msg, struct diag *d, struct session_facts *facts)
{
	struct session_item it;

	memset(&it, 0, sizeof it);
	it.env = env;
	it.msg = msg;
	it.longest_body_line = c->longest_body_line;
	session_run_batch(c, &it, 1, NULL, NULL, d);
	if (facts != NULL)
		*facts = it.facts;
	return it.outcome;
}
