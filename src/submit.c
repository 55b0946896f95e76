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
#include "deliver.h"
#include "input.h"
#include "log.h"
#include "queue.h"
#include "queue-run.h"
#include "submit.h"
#include "tls.h"

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

/* The account for SENDER (the request's -a, else by sender), with the
 * command line's settings applied: *OWN, which the caller frees. */
enum outcome submit_pick_account(const struct request *req, const struct cfg_file *cf, const char *sender,
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

	facts_clock(&clock);
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
	return head == NULL && headlen == 1 ? OUTCOME_OK : input_read_message(*rd, sp, head, headlen);
}

enum outcome submit_reader(const struct request *req, const struct cfg_account *a, const char *sender,
			   struct account_headers *h, struct msg_reader **rd, struct spool *sp)
{
	return read_input(req, a, sender, NULL, 1, h, rd, sp);
}

/* The envelope: the sender (the From header's with --read-envelope-from
 * and no -f) and the recipients, through the aliases file. */
enum outcome submit_envelope(const struct request *req, const struct cfg_account *a, const char *sender,
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

/* How this message goes: the -od option, else the account's queue
 * keyword. */
static enum cfg_queue_mode submit_mode(const struct request *req, const struct cfg_account *a, bool *background)
{
	*background = false;
	switch (req->delivery) {
	case CLI_DELIVER_INTERACTIVE:
		return CFG_QUEUE_OFF;
	case CLI_DELIVER_BACKGROUND:
		*background = true;
		return CFG_QUEUE_ALWAYS;
	case CLI_DELIVER_QUEUE:
		return CFG_QUEUE_ALWAYS;
	case CLI_DELIVER_DEFAULT:
		break;
	}
	if (cfg_enum(a, CFG_QUEUE, CFG_QUEUE_OFF) == CFG_QUEUE_ALWAYS) {
		*background = true;
		return CFG_QUEUE_ALWAYS;
	}
	return (enum cfg_queue_mode)cfg_enum(a, CFG_QUEUE, CFG_QUEUE_OFF);
}

/* A queue run knows the account by its name in the configuration: one
 * made or changed on the command line cannot be queued. Returns NULL or
 * why not. */
static const char *submit_unqueueable(const struct request *req)
{
	if (req->nsettings > 0)
		return "its account has settings from the command line, which a queue run would not know";
	return NULL;
}

/* Queue the message; with BACKGROUND, start its delivery. */
static enum outcome submit_queue(const struct request *req, const struct cfg_file *cf, const struct cfg_account *a,
				 const struct smtp_envelope *env, struct spool *sp, bool background, const char *why,
				 struct submit_result *res, struct diag *d)
{
	char id[QUEUE_ID_MAX + 1], note[QUEUE_ID_MAX + 4400];
	enum outcome o = qrun_store(a, env, sp, id, sizeof id);

	if (o != OUTCOME_OK)
		return o;
	snprintf(res->queue_id, sizeof res->queue_id, "%s", id);
	if (why != NULL)
		diag_warn("message queued as %s: %s; the next queue run (kurier -q) sends it", id, why);
	else
		diag_note(d, 1, "queued as %s", id);
	snprintf(note, sizeof note, "account=%s from=<%s> recipients=%zu mailsize=%llu queued-as=%s%s%s%s", a->name,
		 env->from, env->nrcpt, (unsigned long long)sp->size, id, why != NULL ? " reason='" : "",
		 why != NULL ? why : "", why != NULL ? "'" : "");
	log_event(a, true, "%s", note);
	if (background)
		qrun_background(req, cf, a->name, d);
	return OUTCOME_OK;
}

/* The DONE of the queue entries sent along with a message (item 0). */
static void submit_along_done(void *ctx, struct deliver_item *it, size_t i)
{
	if (ctx != NULL && i > 0)
		qrun_batch_done(ctx, it, i - 1);
}

enum outcome submit_deliver(const struct request *req, const struct cfg_file *cf, const struct cfg_account *acct,
			    const struct smtp_envelope *env, struct spool *sp, const struct msg_reader *rd,
			    struct submit_result *res, struct diag *d)
{
	struct submit_result own;
	struct deliver_item item, *items, *qitems = NULL;
	struct qrun_batch *qb = NULL;
	size_t nq = 0;
	enum cfg_queue_mode mode;
	bool background;
	enum outcome o;

	if (res == NULL)
		res = &own;
	memset(res, 0, sizeof *res);
	/* a fallback that cannot be is the configuration's fault, said
	 * before anything is queued, held back or sent */
	if (deliver_check_fallbacks(cf, acct, res->reply, sizeof res->reply) != 0) {
		diag_error("%s", res->reply);
		return OUTCOME_CONFIG;
	}
	mode = submit_mode(req, acct, &background);
	if (mode == CFG_QUEUE_ALWAYS) {
		if (submit_unqueueable(req) != NULL) {
			diag_error("cannot queue the message: %s; send it now (-odi) or set the account up in the "
				   "configuration file", submit_unqueueable(req));
			return OUTCOME_USAGE;
		}
		return submit_queue(req, cf, acct, env, sp, background, NULL, res, d);
	}
	/* The account's due queue entries go along, over the same
	 * connection; not when the command line changed the account. */
	if (submit_unqueueable(req) == NULL)
		qb = qrun_due(cf, acct, d);
	if (qb != NULL)
		qitems = qrun_batch_items(qb, &nq);
	items = xcalloc(1 + nq, sizeof *items);
	items[0].env = env;
	items[0].msg = sp;
	items[0].longest_body_line = msg_reader_max_body_line(rd);
	items[0].after_dot = msg_reader_after_dot(rd, NULL);
	if (nq > 0)
		memcpy(items + 1, qitems, nq * sizeof *items);
	/* queue fallback: what the attempt says is shown only when the
	 * message is not queued after all */
	if (mode == CFG_QUEUE_FALLBACK && submit_unqueueable(req) == NULL)
		diag_hold();
	deliver_items(cf, acct, items, 1 + nq, submit_along_done, qb, d);
	item = items[0];
	o = item.outcome;
	free(items);
	qrun_batch_free(qb);
	snprintf(res->reply, sizeof res->reply, "%s", item.facts.reply);
	res->code = item.facts.code;
	memcpy(res->enh, item.facts.enh, sizeof res->enh);
	memcpy(res->text, item.facts.text, sizeof res->text);
	if (mode == CFG_QUEUE_FALLBACK && outcome_is_temporary(o)) {
		char why[sizeof item.facts.reply + sizeof item.account + 64];
		if (submit_unqueueable(req) != NULL) {
			diag_error("the message was not queued: %s", submit_unqueueable(req));
			return o;
		}
		snprintf(why, sizeof why, "account '%s' failed temporarily: %s", item.account, item.facts.reply);
		diag_release(false);
		if (submit_queue(req, cf, acct, env, sp, false, why, res, d) == OUTCOME_OK)
			return OUTCOME_OK;
		diag_error("the message was not sent: %s", why);
		return o;
	}
	diag_release(true);
	return o;
}

enum outcome submit_run(const struct request *req, const struct cfg_file *cf, struct diag *d)
{
	struct spool sp;
	struct msg_reader *rd = NULL;
	struct addr_list rcpts = { 0 };
	struct cfg_account *acct = NULL;       /* the account, with the command line's settings */
	struct account_headers hdr = { 0 };
	struct host_facts hf;
	struct smtp_envelope env;
	char err[KURIER_ERRLEN];
	char *from = NULL, *sender = NULL, *head = NULL, *peek_from = NULL;
	size_t headlen = 0;
	enum outcome o = OUTCOME_OK;

	spool_init(&sp);
	/* RFC 5321 envelope sender: -f, then the From header when asked, then
	 * the account's from. Only the From header needs the message first. */
	if (req->mode == CLI_SEND && req->read_envelope_from && req->from == NULL &&
	    (o = input_peek_header(req, &head, &headlen, &peek_from)) != OUTCOME_OK)
		goto out;
	if ((o = submit_pick_account(req, cf, req->from != NULL ? req->from : peek_from, &acct)) != OUTCOME_OK)
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
	if (req->mode == CLI_PRETEND)
		goto out;
	if (req->mode != CLI_SEND) {
		o = deliver_serverinfo(acct, d);
		goto out;
	}
	if ((o = submit_envelope(req, acct, sender, rd, &sp, &from, &rcpts, &env)) != OUTCOME_OK)
		goto out;
	o = submit_deliver(req, cf, acct, &env, &sp, rd, NULL, d);
out:
	cfg_account_free(acct);
	account_headers_free(&hdr);
	free(sender);
	free(head);
	free(peek_from);
	free(from);
	addr_list_free(&rcpts);
	msg_reader_free(rd);
	spool_free(&sp);
	return o;
}
