/* queue.h: the durable queue store (issue 13): entries on disk, written
 * so that no crash ever leaves a partial entry visible, and locked so that
 * two runners never send one message twice. It sends nothing and decides
 * no policy (when to retry, when to give up: queue-format.h computes it,
 * the front end decides).
 *
 * Layout of a queue directory QDIR (0700, the user's own; files 0600):
 *
 *   QDIR/tmp/      files being written; never read by a runner
 *   QDIR/entries/  the queue: ID.msg (the canonical message, as it is to
 *                  be sent) and ID.env (its envelope, doc/queue-format.md)
 *   QDIR/failed/   entries that failed for good, the same two files, kept
 *                  for inspection until deleted (queue_delete)
 *
 * An entry exists once its .env is in entries/: the .env is what makes an
 * entry, and its .msg is always there before it and gone after it.
 *
 * Storing (queue_store): both files are written in tmp/ and each is
 * fsync'd; then ID.msg is renamed into entries/, then ID.env, then
 * entries/ is fsync'd. Only after that does queue_store return 0: "exit 0
 * once queued" is true after any crash from then on.
 *
 * Recovery rules, for what a crash or kill can leave behind:
 *  - a file in tmp/: a store or a rewrite that never finished; nobody was
 *    told it was queued. queue_list reports it (QUEUE_ITEM_TEMPORARY, with
 *    its age); it may be deleted once older than QUEUE_STALE.
 *  - ID.msg without ID.env in entries/: a store between its two renames
 *    (for microseconds), or one killed there, or a removal killed between
 *    its two unlinks (the message was sent). Either way no one was promised
 *    it: reported as QUEUE_ITEM_INCOMPLETE, never sent, and may be deleted
 *    once older than QUEUE_STALE. A younger one is a store in progress.
 *  - ID.env without ID.msg, an envelope that does not parse, or one whose
 *    size or id disagrees with its files: QUEUE_ITEM_CORRUPT, reported and
 *    skipped, never deleted but by the user (queue_delete).
 *  - any other name: QUEUE_ITEM_FOREIGN, reported and skipped, never
 *    deleted.
 *
 * Locking: a runner holds an exclusive flock(2) on ID.msg (a file that is
 * never rewritten, so the lock stays on the one inode) while it sends the
 * entry; queue_lock never waits, so a second runner skips a busy entry. The
 * lock ends with the process, so a killed runner leaves no stale lock.
 *
 * The duplicate window: after the server's 250 to the end of data, the
 * entry is sent but still queued until queue_remove unlinks ID.env: that
 * one unlink(2) is the whole window in which a crash leads to the message
 * being sent again by the next run. */
#ifndef KURIER_QUEUE_H
#define KURIER_QUEUE_H

#include "common.h"
#include "queue-format.h"
#include "spool.h"

/* Age in seconds after which a leftover in tmp/ or an incomplete entry
 * cannot be a store in progress any more. */
#define QUEUE_STALE (60 * 60)

struct queue;
struct queue_entry;

/* Open the queue directory PATH. With CREATE, PATH and any missing parent
 * are made (0700), and so are tmp/, entries/ and failed/ inside it.
 * PATH and its three directories must belong to this user (geteuid) and
 * must not be writable by group or others: else -1 with ERR naming the
 * directory and the fix ("chmod 700 DIR", "chown USER DIR"). Returns 0
 * with *Q (queue_close it), -2 when PATH (or a part of the layout) does
 * not exist and CREATE is false (an empty queue), or -1 with ERR. */
int queue_open(const char *path, bool create, struct queue **q, char *err, size_t errlen);
void queue_close(struct queue *q);
const char *queue_path(const struct queue *q);

/* Queue the sealed spool MSG (read from its start; memory stays flat for
 * any size) with the envelope ENV. From ENV only account, from, the
 * recipients, body, eightbit, smtputf8 and the DSN fields are taken; the
 * id is new, size is MSG's, queued and next_attempt are NOW, attempts 0.
 * Returns 0 once the entry is durable (files and directory fsync'd),
 * with its id in ID (at least QUEUE_ID_MAX + 1 bytes); or -1 with ERR
 * ("cannot write QDIR/tmp/ID.msg: No space left on device"), and then no
 * part of the entry is visible in entries/ and nothing is left in tmp/. */
int queue_store(struct queue *q, struct spool *msg, const struct queue_env *env, int64_t now,
		char *id, size_t idlen, char *err, size_t errlen);

