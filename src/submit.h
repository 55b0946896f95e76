/* submit.h: one submission (or --pretend, --serverinfo) from a parsed
 * request and the loaded configuration. */
#ifndef KURIER_SUBMIT_H
#define KURIER_SUBMIT_H

#include "common.h"
#include "cli.h"
#include "config.h"
#include "diag.h"
#include "outcome.h"
#include "account.h"
#include "message.h"
#include "smtp.h"
#include "spool.h"

/* Choose the account, read the message, submit it and log the result;
 * with --pretend print the account, with --serverinfo the server. Every
 * failure is reported on stderr; returns the outcome. */
enum outcome submit_run(const struct request *req, const struct cfg_file *cf, struct diag *d);

/* -bs: SMTP on standard input and output (smtp-stdio.c): each message
 * the client sends is submitted as submit_run would, and answered 250
 * only once a server took it or it is queued. */
enum outcome submit_smtp_stdio(const struct request *req, const struct cfg_file *cf, struct diag *d);

/* The steps of submit_run, for -bs. */
/* The account for SENDER (REQ's -a, else by sender), with the command
 * line's settings applied: *OWN, which the caller frees. */
enum outcome submit_pick_account(const struct request *req, const struct cfg_file *cf, const char *sender,
				 struct cfg_account **own);
/* A reader that takes the message through A's header rules into SP. */
enum outcome submit_reader(const struct request *req, const struct cfg_account *a, const char *sender,
			   struct account_headers *h, struct msg_reader **rd, struct spool *sp);
/* The envelope: REQ's recipients (its arguments, -t's), through aliases. */
enum outcome submit_envelope(const struct request *req, const struct cfg_account *a, const char *sender,
			     const struct msg_reader *rd, const struct spool *sp, char **from,
			     struct addr_list *rcpts, struct smtp_envelope *env);

/* What became of a message, for -bs's reply. */
struct submit_result {
	char queue_id[64];        /* the queue entry, when it was queued */
	char reply[1024];         /* the reply that decided it (every line, " / "), or what
				     went wrong */
	int code;                 /* a server's refusal: its code, enhanced code and lines */
	char enh[16];
	char text[1024];
};
/* Send, queue, or send and queue on a temporary failure, as the -od
 * option or A's queue keyword says; fallback accounts included. RES
 * (may be NULL) says what happened. */
enum outcome submit_deliver(const struct request *req, const struct cfg_file *cf, const struct cfg_account *a,
			    const struct smtp_envelope *env, struct spool *sp, const struct msg_reader *rd,
			    struct submit_result *res, struct diag *d);

#endif
