/* queue-run.h: the queue as the user meets it: storing a prepared
 * message (-odq, queue always, a temporary failure in queue fallback),
 * delivering the due entries (-q, and after a submission), listing them
 * (-bp, mailq, --queue-json) and deleting one (--queue-delete). The store
 * itself is queue.h; the sending is deliver.h. */
#ifndef KURIER_QUEUE_RUN_H
#define KURIER_QUEUE_RUN_H

#include "common.h"
#include "cli.h"
#include "config.h"
#include "diag.h"
#include "outcome.h"
#include "smtp.h"
#include "spool.h"

#define QRUN_BATCH_MAX 1000  /* most entries sent over one connection */
#define QRUN_ALONG_MAX 100   /* most due entries a submission takes along */

/* Queue MSG (sealed) with ENV for account A: durable (files and
 * directory synced) when this returns OUTCOME_OK, with the entry's id in
 * ID (at least 49 bytes). Else the failure is printed and returned (78
 * for a queue directory that cannot be used, 75 for one that cannot be
 * written now, e.g. a full disk) and nothing of the entry is left. */
enum outcome qrun_store(const struct cfg_account *a, const struct smtp_envelope *env, struct spool *msg,
			char *id, size_t idlen);

/* Deliver the entries of the queue that REQ selects (-a, -qI, -qR, -qS;
 * without a selection the due ones) with the accounts of CF: each
 * account's entries over one connection, each entry locked while it is
 * sent. An account with a due entry sends all of its entries: its server
 * is tried anyway, and a backlog goes at once when it is back. ONLY_ACCOUNT: just that account's entries and queue (after a
 * submission, and the background run of -odb). Returns OUTCOME_OK when
 * the queue could be run (entries that failed again stay queued and are
 * logged), else why not. */
enum outcome qrun_run(const struct request *req, const struct cfg_file *cf, const char *only_account,
		      struct diag *d);

/* After a submission: account A's due entries go over the same
 * connection (deliver_items with the message first and these after it).
 * The entries are locked (at most QRUN_ALONG_MAX, so the caller does not
 * wait for a whole backlog); NULL when there are
 * none, or no queue. QRUN_BATCH_DONE is the DONE callback for item I of
 * the batch's own array. */
struct qrun_batch;
struct deliver_item;
struct qrun_batch *qrun_due(const struct cfg_file *cf, const struct cfg_account *a, struct diag *d);
struct deliver_item *qrun_batch_items(struct qrun_batch *b, size_t *n);
void qrun_batch_done(struct qrun_batch *b, struct deliver_item *it, size_t i);
void qrun_batch_free(struct qrun_batch *b);

/* -odb, queue always: deliver ACCOUNT's due entries in a child process
 * that outlives this one, with standard input, output and error on
 * /dev/null (the caller waits for none of it). */
void qrun_background(const struct request *req, const struct cfg_file *cf, const char *account,
		     struct diag *d);

/* -bp / mailq (JSON false) and --queue-json: every entry, failed ones
 * and problems, of every queue CF's accounts use. */
enum outcome qrun_list(const struct request *req, const struct cfg_file *cf, bool json);

/* --queue-delete ID. */
enum outcome qrun_delete(const struct request *req, const struct cfg_file *cf);

#endif
