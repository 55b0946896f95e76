/* queue.c: the queue directory on disk (layout and recovery rules in
 * queue.h): every write goes to tmp/, is fsync'd and renamed into place;
 * it never sends anything and never deletes what it did not write. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "queue.h"

struct queue {
	char *path;
	int dir;       /* QDIR */
	int tmp;       /* QDIR/tmp */
	int entries;   /* QDIR/entries */
	int failed;    /* QDIR/failed */
};

struct queue_entry {
	struct queue *q;
	char id[QUEUE_ID_MAX + 1];
	int fd;                  /* ID.msg, locked */
	struct queue_env env;
};

static const char *const area_names[] = { "entries", "failed" };

/* ---- opening ------------------------------------------------------------ */

/* The directory open as FD (named NAME) is this user's and not writable
 * by others; else -1 with ERR telling the fix. */
static int check_dir(int fd, const char *name, char *err, size_t errlen)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (st.st_uid != me) {
		struct passwd *pw = getpwuid(me);
		snprintf(err, errlen,
			 "queue directory %s belongs to uid %ld, not to you (uid %ld); chown %s %s, or set queue_dir to a directory of your own",
			 name, (long)st.st_uid, (long)me, pw != NULL ? pw->pw_name : "YOU", name);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "queue directory %s is writable by others (mode %04o); chmod 700 %s",
			 name, (unsigned)(st.st_mode & 07777), name);
		return -1;
	}
	return 0;
}

/* mkdir -p PATH with mode 0700 for what is made. */
static int make_path(const char *path, char *err, size_t errlen)
{
	char *p = xstrdup(path), *s;
	int r = -1;

	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot make the queue directory %s: %s", p, strerror(errno));
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	r = 0;
out:
	free(p);
	return r;
}

static int open_sub(struct queue *q, const char *sub, bool create, int *fd, char *err,
		    size_t errlen)
{
	char name[4096];

	snprintf(name, sizeof name, "%s/%s", q->path, sub);
	if (create && mkdirat(q->dir, sub, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s: %s", name, strerror(errno));
		return -1;
	}
	*fd = openat(q->dir, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return errno == ENOENT ? -2 : -1;
	}
	return check_dir(*fd, name, err, errlen);
}

int queue_open(const char *path, bool create, struct queue **qp, char *err, size_t errlen)
{
	struct queue *q = xcalloc(1, sizeof *q);
	int r = -1;

	*qp = NULL;
	q->path = xstrdup(path);
	q->dir = q->tmp = q->entries = q->failed = -1;
	if (*path == '\0') {
		snprintf(err, errlen, "an empty queue_dir");
		goto out;
	}
	if (create && (r = make_path(path, err, errlen)) != 0)
		goto out;
	q->dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dir < 0) {
		r = errno == ENOENT ? -2 : -1;
		snprintf(err, errlen, "queue directory %s: %s", path, strerror(errno));
		goto out;
	}
	if ((r = check_dir(q->dir, path, err, errlen)) != 0 ||
	    (r = open_sub(q, "tmp", create, &q->tmp, err, errlen)) != 0 ||
	    (r = open_sub(q, "entries", create, &q->entries, err, errlen)) != 0 ||
	    (r = open_sub(q, "failed", create, &q->failed, err, errlen)) != 0)
		goto out;
	*qp = q;
	q = NULL;
	err[0] = '\0';
	r = 0;
out:
	queue_close(q);
	return r;
}

void queue_close(struct queue *q)
{
	if (q == NULL)
		return;
	if (q->dir >= 0)
		close(q->dir);
	if (q->tmp >= 0)
		close(q->tmp);
	if (q->entries >= 0)
		close(q->entries);
	if (q->failed >= 0)
		close(q->failed);
	free(q->path);
	free(q);
}

const char *queue_path(const struct queue *q)
{
	return q->path;
}

/* ---- writing files ------------------------------------------------------- */

