/* main.c: request from the command line, account from the config, message
 * from stdin, then one session; exits only through the outcome table. */
#include <errno.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "account.h"
#include "address.h"
#include "aliases.h"
#include "auth.h"
#include "cli.h"
#include "config.h"
#include "diag.h"
#include "facts.h"
#include "input.h"
#include "log.h"
#include "message.h"
#include "outcome.h"
#include "secret.h"
#include "session.h"
#include "spool.h"
#include "tls.h"
#include "tls-cache.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* msmtp's last resort when no configuration file exists: SMTPSERVER is the
 * host and EMAIL the envelope sender of an account "(environment)". Returns
 * 0 without SMTPSERVER, 1 when CF holds that account, -1 on a bad value
 * (reported). */
static int env_account(struct cfg_file *cf)
{
	const char *host = getenv("SMTPSERVER"), *email = getenv("EMAIL");
	struct cfg_account *a;
	char err[KURIER_ERRLEN];

	if (host == NULL || *host == '\0')
		return 0;
	memset(cf, 0, sizeof *cf);
	cf->path = xstrdup("environment");
	a = cfg_account_new("(environment)", "environment");
	if (cfg_account_override(a, "host", host, "SMTPSERVER", err, sizeof err) != 0 ||
	    (email != NULL && *email != '\0' && cfg_account_override(a, "from", email, "EMAIL", err, sizeof err) != 0)) {
		diag_error("environment: %s", err);
		cfg_account_free(a);
		return -1;
	}
	cf->accounts = a;
	return 1;
}

/* The configuration: the user's file (-C FILE, or the first of kurier's
 * own names and ~/.msmtprc) and the system file, merged as msmtp does:
 * the user's accounts first, then the system accounts the user file does
 * not define. Returns OUTCOME_OK and fills CF, or prints why not. */
static enum outcome load_config(const struct request *req, const struct diag *d, struct cfg_file *cf)
{
	char err[KURIER_ERRLEN], path[4][4096];
	const char *xdg = getenv("XDG_CONFIG_HOME");
	struct cfg_file sys;
	size_t i, n = 0;
	int r = -2, rs;

	/* msmtp: --host without -a takes every setting from the command line
	 * and reads no file (cli.c refuses -C with it). */
	if (req->has_host && req->account == NULL) {
		memset(cf, 0, sizeof *cf);
		cf->path = xstrdup("command line");
		cf->accounts = cfg_account_new("(command line)", "command line");
		return OUTCOME_OK;
	}
	if (xdg != NULL && *xdg != '\0')
		snprintf(path[n++], sizeof path[0], "%s/kurier/config", xdg);
	else
		snprintf(path[n++], sizeof path[0], "%s/.config/kurier/config", facts_home_dir());
	snprintf(path[n++], sizeof path[0], "%s/.kurierrc", facts_home_dir());
	snprintf(path[n++], sizeof path[0], "%s/.msmtprc", facts_home_dir());
	if (req->config_file != NULL) {
		r = cfg_load(req->config_file, cf, err, sizeof err);
		if (r != 0) {
			diag_error("%s", err);
			return OUTCOME_CONFIG;
		}
	}
	for (i = 0; req->config_file == NULL && i < n; i++) {
		r = cfg_load(path[i], cf, err, sizeof err);
		if (r == 0) {
			diag_note(d, 1, "using configuration file %s%s", path[i],
				  i == 2 ? " (an msmtp configuration file)" : "");
			break;
		}
		if (r != -2) {
			diag_error("%s", err);
			return OUTCOME_CONFIG;
		}
	}
	snprintf(path[3], sizeof path[3], "%s/kurierrc", SYSCONFDIR);
	rs = cfg_load(path[3], &sys, err, sizeof err);
	if (rs == 0) {
		diag_note(d, 1, "using system configuration file %s", path[3]);
		if (r != 0) {
			*cf = sys;
			return OUTCOME_OK;
		}
		cfg_merge(cf, &sys);
		cfg_free(&sys);
		return OUTCOME_OK;
	}
	if (r == 0) {
		/* The user's own file serves; a system file this user may not
		 * read (root's, mode 0600) is no error, a broken one a warning. */
		if (rs != -2 && !(access(path[3], R_OK) != 0 && errno == EACCES))
			diag_warn("system configuration file skipped: %s", err);
		return OUTCOME_OK;
	}
	if (rs != -2) {
		diag_error("%s", err);
		return OUTCOME_CONFIG;
	}
	if ((r = env_account(cf)) != 0)
		return r > 0 ? OUTCOME_OK : OUTCOME_CONFIG;
	diag_error("no configuration file found (looked for %s, %s, %s and %s); "
		   "create one as described in kurierrc(5), or give one with -C FILE",
		   path[0], path[1], path[2], path[3]);
	return OUTCOME_CONFIG;
}

