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
 * sent. ONLY_ACCOUNT: just that account's entries and queue (after a
 * submission, and the background run of -odb). Returns OUTCOME_OK when
 * the queue could be run (entries that failed again stay queued and are
 * logged), else why not. */
enum outcome qrun_run(const struct request *req, const struct cfg_file *cf, const char *only_account,
		      struct diag *d);

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
