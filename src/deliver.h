/* deliver.h: prepared messages to a server with an account: its secret,
 * its session, its fallback accounts and the log. The one place where a
 * message goes out: submit.c (a message from standard input or -bs) and
 * queue-run.c (the queue) both send through here. */
#ifndef KURIER_DELIVER_H
#define KURIER_DELIVER_H

#include "common.h"
#include "config.h"
#include "diag.h"
#include "outcome.h"
#include "session.h"
#include "smtp.h"
#include "spool.h"

/* One message to send. */
struct deliver_item {
	const struct smtp_envelope *env;  /* in */
	struct spool *msg;                /* in: sealed, rewindable */
	size_t longest_body_line;         /* in: for the "line over 998 octets" advice; 0 unknown */
	uint64_t after_dot;               /* in: input ignored after a lone dot, for the log */
	const char *log_note;             /* in: appended to its log line, or NULL */
	enum outcome outcome;             /* out: OUTCOME_OK once a server took it */
	struct session_facts facts;       /* out: what the last attempt said */
	char account[256];                /* out: the account that took it, or tried it last */
	bool final;                       /* out: the outcome is final (DONE was called) */
};

/* Called once per item, as soon as its outcome is final: accepted (right
 * after the server's 250, before anything else is sent), refused for good,
 * or failed temporarily with the last account that could take it. I is
 * its index. */
typedef void deliver_done_fn(void *ctx, struct deliver_item *item, size_t i);

/* Send ITEMS[0..N) with account A; the items that fail temporarily
 * (outcome_is_temporary) are then tried with each account that A's
 * fallback_account names, in order. Every failure is reported on stderr;
 * each attempt gets its log line (account, host, the deciding reply and
 * the item's note). Returns the worst final outcome. */
enum outcome deliver_items(const struct cfg_file *cf, const struct cfg_account *a, struct deliver_item *items,
			   size_t n, deliver_done_fn *done, void *ctx, struct diag *d);

/* Whether every account A's fallback_account names is in CF: 0, or -1
 * with ERR naming the line and the name. */
int deliver_check_fallbacks(const struct cfg_file *cf, const struct cfg_account *a, char *err, size_t errlen);

/* --serverinfo: connect with A and print the server's greeting and
 * capabilities. */
enum outcome deliver_serverinfo(const struct cfg_account *a, struct diag *d);

#endif