static void print_pretend(const struct cfg_file *cf, const struct cfg_account *a)
{
	int k;

	printf("account %s (from %s)\n", a->name, a->path);
	for (k = 0; k < CFG_KEY_COUNT; k++) {
		if (a->val[k] == NULL)
			continue;
		printf("%s = %s\n", cfg_key_name((enum cfg_key)k),
		       cfg_key_is_secret((enum cfg_key)k) ? "(hidden)" : a->val[k]);
	}
	if (a->val[CFG_TLS] == NULL)
		printf("tls = on (default: TLS unless the account says 'tls off')\n");
	if (a->val[CFG_PROXY_HOST] != NULL && a->val[CFG_PROXY_HOST][0] != '\0' && a->val[CFG_PROXY_PORT] == NULL)
		printf("proxy_port = 1080 (default)\n");
}

static void print_version(void)
{
	printf("kurier %s\n", PACKAGE_VERSION);
	printf("TLS library: GnuTLS %s\n", tls_library_version());
	printf("SASL library: libgsasl %s\n", auth_library_version());
	printf("IDN library: libidn2 %s\n", addr_library_version());
	printf("System configuration file: %s/kurierrc\n", SYSCONFDIR);
	printf("License: GPL-3.0-or-later. This is free software; there is NO WARRANTY.\n");
}

/* The clock and random bytes for the added Date and Message-ID. */
static void read_clock(struct msg_time *c)
{
	time_t now = time(NULL);
	struct tm tm;

	memset(c, 0, sizeof *c);
	c->now = (long long)now;
	if (localtime_r(&now, &tm) == NULL)
		return;
	c->year = tm.tm_year + 1900;
	c->mon = tm.tm_mon;
	c->mday = tm.tm_mday;
	c->wday = tm.tm_wday;
	c->hour = tm.tm_hour;
	c->min = tm.tm_min;
	c->sec = tm.tm_sec;
	c->gmtoff_s = tm.tm_gmtoff;
}

/* The account for SENDER (the request's -a, else by sender), with the
 * command line's settings applied: *OWN, which the caller frees. */
static enum outcome pick_account(const struct request *req, const struct cfg_file *cf, const char *sender,
				 struct cfg_account **own)
{
	char err[KURIER_ERRLEN];
	const struct cfg_account *a = account_choose(cf, req->account, sender, err, sizeof err);
	enum outcome o;

	if (a == NULL) {
		diag_error("%s", err);
		return OUTCOME_CONFIG;
	}
	if ((*own = account_override(a, req, &o, err, sizeof err)) == NULL)
		diag_error("%s", err);
	return o;
}

/* The secret for account A when its AUTH mode needs one. */
static enum outcome find_secret(const struct cfg_account *a, char **secret)
{
	char err[KURIER_ERRLEN], where[4200], netrc[4096];
	struct secret_sources src = {
		.password = a->val[CFG_PASSWORD], .passwordeval = a->val[CFG_PASSWORDEVAL],
		.where_eval = account_where(a, CFG_PASSWORDEVAL, where, sizeof where), .netrc = netrc,
		.host = a->val[CFG_HOST], .user = a->val[CFG_USER], .account = a->name, .config = a->path,
	};

	*secret = NULL;
	if (account_auth_mode(a) == NULL || !account_auth_needs_user(a))
		return OUTCOME_OK;
	snprintf(netrc, sizeof netrc, "%s/.netrc", facts_home_dir());
	if (secret_lookup(&src, secret, err, sizeof err) != 0) {
		diag_error("%s", err);
		return OUTCOME_CONFIG;
	}
	return OUTCOME_OK;
}

/* Where and how to connect, with the TLS session cache file. */
static enum outcome make_session(const struct cfg_account *a, struct account_session *s, char **cache)
{
	char err[KURIER_ERRLEN], hostname[256] = "";
	enum outcome o;
	int i;

	if (gethostname(hostname, sizeof hostname) != 0)
		hostname[0] = '\0';
	hostname[sizeof hostname - 1] = '\0';
	if ((o = account_session(a, hostname, s, err, sizeof err)) != OUTCOME_OK) {
		diag_error("%s", err);
		return o;
	}
	for (i = 0; i < s->nwarn; i++)
		diag_warn("%s", s->warn[i]);
	if (s->sc.tls != SESSION_TLS_OFF)
		s->tls.cache_file = *cache = tls_cache_path(a->name, s->host, s->port);
	return OUTCOME_OK;
}

/* The message from standard input through the account's header rules
 * into SP; *RD is the reader, which knows what the message holds. */