/* Create tmp/NAME (EXCL: a new one; else replacing a leftover), 0600. */
static int create_tmp(struct queue *q, const char *name, bool excl, char *err, size_t errlen)
{
	int fd = openat(q->tmp, name,
			O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | (excl ? O_EXCL : O_TRUNC),
			0600);

	if (fd < 0)
		snprintf(err, errlen, "cannot create %s/tmp/%s: %s", q->path, name, strerror(errno));
	return fd;
}

/* fsync and close FD, written as tmp/NAME; -1 with ERR. */
static int finish_tmp(struct queue *q, int fd, const char *name, char *err, size_t errlen)
{
	int r = fsync(fd);

	if (close(fd) != 0)
		r = -1;
	if (r != 0)
		snprintf(err, errlen, "cannot write %s/tmp/%s: %s", q->path, name, strerror(errno));
	return r;
}

static int sync_dir(struct queue *q, int dir, const char *sub, char *err, size_t errlen)
{
	if (fsync(dir) != 0) {
		snprintf(err, errlen, "cannot sync %s/%s: %s", q->path, sub, strerror(errno));
		return -1;
	}
	return 0;
}

/* Write TEXT as tmp/NAME, synced; on failure tmp/NAME is gone again. */
static int write_tmp(struct queue *q, const char *name, bool excl, const char *text, size_t len,
		     char *err, size_t errlen)
{
	int fd = create_tmp(q, name, excl, err, errlen);

	if (fd < 0)
		return -1;
	if (write_whole_fd(fd, text, len) != 0) {
		snprintf(err, errlen, "cannot write %s/tmp/%s: %s", q->path, name, strerror(errno));
		close(fd);
		unlinkat(q->tmp, name, 0);
		return -1;
	}
	if (finish_tmp(q, fd, name, err, errlen) != 0) {
		unlinkat(q->tmp, name, 0);
		return -1;
	}
	return 0;
}

/* Stream the spool into a new tmp/NAME, synced; the block stays 64 KiB.
 * 0; -2 when NAME exists already (not ours); -1 with ERR, and then
 * tmp/NAME is gone again. */
static int write_msg(struct queue *q, const char *name, struct spool *msg, char *err,
		     size_t errlen)
{
	char *buf = xmalloc(65536);
	int fd = create_tmp(q, name, true, err, errlen), r = -1;
	ssize_t n;

	if (fd < 0) {
		r = errno == EEXIST ? -2 : -1;
		goto out;
	}
	spool_rewind(msg);
	while ((n = spool_read(msg, buf, 65536, err, errlen)) > 0) {
		if (write_whole_fd(fd, buf, (size_t)n) != 0) {
			snprintf(err, errlen, "cannot write %s/tmp/%s: %s", q->path, name,
				 strerror(errno));
			goto out;
		}
	}
	if (n < 0)
		goto out;
	r = finish_tmp(q, fd, name, err, errlen);
	fd = -1;
	if (r != 0)
		unlinkat(q->tmp, name, 0);
out:
	if (fd >= 0) {
		close(fd);
		unlinkat(q->tmp, name, 0);
	}
	spool_rewind(msg);
	free(buf);
	return r;
}