enum queue_area {
	QUEUE_ACTIVE,   /* entries/ (and tmp/ leftovers) */
	QUEUE_FAILED,   /* failed/ */
};

enum queue_item_kind {
	QUEUE_ITEM_ENTRY,       /* a complete entry: env and msg_size are set */
	QUEUE_ITEM_CORRUPT,     /* an entry's envelope that cannot be used: problem says why */
	QUEUE_ITEM_INCOMPLETE,  /* a .msg without its .env (see the recovery rules) */
	QUEUE_ITEM_TEMPORARY,   /* a file in tmp/ */
	QUEUE_ITEM_FOREIGN,     /* a name kurier never writes there */
};

/* One thing queue_list found; all pointers valid during the call only. */
struct queue_item {
	enum queue_item_kind kind;
	const char *name;              /* the id (ENTRY, CORRUPT, INCOMPLETE) or the file name */
	const struct queue_env *env;   /* ENTRY only, else NULL */
	uint64_t msg_size;             /* ENTRY: octets of the .msg */
	int64_t mtime;                 /* the file's modification time (for QUEUE_STALE) */
	const char *problem;           /* all but ENTRY: what is wrong, for the user */
};

/* Called for each item in order of name (ids sort by time queued); a
 * non-zero return stops the listing and is queue_list's result. */
typedef int queue_list_fn(void *ctx, const struct queue_item *item);

/* Every item of AREA, read without locking (an entry being sent is
 * listed too). Returns 0, FN's non-zero value, or -1 with ERR when the
 * directory cannot be read. Nothing is ever deleted or changed. */
int queue_list(struct queue *q, enum queue_area area, queue_list_fn *fn, void *ctx, char *err,
	       size_t errlen);

/* Lock the entry ID of entries/ for sending, without waiting. Returns 0
 * with *E (queue_unlock it) whose envelope and message are read; 1 when
 * another process holds it (skip it); -2 when there is no such entry (any
 * more: another runner finished it); -1 with ERR when it is corrupt. */
int queue_lock(struct queue *q, const char *id, struct queue_entry **e, char *err,
	       size_t errlen);
/* The locked entry's envelope, and a descriptor of its message to read
 * with pread(2) from offset 0 (its size is the envelope's size). */
const struct queue_env *queue_entry_env(const struct queue_entry *e);
int queue_entry_fd(const struct queue_entry *e);
/* Release the lock and free E (NULL is fine). */
void queue_unlock(struct queue_entry *e);

/* A failed attempt at NOW: attempts + 1, last_error ERROR (one line; CR
 * and LF are escaped in the file), next_attempt NEXT (queue_next_attempt).
 * The .env is replaced atomically (written in tmp/, fsync'd, renamed over
 * the old one, directory fsync'd); E's envelope shows the new one. 0, or
 * -1 with ERR and the old envelope still in place. */
int queue_record_attempt(struct queue_entry *e, int64_t now, const char *error, int64_t next,
			 char *err, size_t errlen);

/* The entry was sent: unlink its .env (the one step that ends the
 * duplicate window), fsync entries/, then unlink its .msg. 0 once the
 * .env is gone, or -1 with ERR when it could not be removed (the entry
 * will be sent again). Only queue_unlock E afterwards. */
int queue_remove(struct queue_entry *e, char *err, size_t errlen);

/* The entry failed for good (a 5xx, or queue_expired): it moves to
 * failed/ with "failed REASON" in its envelope. At every moment each
 * .env in either directory has its .msg: the message is hard-linked into
 * failed/ first, then the new .env renamed there, then the entry unlinked
 * from entries/ (.env first). 0, or -1 with ERR (the entry stays queued).
 * Only queue_unlock E afterwards. */
int queue_move_failed(struct queue_entry *e, const char *reason, char *err, size_t errlen);

/* A leftover the recovery rules let go: a file in tmp/ (QUEUE_ITEM_TEMPORARY,
 * NAME its file name) or an incomplete entry's .msg (QUEUE_ITEM_INCOMPLETE,
 * NAME its id), which the caller has seen to be older than QUEUE_STALE.
 * 0, or -1 with ERR. */
int queue_remove_stale(struct queue *q, enum queue_item_kind kind, const char *name, char *err, size_t errlen);

/* The user's --queue-delete ID: remove the entry ID from entries/ (or an
 * incomplete one), or else from failed/. Returns 0; 1 when a runner is
 * sending it now (try again later); -2 when there is no such entry; -1
 * with ERR. */
int queue_delete(struct queue *q, const char *id, char *err, size_t errlen);

#endif