static enum outcome read_input(const struct request *req, const struct cfg_account *a, const char *sender,
			       const char *head, size_t headlen, struct account_headers *h,
			       struct msg_reader **rd, struct spool *sp)
{
	char err[KURIER_ERRLEN];
	struct msg_time clock;
	unsigned char rnd[9];
	bool have_rnd;
	enum outcome o;

	read_clock(&clock);
	/* the Message-ID's uniqueness, from the TLS library's generator */
	have_rnd = tls_random(rnd, sizeof rnd) == 0;
	if ((o = account_headers(req, a, sender, &clock, have_rnd ? rnd : NULL, sizeof rnd, h, err, sizeof err)) !=
	    OUTCOME_OK) {
		diag_error("%s", err);
		return o;
	}
	h->mo.ignore_dots = req->ignore_dots;
	h->mo.collect_rcpts = req->read_recipients;
	*rd = msg_reader_new(&h->mo, spool_write, sp);
	return input_read_message(*rd, sp, head, headlen);
}

/* The envelope: the sender (the From header's with --read-envelope-from
 * and no -f) and the recipients, through the aliases file. */
static enum outcome make_envelope(const struct request *req, const struct cfg_account *a, const char *sender,
				  const struct msg_reader *rd, const struct spool *sp, char **from,
				  struct addr_list *rcpts, struct smtp_envelope *env)
{
	char err[KURIER_ERRLEN], where[4200];
	struct aliases *al = NULL;
	const char *hint = msg_reader_from(rd);
	enum outcome o = OUTCOME_OK;

	/* allow_from_override off: the account's sender, whatever -f or the
	 * From header says */
	if (req->read_envelope_from && req->from == NULL && hint != NULL &&
	    cfg_bool(a, CFG_ALLOW_FROM_OVERRIDE, true)) {
		*from = xstrdup(hint);
		if ((o = account_qualify(a, "envelope sender", true, from, err, sizeof err)) != OUTCOME_OK)
			goto out;
	} else if (sender != NULL) {
		*from = xstrdup(sender);
	} else {
		snprintf(err, sizeof err, "no envelope sender: give -f ADDR, or set from in account '%s' of %s",
			 a->name, a->path);
		o = req->read_envelope_from ? OUTCOME_DATAERR : OUTCOME_CONFIG;
		goto out;
	}
	if (a->val[CFG_ALIASES] != NULL && (al = aliases_load(a->val[CFG_ALIASES], err, sizeof err)) == NULL) {
		diag_error("%s: aliases: %s", account_where(a, CFG_ALIASES, where, sizeof where), err);
		return OUTCOME_CONFIG;
	}
	if ((o = account_recipients(req, a, msg_reader_rcpts(rd), al, rcpts, err, sizeof err)) != OUTCOME_OK)
		goto out;
	account_envelope(req, a, *from, rcpts, sp->size, msg_reader_eightbit(rd), msg_reader_needs_smtputf8(rd), env);
out:
	aliases_free(al);
	if (o != OUTCOME_OK)
		diag_error("%s", err);
	return o;
}

/* The transcript file of -X, or none. Returns OUTCOME_OK or 78. */
static enum outcome open_transcript(const struct request *req, struct diag *d)
{
	char err[KURIER_ERRLEN];
	int fd;

	if (req->transcript_file == NULL)
		return OUTCOME_OK;
	/* CVE-2016-10033 (PHPMailer): a web application that passes an
	 * attacker's sender to sendmail can be made to add -X and write a
	 * file. Under the name sendmail -X is ignored, as Postfix does. */
	if (req->as_sendmail) {
		diag_warn("-X %s ignored: kurier writes no transcript when called as sendmail; "
			  "run it as kurier to get one", req->transcript_file);
		log_syslog_warning("-X option ignored when called as sendmail (uid %ld)", (long)getuid());
		return OUTCOME_OK;
	}
	fd = log_open_private(req->transcript_file, false, err, sizeof err);
	d->transcript = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (d->transcript == NULL) {
		if (fd >= 0)
			close(fd);
		diag_error("cannot open transcript file %s", err);
		return OUTCOME_CONFIG;
	}
	return OUTCOME_OK;
}

