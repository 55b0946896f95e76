/* smtp-stdio.c: -bs: kurier as an SMTP server on standard input and
 * output (what PHP's Symfony Mailer speaks to sendmail). The protocol is
 * smtpd.c's; each message goes through the account's header rules and is
 * submitted as one from standard input would be (submit.c), and the
 * client hears 250 only once a server took it or it is queued. */
#include <stdio.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "facts.h"
#include "smtpd.h"
#include "submit.h"

/* One message on its way in. */
struct stdio_msg {
	struct cfg_account *acct;
	struct account_headers hdr;
	struct msg_reader *rd;
	struct spool sp;
	struct request req;            /* the caller's request with this message's envelope */
	char *from;
	bool failed;                   /* refused while its data came in: only drain it */
	int code;                      /* ... with this reply */
	char enh[16];
	char text[KURIER_ERRLEN];
};

static void stdio_msg_free(struct stdio_msg *m)
{
	if (m == NULL)
		return;
	cfg_account_free(m->acct);
	account_headers_free(&m->hdr);
	msg_reader_free(m->rd);
	spool_free(&m->sp);
	free(m->from);
	free(m);
}

static void stdio_refuse(struct stdio_msg *m, int code, const char *enh, const char *text)
{
	m->failed = true;
	m->code = code;
	snprintf(m->enh, sizeof m->enh, "%s", enh);
	snprintf(m->text, sizeof m->text, "%s", text);
}

/* The outcome of a failure before anything was sent, as a reply. */
static void stdio_refuse_outcome(struct stdio_msg *m, enum outcome o, const char *text)
{
	if (outcome_is_temporary(o) || o == OUTCOME_OSERR || o == OUTCOME_IOERR || o == OUTCOME_SOFTWARE ||
	    o == OUTCOME_CONFIG)
		stdio_refuse(m, 451, "4.3.0", text);
	else
		stdio_refuse(m, 554, "5.6.0", text);
}

/* The message's first data: the account by its sender, the reader. */
static struct stdio_msg *stdio_begin(const struct request *req, const struct cfg_file *cf,
				     const struct smtpd_envelope *e)
{
	struct stdio_msg *m = xcalloc(1, sizeof *m);
	struct host_facts hf;
	char err[KURIER_ERRLEN];
	enum outcome o;

	spool_init(&m->sp);
	m->req = *req;
	m->req.from = (char *)e->from;
	m->req.read_recipients = false;
	m->req.read_envelope_from = false;
	/* the data is unstuffed: a line "." in it is text */
	m->req.ignore_dots = true;
	if ((o = submit_pick_account(&m->req, cf, e->from, &m->acct)) != OUTCOME_OK) {
		stdio_refuse_outcome(m, o, "no account can send this message; the details are on kurier's standard error");
		return m;
	}
	facts_gather(&hf, addr_from_pattern_needs(m->acct->val[CFG_FROM]));
	if ((o = account_sender(&m->req, m->acct, &hf, &m->from, err, sizeof err)) != OUTCOME_OK ||
	    (o = submit_reader(&m->req, m->acct, m->from, &m->hdr, &m->rd, &m->sp)) != OUTCOME_OK) {
		diag_error("%s", err);
		stdio_refuse_outcome(m, o, err);
	}
	return m;
}

static void stdio_data(struct stdio_msg *m, const char *buf, size_t len)
{
	char err[KURIER_ERRLEN];

	if (m->failed)
		return;
	if (msg_reader_feed(m->rd, buf, len, err, sizeof err) == MSG_ERROR) {
		diag_error("message: %s", err);
		stdio_refuse(m, strncmp(err, "cannot ", 7) == 0 ? 451 : 554, strncmp(err, "cannot ", 7) == 0 ? "4.3.0"
			     : "5.6.0", err);
	}
}

/* The text of a server's "250 2.0.0 text" (its lines joined by " / "),
 * without the code and the enhanced code; NULL when R is no reply. */
static const char *stdio_reply_text(const char *r)
{
	size_t k;

	if (!isdigit((unsigned char)r[0]) || !isdigit((unsigned char)r[1]) || !isdigit((unsigned char)r[2]) ||
	    (r[3] != ' ' && r[3] != '\0'))
		return NULL;
	r += r[3] == ' ' ? 4 : 3;
	k = strspn(r, "0123456789.");
	if (k > 4 && (r[k] == ' ' || r[k] == '\0'))
		r += k + (r[k] == ' ');
	return r;
}

