/* submit.c: the driver of one submission: the account with the command
 * line's settings, the message from standard input through its header
 * rules, the secret, the envelope, the session and the log line. What is
 * decided is decided in account.c; here are the facts and the I/O. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "account.h"
#include "aliases.h"
#include "facts.h"
#include "input.h"
#include "log.h"
#include "secret.h"
#include "submit.h"
#include "tls.h"
#include "tls-cache.h"

static void print_pretend(const struct cfg_account *a)
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
	const struct cfg_account *a = cfg_choose(cf, req->account, sender, err, sizeof err);
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

enum outcome submit_run(const struct request *req, const struct cfg_file *cf, struct diag *d)
{
	struct spool sp;
	struct msg_reader *rd = NULL;
	struct addr_list rcpts = { 0 };
	struct cfg_account *acct = NULL;       /* the account, with the command line's settings */
	struct account_headers hdr = { 0 };
	struct account_session as = { 0 };
	struct host_facts hf;
	struct smtp_envelope env;
	struct session_facts facts;
	char err[KURIER_ERRLEN];
	char *from = NULL, *sender = NULL, *secret = NULL, *head = NULL, *peek_from = NULL, *cache = NULL;
	size_t headlen = 0;
	enum outcome o = OUTCOME_OK;

	spool_init(&sp);
	/* RFC 5321 envelope sender: -f, then the From header when asked, then
	 * the account's from. Only the From header needs the message first. */
	if (req->mode == CLI_SEND && req->read_envelope_from && req->from == NULL &&
	    (o = input_peek_header(req, &head, &headlen, &peek_from)) != OUTCOME_OK)
		goto out;
	if ((o = pick_account(req, cf, req->from != NULL ? req->from : peek_from, &acct)) != OUTCOME_OK)
		goto out;
	if (req->mode == CLI_SEND) {
		facts_gather(&hf, addr_from_pattern_needs(acct->val[CFG_FROM]));
		if ((o = account_sender(req, acct, &hf, &sender, err, sizeof err)) != OUTCOME_OK) {
			diag_error("%s", err);
			goto out;
		}
		if ((o = read_input(req, acct, sender, head, headlen, &hdr, &rd, &sp)) != OUTCOME_OK)
			goto out;
	}
	if (req->mode == CLI_PRETEND)
		print_pretend(acct);
	/* --pretend too: an account that cannot send is reported as a send
	 * would report it, exit code included. */
	if ((o = account_check_sendable(acct, err, sizeof err)) != OUTCOME_OK) {
		diag_error("%s", err);
		goto out;
	}
	if (req->mode == CLI_PRETEND || (o = find_secret(acct, &secret)) != OUTCOME_OK)
		goto out;
	if (req->mode == CLI_SEND &&
	    (o = make_envelope(req, acct, sender, rd, &sp, &from, &rcpts, &env)) != OUTCOME_OK)
		goto out;
	if ((o = make_session(acct, &as, &cache)) != OUTCOME_OK)
		goto out;
	if (req->mode != CLI_SEND) {
		as.sc.serverinfo = true;
		o = session_run(&as.sc, NULL, &sp, d, NULL);
		goto out;
	}
	as.sc.auth = account_auth_mode(acct);
	as.sc.user = acct->val[CFG_USER];
	as.sc.secret = secret;
	as.sc.longest_body_line = msg_reader_max_body_line(rd);
	o = session_run(&as.sc, &env, &sp, d, &facts);
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
	return o;
}