int main(int argc, char **argv)
{
	struct request req;
	struct cfg_file cf;
	struct spool sp;
	struct msg_reader *rd = NULL;
	struct addr_list rcpts = { 0 };
	struct cfg_account *acct = NULL;       /* the account, with the command line's settings */
	struct diag d = { 0 };
	struct account_headers hdr = { 0 };
	struct account_session as = { 0 };
	struct host_facts hf;
	struct smtp_envelope env;
	struct session_facts facts;
	char err[KURIER_ERRLEN];
	char *from = NULL, *sender = NULL, *secret = NULL, *head = NULL, *peek_from = NULL, *cache = NULL;
	size_t headlen = 0;
	enum outcome o = OUTCOME_OK;
	bool have_cf = false;

	/* before any config or secret is read: nothing of it in a core dump */
	if (secret_protect_process() != 0)
		diag_warn("cannot turn off core dumps: %s", strerror(errno));
	memset(&cf, 0, sizeof cf);
	spool_init(&sp);
	if (cli_parse(argc, argv, &req, err, sizeof err) != 0) {
		diag_error("%s", err);
		o = OUTCOME_USAGE;
		goto out;
	}
	d.verbose = req.verbose;
	d.debug = req.debug;
	switch (req.mode) {
	case CLI_HELP:
		fputs(cli_help_text, stdout);
		goto out;
	case CLI_VERSION:
		print_version();
		goto out;
	/* The modes of a queueing sendmail. kurier submits at once and keeps
	 * no queue, and reads aliases files as text on every message. */
	case CLI_QUEUE_LIST:
		puts("Mail queue is empty");
		goto out;
	case CLI_QUEUE_RUN:
	case CLI_NEWALIASES:
		diag_note(&d, 1, "%s", req.mode == CLI_QUEUE_RUN ? "no queue to run: messages are submitted at once"
								 : "nothing to rebuild: aliases files are read as they are");
		goto out;
	default:
		break;
	}
	if ((o = open_transcript(&req, &d)) != OUTCOME_OK || (o = load_config(&req, &d, &cf)) != OUTCOME_OK)
		goto out;
	have_cf = true;

	/* RFC 5321 envelope sender: -f, then the From header when asked, then
	 * the account's from. Only the From header needs the message first. */
	if (req.mode == CLI_SEND && req.read_envelope_from && req.from == NULL &&
	    (o = input_peek_header(&req, &head, &headlen, &peek_from)) != OUTCOME_OK)
		goto out;
	if ((o = pick_account(&req, &cf, req.from != NULL ? req.from : peek_from, &acct)) != OUTCOME_OK)
		goto out;
	if (req.mode == CLI_SEND) {
		facts_gather(&hf, addr_from_pattern_needs(acct->val[CFG_FROM]));
		if ((o = account_sender(&req, acct, &hf, &sender, err, sizeof err)) != OUTCOME_OK) {
			diag_error("%s", err);
			goto out;
		}
		if ((o = read_input(&req, acct, sender, head, headlen, &hdr, &rd, &sp)) != OUTCOME_OK)
			goto out;
	}
	if (req.mode == CLI_PRETEND)
		print_pretend(&cf, acct);
	/* --pretend too: an account that cannot send is reported as a send
	 * would report it, exit code included. */
	if ((o = account_check_sendable(acct, err, sizeof err)) != OUTCOME_OK) {
		diag_error("%s", err);
		goto out;
	}
	if (req.mode == CLI_PRETEND || (o = find_secret(acct, &secret)) != OUTCOME_OK)
		goto out;
	if (req.mode == CLI_SEND &&
	    (o = make_envelope(&req, acct, sender, rd, &sp, &from, &rcpts, &env)) != OUTCOME_OK)
		goto out;
	if ((o = make_session(acct, &as, &cache)) != OUTCOME_OK)
		goto out;
	if (req.mode != CLI_SEND) {
		as.sc.serverinfo = true;
		o = session_run(&as.sc, NULL, &sp, &d, NULL);
		goto out;
	}
	as.sc.auth = account_auth_mode(acct);
	as.sc.user = acct->val[CFG_USER];
	as.sc.secret = secret;
	as.sc.longest_body_line = msg_reader_max_body_line(rd);
	o = session_run(&as.sc, &env, &sp, &d, &facts);
	log_submission(&(struct log_entry){ .account = acct, .session = &as.sc, .env = &env, .facts = &facts,
					    .outcome = o, .size = sp.size, .after_dot = msg_reader_after_dot(rd, NULL) });
out:
	cfg_account_free(acct);
	account_session_free(&as);
	account_headers_free(&hdr);
	free(cache);
	free(sender);
	free(head);
	free(peek_from);
	xfree_secret(secret);
	free(from);
	addr_list_free(&rcpts);
	msg_reader_free(rd);
	spool_free(&sp);
	if (have_cf)
		cfg_free(&cf);
	cli_free(&req);
	if (d.transcript != NULL)
		fclose(d.transcript);
	/* What kurier prints on standard output (--help, --pretend, -bp, the
	 * logfile -) must arrive; a submission's own log has already warned,
	 * and its outcome stands. */
	if (fflush(stdout) != 0 && req.mode != CLI_SEND) {
		diag_error("cannot write to standard output: %s", strerror(errno));
		if (o == OUTCOME_OK)
			o = OUTCOME_IOERR;
	}
	return outcome_exit_code(o);
}
