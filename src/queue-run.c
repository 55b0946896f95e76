/* queue-run.c: the queue's driver: which directory, storing, running,
 * listing, deleting, the failure report. Decisions about an entry's
 * envelope and schedule are queue-format.c's; the files are queue.c's;
 * the sending is deliver.c's. */
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common.h"
#include "account.h"
#include "deliver.h"
#include "facts.h"
#include "log.h"
#include "message.h"
#include "queue.h"
#include "queue-run.h"
#include "tls.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define QRUN_DIRS_MAX 64
#define QRUN_REPORT_HEADER_MAX (64 * 1024) /* of the failed message's header, in a report */

static void qrun_places(struct account_places *p)
{
	p->home = facts_home_dir();
	p->xdg_state_home = getenv("XDG_STATE_HOME");
	p->system_config = SYSCONFDIR "/kurierrc";
	p->root = geteuid() == 0;
}

static const char *qrun_dir_of(const struct cfg_account *a, char *buf, size_t len, char *err, size_t errlen)
{
	struct account_places p;

	qrun_places(&p);
	return account_queue_dir(a, &p, buf, len, err, errlen);
}

/* The queue directories of CF's accounts (of ACCOUNT only, when not
 * NULL), each once, into DIRS. Returns how many, or -1 (printed). */
static int qrun_dirs(const struct cfg_file *cf, const char *account, char dirs[][4096], int max)
{
	const struct cfg_account *a;
	char err[KURIER_ERRLEN], buf[4096];
	int n = 0, i;

	if (account != NULL) {
		if ((a = cfg_choose(cf, account, NULL, err, sizeof err)) == NULL) {
			diag_error("%s", err);
			return -1;
		}
		if (qrun_dir_of(a, dirs[0], sizeof dirs[0], err, sizeof err) == NULL) {
			diag_error("%s", err);
			return -1;
		}
		return 1;
	}
	for (a = cf->accounts; a != NULL; a = a->next) {
		if (qrun_dir_of(a, buf, sizeof buf, err, sizeof err) == NULL) {
			diag_error("%s", err);
			return -1;
		}
		for (i = 0; i < n && strcmp(dirs[i], buf) != 0; i++)
			;
		if (i == n && n < max)
			snprintf(dirs[n++], sizeof dirs[0], "%s", buf);
	}
	return n;
}

/* ---- storing ------------------------------------------------------------ */

enum outcome qrun_store(const struct cfg_account *a, const struct smtp_envelope *env, struct spool *msg,
			char *id, size_t idlen)
{
	char dir[4096], err[KURIER_ERRLEN];
	struct queue *q = NULL;
	struct queue_env qe;
	struct queue_rcpt *r;
	enum outcome o = OUTCOME_OK;
	size_t i;

	if (qrun_dir_of(a, dir, sizeof dir, err, sizeof err) == NULL) {
		diag_error("the message was not queued: %s", err);
		return OUTCOME_CONFIG;
	}
	if (queue_open(dir, true, &q, err, sizeof err) != 0) {
		diag_error("the message was not queued: %s", err);
		return OUTCOME_CONFIG;
	}
	r = xcalloc(env->nrcpt, sizeof *r);
	for (i = 0; i < env->nrcpt; i++) {
		r[i].addr = env->rcpt[i];
		r[i].notify = env->dsn_notify;
	}
	memset(&qe, 0, sizeof qe);
	qe.account = a->name;
	qe.from = env->from;
	qe.rcpt = r;
	qe.nrcpt = env->nrcpt;
	qe.body = env->body;
	qe.eightbit = env->eightbit;
	qe.smtputf8 = env->smtputf8;
	qe.dsn_ret = env->dsn_ret;
	qe.dsn_envid = env->dsn_envid;
	qe.dsn_required = env->dsn_required;
	if (queue_store(q, msg, &qe, (int64_t)time(NULL), id, idlen, err, sizeof err) != 0) {
		diag_error("the message was not queued: %s; free space there, or send without the queue (-odi)", err);
		o = OUTCOME_TEMPFAIL;
	}
	free(r);
	queue_close(q);
	return o;
}

/* ---- running -------------------------------------------------------------- */

/* An entry the run may send. */
struct qrun_cand {
	char id[QUEUE_ID_MAX + 1];
	char *account;
	bool due;                  /* its next attempt has come (or -qI/-qR/-qS chose it) */
	int64_t queued;
	long pid;                  /* the id's process id: order within a second */
};