/* The end of data: submit, and answer. */
static void stdio_end(struct smtpd *sd, struct stdio_msg *m, const struct cfg_file *cf, struct diag *d)
{
	const struct smtpd_envelope *e = smtpd_envelope(sd);
	const char **args = NULL;
	struct addr_list rcpts = { 0 };
	struct smtp_envelope env;
	struct submit_result res;
	char err[KURIER_ERRLEN], *from = NULL, text[1100];
	enum outcome o;
	size_t i;
	int code;

	if (!m->failed && msg_reader_finish(m->rd, err, sizeof err) == MSG_ERROR) {
		diag_error("message: %s", err);
		stdio_refuse(m, 554, "5.6.0", err);
	}
	if (!m->failed && spool_seal(&m->sp, err, sizeof err) != 0) {
		diag_error("%s", err);
		stdio_refuse(m, 451, "4.3.0", err);
	}
	if (m->failed) {
		smtpd_verdict(sd, m->code, m->enh, m->text);
		return;
	}
	/* the envelope: the RCPT commands as the recipient arguments, the
	 * DSN parameters as -N, -R and -V */
	args = xcalloc(e->nrcpt + 1, sizeof *args);
	for (i = 0; i < e->nrcpt; i++)
		args[i] = e->rcpt[i].addr;
	m->req.rcpt_args = (char *const *)args;
	m->req.nrcpt_args = e->nrcpt;
	if (e->nrcpt > 0 && e->rcpt[0].notify != NULL)
		m->req.dsn_notify = e->rcpt[0].notify;
	if (e->ret != NULL)
		m->req.dsn_return = e->ret;
	if (e->envid != NULL)
		m->req.dsn_envid = e->envid;
	if (e->body == SMTPD_BODY_8BITMIME)
		m->req.body = SMTP_BODY_8BITMIME;
	else if (e->body == SMTPD_BODY_7BIT)
		m->req.body = SMTP_BODY_7BIT;
	o = submit_envelope(&m->req, m->acct, m->from, m->rd, &m->sp, &from, &rcpts, &env);
	if (o != OUTCOME_OK) {
		stdio_refuse_outcome(m, o, "the envelope was refused; the details are on kurier's standard error");
		smtpd_verdict(sd, m->code, m->enh, m->text);
		goto out;
	}
	o = submit_deliver(&m->req, cf, m->acct, &env, &m->sp, m->rd, &res, d);
	if (o == OUTCOME_OK) {
		if (res.queue_id[0] != '\0') {
			snprintf(text, sizeof text, "queued as %s", res.queue_id);
			smtpd_verdict(sd, 250, "2.0.0", text);
		} else {
			const char *t = stdio_reply_text(res.reply);
			smtpd_verdict(sd, 250, "2.0.0", t != NULL && *t != '\0' ? t : "accepted");
		}
		goto out;
	}
	/* RFC 5321 4.2.1: the class of the reply is what the client acts on;
	 * the server's own lines go back as they were */
	code = res.code;
	if (code >= 400 && code < 600 && (code / 100 == 4) == outcome_is_temporary(o)) {
		smtpd_verdict(sd, code, res.enh, res.text);
	} else {
		snprintf(text, sizeof text, "%s", res.reply[0] != '\0' ? res.reply : outcome_info(o)->meaning);
		if (outcome_is_temporary(o))
			smtpd_verdict(sd, 451, "4.4.1", text);
		else
			smtpd_verdict(sd, 554, "5.0.0", text);
	}
out:
	free(args);
	free(from);
	addr_list_free(&rcpts);
}

/* SIGPIPE: a client that stops reading ends the session through a failed
 * write (EPIPE), not by killing kurier. A handler, not SIG_IGN: it is
 * reset by exec, so programs kurier runs (passwordeval) do not inherit it. */
static void stdio_on_sigpipe(int sig)
{
	(void)sig;
}

enum outcome submit_smtp_stdio(const struct request *req, const struct cfg_file *cf, struct diag *d)
{
	char host[256] = "localhost", *in = xmalloc(SMTPD_READ_MAX);
	struct smtpd_params p = { 0 };
	struct stdio_msg *m = NULL;
	struct smtpd *sd;
	enum outcome o = OUTCOME_OK;
	bool running = true;
	struct sigaction pipe_sa, pipe_old;

	memset(&pipe_sa, 0, sizeof pipe_sa);
	pipe_sa.sa_handler = stdio_on_sigpipe;
	sigemptyset(&pipe_sa.sa_mask);
	sigaction(SIGPIPE, &pipe_sa, &pipe_old);
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	p.hostname = host;
	/* the submission has one NOTIFY for all recipients (-N) */
	p.one_notify = true;
	sd = smtpd_new(&p);
	while (running) {
		const char *buf;
		size_t len;
		ssize_t n;

		switch (smtpd_next(sd)) {
		case SMTPD_WRITE:
			smtpd_output(sd, &buf, &len);
			if (write_whole_fd(1, buf, len) != 0) {
				diag_error("-bs: cannot write to standard output: %s", strerror(errno));
				o = OUTCOME_IOERR;
				running = false;
				break;
			}
			smtpd_output_sent(sd);
			break;
		case SMTPD_READ:
			do
				n = read(0, in, SMTPD_READ_MAX);
			while (n < 0 && errno == EINTR);
			if (n < 0) {
				diag_error("-bs: cannot read standard input: %s", strerror(errno));
				o = OUTCOME_IOERR;
				smtpd_eof(sd);
			} else if (n == 0) {
				smtpd_eof(sd);
			} else {
				smtpd_feed(sd, in, (size_t)n);
			}
			break;
		case SMTPD_MESSAGE_DATA:
			if (m == NULL)
				m = stdio_begin(req, cf, smtpd_envelope(sd));
			smtpd_message_data(sd, &buf, &len);
			stdio_data(m, buf, len);
			smtpd_message_taken(sd);
			break;
		case SMTPD_MESSAGE_END:
			if (m == NULL)
				m = stdio_begin(req, cf, smtpd_envelope(sd));
			stdio_end(sd, m, cf, d);
			stdio_msg_free(m);
			m = NULL;
			break;
		case SMTPD_MESSAGE_DROP:
			stdio_msg_free(m);
			m = NULL;
			break;
		case SMTPD_DONE:
			running = false;
			break;
		}
	}
	/* a message cut off by the end of the input was never accepted */
	if (smtpd_aborted(sd))
		diag_error("-bs: the input ended inside a message's data; that message was not sent");
	stdio_msg_free(m);
	smtpd_free(sd);
	free(in);
	sigaction(SIGPIPE, &pipe_old, NULL);
	return o;
}