int queue_store(struct queue *q, struct spool *msg, const struct queue_env *in, int64_t now,
		char *id, size_t idlen, char *err, size_t errlen)
{
	struct queue_env env = { 0 };
	char newid[QUEUE_ID_MAX + 1], mname[QUEUE_ID_MAX + 8], ename[QUEUE_ID_MAX + 8];
	char *text = NULL;
	size_t len;
	bool tmp_msg = false, tmp_env = false, msg_in = false;
	int tries, r = -1;

	if (idlen > 0)
		id[0] = '\0';
	for (tries = 0;; tries++) {
		uint64_t rnd;
		if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
			snprintf(err, errlen, "cannot make a queue id: %s", strerror(errno));
			goto out;
		}
		queue_id_make(newid, sizeof newid, now, (long)getpid(), rnd);
		snprintf(mname, sizeof mname, "%s.msg", newid);
		snprintf(ename, sizeof ename, "%s.env", newid);
		if ((r = write_msg(q, mname, msg, err, errlen)) == 0)
			break;
		if (r != -2 || tries == 3) {
			r = -1;
			goto out;
		}
	}
	r = -1;
	tmp_msg = true;
	env = *in;
	env.id = newid;
	env.size = msg->size;
	env.queued = now;
	env.attempts = 0;
	env.next_attempt = now;
	env.last_error = NULL;
	env.failed = NULL;
	if (queue_env_format(&env, &text, &len, err, errlen) != 0)
		goto out;
	if (write_tmp(q, ename, true, text, len, err, errlen) != 0)
		goto out;
	tmp_env = true;
	/* The .msg first: an .env in entries/ always has its message. */
	if (renameat(q->tmp, mname, q->entries, mname) != 0) {
		snprintf(err, errlen, "cannot move %s into %s/entries: %s", mname, q->path,
			 strerror(errno));
		goto out;
	}
	tmp_msg = false;
	msg_in = true;
	if (renameat(q->tmp, ename, q->entries, ename) != 0) {
		snprintf(err, errlen, "cannot move %s into %s/entries: %s", ename, q->path,
			 strerror(errno));
		goto out;
	}
	tmp_env = false;
	if (sync_dir(q, q->entries, "entries", err, errlen) != 0) {
		/* Not durable: take it back rather than have the caller
		 * report a failure for a message that may be sent. */
		unlinkat(q->entries, ename, 0);
		goto out;
	}
	msg_in = false;
	snprintf(id, idlen, "%s", newid);
	r = 0;
out:
	if (tmp_msg)
		unlinkat(q->tmp, mname, 0);
	if (tmp_env)
		unlinkat(q->tmp, ename, 0);
	if (msg_in)
		unlinkat(q->entries, mname, 0);
	free(text);
	return r;
}

/* ---- reading entries ------------------------------------------------------ */

/* Read and parse DIR/ID.env (never through a link, at most
 * QUEUE_ENV_MAX): 0, -2 when it is not there, -1 with ERR. */
static int read_env(struct queue *q, int dir, const char *area, const char *id,
		    struct queue_env *env, int64_t *mtime, char *err, size_t errlen)
{
	char name[QUEUE_ID_MAX + 8], perr[KURIER_ERRLEN], *buf = NULL;
	struct stat st;
	size_t len;
	int fd, r = -1;