/* Queue order: the time queued, then (within one second, where names
 * do not sort: 999 > 1000) the process id, then the name. */
static int qrun_cand_cmp(const void *x, const void *y)
{
	const struct qrun_cand *a = x, *b = y;

	if (a->queued != b->queued)
		return a->queued < b->queued ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return strcmp(a->id, b->id);
}

struct qrun_scan {
	const struct request *req;
	const char *account;       /* only this account's entries, or NULL */
	const char *dir;
	int64_t now;
	bool selected;             /* -qI, -qR or -qS: tried whether due or not */
	bool due_only;             /* only due entries are candidates */
	bool report;               /* a run: problems are reported, stale leftovers go */
	struct queue *q;
	const struct diag *d;
	struct qrun_cand *v;
	size_t n, cap;
};

static bool qrun_contains(const char *hay, const char *needle)
{
	return needle == NULL || strcasestr(hay, needle) != NULL;
}

/* Whether -qI, -qR and -qS select ENV. */
static bool qrun_selects(const struct request *req, const struct queue_env *env)
{
	size_t i;
	bool rcpt = req->queue_rcpt == NULL;

	if (!qrun_contains(env->id, req->queue_id) || !qrun_contains(env->from, req->queue_sender))
		return false;
	for (i = 0; i < env->nrcpt && !rcpt; i++)
		rcpt = qrun_contains(env->rcpt[i].addr, req->queue_rcpt);
	return rcpt;
}

/* A problem found in the queue: reported; only a leftover that the
 * recovery rules (queue.h) let go is removed, once older than QUEUE_STALE. */
static void qrun_problem(struct queue *q, const char *dir, const struct queue_item *it, int64_t now,
			 const struct diag *d)
{
	char err[KURIER_ERRLEN];

	switch (it->kind) {
	case QUEUE_ITEM_CORRUPT:
	case QUEUE_ITEM_FOREIGN:
		/* the problem starts with the file's path */
		diag_warn("%s; skipped (kurier --queue-delete ID removes an entry; anything else there is yours "
			  "to remove)", it->problem);
		break;
	case QUEUE_ITEM_INCOMPLETE:
	case QUEUE_ITEM_TEMPORARY:
		if (q == NULL || now - it->mtime < QUEUE_STALE)
			break;
		if (queue_remove_stale(q, it->kind, it->name, err, sizeof err) != 0)
			diag_warn("%s", err);
		else
			diag_note(d, 1, "%s: removed %s, left by a store or a run that was killed: %s", dir, it->name,
				  it->problem);
		break;
	case QUEUE_ITEM_ENTRY:
		break;
	}
}

static int qrun_scan_item(void *ctx, const struct queue_item *it)
{
	struct qrun_scan *s = ctx;

	if (it->kind != QUEUE_ITEM_ENTRY) {
		if (s->report)
			qrun_problem(s->q, s->dir, it, s->now, s->d);
		return 0;
	}
	if (s->account != NULL && strcmp(it->env->account, s->account) != 0)
		return 0;
	if (!qrun_selects(s->req, it->env))
		return 0;
	if (s->due_only && !s->selected && it->env->next_attempt > s->now)
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	snprintf(s->v[s->n].id, sizeof s->v[s->n].id, "%s", it->name);
	s->v[s->n].account = xstrdup(it->env->account);
	s->v[s->n].due = s->selected || it->env->next_attempt <= s->now;
	s->v[s->n].queued = it->env->queued;
	s->v[s->n].pid = strtol(strchr(it->name, '.') != NULL ? strchr(it->name, '.') + 1 : "0", NULL, 10);
	s->n++;
	return 0;
}

/* One locked entry on its way. */
struct qrun_job {
	struct queue_entry *e;
	struct smtp_envelope env;
	const char **rcpt;
	struct spool sp;
	char note[QUEUE_ID_MAX + 64];
	bool done;                 /* removed or moved: only unlock it */
};

struct qrun_ctx {
	const struct cfg_file *cf;
	const struct cfg_account *a;
	struct qrun_job *jobs;
	const char *dir;
	long lifetime;
	struct diag *d;
};

/* The entry's envelope as the engine takes it. */
static void qrun_envelope(struct qrun_job *j)
{
	const struct queue_env *q = queue_entry_env(j->e);
	size_t i;

	j->rcpt = xcalloc(q->nrcpt, sizeof *j->rcpt);
	for (i = 0; i < q->nrcpt; i++)
		j->rcpt[i] = q->rcpt[i].addr;
	memset(&j->env, 0, sizeof j->env);
	j->env.from = q->from;
	j->env.rcpt = j->rcpt;
	j->env.nrcpt = q->nrcpt;
	j->env.size = q->size;
	j->env.eightbit = q->eightbit;
	j->env.smtputf8 = q->smtputf8;
	j->env.body = q->body;
	j->env.dsn_notify = q->nrcpt > 0 ? q->rcpt[0].notify : NULL;
	j->env.dsn_ret = q->dsn_ret;
	j->env.dsn_envid = q->dsn_envid;
	j->env.dsn_required = q->dsn_required;
	spool_init(&j->sp);
	j->sp.fd = dup(queue_entry_fd(j->e));
	j->sp.size = q->size;
	snprintf(j->note, sizeof j->note, " queue-id=%s attempt=%u", q->id, q->attempts + 1);
}

static void qrun_job_free(struct qrun_job *j)
{
	free(j->rcpt);
	spool_free(&j->sp);
	queue_unlock(j->e);
}

static void qrun_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL || strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

/* The header block of the entry's message (at most
 * QRUN_REPORT_HEADER_MAX bytes), for the failure report. */