	memset(env, 0, sizeof *env);
	snprintf(name, sizeof name, "%s.env", id);
	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = errno == ENOENT ? -2 : -1;
		snprintf(err, errlen, "%s/%s/%s: %s", q->path, area, name, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > QUEUE_ENV_MAX) {
		snprintf(err, errlen, "%s/%s/%s: not a regular file of at most %d bytes", q->path,
			 area, name, QUEUE_ENV_MAX);
		goto out;
	}
	if (mtime != NULL)
		*mtime = (int64_t)st.st_mtime;
	if (read_whole_fd(fd, (size_t)st.st_size, &buf, &len) != 0) {
		snprintf(err, errlen, "%s/%s/%s: %s", q->path, area, name, strerror(errno));
		goto out;
	}
	if (queue_env_parse(buf, len, env, perr, sizeof perr) != 0) {
		snprintf(err, errlen, "%s/%s/%s: %s", q->path, area, name, perr);
		goto out;
	}
	if (strcmp(env->id, id) != 0) {
		snprintf(err, errlen, "%s/%s/%s: the id inside is %s", q->path, area, name, env->id);
		queue_env_free(env);
		goto out;
	}
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory FD, sorted; -1 with ERR. */
static int read_names(struct queue *q, int fd, const char *area, char ***names, size_t *n,
		      char *err, size_t errlen)
{
	int d = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = d >= 0 ? fdopendir(d) : NULL;
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (dir == NULL) {
		snprintf(err, errlen, "cannot read %s/%s: %s", q->path, area, strerror(errno));
		if (d >= 0)
			close(d);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*names = xrealloc(*names, cap * sizeof **names);
		}
		(*names)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(dir);
	if (*n > 0)
		qsort(*names, *n, sizeof **names, name_cmp);
	return 0;
}

static void free_names(char **names, size_t n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

/* NAME is ID.SUFFIX with a valid id: the id into ID. */
static bool split_name(const char *name, const char *suffix, char *id)
{
	size_t n = strlen(name), s = strlen(suffix);

	if (n <= s || n - s > QUEUE_ID_MAX || strcmp(name + n - s, suffix) != 0)
		return false;
	memcpy(id, name, n - s);
	id[n - s] = '\0';
	return queue_id_valid(id);
}

static int64_t mtime_of(int dir, const char *name, bool *exists, uint64_t *size)
{
	struct stat st;

	*exists = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	if (size != NULL)
		*size = *exists ? (uint64_t)st.st_size : 0;
	return *exists ? (int64_t)st.st_mtime : 0;
}

int queue_list(struct queue *q, enum queue_area area, queue_list_fn *fn, void *ctx, char *err,
	       size_t errlen)
{
	int dir = area == QUEUE_ACTIVE ? q->entries : q->failed;
	const char *an = area_names[area == QUEUE_ACTIVE ? 0 : 1];
	char **names = NULL, **tnames = NULL, id[QUEUE_ID_MAX + 1], other[QUEUE_ID_MAX + 8];
	char problem[KURIER_ERRLEN];
	size_t n = 0, tn = 0, i;
	int r = -1;

	if (read_names(q, dir, an, &names, &n, err, errlen) != 0)
		goto out;
	if (area == QUEUE_ACTIVE && read_names(q, q->tmp, "tmp", &tnames, &tn, err, errlen) != 0)
		goto out;
	r = 0;
	for (i = 0; i < n && r == 0; i++) {
		struct queue_item it = { .name = names[i], .problem = problem };
		struct queue_env env;
		bool exists;

		if (split_name(names[i], ".env", id)) {
			int k;

			it.name = id;
			snprintf(other, sizeof other, "%s.msg", id);
			mtime_of(dir, other, &exists, &it.msg_size);
			if ((k = read_env(q, dir, an, id, &env, &it.mtime, problem, sizeof problem)) == -2) {
				continue; /* gone since the readdir: another runner finished it */
			} else if (k != 0) {
				it.kind = QUEUE_ITEM_CORRUPT;
			} else if (!exists) {
				it.kind = QUEUE_ITEM_CORRUPT;
				snprintf(problem, sizeof problem, "%s/%s/%s.env: its message %s is missing",
					 q->path, an, id, other);
				queue_env_free(&env);
			} else if (env.size != it.msg_size) {
				it.kind = QUEUE_ITEM_CORRUPT;
				snprintf(problem, sizeof problem,
					 "%s/%s/%s.msg: %llu bytes, but its envelope says %llu", q->path,
					 an, id, (unsigned long long)it.msg_size,
					 (unsigned long long)env.size);
				queue_env_free(&env);
			} else {
				it.kind = QUEUE_ITEM_ENTRY;
				it.env = &env;
				it.problem = NULL;
			}
			r = fn(ctx, &it);
			if (it.env != NULL)
				queue_env_free(&env);
		} else if (split_name(names[i], ".msg", id)) {
			struct stat gone;

			snprintf(other, sizeof other, "%s.env", id);
			mtime_of(dir, other, &exists, NULL);
			if (exists)
				continue; /* listed with its .env */
			it.kind = QUEUE_ITEM_INCOMPLETE;
			it.name = id;
			it.mtime = mtime_of(dir, names[i], &exists, NULL);
			if (!exists && fstatat(dir, names[i], &gone, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT)
				continue; /* both gone since the readdir: the entry was sent */
			snprintf(problem, sizeof problem, "%s/%s/%s: a message without its envelope",
				 q->path, an, names[i]);
			r = fn(ctx, &it);
		} else {
			it.kind = QUEUE_ITEM_FOREIGN;
			it.mtime = mtime_of(dir, names[i], &exists, NULL);
			snprintf(problem, sizeof problem, "%s/%s/%s: not a file kurier writes there",
				 q->path, an, names[i]);
			r = fn(ctx, &it);
		}
	}
	for (i = 0; i < tn && r == 0; i++) {
		struct queue_item it = { .kind = QUEUE_ITEM_TEMPORARY, .name = tnames[i],
					 .problem = problem };
		bool exists;

		it.mtime = mtime_of(q->tmp, tnames[i], &exists, NULL);
		snprintf(problem, sizeof problem, "%s/tmp/%s: left by a submission that did not finish",
			 q->path, tnames[i]);
		r = fn(ctx, &it);
	}
out:
	free_names(names, n);
	free_names(tnames, tn);
	return r;
}

/* ---- locked entries --------------------------------------------------- */

int queue_lock(struct queue *q, const char *id, struct queue_entry **ep, char *err,
	       size_t errlen)
{
	struct queue_entry *e = NULL;
	char mname[QUEUE_ID_MAX + 8];
	struct stat st, now;
	int r = -1;

	*ep = NULL;
	if (!queue_id_valid(id)) {
		snprintf(err, errlen, "'%.60s' is not a queue id", id);
		return -2;
	}
	e = xcalloc(1, sizeof *e);
	e->q = q;
	snprintf(e->id, sizeof e->id, "%s", id);
	snprintf(mname, sizeof mname, "%s.msg", id);
	e->fd = openat(q->entries, mname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (e->fd < 0) {
		r = errno == ENOENT ? -2 : -1;
		snprintf(err, errlen, "%s/entries/%s: %s", q->path, mname, strerror(errno));
		goto out;
	}
	if (flock(e->fd, LOCK_EX | LOCK_NB) != 0) {
		r = errno == EWOULDBLOCK ? 1 : -1;
		snprintf(err, errlen, "%s/entries/%s: %s", q->path, mname,
			 r == 1 ? "being sent by another process" : strerror(errno));
		goto out;
	}
	/* Between our open and our lock another runner may have finished
	 * the entry: it is ours only if this is still entries/ID.msg and the
	 * envelope is still there. */
	if (fstat(e->fd, &st) != 0 || fstatat(q->entries, mname, &now, AT_SYMLINK_NOFOLLOW) != 0 ||
	    st.st_ino != now.st_ino || st.st_dev != now.st_dev) {
		r = -2;
		snprintf(err, errlen, "%s/entries/%s: gone", q->path, mname);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s/entries/%s: not a regular file", q->path, mname);
		goto out;
	}
	if ((r = read_env(q, q->entries, "entries", id, &e->env, NULL, err, errlen)) != 0)
		goto out;
	if ((uint64_t)st.st_size != e->env.size) {
		snprintf(err, errlen, "%s/entries/%s: %llu bytes, but its envelope says %llu", q->path,
			 mname, (unsigned long long)st.st_size, (unsigned long long)e->env.size);
		r = -1;
		goto out;
	}
	*ep = e;
	e = NULL;
	r = 0;
out:
	queue_unlock(e);
	return r;
}

const struct queue_env *queue_entry_env(const struct queue_entry *e)
{
	return &e->env;
}

int queue_entry_fd(const struct queue_entry *e)
{
	return e->fd;
}

void queue_unlock(struct queue_entry *e)
{
	if (e == NULL)
		return;
	if (e->fd >= 0)
		close(e->fd);
	queue_env_free(&e->env);
	free(e);
}

/* E's envelope changed as NENV says, written to tmp/ID.env and synced;
 * *PARSED is NENV read back from that text (owned), for E once the new
 * file is in place. */
static int write_new_env(struct queue_entry *e, const struct queue_env *nenv,
			 struct queue_env *parsed, char *err, size_t errlen)
{
	char ename[QUEUE_ID_MAX + 8], perr[KURIER_ERRLEN], *text = NULL;
	size_t len;
	int r = -1;

	snprintf(ename, sizeof ename, "%s.env", e->id);
	if (queue_env_format(nenv, &text, &len, err, errlen) != 0)
		goto out;
	if (queue_env_parse(text, len, parsed, perr, sizeof perr) != 0) {
		snprintf(err, errlen, "internal error: %s", perr);
		goto out;
	}
	/* We hold the lock: a tmp/ID.env can only be a leftover of ours. */
	if (write_tmp(e->q, ename, false, text, len, err, errlen) != 0) {
		unlinkat(e->q->tmp, ename, 0);
		queue_env_free(parsed);
		goto out;
	}
	r = 0;
out:
	free(text);
	return r;
}

int queue_record_attempt(struct queue_entry *e, int64_t now, const char *error, int64_t next,
			 char *err, size_t errlen)
{
	struct queue_env nenv = e->env, parsed;
	char ename[QUEUE_ID_MAX + 8];

	(void)now;
	snprintf(ename, sizeof ename, "%s.env", e->id);
	nenv.attempts = e->env.attempts + 1;
	nenv.last_error = error;
	nenv.next_attempt = next;
	if (write_new_env(e, &nenv, &parsed, err, errlen) != 0)
		return -1;
	if (renameat(e->q->tmp, ename, e->q->entries, ename) != 0) {
		snprintf(err, errlen, "cannot replace %s/entries/%s: %s", e->q->path, ename,
			 strerror(errno));
		unlinkat(e->q->tmp, ename, 0);
		queue_env_free(&parsed);
		return -1;
	}
	queue_env_free(&e->env);
	e->env = parsed;
	return sync_dir(e->q, e->q->entries, "entries", err, errlen);
}

int queue_remove(struct queue_entry *e, char *err, size_t errlen)
{
	char name[QUEUE_ID_MAX + 8];

	snprintf(name, sizeof name, "%s.env", e->id);
	/* The duplicate window ends here. */
	if (unlinkat(e->q->entries, name, 0) != 0) {
		snprintf(err, errlen, "cannot remove %s/entries/%s: %s", e->q->path, name,
			 strerror(errno));
		return -1;
	}
	sync_dir(e->q, e->q->entries, "entries", err, errlen);
	snprintf(name, sizeof name, "%s.msg", e->id);
	unlinkat(e->q->entries, name, 0);
	return 0;
}

int queue_move_failed(struct queue_entry *e, const char *reason, char *err, size_t errlen)
{
	struct queue *q = e->q;
	struct queue_env nenv = e->env, parsed;
	char mname[QUEUE_ID_MAX + 8], ename[QUEUE_ID_MAX + 8];
	struct stat a, b;

	snprintf(mname, sizeof mname, "%s.msg", e->id);
	snprintf(ename, sizeof ename, "%s.env", e->id);
	nenv.failed = reason;
	if (linkat(q->entries, mname, q->failed, mname, 0) != 0) {
		/* a crash in an earlier move may have left this very link */
		if (errno != EEXIST || fstatat(q->failed, mname, &a, AT_SYMLINK_NOFOLLOW) != 0 ||
		    fstat(e->fd, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
			snprintf(err, errlen, "cannot link %s into %s/failed: %s", mname, q->path,
				 strerror(errno));
			return -1;
		}
	}
	if (write_new_env(e, &nenv, &parsed, err, errlen) != 0)
		goto undo;
	if (renameat(q->tmp, ename, q->failed, ename) != 0) {
		snprintf(err, errlen, "cannot move %s into %s/failed: %s", ename, q->path,
			 strerror(errno));
		unlinkat(q->tmp, ename, 0);
		queue_env_free(&parsed);
		goto undo;
	}
	if (sync_dir(q, q->failed, "failed", err, errlen) != 0)
		goto still_queued;
	if (unlinkat(q->entries, ename, 0) != 0) {
		snprintf(err, errlen, "cannot remove %s/entries/%s: %s", q->path, ename,
			 strerror(errno));
		goto still_queued;
	}
	queue_env_free(&e->env);
	e->env = parsed;
	unlinkat(q->entries, mname, 0);
	return sync_dir(q, q->entries, "entries", err, errlen);
still_queued:
	/* the entry stays in entries/, so it must not be in failed/ as well */
	unlinkat(q->failed, ename, 0);
	queue_env_free(&parsed);
undo:
	unlinkat(q->failed, mname, 0);
	return -1;
}

int queue_remove_stale(struct queue *q, enum queue_item_kind kind, const char *name, char *err, size_t errlen)
{
	char mname[QUEUE_ID_MAX + 8];
	const char *file = name;
	int dir = q->tmp;

	if (strchr(name, '/') != NULL || name[0] == '.' ||
	    (kind != QUEUE_ITEM_TEMPORARY && kind != QUEUE_ITEM_INCOMPLETE)) {
		snprintf(err, errlen, "not a leftover: %.60s", name);
		return -1;
	}
	if (kind == QUEUE_ITEM_INCOMPLETE) {
		if (!queue_id_valid(name)) {
			snprintf(err, errlen, "'%.60s' is not a queue id", name);
			return -1;
		}
		snprintf(mname, sizeof mname, "%s.msg", name);
		file = mname;
		dir = q->entries;
	}
	if (unlinkat(dir, file, 0) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove %s/%s/%s: %s", q->path, dir == q->tmp ? "tmp" : "entries", file,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int queue_delete(struct queue *q, const char *id, char *err, size_t errlen)
{
	struct queue_entry *e = NULL;
	char mname[QUEUE_ID_MAX + 8], ename[QUEUE_ID_MAX + 8];
	bool env_there, msg_there;
	int dir, r;

	if (!queue_id_valid(id)) {
		snprintf(err, errlen, "'%.60s' is not a queue id", id);
		return -2;
	}
	snprintf(mname, sizeof mname, "%s.msg", id);
	snprintf(ename, sizeof ename, "%s.env", id);
	/* Locked, or not an entry a runner would send (corrupt, incomplete):
	 * either way no one is sending it. */
	if ((r = queue_lock(q, id, &e, err, errlen)) == 1)
		return 1;
	dir = q->entries;
	mtime_of(dir, ename, &env_there, NULL);
	mtime_of(dir, mname, &msg_there, NULL);
	if (!env_there && !msg_there) {
		dir = q->failed;
		mtime_of(dir, ename, &env_there, NULL);
		mtime_of(dir, mname, &msg_there, NULL);
	}
	if (!env_there && !msg_there) {
		snprintf(err, errlen, "no entry %s in %s", id, q->path);
		r = -2;
		goto out;
	}
	/* The envelope first, as everywhere: what is left is at worst an
	 * incomplete entry, never one without its message. */
	if (env_there && unlinkat(dir, ename, 0) != 0) {
		snprintf(err, errlen, "cannot remove %s/%s/%s: %s", q->path,
			 dir == q->entries ? "entries" : "failed", ename, strerror(errno));
		r = -1;
		goto out;
	}
	if (msg_there)
		unlinkat(dir, mname, 0);
	r = sync_dir(q, dir, dir == q->entries ? "entries" : "failed", err, errlen);
out:
	queue_unlock(e);
	return r;
}