static char *qrun_message_header(int fd, size_t *len)
{
	char *buf = xmalloc(QRUN_REPORT_HEADER_MAX + 1), *end;
	ssize_t n;

	do
		n = pread(fd, buf, QRUN_REPORT_HEADER_MAX, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	end = strstr(buf, "\r\n\r\n");
	*len = end != NULL ? (size_t)(end - buf) + 2 : (size_t)n;
	return buf;
}

static void qrun_add(struct spool *sp, const char *s)
{
	char err[KURIER_ERRLEN];

	spool_write(sp, s, strlen(s), err, sizeof err);
}

/* queue_notify: one report of the failed entry J to the account's
 * address, from the null sender (RFC 5321 4.5.5), never queued: a report
 * that cannot be sent is logged and that is all. */
static void qrun_notify(struct qrun_ctx *c, struct qrun_job *j, const char *reason)
{
	const struct queue_env *q = queue_entry_env(j->e);
	const char *to = c->a->val[CFG_QUEUE_NOTIFY];
	struct deliver_item it;
	struct smtp_envelope env;
	struct spool sp;
	struct msg_time clock;
	char line[8192], date[64], left[128], host[256] = "localhost", when[64], safe[4096], *hdr;
	unsigned char rnd[9];
	size_t i, hlen;

	if (to == NULL || *to == '\0' || q->from[0] == '\0')
		return;
	facts_clock(&clock);
	msg_format_date(&clock, date, sizeof date);
	if (tls_random(rnd, sizeof rnd) != 0)
		memset(rnd, 0, sizeof rnd);
	msg_format_msgid_left(rnd, sizeof rnd, clock.now, left, sizeof left);
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	spool_init(&sp);
	snprintf(line, sizeof line,
		 "From: Mail queue of kurier <MAILER-DAEMON@%s>\r\nTo: <%s>\r\nSubject: Undelivered mail: queue entry %s\r\n"
		 "Date: %s\r\nMessage-ID: <%s@%s>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
		 "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		 host, to, q->id, date, left, host);
	qrun_add(&sp, line);
	qrun_time(q->queued, when, sizeof when);
	snprintf(line, sizeof line,
		 "kurier could not deliver a message from its queue and has given up.\r\n\r\n"
		 "Queue entry: %s\r\nAccount: %s\r\nQueued: %s\r\nAttempts: %u\r\nSender: <%s>\r\n", q->id,
		 q->account, when, q->attempts, q->from);
	qrun_add(&sp, line);
	for (i = 0; i < q->nrcpt; i++) {
		snprintf(line, sizeof line, "Recipient: <%s>\r\n", q->rcpt[i].addr);
		qrun_add(&sp, line);
	}
	snprintf(line, sizeof line, "Reason: %s\r\n\r\nThe message is kept in the queue's failed/ directory until "
		 "'kurier --queue-delete %s' removes it.\r\n\r\nIts header follows.\r\n\r\n",
		 diag_printable(reason, safe, sizeof safe), q->id);
	qrun_add(&sp, line);
	hdr = qrun_message_header(queue_entry_fd(j->e), &hlen);
	{
		/* dot-stuffing is the engine's; only make each line end in CRLF */
		char err[KURIER_ERRLEN];
		spool_write(&sp, hdr, hlen, err, sizeof err);
	}
	free(hdr);
	{
		char err[KURIER_ERRLEN];
		spool_seal(&sp, err, sizeof err);
	}
	memset(&env, 0, sizeof env);
	env.from = "";
	env.rcpt = &to;
	env.nrcpt = 1;
	env.size = sp.size;
	env.eightbit = true;
	memset(&it, 0, sizeof it);
	it.env = &env;
	it.msg = &sp;
	snprintf(line, sizeof line, " failure-report-for=%s", q->id);
	it.log_note = line;
	if (deliver_items(c->cf, c->a, &it, 1, NULL, NULL, c->d) != OUTCOME_OK)
		diag_error("the failure report for queue entry %s to %s was not sent", q->id, to);
	spool_free(&sp);
}

/* The entry failed for good: to failed/, reported once (stderr, syslog,
 * the log, queue_notify). */
static void qrun_fail(struct qrun_ctx *c, struct qrun_job *j, const char *reason)
{
	const struct queue_env *q = queue_entry_env(j->e);
	char err[KURIER_ERRLEN], safe[2048];

	diag_printable(reason, safe, sizeof safe);
	if (queue_move_failed(j->e, safe, err, sizeof err) != 0) {
		diag_error("queue entry %s failed for good (%s), but it could not be moved to failed/: %s", q->id, safe,
			   err);
		return;
	}
	j->done = true;
	diag_error("queue entry %s from <%s> (%zu recipient%s) failed for good: %s; it is kept in %s/failed/ "
		   "until 'kurier --queue-delete %s'", q->id, q->from, q->nrcpt, q->nrcpt == 1 ? "" : "s", safe,
		   c->dir, q->id);
	log_syslog_warning("queue entry %s from <%s> failed for good: %s", q->id, q->from, safe);
	log_event(c->a, false, "account=%s queue-id=%s from=<%s> failed for good: %s", c->a->name, q->id, q->from,
		  safe);
	qrun_notify(c, j, safe);
}

static void qrun_done(void *ctx, struct deliver_item *it, size_t i)
{
	struct qrun_ctx *c = ctx;
	struct qrun_job *j = &c->jobs[i];
	const struct queue_env *q = queue_entry_env(j->e);
	char err[KURIER_ERRLEN], reason[1400];
	int64_t now = (int64_t)time(NULL);

	if (it->outcome == OUTCOME_OK) {
		/* the duplicate window: from the 250 until this unlink */
		if (queue_remove(j->e, err, sizeof err) != 0)
			diag_error("queue entry %s was sent, but cannot be removed: %s; it will be sent again", q->id,
				   err);
		j->done = true;
		return;
	}
	if (!outcome_is_temporary(it->outcome)) {
		snprintf(reason, sizeof reason, "%s", it->facts.reply[0] ? it->facts.reply : outcome_info(it->outcome)->meaning);
		qrun_fail(c, j, reason);
		return;
	}
	if (queue_record_attempt(j->e, now, it->facts.reply[0] ? it->facts.reply : "temporary failure",
				 queue_next_attempt(q->queued, q->attempts + 1, now), err, sizeof err) != 0)
		diag_error("queue entry %s: %s", q->id, err);
	q = queue_entry_env(j->e);
	if (queue_expired(q->queued, now, c->lifetime)) {
		snprintf(reason, sizeof reason, "not delivered within queue_lifetime (%ld seconds) after %u attempts; "
			 "the last said: %s", c->lifetime, q->attempts, q->last_error != NULL ? q->last_error : "");
		qrun_fail(c, j, reason);
	}
}

/* Entries of one account, locked and ready to send. */
struct qrun_batch {
	struct queue *q;           /* qrun_due's own queue, or NULL */
	struct qrun_ctx c;
	struct deliver_item *items;
	size_t n;
};

/* Lock the entries CAND[0..N) of ACCOUNT in queue Q: those that are
 * still there and not being sent by another run, whose lifetime has not
 * passed (those fail here) and whose account is known (else they are
 * rescheduled). Returns the batch (qrun_batch_free it), perhaps empty. */
static struct qrun_batch *qrun_lock(struct queue *q, const struct cfg_file *cf, const char *account,
				    const struct qrun_cand *cand, size_t n, struct diag *d)
{
	struct qrun_batch *b = xcalloc(1, sizeof *b);
	struct qrun_ctx *c = &b->c;
	int64_t now = (int64_t)time(NULL);
	char err[KURIER_ERRLEN];
	size_t i;

	c->cf = cf;
	c->d = d;
	c->dir = queue_path(q);
	c->a = cfg_choose(cf, account, NULL, err, sizeof err);
	c->jobs = xcalloc(n, sizeof *c->jobs);
	b->items = xcalloc(n, sizeof *b->items);
	c->lifetime = c->a != NULL ? cfg_long(c->a, CFG_QUEUE_LIFETIME, QUEUE_LIFETIME_DEFAULT) : QUEUE_LIFETIME_DEFAULT;
	for (i = 0; i < n; i++) {
		struct qrun_job *j = &c->jobs[b->n];
		const struct queue_env *qe;
		int r = queue_lock(q, cand[i].id, &j->e, err, sizeof err);

		if (r == -1)
			diag_warn("%s/entries/%s: %s; skipped", queue_path(q), cand[i].id, err);
		if (r != 0) {
			j->e = NULL;
			continue;
		}
		qe = queue_entry_env(j->e);
		if (c->a == NULL) {
			/* kept: the account may come back to the configuration */
			char why[KURIER_ERRLEN + 64];
			snprintf(why, sizeof why, "the account '%s' is not in the configuration", account);
			diag_error("queue entry %s: %s; it stays queued", qe->id, why);
			queue_record_attempt(j->e, now, why, queue_next_attempt(qe->queued, qe->attempts + 1, now), err,
					     sizeof err);
			queue_unlock(j->e);
			j->e = NULL;
			continue;
		}
		if (queue_expired(qe->queued, now, c->lifetime)) {
			char reason[1400];
			snprintf(reason, sizeof reason, "not delivered within queue_lifetime (%ld seconds) after %u "
				 "attempts%s%s", c->lifetime, qe->attempts, qe->last_error != NULL ? "; the last said: " : "",
				 qe->last_error != NULL ? qe->last_error : "");
			qrun_fail(c, j, reason);
			queue_unlock(j->e);
			j->e = NULL;
			continue;
		}
		qrun_envelope(j);
		b->items[b->n].env = &j->env;
		b->items[b->n].msg = &j->sp;
		b->items[b->n].log_note = j->note;
		b->n++;
	}
	return b;
}

void qrun_batch_free(struct qrun_batch *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		qrun_job_free(&b->c.jobs[i]);
	free(b->c.jobs);
	free(b->items);
	queue_close(b->q);
	free(b);
}

struct deliver_item *qrun_batch_items(struct qrun_batch *b, size_t *n)
{
	*n = b->n;
	return b->items;
}

void qrun_batch_done(struct qrun_batch *b, struct deliver_item *it, size_t i)
{
	qrun_done(&b->c, it, i);
}

struct qrun_batch *qrun_due(const struct cfg_file *cf, const struct cfg_account *a, struct diag *d)
{
	struct request req;
	char dir[4096], err[KURIER_ERRLEN];
	struct qrun_scan s;
	struct qrun_batch *b = NULL;
	struct queue *q = NULL;
	size_t i;

	memset(&req, 0, sizeof req);
	memset(&s, 0, sizeof s);
	s.req = &req;
	s.due_only = true;
	s.account = a->name;
	s.dir = dir;
	s.now = (int64_t)time(NULL);
	s.d = d;
	/* no queue is the common case: nothing to report */
	if (qrun_dir_of(a, dir, sizeof dir, err, sizeof err) == NULL || queue_open(dir, false, &q, err, sizeof err) != 0)
		return NULL;
	if (queue_list(q, QUEUE_ACTIVE, qrun_scan_item, &s, err, sizeof err) == 0 && s.n > 0) {
		if (s.n > 1)
			qsort(s.v, s.n, sizeof *s.v, qrun_cand_cmp);
		b = qrun_lock(q, cf, a->name, s.v, s.n < QRUN_ALONG_MAX ? s.n : QRUN_ALONG_MAX, d);
		b->q = q;
		q = NULL;
		if (b->n == 0) {
			qrun_batch_free(b);
			b = NULL;
		}
	}
	for (i = 0; i < s.n; i++)
		free(s.v[i].account);
	free(s.v);
	queue_close(q);
	return b;
}

/* Send the entries CAND[0..N) of ACCOUNT from queue Q. */
static void qrun_account(struct queue *q, const struct cfg_file *cf, const char *account, struct qrun_cand *cand,
			 size_t n, struct diag *d)
{
	struct qrun_batch *b = qrun_lock(q, cf, account, cand, n, d);

	if (b->n > 0) {
		diag_note(d, 1, "queue %s: sending %zu entr%s of account '%s'", queue_path(q), b->n,
			  b->n == 1 ? "y" : "ies", account);
		deliver_items(cf, b->c.a, b->items, b->n, qrun_done, &b->c, d);
	}
	qrun_batch_free(b);
}

/* Run the queue in DIR. */
static enum outcome qrun_dir(const char *dir, const struct request *req, const struct cfg_file *cf,
			     const char *account, struct diag *d)
{
	struct qrun_scan s = { .req = req, .account = account, .dir = dir, .now = (int64_t)time(NULL), .d = d };
	struct queue *q = NULL;
	char err[KURIER_ERRLEN];
	size_t i, k, start;
	int r = queue_open(dir, false, &q, err, sizeof err);

	if (r == -2)
		return OUTCOME_OK;
	if (r != 0) {
		diag_error("%s", err);
		return OUTCOME_CONFIG;
	}
	s.selected = req->queue_id != NULL || req->queue_rcpt != NULL || req->queue_sender != NULL;
	s.q = q;
	s.report = true;
	if (queue_list(q, QUEUE_ACTIVE, qrun_scan_item, &s, err, sizeof err) != 0) {
		diag_error("%s", err);
		queue_close(q);
		return OUTCOME_IOERR;
	}
	if (s.n > 1)
		qsort(s.v, s.n, sizeof *s.v, qrun_cand_cmp);
	/* each account's entries in queue order, QRUN_BATCH_MAX at a time */
	for (i = 0; i < s.n; i++) {
		struct qrun_cand *group;
		size_t ng = 0;
		bool due;

		if (s.v[i].account == NULL)
			continue;
		group = xcalloc(s.n - i, sizeof *group);
		for (due = false, k = i; k < s.n; k++)
			if (s.v[k].account != NULL && strcmp(s.v[k].account, s.v[i].account) == 0) {
				group[ng++] = s.v[k];
				due = due || s.v[k].due;
			}
		/* An account with a due entry gets a connection, and then all
		 * its entries go over it: a server that is back takes the
		 * backlog at once, whatever each entry's own schedule says. */
		for (start = 0; due && start < ng; start += QRUN_BATCH_MAX)
			qrun_account(q, cf, group[0].account, group + start,
				     ng - start < QRUN_BATCH_MAX ? ng - start : QRUN_BATCH_MAX, d);
		for (k = s.n; k-- > i;)
			if (s.v[k].account != NULL && strcmp(s.v[k].account, group[0].account) == 0 && k != i) {
				free(s.v[k].account);
				s.v[k].account = NULL;
			}
		free(s.v[i].account);
		s.v[i].account = NULL;
		free(group);
	}
	free(s.v);
	queue_close(q);
	return OUTCOME_OK;
}

enum outcome qrun_run(const struct request *req, const struct cfg_file *cf, const char *only_account,
		      struct diag *d)
{
	char (*dirs)[4096] = xcalloc(QRUN_DIRS_MAX, sizeof *dirs);
	const char *account = only_account != NULL ? only_account : req->account;
	char name[256] = "", err[KURIER_ERRLEN];
	enum outcome o = OUTCOME_OK;
	int n, i;

	/* -a default and the like: the entries carry the real name */
	if (account != NULL) {
		const struct cfg_account *a = cfg_choose(cf, account, NULL, err, sizeof err);
		if (a == NULL) {
			diag_error("%s", err);
			free(dirs);
			return OUTCOME_CONFIG;
		}
		snprintf(name, sizeof name, "%s", a->name);
	}
	n = qrun_dirs(cf, account, dirs, QRUN_DIRS_MAX);
	if (n < 0)
		o = OUTCOME_CONFIG;
	for (i = 0; i < n; i++)
		o = outcome_worse(o, qrun_dir(dirs[i], req, cf, account != NULL ? name : NULL, d));
	free(dirs);
	return o;
}

void qrun_background(const struct request *req, const struct cfg_file *cf, const char *account,
		     struct diag *d)
{
	pid_t pid = fork();
	int fd;

	if (pid != 0) {
		if (pid < 0)
			diag_warn("cannot start the background delivery (%s); the next queue run (kurier -q) sends the "
				  "message", strerror(errno));
		return;
	}
	/* the child: nobody waits for it or reads what it says */
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	closefrom(3);
	d->transcript = NULL;
	d->debug = false;
	d->verbose = 0;
	qrun_run(req, cf, account, d);
	_exit(0);
}

/* ---- listing -------------------------------------------------------------- */

struct qrun_lister {
	bool json;
	const char *dir;
	enum queue_area area;
	unsigned entries;
	uint64_t bytes;
	int64_t now;
};

static const char *qrun_state_name(const struct qrun_lister *l, const struct queue_item *it)
{
	switch (it->kind) {
	case QUEUE_ITEM_ENTRY: return l->area == QUEUE_FAILED ? "failed" : "queued";
	case QUEUE_ITEM_CORRUPT: return "corrupt";
	case QUEUE_ITEM_INCOMPLETE: return "incomplete";
	case QUEUE_ITEM_TEMPORARY: return "temporary";
	case QUEUE_ITEM_FOREIGN: return "foreign";
	}
	return "?";
}

static void qrun_json_time(json_object *o, const char *key, int64_t t)
{
	char buf[64];
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) != NULL && strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
		json_object_object_add(o, key, json_object_new_string(buf));
}

static void qrun_list_json(struct qrun_lister *l, const struct queue_item *it)
{
	json_object *o = json_object_new_object();
	const struct queue_env *e = it->env;
	size_t i;

	json_object_object_add(o, "id", json_object_new_string(it->name));
	json_object_object_add(o, "state", json_object_new_string(qrun_state_name(l, it)));
	json_object_object_add(o, "queue_dir", json_object_new_string(l->dir));
	if (e != NULL) {
		json_object *r = json_object_new_array();
		json_object_object_add(o, "account", json_object_new_string(e->account));
		json_object_object_add(o, "size", json_object_new_int64((int64_t)it->msg_size));
		qrun_json_time(o, "queued", e->queued);
		json_object_object_add(o, "sender", json_object_new_string(e->from));
		for (i = 0; i < e->nrcpt; i++)
			json_object_array_add(r, json_object_new_string(e->rcpt[i].addr));
		json_object_object_add(o, "recipients", r);
		json_object_object_add(o, "attempts", json_object_new_int64(e->attempts));
		if (l->area == QUEUE_ACTIVE)
			qrun_json_time(o, "next_attempt", e->next_attempt);
		json_object_object_add(o, "last_error",
				       e->last_error != NULL ? json_object_new_string(e->last_error) : NULL);
		if (e->failed != NULL)
			json_object_object_add(o, "failed", json_object_new_string(e->failed));
	} else {
		json_object_object_add(o, "problem", json_object_new_string(it->problem != NULL ? it->problem : ""));
	}
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void qrun_list_text(struct qrun_lister *l, const struct queue_item *it)
{
	const struct queue_env *e = it->env;
	char when[64], next[64], safe[2048];
	size_t i;

	if (e == NULL) {
		printf("%-40s %s: %s\n\n", it->name, qrun_state_name(l, it),
		       diag_printable(it->problem != NULL ? it->problem : "", safe, sizeof safe));
		return;
	}
	qrun_time(e->queued, when, sizeof when);
	printf("%-40s %8llu %s  %s%s\n", it->name, (unsigned long long)it->msg_size, when,
	       e->from[0] != '\0' ? e->from : "MAILER-DAEMON", l->area == QUEUE_FAILED ? "  (failed)" : "");
	if (l->area == QUEUE_FAILED) {
		printf("    (failed for good: %s)\n", diag_printable(e->failed != NULL ? e->failed : "", safe, sizeof safe));
	} else if (e->attempts > 0) {
		qrun_time(e->next_attempt, next, sizeof next);
		printf("    (attempts %u, next attempt %s: %s)\n", e->attempts, next,
		       diag_printable(e->last_error != NULL ? e->last_error : "", safe, sizeof safe));
	}
	printf("    account %s\n", e->account);
	for (i = 0; i < e->nrcpt; i++)
		printf("        %s\n", e->rcpt[i].addr);
	putchar('\n');
}

static int qrun_list_item(void *ctx, const struct queue_item *it)
{
	struct qrun_lister *l = ctx;

	/* a store in progress is nobody's business yet */
	if ((it->kind == QUEUE_ITEM_TEMPORARY || it->kind == QUEUE_ITEM_INCOMPLETE) && l->now - it->mtime < QUEUE_STALE)
		return 0;
	if (!l->json && l->entries == 0)
		printf("%-40s %8s %-24s  %s\n", "-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-");
	l->entries++;
	if (it->kind == QUEUE_ITEM_ENTRY)
		l->bytes += it->msg_size;
	if (l->json)
		qrun_list_json(l, it);
	else
		qrun_list_text(l, it);
	return 0;
}

enum outcome qrun_list(const struct request *req, const struct cfg_file *cf, bool json)
{
	char (*dirs)[4096] = xcalloc(QRUN_DIRS_MAX, sizeof *dirs);
	struct qrun_lister l = { .json = json, .now = (int64_t)time(NULL) };
	enum outcome o = OUTCOME_OK;
	char err[KURIER_ERRLEN];
	int n = qrun_dirs(cf, req->account, dirs, QRUN_DIRS_MAX), i;

	if (n < 0)
		o = OUTCOME_CONFIG;
	for (i = 0; i < n; i++) {
		struct queue *q = NULL;
		int r = queue_open(dirs[i], false, &q, err, sizeof err);

		if (r == -2)
			continue;
		if (r != 0) {
			diag_error("%s", err);
			o = outcome_worse(o, OUTCOME_CONFIG);
			continue;
		}
		l.dir = dirs[i];
		l.area = QUEUE_ACTIVE;
		if (queue_list(q, QUEUE_ACTIVE, qrun_list_item, &l, err, sizeof err) != 0 ||
		    (l.area = QUEUE_FAILED, queue_list(q, QUEUE_FAILED, qrun_list_item, &l, err, sizeof err)) != 0) {
			diag_error("%s", err);
			o = outcome_worse(o, OUTCOME_IOERR);
		}
		queue_close(q);
	}
	if (!json) {
		/* a queue that could not be read is not an empty one */
		if (l.entries == 0 && o == OUTCOME_OK)
			puts("Mail queue is empty");
		else if (l.entries > 0)
			printf("-- %llu Kbytes in %u Request%s.\n", (unsigned long long)(l.bytes + 1023) / 1024, l.entries,
			       l.entries == 1 ? "" : "s");
	}
	free(dirs);
	return o;
}

enum outcome qrun_delete(const struct request *req, const struct cfg_file *cf)
{
	char (*dirs)[4096] = xcalloc(QRUN_DIRS_MAX, sizeof *dirs);
	char err[KURIER_ERRLEN];
	enum outcome o = OUTCOME_OK;
	int n, i, r = -2;

	if (!queue_id_valid(req->queue_id)) {
		diag_error("--queue-delete %s: not a queue id (kurier -bp lists them)", req->queue_id);
		free(dirs);
		return OUTCOME_USAGE;
	}
	n = qrun_dirs(cf, req->account, dirs, QRUN_DIRS_MAX);
	if (n < 0)
		o = OUTCOME_CONFIG;
	for (i = 0; i < n && r == -2; i++) {
		struct queue *q = NULL;
		int k = queue_open(dirs[i], false, &q, err, sizeof err);

		if (k == -2)
			continue;
		if (k != 0) {
			diag_error("%s", err);
			o = OUTCOME_CONFIG;
			continue;
		}
		r = queue_delete(q, req->queue_id, err, sizeof err);
		queue_close(q);
	}
	free(dirs);
	if (r == 0)
		return OUTCOME_OK;
	if (r == 1) {
		diag_error("queue entry %s is being sent right now; try again when that run has ended", req->queue_id);
		return OUTCOME_TEMPFAIL;
	}
	if (r == -1) {
		diag_error("%s", err);
		return OUTCOME_IOERR;
	}
	if (o == OUTCOME_OK) {
		diag_error("no queue entry %s (kurier -bp lists the queue)", req->queue_id);
		o = OUTCOME_DATAERR;
	}
	return o;
}
