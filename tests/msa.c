/* msa.c: the scriptable test MSA, a fake SMTP submission server for the
 * test suite. It owns the command line, the script (tests/msa-README.md),
 * the per-session records written to --dir (N.client, N.data, N.groups,
 * N.transcript, N.auth), the SMTP conversation with its pipelining-style
 * reply buffering, and the socket plumbing. The SASL side of AUTH lives in
 * msa-sasl.c. All socket I/O goes through struct
 * conn (conn_read, conn_write, ...), so a TLS layer can later replace the
 * plain functions at conn_starttls() and right after accept(). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "msa-buf.h"
#include "msa-sasl.h"
#include "msa-tls.h"

#define MSA_HOSTNAME "msa.test"
#define MSA_LINE_MAX 4096       /* longest command line, CRLF not counted */
#define MSA_FLUSH_AT 4096       /* pending reply bytes that force a write */
#define MSA_INBUF_SIZE 65536    /* input buffer; must exceed MSA_LINE_MAX + 2 */
#define MSA_LONGLINE_LEN 100000 /* the `longline` reply line, CRLF not counted */
#define MSA_LINGER_MS 2000      /* how long a server-side close drains input */
#define MSA_DELAY_MAX 600000    /* largest `delay` in milliseconds */

/* ---- small helpers ------------------------------------------------------ */


static bool msa_word_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(p, word, n) == 0;
}

static bool msa_starts(const char *p, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);
	return n >= k && memcmp(p, prefix, k) == 0;
}

static char msa_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Parse all of p[0..n) as a decimal number in [min, max]. */
static bool msa_parse_ulong(const char *p, size_t n, unsigned long min, unsigned long max,
			    unsigned long *out)
{
	char tmp[24];
	if (n == 0 || n >= sizeof tmp)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	errno = 0;
	char *end;
	unsigned long v = strtoul(tmp, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int64_t msa_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until `until`, clamped to what poll() takes. */
static int msa_left_ms(int64_t until)
{
	int64_t left = until - msa_now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* ---- the script --------------------------------------------------------- */

enum script_kind { SK_COMMAND, SK_CONNECT, SK_EOD };
enum script_act {
	SA_CAP, SA_REPLY, SA_RAW, SA_DROP, SA_STALL, SA_LONGLINE, SA_DELAY, SA_AUTH_BADSIG,
	SA_RCPT_LIMIT
};

struct script_dir {
	unsigned long line;    /* line in the script file */
	unsigned long session; /* 0: every session */
	enum script_act act;
	enum script_kind kind;
	char *verb;            /* upper-cased; NULL for cap and auth-bad-signature */
	size_t verb_len;
	char *text;            /* ~TEXT, unescaped; NULL: any line */
	size_t text_len;
	unsigned long nth;     /* #K; 0: every occurrence */
	char *arg;             /* reply text, raw bytes or cap line; NULL for `cap -` */
	size_t arg_len;
	unsigned long ms;      /* delay; rcpt-limit: the limit */
	size_t slot;           /* index of this verb's occurrence counter */
};

/* One occurrence counter per distinct verb the script names. */
struct script_slot {
	enum script_kind kind;
	const char *verb; /* points into a directive */
	size_t verb_len;
};

struct script {
	struct script_dir *dirs;
	size_t ndirs;
	struct script_slot *slots;
	size_t nslots;
};

struct script_lex {
	const char *p, *end;
};

static void script_lex_blank(struct script_lex *lx)
{
	while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t'))
		lx->p++;
}

static bool script_lex_word(struct script_lex *lx, const char **w, size_t *wl)
{
	script_lex_blank(lx);
	const char *s = lx->p;
	while (lx->p < lx->end && *lx->p != ' ' && *lx->p != '\t')
		lx->p++;
	*w = s;
	*wl = (size_t)(lx->p - s);
	return *wl > 0;
}

__attribute__((format(printf, 3, 4)))
static int script_error(const char *path, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%lu: ", path, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

static int script_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode \r \n \t \\ \xHH in p[0..n) into a new string; -1 on a bad escape. */
static int script_unescape(const char *p, size_t n, char **out, size_t *out_len)
{
	char *o = malloc(n + 1);
	size_t k = 0;
	if (!o)
		msa_oom();
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\\') {
			o[k++] = p[i];
			continue;
		}
		if (++i == n)
			goto bad;
		switch (p[i]) {
		case 'r': o[k++] = '\r'; break;
		case 'n': o[k++] = '\n'; break;
		case 't': o[k++] = '\t'; break;
		case '\\': o[k++] = '\\'; break;
		case 'x': {
			int hi = i + 1 < n ? script_hex(p[i + 1]) : -1;
			int lo = i + 2 < n ? script_hex(p[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				goto bad;
			o[k++] = (char)(hi * 16 + lo);
			i += 2;
			break;
		}
		default:
			goto bad;
		}
	}
	o[k] = '\0';
	*out = o;
	*out_len = k;
	return 0;
bad:
	free(o);
	return -1;
}

static size_t script_slot_find(const struct script *sc, enum script_kind kind, const char *verb,
			       size_t vl)
{
	for (size_t i = 0; i < sc->nslots; i++) {
		const struct script_slot *sl = &sc->slots[i];
		if (sl->kind != kind)
			continue;
		if (kind != SK_COMMAND || (sl->verb_len == vl && memcmp(sl->verb, verb, vl) == 0))
			return i;
	}
	return SIZE_MAX;
}

static void script_push(struct script *sc, const struct script_dir *d)
{
	struct script_dir *dirs = realloc(sc->dirs, (sc->ndirs + 1) * sizeof *dirs);
	if (!dirs)
		msa_oom();
	sc->dirs = dirs;
	sc->dirs[sc->ndirs] = *d;
	struct script_dir *nd = &sc->dirs[sc->ndirs++];
	if (nd->act == SA_CAP || nd->act == SA_AUTH_BADSIG || nd->act == SA_RCPT_LIMIT)
		return;
	nd->slot = script_slot_find(sc, nd->kind, nd->verb, nd->verb_len);
	if (nd->slot != SIZE_MAX)
		return;
	struct script_slot *slots = realloc(sc->slots, (sc->nslots + 1) * sizeof *slots);
	if (!slots)
		msa_oom();
	sc->slots = slots;
	sc->slots[sc->nslots] = (struct script_slot){ nd->kind, nd->verb, nd->verb_len };
	nd->slot = sc->nslots++;
}

/* The rcpt-limit for this session; 0: none. */
static unsigned long script_rcpt_limit(const struct script *sc, unsigned long session)
{
	for (size_t i = 0; i < sc->ndirs; i++)
		if (sc->dirs[i].act == SA_RCPT_LIMIT &&
		    (!sc->dirs[i].session || sc->dirs[i].session == session))
			return sc->dirs[i].ms;
	return 0;
}

/* Does a verb-less directive ACT apply in this session? */
static bool script_has(const struct script *sc, unsigned long session, enum script_act act)
{
	for (size_t i = 0; i < sc->ndirs; i++)
		if (sc->dirs[i].act == act && (!sc->dirs[i].session || sc->dirs[i].session == session))
			return true;
	return false;
}

static void script_dir_free(struct script_dir *d)
{
	free(d->verb);
	free(d->text);
	free(d->arg);
}

static void script_free(struct script *sc)
{
	for (size_t i = 0; i < sc->ndirs; i++)
		script_dir_free(&sc->dirs[i]);
	free(sc->dirs);
	free(sc->slots);
	sc->dirs = NULL;
	sc->slots = NULL;
	sc->ndirs = sc->nslots = 0;
}

static const struct {
	const char *name;
	enum script_act act;
} script_acts[] = {
	{ "cap", SA_CAP }, { "reply", SA_REPLY }, { "raw", SA_RAW }, { "drop", SA_DROP },
	{ "stall", SA_STALL }, { "longline", SA_LONGLINE }, { "delay", SA_DELAY },
	{ "auth-bad-signature", SA_AUTH_BADSIG }, { "rcpt-limit", SA_RCPT_LIMIT },
};

/* Parse the options and argument of one directive after its action word. */
static int script_parse_rest(struct script_dir *d, struct script_lex *lx, const char *path,
			     unsigned long ln)
{
	const char *w;
	size_t wl;

	if (!script_lex_word(lx, &w, &wl))
		return script_error(path, ln, "missing VERB");
	if (wl == 7 && strncasecmp(w, "CONNECT", 7) == 0)
		d->kind = SK_CONNECT;
	else if (msa_word_is(w, wl, "."))
		d->kind = SK_EOD;
	else
		d->kind = SK_COMMAND;
	d->verb = msa_memdup(w, wl);
	d->verb_len = wl;
	for (size_t i = 0; i < wl; i++)
		d->verb[i] = msa_upper(d->verb[i]);

	for (;;) {
		struct script_lex save = *lx;
		if (!script_lex_word(lx, &w, &wl)) {
			*lx = save;
			break;
		}
		if (w[0] == '~') {
			if (d->text)
				return script_error(path, ln, "more than one ~TEXT");
			if (script_unescape(w + 1, wl - 1, &d->text, &d->text_len) != 0)
				return script_error(path, ln, "bad escape sequence in ~TEXT");
			if (d->text_len == 0)
				return script_error(path, ln, "empty ~TEXT");
		} else if (w[0] == '#') {
			if (d->nth)
				return script_error(path, ln, "more than one #K");
			if (!msa_parse_ulong(w + 1, wl - 1, 1, ULONG_MAX, &d->nth))
				return script_error(path, ln, "#K needs a number >= 1, not '%.*s'",
						    (int)wl, w);
		} else {
			*lx = save;
			break;
		}
	}

	script_lex_blank(lx);
	const char *rest = lx->p;
	size_t rest_len = (size_t)(lx->end - lx->p);
	switch (d->act) {
	case SA_REPLY:
	case SA_RAW:
		if (rest_len == 0)
			return script_error(path, ln, "%s needs %s", d->act == SA_RAW ? "raw" : "reply",
					    d->act == SA_RAW ? "BYTES" : "a REPLY");
		if (script_unescape(rest, rest_len, &d->arg, &d->arg_len) != 0)
			return script_error(path, ln, "bad escape sequence (use \\r \\n \\t \\\\ \\xHH)");
		return 0;
	case SA_DELAY:
		if (!script_lex_word(lx, &w, &wl) ||
		    !msa_parse_ulong(w, wl, 0, MSA_DELAY_MAX, &d->ms))
			return script_error(path, ln, "delay needs milliseconds (0 to %d)", MSA_DELAY_MAX);
		script_lex_blank(lx);
		if (lx->p != lx->end)
			return script_error(path, ln, "unexpected '%.*s' after delay",
					    (int)(lx->end - lx->p), lx->p);
		return 0;
	default:
		if (rest_len != 0)
			return script_error(path, ln, "unexpected '%.*s'", (int)rest_len, rest);
		return 0;
	}
}

static int script_parse_line(struct script *sc, const char *path, unsigned long ln, const char *p,
			     size_t n)
{
	struct script_lex lx = { p, p + n };
	struct script_dir d = { .line = ln, .slot = SIZE_MAX };
	const char *w;
	size_t wl;

	script_lex_blank(&lx);
	if (lx.p == lx.end || *lx.p == '#')
		return 0;
	script_lex_word(&lx, &w, &wl);
	if (msa_word_is(w, wl, "session")) {
		if (!script_lex_word(&lx, &w, &wl) ||
		    !msa_parse_ulong(w, wl, 1, ULONG_MAX, &d.session))
			return script_error(path, ln, "'session' needs a session number >= 1");
		if (!script_lex_word(&lx, &w, &wl))
			return script_error(path, ln, "missing directive after 'session %lu'", d.session);
	}
	size_t i;
	for (i = 0; i < sizeof script_acts / sizeof script_acts[0]; i++)
		if (msa_word_is(w, wl, script_acts[i].name))
			break;
	if (i == sizeof script_acts / sizeof script_acts[0])
		return script_error(path, ln, "unknown directive '%.*s'", (int)wl, w);
	d.act = script_acts[i].act;

	if (d.act == SA_CAP) {
		script_lex_blank(&lx);
		size_t rl = (size_t)(lx.end - lx.p);
		if (rl == 0)
			return script_error(path, ln, "cap needs a capability line (or '-')");
		if (!msa_word_is(lx.p, rl, "-")) {
			d.arg = msa_memdup(lx.p, rl);
			d.arg_len = rl;
		}
		script_push(sc, &d);
		return 0;
	}
	if (d.act == SA_RCPT_LIMIT) {
		if (!script_lex_word(&lx, &w, &wl) || !msa_parse_ulong(w, wl, 1, 1000000, &d.ms))
			return script_error(path, ln, "rcpt-limit needs a number of recipients >= 1");
		script_lex_blank(&lx);
		if (lx.p != lx.end)
			return script_error(path, ln, "unexpected '%.*s' after rcpt-limit",
					    (int)(lx.end - lx.p), lx.p);
		script_push(sc, &d);
		return 0;
	}
	if (d.act == SA_AUTH_BADSIG) {
		/* An optional AUTH, for symmetry with the verb directives. */
		struct script_lex save = lx;
		if (!script_lex_word(&lx, &w, &wl) || wl != 4 || strncasecmp(w, "AUTH", 4) != 0)
			lx = save;
		script_lex_blank(&lx);
		if (lx.p != lx.end)
			return script_error(path, ln, "unexpected '%.*s' after auth-bad-signature",
					    (int)(lx.end - lx.p), lx.p);
		script_push(sc, &d);
		return 0;
	}
	if (script_parse_rest(&d, &lx, path, ln) != 0) {
		script_dir_free(&d);
		return -1;
	}
	script_push(sc, &d);
	return 0;
}

static int script_load(struct script *sc, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "msa: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long ln = 0;
	int rc = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		size_t n = (size_t)len;
		ln++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (script_parse_line(sc, path, ln, line, n) != 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "msa: %s: %s\n", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

/* The first directive for this event: an action (reply, raw, drop, stall,
 * longline) or, with want_delay, a delay. NULL: none applies. */
static const struct script_dir *script_find(const struct script *sc, unsigned long session,
					    enum script_kind kind, const char *verb, size_t vl,
					    const char *line, size_t ll, const unsigned long *counts,
					    bool want_delay)
{
	for (size_t i = 0; i < sc->ndirs; i++) {
		const struct script_dir *d = &sc->dirs[i];
		if (d->act == SA_CAP || d->act == SA_AUTH_BADSIG || d->act == SA_RCPT_LIMIT ||
		    (d->act == SA_DELAY) != want_delay)
			continue;
		if (d->session && d->session != session)
			continue;
		if (d->kind != kind)
			continue;
		if (kind == SK_COMMAND && (d->verb_len != vl || memcmp(d->verb, verb, vl) != 0))
			continue;
		if (d->text && !memmem(line, ll, d->text, d->text_len))
			continue;
		if (d->nth && counts[d->slot] != d->nth)
			continue;
		return d;
	}
	return NULL;
}

/* ---- connections: the seam for TLS -------------------------------------- */

/* Everything that touches the client's socket. A TLS layer sets tls and
 * replaces the four functions; read/write then follow recv/send's contract
 * (>0 bytes, 0 end of stream, -1 with errno, EAGAIN when it would block). */
struct conn {
	int fd;
	struct msa_tls *tls;           /* the TLS layer's session; NULL while plain */
	struct msa_tls_creds *creds;   /* --tls-cert given: TLS can start */
	char tls_err[256];             /* why the handshake failed */
	ssize_t (*read)(struct conn *c, void *p, size_t n);
	ssize_t (*write)(struct conn *c, const void *p, size_t n);
	size_t (*pending)(struct conn *c); /* bytes readable without touching fd */
	void (*shutdown)(struct conn *c);  /* stop sending (TLS: close_notify first) */
};

static ssize_t conn_plain_read(struct conn *c, void *p, size_t n)
{
	return recv(c->fd, p, n, 0);
}

static ssize_t conn_plain_write(struct conn *c, const void *p, size_t n)
{
	return send(c->fd, p, n, MSG_NOSIGNAL);
}

static size_t conn_plain_pending(struct conn *c)
{
	(void)c;
	return 0;
}

static void conn_plain_shutdown(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
}

static void conn_init_plain(struct conn *c, int fd, struct msa_tls_creds *creds)
{
	*c = (struct conn){ .fd = fd, .creds = creds, .read = conn_plain_read,
			    .write = conn_plain_write, .pending = conn_plain_pending,
			    .shutdown = conn_plain_shutdown };
}

static ssize_t conn_read(struct conn *c, void *p, size_t n)
{
	ssize_t r;
	do
		r = c->read(c, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static ssize_t conn_write(struct conn *c, const void *p, size_t n)
{
	ssize_t r;
	do
		r = c->write(c, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Wait until c is ready for events (POLLIN/POLLOUT) or `until` passes:
 * 1 ready, 0 out of time, -1 poll failed. */
static int conn_wait(struct conn *c, short events, int64_t until)
{
	if ((events & POLLIN) && c->pending(c) > 0)
		return 1;
	for (;;) {
		int left = msa_left_ms(until);
		if (left == 0)
			return 0;
		struct pollfd pfd = { .fd = c->fd, .events = events };
		int r = poll(&pfd, 1, left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static ssize_t conn_tls_read(struct conn *c, void *p, size_t n)
{
	return msa_tls_read(c->tls, p, n);
}

static ssize_t conn_tls_write(struct conn *c, const void *p, size_t n)
{
	return msa_tls_write(c->tls, p, n);
}

static size_t conn_tls_pending(struct conn *c)
{
	return msa_tls_pending(c->tls);
}

static void conn_tls_shutdown(struct conn *c)
{
	msa_tls_bye(c->tls);
	shutdown(c->fd, SHUT_WR);
}

/* Switch c to TLS (after a 220 reply to STARTTLS, or on connect with
 * --implicit-tls): the server handshake on c->fd, then the TLS functions.
 * -1 with c->tls_err when there are no credentials or the handshake fails. */
static int conn_starttls(struct conn *c)
{
	if (c->creds == NULL) {
		snprintf(c->tls_err, sizeof c->tls_err, "this test MSA was started without --tls-cert");
		return -1;
	}
	c->tls = msa_tls_accept(c->creds, c->fd, 5000, c->tls_err, sizeof c->tls_err);
	if (c->tls == NULL)
		return -1;
	c->read = conn_tls_read;
	c->write = conn_tls_write;
	c->pending = conn_tls_pending;
	c->shutdown = conn_tls_shutdown;
	return 0;
}

/* ---- sessions ----------------------------------------------------------- */

struct msa {
	const char *dir;
	const char *script_path;
	const char *listen_addr;
	unsigned long sessions;
	int64_t deadline; /* end of --lifetime, msa_now_ms() clock */
	int listen_fd;
	struct msa_tls_creds *tls; /* --tls-cert and --tls-key loaded */
	bool implicit_tls;         /* --implicit-tls: TLS from the first byte */
	struct msa_sasl *sasl;     /* --auth-user given: AUTH is offered */
	bool auth_required;        /* --auth-required: MAIL needs AUTH first */
	bool expired;     /* the lifetime ended */
	bool failed;      /* a record file could not be written */
	struct script script;
};

enum sess_end { SE_NONE, SE_QUIT, SE_CLIENT_CLOSED, SE_SERVER_CLOSED, SE_LIFETIME, SE_FAILED };
enum sess_state { SS_COMMAND, SS_DATA, SS_OVERLONG, SS_AUTH };
/* Where the data reader is in the search for CRLF "." CRLF. */
enum data_state { DS_MID, DS_CR, DS_BOL, DS_DOT, DS_DOTCR };
enum fill { FILL_GOT, FILL_NONE, FILL_EOF, FILL_STOP };
enum verb_id {
	V_OTHER, V_EHLO, V_HELO, V_MAIL, V_RCPT, V_DATA, V_RSET, V_NOOP, V_QUIT, V_STARTTLS,
	V_AUTH, V_CONNECT, V_EOD
};

struct session {
	struct msa *msa;
	unsigned long number;
	struct conn conn;
	FILE *client, *groups, *transcript, *data, *auth_rec;
	char *in;             /* input buffer, MSA_INBUF_SIZE bytes */
	size_t in_off, in_len;
	struct buf out;       /* replies not yet written */
	struct buf group;     /* verbs processed since the last flush */
	size_t group_verbs;
	struct buf verb;      /* the current command's verb, upper-cased */
	struct buf dflt;      /* the default reply being built */
	struct buf reply;     /* a scripted reply being built */
	unsigned long *counts; /* occurrences per script slot */
	enum sess_state state;
	enum data_state dstate;
	unsigned long long data_bytes;
	unsigned long transactions; /* DATA transactions so far */
	bool has_mail;
	unsigned long rcpts;   /* accepted RCPTs in this transaction */
	unsigned long refused; /* refused RCPTs in this transaction */
	bool over_limit;       /* the default RCPT reply is rcpt-limit's 452 */
	bool stalled;          /* `stall`: record commands, never answer */
	size_t overlong_max;   /* SS_OVERLONG: the limit the line broke */
	bool authed;           /* a 235 was sent for AUTH */
	struct msa_sasl_exch *auth;     /* SS_AUTH: the exchange in progress */
	struct msa_sasl_exch *auth_new; /* AUTH's default reply: its exchange... */
	struct msa_sasl_step auth_step; /* ...and what it says, until the reply is chosen */
	enum sess_end end;
};

static const char *const msa_default_caps[] = {
	"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN", "SIZE 52428800",
};

/* ---- records ------------------------------------------------------------ */

static void rec_client(struct session *s, const char *p, size_t n)
{
	fwrite(p, 1, n, s->client);
	fputc('\n', s->client);
}

static void rec_transcript_line(struct session *s, const char *prefix, const char *p, size_t n,
				const char *mark)
{
	FILE *f = s->transcript;
	fputs(prefix, f);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputs(mark, f);
	fputc('\n', f);
}

/* Bytes as lines: CRLF-ended lines plain, others marked. */
static void rec_transcript(struct session *s, const char *prefix, const char *p, size_t n)
{
	while (n > 0) {
		const char *lf = memchr(p, '\n', n);
		size_t seg = lf ? (size_t)(lf - p) : n;
		size_t body = seg;
		const char *mark = lf ? " <BARE-LF>" : " <NO-EOL>";
		if (lf && seg > 0 && p[seg - 1] == '\r') {
			body--;
			mark = "";
		}
		rec_transcript_line(s, prefix, p, body, mark);
		if (!lf)
			break;
		p += seg + 1;
		n -= seg + 1;
	}
}

__attribute__((format(printf, 2, 3)))
static void rec_note(struct session *s, const char *fmt, ...)
{
	va_list ap;
	fputs("-- ", s->transcript);
	va_start(ap, fmt);
	vfprintf(s->transcript, fmt, ap);
	va_end(ap);
	fputc('\n', s->transcript);
}

static void rec_group_add(struct session *s, const char *verb, size_t n)
{
	if (s->group_verbs++)
		buf_add(&s->group, " ", 1);
	if (n)
		buf_add(&s->group, verb, n);
	else
		buf_adds(&s->group, "<EMPTY>");
}

static void rec_group_end(struct session *s)
{
	if (!s->group_verbs)
		return;
	fwrite(s->group.data, 1, s->group.len, s->groups);
	fputc('\n', s->groups);
	s->group.len = 0;
	s->group_verbs = 0;
}

static FILE *rec_open(struct session *s, const char *suffix, unsigned long extra, int mode)
{
	char path[PATH_MAX];
	if (extra > 1)
		snprintf(path, sizeof path, "%s/%lu.%s.%lu", s->msa->dir, s->number, suffix, extra);
	else
		snprintf(path, sizeof path, "%s/%lu.%s", s->msa->dir, s->number, suffix);
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "msa: %s: %s\n", path, strerror(errno));
		s->msa->failed = true;
		return NULL;
	}
	setvbuf(f, NULL, mode, 65536);
	return f;
}

static void rec_close(struct session *s, FILE **f, const char *what)
{
	if (!*f)
		return;
	if (ferror(*f) | (fclose(*f) != 0)) {
		fprintf(stderr, "msa: session %lu: cannot write %s\n", s->number, what);
		s->msa->failed = true;
	}
	*f = NULL;
}

/* ---- session plumbing --------------------------------------------------- */

static void sess_finish(struct session *s, enum sess_end why)
{
	if (s->end != SE_NONE)
		return;
	s->end = why;
	if (why == SE_LIFETIME) {
		s->msa->expired = true;
		rec_note(s, "lifetime over; closing");
	}
}

/* Close the data file; how is "" at the end of data, else why it was cut
 * short, and then bytes held back as a possible terminator were data. */
static void sess_data_close(struct session *s, const char *how)
{
	if (*how) {
		size_t held = s->dstate == DS_DOT ? 1 : s->dstate == DS_DOTCR ? 2 : 0;
		fwrite(".\r", 1, held, s->data);
		s->data_bytes += held;
		s->state = SS_COMMAND;
	}
	fprintf(s->transcript, "C: <%llu bytes of data>%s\n", s->data_bytes, how);
	rec_close(s, &s->data, "the data file");
}

/* The client has closed (or reset) the connection. */
static void sess_client_gone(struct session *s)
{
	size_t avail = s->in_len - s->in_off;
	if (s->state == SS_DATA) {
		sess_data_close(s, " (no end of data)");
	} else if ((s->state == SS_COMMAND || s->state == SS_AUTH) && avail > 0) {
		size_t max = s->state == SS_AUTH ? MSA_SASL_LINE_MAX : MSA_LINE_MAX;
		size_t n = avail > max ? max : avail;
		rec_client(s, s->in + s->in_off, n);
		rec_client(s, "<NO-EOL>", 8);
		rec_transcript_line(s, "C: ", s->in + s->in_off, n, " <NO-EOL>");
	}
	s->in_off = s->in_len;
	rec_client(s, "<EOF>", 5);
	rec_note(s, "the client closed the connection");
	sess_finish(s, SE_CLIENT_CLOSED);
}

/* Write every pending reply, waiting for the client to take them. */
static void sess_flush(struct session *s)
{
	rec_group_end(s);
	size_t off = 0;
	while (off < s->out.len && s->end == SE_NONE) {
		ssize_t w = conn_write(&s->conn, s->out.data + off, s->out.len - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = conn_wait(&s->conn, POLLOUT, s->msa->deadline);
			if (r == 0)
				sess_finish(s, SE_LIFETIME);
			else if (r < 0)
				sess_client_gone(s);
			continue;
		}
		rec_note(s, "cannot write to the client: %s", w < 0 ? strerror(errno) : "no progress");
		sess_client_gone(s);
	}
	s->out.len = 0;
}

/* Queue reply bytes; more than MSA_FLUSH_AT pending forces a (blocking) write. */
static void sess_send(struct session *s, const char *p, size_t n, bool log)
{
	if (s->end != SE_NONE || s->stalled)
		return;
	buf_add(&s->out, p, n);
	if (log)
		rec_transcript(s, "S: ", p, n);
	if (s->out.len > MSA_FLUSH_AT)
		sess_flush(s);
}

/* Read what the client has sent; with block, wait until something comes. */
static enum fill sess_fill(struct session *s, bool block)
{
	if (msa_left_ms(s->msa->deadline) == 0) {
		sess_finish(s, SE_LIFETIME);
		return FILL_STOP;
	}
	if (s->in_off > 0) {
		memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
		s->in_len -= s->in_off;
		s->in_off = 0;
	}
	if (s->in_len == MSA_INBUF_SIZE)
		return FILL_GOT; /* not reached: the readers always consume */
	for (;;) {
		ssize_t r = conn_read(&s->conn, s->in + s->in_len, MSA_INBUF_SIZE - s->in_len);
		if (r > 0) {
			s->in_len += (size_t)r;
			return FILL_GOT;
		}
		if (r == 0)
			return FILL_EOF;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			rec_note(s, "cannot read from the client: %s", strerror(errno));
			return FILL_EOF;
		}
		if (!block)
			return FILL_NONE;
		int w = conn_wait(&s->conn, POLLIN, s->msa->deadline);
		if (w == 0) {
			sess_finish(s, SE_LIFETIME);
			return FILL_STOP;
		}
		if (w < 0)
			return FILL_EOF;
	}
}

static void sess_sleep(struct session *s, unsigned long ms)
{
	int64_t until = msa_now_ms() + (int64_t)ms;
	bool cut = until > s->msa->deadline;
	if (cut)
		until = s->msa->deadline;
	rec_note(s, "delay %lu ms", ms);
	int left;
	while ((left = msa_left_ms(until)) > 0)
		poll(NULL, 0, left);
	if (cut)
		sess_finish(s, SE_LIFETIME);
}

/* ---- the SMTP conversation ---------------------------------------------- */

static enum verb_id sess_verb_id(const char *v, size_t n)
{
	static const struct {
		const char *name;
		enum verb_id id;
	} verbs[] = {
		{ "EHLO", V_EHLO }, { "HELO", V_HELO }, { "MAIL", V_MAIL }, { "RCPT", V_RCPT },
		{ "DATA", V_DATA }, { "RSET", V_RSET }, { "NOOP", V_NOOP }, { "QUIT", V_QUIT },
		{ "STARTTLS", V_STARTTLS }, { "AUTH", V_AUTH },
	};
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (msa_word_is(v, n, verbs[i].name))
			return verbs[i].id;
	return V_OTHER;
}

static void sess_set_verb(struct session *s, const char *line, size_t n)
{
	const char *sp = memchr(line, ' ', n);
	size_t vl = sp ? (size_t)(sp - line) : n;
	s->verb.len = 0;
	buf_add(&s->verb, line, vl);
	for (size_t i = 0; i < vl; i++)
		s->verb.data[i] = msa_upper(s->verb.data[i]);
}

static void sess_reset_transaction(struct session *s)
{
	s->has_mail = false;
	s->rcpts = 0;
	s->refused = 0;
}

static void sess_ehlo_reply(struct session *s, const char *line, size_t n, struct buf *b)
{
	const struct script *sc = &s->msa->script;
	const char *caps[64];
	size_t caplen[64], ncaps = 0;
	bool scripted = false;

	for (size_t i = 0; i < sc->ndirs; i++) {
		const struct script_dir *d = &sc->dirs[i];
		if (d->act != SA_CAP || (d->session && d->session != s->number))
			continue;
		scripted = true;
		if (d->arg && ncaps < sizeof caps / sizeof caps[0]) {
			caps[ncaps] = d->arg;
			caplen[ncaps++] = d->arg_len;
		}
	}
	if (!scripted) {
		for (ncaps = 0; ncaps < sizeof msa_default_caps / sizeof msa_default_caps[0]; ncaps++) {
			caps[ncaps] = msa_default_caps[ncaps];
			caplen[ncaps] = strlen(msa_default_caps[ncaps]);
		}
		/* RFC 3207: STARTTLS is offered only before TLS. */
		if (s->conn.creds != NULL && s->conn.tls == NULL) {
			caps[ncaps] = "STARTTLS";
			caplen[ncaps++] = 8;
		}
	}
	/* A scripted `cap` list replaces AUTH too. */
	char *auth_cap = NULL;
	if (!scripted && s->msa->sasl) {
		struct buf ab = { 0 };
		buf_adds(&ab, "AUTH ");
		buf_adds(&ab, msa_sasl_mechs(s->msa->sasl, s->conn.tls != NULL));
		auth_cap = buf_take(&ab);
		caps[ncaps] = auth_cap;
		caplen[ncaps++] = strlen(auth_cap);
	}
	if (ncaps == 0) {
		buf_adds(b, "250 " MSA_HOSTNAME "\r\n");
		return;
	}
	/* The client's argument: the rest of the line after the verb. */
	const char *arg = memchr(line, ' ', n);
	size_t arg_len = 0;
	if (arg) {
		while (arg < line + n && *arg == ' ')
			arg++;
		arg_len = (size_t)(line + n - arg);
	}
	buf_adds(b, "250-" MSA_HOSTNAME " greets");
	if (arg_len) {
		buf_add(b, " ", 1);
		buf_add(b, arg, arg_len);
	}
	buf_adds(b, "\r\n");
	for (size_t i = 0; i < ncaps; i++) {
		buf_adds(b, i + 1 < ncaps ? "250-" : "250 ");
		buf_add(b, caps[i], caplen[i]);
		buf_adds(b, "\r\n");
	}
	free(auth_cap);
}

static void sess_auth_drop_new(struct session *s)
{
	msa_sasl_exch_free(s->auth_new);
	s->auth_new = NULL;
	msa_sasl_step_clear(&s->auth_step);
}

/* AUTH's default reply. The exchange it starts is kept aside until
 * sess_effects() knows that this reply, not a scripted one, was sent. */
static void sess_auth_begin(struct session *s, const char *line, size_t n, struct buf *b)
{
	sess_auth_drop_new(s);
	if (s->msa->sasl == NULL) {
		buf_adds(b, "503 5.5.1 AUTH not available\r\n");
	} else if (s->authed) {
		buf_adds(b, "503 5.5.1 already authenticated\r\n");
	} else if (s->has_mail) {
		buf_adds(b, "503 5.5.1 AUTH not permitted during a mail transaction\r\n");
	} else {
		s->auth_new = msa_sasl_begin(s->msa->sasl, s->conn.tls,
					     script_has(&s->msa->script, s->number, SA_AUTH_BADSIG),
					     line + 4, n - 4, &s->auth_step);
		buf_adds(b, s->auth_step.reply);
	}
}

/* The reply a well-behaved MSA would give, CRLF-terminated, in b. */
static void sess_default_reply(struct session *s, enum verb_id id, const char *line, size_t n,
			       struct buf *b)
{
	char tmp[64];
	b->len = 0;
	switch (id) {
	case V_CONNECT: buf_adds(b, "220 " MSA_HOSTNAME " ESMTP kurier-test-msa\r\n"); break;
	case V_EHLO: sess_ehlo_reply(s, line, n, b); break;
	case V_HELO: buf_adds(b, "250 " MSA_HOSTNAME "\r\n"); break;
	case V_MAIL:
		if (s->msa->auth_required && !s->authed)
			buf_adds(b, "530 5.7.0 authentication required\r\n");
		else
			buf_adds(b, "250 2.1.0 ok\r\n");
		break;
	case V_RCPT: {
		unsigned long limit = script_rcpt_limit(&s->msa->script, s->number);
		s->over_limit = s->has_mail && limit > 0 && s->rcpts >= limit;
		if (s->over_limit)
			buf_adds(b, "452 4.5.3 too many recipients\r\n");
		else
			buf_adds(b, s->has_mail ? "250 2.1.5 ok\r\n" : "503 5.5.1 need MAIL first\r\n");
		break;
	}
	case V_DATA:
		if (!s->rcpts)
			buf_adds(b, "554 5.5.1 no valid recipients\r\n");
		else if (s->refused)
			buf_adds(b, "554 5.5.1 not all recipients were accepted\r\n");
		else
			buf_adds(b, "354 end data with <CR><LF>.<CR><LF>\r\n");
		break;
	case V_EOD:
		snprintf(tmp, sizeof tmp, "250 2.0.0 ok queued as %lu\r\n", s->number);
		buf_adds(b, tmp);
		break;
	case V_RSET:
	case V_NOOP: buf_adds(b, "250 2.0.0 ok\r\n"); break;
	case V_QUIT: buf_adds(b, "221 2.0.0 bye\r\n"); break;
	case V_STARTTLS:
		if (s->conn.creds == NULL)
			buf_adds(b, "454 4.7.0 TLS not available\r\n");
		else if (s->conn.tls != NULL)
			buf_adds(b, "503 5.5.1 TLS already active\r\n");
		else
			buf_adds(b, "220 2.0.0 ready to start TLS\r\n");
		break;
	case V_AUTH: sess_auth_begin(s, line, n, b); break;
	case V_OTHER: buf_adds(b, "500 5.5.2 unrecognised command\r\n"); break;
	}
}

static void sess_data_begin(struct session *s)
{
	s->transactions++;
	s->data = rec_open(s, "data", s->transactions, _IOFBF);
	if (!s->data) {
		sess_finish(s, SE_FAILED);
		return;
	}
	s->state = SS_DATA;
	s->dstate = DS_BOL;
	s->data_bytes = 0;
}

/* N.tls: what the handshake negotiated, for tests to assert on. */
static void sess_tls_record(struct session *s)
{
	char d[512];
	FILE *f = rec_open(s, "tls", 0, _IOLBF);

	msa_tls_describe(s->conn.tls, d, sizeof d);
	rec_note(s, "TLS: %s", d);
	if (f != NULL) {
		fprintf(f, "%s\n", d);
		rec_close(s, &f, "tls");
	}
}

static void sess_starttls(struct session *s)
{
	sess_flush(s);
	if (s->end != SE_NONE)
		return;
	if (s->in_len > s->in_off)
		rec_note(s, "the client sent %zu bytes after STARTTLS before the handshake",
			 s->in_len - s->in_off);
	if (conn_starttls(&s->conn) != 0) {
		rec_note(s, "STARTTLS: %s; closing", s->conn.tls_err);
		sess_finish(s, SE_SERVER_CLOSED);
		return;
	}
	sess_tls_record(s);
	/* RFC 3207: forget everything said before the handshake. */
	s->in_off = s->in_len;
	sess_reset_transaction(s);
	s->authed = false;
}

/* One line for N.auth, created at the first AUTH exchange. */
static void sess_auth_record(struct session *s, const char *line)
{
	if (s->auth_rec == NULL && (s->auth_rec = rec_open(s, "auth", 0, _IOLBF)) == NULL)
		return;
	fprintf(s->auth_rec, "%s\n", line);
}

/* Act on a step of the exchange EX whose reply has been sent. */
static void sess_auth_notes(struct session *s, struct msa_sasl_step *st)
{
	for (const char *p = st->notes; p && *p;) {
		const char *lf = strchr(p, '\n');
		int len = lf ? (int)(lf - p) : (int)strlen(p);
		rec_note(s, "%.*s", len, p);
		p += len + (lf != NULL);
	}
	free(st->notes);
	st->notes = NULL;
}

static void sess_auth_apply(struct session *s, struct msa_sasl_exch *ex, struct msa_sasl_step *st)
{
	sess_auth_notes(s, st);
	if (st->record)
		sess_auth_record(s, st->record);
	if (st->ok)
		s->authed = true;
	if (st->more) {
		s->auth = ex;
		s->state = SS_AUTH;
	} else {
		msa_sasl_exch_free(ex);
		s->auth = NULL;
		s->state = SS_COMMAND;
	}
	msa_sasl_step_clear(st);
}

/* A line of the AUTH exchange: base64, empty or "*"; never a command. */
static void sess_auth_line(struct session *s, const char *line, size_t n, bool bare_lf)
{
	struct msa_sasl_step st;
	rec_client(s, line, n);
	if (bare_lf)
		rec_client(s, "<BARE-LF>", 9);
	rec_transcript_line(s, "C: ", line, n, bare_lf ? " <BARE-LF>" : "");
	rec_group_add(s, "<SASL>", 6);
	msa_sasl_next(s->auth, line, n, &st);
	sess_auth_notes(s, &st);
	sess_send(s, st.reply, strlen(st.reply), true);
	sess_auth_apply(s, s->auth, &st);
}

/* The session ends or a line broke the limit during an exchange. */
static void sess_auth_abort(struct session *s, const char *why)
{
	if (s->auth == NULL)
		return;
	char *rec = msa_sasl_abort_record(s->auth, why);
	sess_auth_record(s, rec);
	free(rec);
	msa_sasl_exch_free(s->auth);
	s->auth = NULL;
}

/* What the reply that was sent (sent[0..n)) means for the session. */
static void sess_effects(struct session *s, enum verb_id id, const char *sent, size_t n)
{
	bool ok = n > 0 && sent[0] == '2';
	switch (id) {
	case V_EHLO:
	case V_HELO:
		if (ok)
			sess_reset_transaction(s);
		break;
	case V_MAIL:
		if (ok) {
			sess_reset_transaction(s);
			s->has_mail = true;
		}
		break;
	case V_RCPT:
		/* A 452 (rcpt-limit's or scripted) or a "too many recipients"
		 * defers the recipient (RFC 5321 4.5.3.1.10); the others in the
		 * transaction still get the message. */
		if (ok)
			s->rcpts++;
		else if (s->has_mail && !(sent == s->dflt.data && s->over_limit) &&
			 !msa_starts(sent, n, "452") && !memmem(sent, n, "too many recipients", 19))
			s->refused++;
		break;
	case V_DATA:
		if (msa_starts(sent, n, "354"))
			sess_data_begin(s);
		break;
	case V_RSET:
	case V_EOD:
		sess_reset_transaction(s);
		break;
	case V_QUIT:
		sess_flush(s);
		rec_note(s, "QUIT: closing");
		sess_finish(s, SE_QUIT);
		break;
	case V_STARTTLS:
		if (msa_starts(sent, n, "220"))
			sess_starttls(s);
		break;
	case V_AUTH:
		if (sent == s->dflt.data && s->auth_step.reply != NULL) {
			/* The default reply went out: the exchange is on (or over). */
			struct msa_sasl_exch *ex = s->auth_new;
			s->auth_new = NULL;
			sess_auth_apply(s, ex, &s->auth_step);
		} else {
			/* Scripted: no exchange; a scripted 235 still authenticates. */
			sess_auth_drop_new(s);
			if (msa_starts(sent, n, "235"))
				s->authed = true;
		}
		break;
	case V_CONNECT:
	case V_NOOP:
	case V_OTHER:
		break;
	}
}

/* Answer one event (greeting, command or end of data) as the script says. */
static void sess_event(struct session *s, enum script_kind kind, enum verb_id id,
		       const char *line, size_t n)
{
	const struct script *sc = &s->msa->script;
	size_t slot = script_slot_find(sc, kind, s->verb.data, s->verb.len);
	if (slot != SIZE_MAX)
		s->counts[slot]++;
	const struct script_dir *act = script_find(sc, s->number, kind, s->verb.data, s->verb.len,
						   line, n, s->counts, false);
	const struct script_dir *delay = script_find(sc, s->number, kind, s->verb.data,
						     s->verb.len, line, n, s->counts, true);
	sess_default_reply(s, id, line, n, &s->dflt);
	if (delay) {
		sess_sleep(s, delay->ms);
		if (s->end != SE_NONE)
			return;
	}

	const char *sent = s->dflt.data;
	size_t sent_len = s->dflt.len;
	bool close_after = false;
	if (!act) {
		sess_send(s, s->dflt.data, s->dflt.len, true);
	} else {
		rec_note(s, "script line %lu", act->line);
		switch (act->act) {
		case SA_REPLY: {
			const char *p = act->arg, *end = act->arg + act->arg_len;
			s->reply.len = 0;
			for (;;) {
				const char *lf = memchr(p, '\n', (size_t)(end - p));
				buf_add(&s->reply, p, lf ? (size_t)(lf - p) : (size_t)(end - p));
				buf_adds(&s->reply, "\r\n");
				if (!lf)
					break;
				p = lf + 1;
			}
			sess_send(s, s->reply.data, s->reply.len, true);
			sent = s->reply.data;
			sent_len = s->reply.len;
			close_after = msa_starts(sent, sent_len, "421");
			break;
		}
		case SA_RAW:
			sess_send(s, act->arg, act->arg_len, true);
			sent = act->arg;
			sent_len = act->arg_len;
			break;
		case SA_DROP:
			/* Like a server dying mid-group: buffered replies are lost. */
			rec_note(s, "dropping the connection; %zu buffered reply bytes never sent",
				 s->out.len);
			rec_group_end(s);
			s->out.len = 0;
			sess_finish(s, SE_SERVER_CLOSED);
			return;
		case SA_STALL:
			/* Never answer again; replies still buffered for this
			 * pipelined group are never sent either. */
			rec_note(s, "stalling: %zu buffered reply bytes never sent; later commands "
				    "are recorded but not answered", s->out.len);
			rec_group_end(s);
			s->out.len = 0;
			s->stalled = true;
			return;
		case SA_LONGLINE: {
			s->reply.len = 0;
			buf_add(&s->reply, s->dflt.data, s->dflt.len >= 3 ? 3 : s->dflt.len);
			buf_add(&s->reply, "-", 1);
			while (s->reply.len < MSA_LONGLINE_LEN)
				buf_add(&s->reply, "xxxxxxxxxxxxxxxx",
					MSA_LONGLINE_LEN - s->reply.len < 16 ? MSA_LONGLINE_LEN - s->reply.len
									     : 16);
			buf_adds(&s->reply, "\r\n");
			rec_note(s, "S: %.4sxxx... (%d bytes and CRLF)", s->reply.data, MSA_LONGLINE_LEN);
			sess_send(s, s->reply.data, s->reply.len, false);
			sess_send(s, s->dflt.data, s->dflt.len, true);
			break;
		}
		case SA_CAP:
		case SA_DELAY:
		case SA_AUTH_BADSIG:
		case SA_RCPT_LIMIT:
			break;
		}
	}
	if (s->end != SE_NONE)
		return;
	sess_effects(s, id, sent, sent_len);
	if (close_after && s->end == SE_NONE) {
		sess_flush(s);
		rec_note(s, "421: closing");
		sess_finish(s, SE_SERVER_CLOSED);
	}
}

static void sess_command(struct session *s, const char *line, size_t n, bool bare_lf)
{
	rec_client(s, line, n);
	if (bare_lf)
		rec_client(s, "<BARE-LF>", 9);
	rec_transcript_line(s, "C: ", line, n, bare_lf ? " <BARE-LF>" : "");
	if (s->stalled)
		return;
	sess_set_verb(s, line, n);
	rec_group_add(s, s->verb.data, s->verb.len);
	sess_event(s, SK_COMMAND, sess_verb_id(s->verb.data, s->verb.len), line, n);
}

/* A line over MAX (MSA_LINE_MAX; MSA_SASL_LINE_MAX for AUTH and its
 * exchange): record its start now... */
static void sess_overlong_start(struct session *s, const char *line, size_t max)
{
	rec_client(s, line, max);
	rec_transcript_line(s, "C: ", line, max, " <LINE TOO LONG, TRUNCATED>");
	s->overlong_max = max;
	if (s->auth) {
		s->verb.len = 0;
		buf_adds(&s->verb, "<SASL>");
	} else {
		sess_set_verb(s, line, max);
	}
}

/* ...and answer it once its end has been read. */
static void sess_overlong_done(struct session *s)
{
	if (s->stalled)
		return;
	rec_group_add(s, s->verb.data, s->verb.len);
	if (s->overlong_max == MSA_LINE_MAX) {
		sess_send(s, "500 5.5.2 line too long\r\n", 25, true);
		return;
	}
	sess_send(s, "500 5.5.6 authentication exchange line too long\r\n", 49, true);
	sess_auth_abort(s, "fail");
}

static void sess_end_of_data(struct session *s)
{
	sess_data_close(s, "");
	s->state = SS_COMMAND;
	rec_client(s, ".", 1);
	rec_transcript_line(s, "C: ", ".", 1, "");
	sess_set_verb(s, ".", 1);
	rec_group_add(s, ".", 1);
	sess_event(s, SK_EOD, V_EOD, ".", 1);
}

/* Stream the message from the input buffer to the data file. The final
 * "." CR LF is never written; "." and "." CR at the end of a read are held
 * back (their bytes are implied by dstate) until the next read decides.
 * True when the end of data was consumed. */
static bool sess_data_feed(struct session *s)
{
	const char *p = s->in + s->in_off;
	size_t n = s->in_len - s->in_off;
	size_t held = s->dstate == DS_DOT ? 1 : s->dstate == DS_DOTCR ? 2 : 0;
	enum data_state st = s->dstate;
	size_t i = 0;
	bool end = false;

	while (i < n && !end) {
		if (st == DS_MID) {
			const char *cr = memchr(p + i, '\r', n - i);
			if (!cr) {
				i = n;
				break;
			}
			i = (size_t)(cr - p) + 1;
			st = DS_CR;
			continue;
		}
		char c = p[i++];
		switch (st) {
		case DS_CR: st = c == '\n' ? DS_BOL : c == '\r' ? DS_CR : DS_MID; break;
		case DS_BOL: st = c == '.' ? DS_DOT : c == '\r' ? DS_CR : DS_MID; break;
		case DS_DOT: st = c == '\r' ? DS_DOTCR : DS_MID; break;
		case DS_DOTCR:
			if (c == '\n')
				end = true;
			else
				st = c == '\r' ? DS_CR : DS_MID;
			break;
		case DS_MID: break;
		}
	}
	/* The stream seen is held bytes + p[0..i); keep its possible terminator. */
	size_t keep = end ? 3 : st == DS_DOT ? 1 : st == DS_DOTCR ? 2 : 0;
	size_t k = held + i - keep;
	size_t from_held = k < held ? k : held;
	fwrite(".\r", 1, from_held, s->data);
	if (k > held)
		fwrite(p, 1, k - held, s->data);
	s->data_bytes += k;
	s->in_off += i;
	s->dstate = end ? DS_BOL : st;
	return end;
}

/* Process what the input buffer holds; false when more input is needed. */
static bool sess_step(struct session *s)
{
	char *p = s->in + s->in_off;
	size_t avail = s->in_len - s->in_off;
	if (avail == 0)
		return false;
	switch (s->state) {
	case SS_DATA:
		if (sess_data_feed(s))
			sess_end_of_data(s);
		return true;
	case SS_OVERLONG: {
		char *lf = memchr(p, '\n', avail);
		if (!lf) {
			s->in_off = s->in_len;
			return false;
		}
		s->in_off += (size_t)(lf - p) + 1;
		s->state = SS_COMMAND;
		sess_overlong_done(s);
		return true;
	}
	case SS_AUTH:
	case SS_COMMAND: {
		/* RFC 4954: AUTH and its exchange lines may be up to 12288 bytes. */
		size_t max = s->state == SS_AUTH || (avail >= 5 && strncasecmp(p, "AUTH ", 5) == 0)
				     ? MSA_SASL_LINE_MAX
				     : MSA_LINE_MAX;
		char *lf = memchr(p, '\n', avail);
		if (!lf) {
			if (avail < max + 2)
				return false;
			sess_overlong_start(s, p, max);
			s->in_off = s->in_len;
			s->state = SS_OVERLONG;
			return true;
		}
		size_t n = (size_t)(lf - p);
		bool bare_lf = true;
		if (n > 0 && p[n - 1] == '\r') {
			n--;
			bare_lf = false;
		}
		s->in_off += (size_t)(lf - p) + 1;
		if (n > max) {
			sess_overlong_start(s, p, max);
			s->state = SS_COMMAND;
			sess_overlong_done(s);
		} else if (s->state == SS_AUTH) {
			sess_auth_line(s, p, n, bare_lf);
		} else {
			sess_command(s, p, n, bare_lf);
		}
		return true;
	}
	}
	return false;
}

/* Close the connection; after our own close, drain the client briefly so
 * it sees an orderly end of stream rather than a reset. */
static void sess_close(struct session *s)
{
	if (s->end == SE_QUIT || s->end == SE_SERVER_CLOSED) {
		char sink[4096];
		unsigned long long ignored = 0;
		int64_t until = msa_now_ms() + MSA_LINGER_MS;
		if (until > s->msa->deadline)
			until = s->msa->deadline;
		s->conn.shutdown(&s->conn);
		for (;;) {
			ssize_t r = conn_read(&s->conn, sink, sizeof sink);
			if (r > 0) {
				ignored += (unsigned long long)r;
				continue;
			}
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
			    conn_wait(&s->conn, POLLIN, until) > 0)
				continue;
			break;
		}
		if (ignored)
			rec_note(s, "%llu bytes from the client after the close ignored", ignored);
	}
	msa_tls_free(s->conn.tls);
	s->conn.tls = NULL;
	close(s->conn.fd);
	s->conn.fd = -1;
}

static void sess_run(struct msa *m, int fd, unsigned long number, const char *peer)
{
	struct session s = { .msa = m, .number = number };
	conn_init_plain(&s.conn, fd, m->tls);
	s.in = malloc(MSA_INBUF_SIZE);
	s.counts = calloc(m->script.nslots + 1, sizeof *s.counts);
	if (!s.in || !s.counts)
		msa_oom();
	s.client = rec_open(&s, "client", 0, _IOLBF);
	s.groups = rec_open(&s, "groups", 0, _IOLBF);
	s.transcript = rec_open(&s, "transcript", 0, _IOLBF);
	if (s.client && s.groups && s.transcript) {
		rec_note(&s, "session %lu, client %s", number, peer);
		if (m->implicit_tls) {
			if (conn_starttls(&s.conn) != 0) {
				rec_note(&s, "implicit TLS: %s; closing", s.conn.tls_err);
				sess_finish(&s, SE_SERVER_CLOSED);
			} else {
				sess_tls_record(&s);
			}
		}
		buf_adds(&s.verb, "CONNECT");
		if (s.end == SE_NONE)
			sess_event(&s, SK_CONNECT, V_CONNECT, "", 0);
		while (s.end == SE_NONE) {
			if (sess_step(&s))
				continue;
			enum fill f = sess_fill(&s, false);
			if (f == FILL_NONE) {
				sess_flush(&s);
				if (s.end != SE_NONE)
					break;
				f = sess_fill(&s, true);
			}
			if (f == FILL_EOF)
				sess_client_gone(&s);
		}
		rec_group_end(&s);
		if (s.data)
			sess_data_close(&s, " (session ended)");
		sess_auth_abort(&s, "incomplete");
	}
	sess_auth_drop_new(&s);
	sess_close(&s);
	rec_close(&s, &s.data, "the data file");
	rec_close(&s, &s.client, "the client record");
	rec_close(&s, &s.groups, "the groups record");
	rec_close(&s, &s.transcript, "the transcript");
	rec_close(&s, &s.auth_rec, "the auth record");
	buf_free(&s.out);
	buf_free(&s.group);
	buf_free(&s.verb);
	buf_free(&s.dflt);
	buf_free(&s.reply);
	free(s.counts);
	free(s.in);
}

/* ---- the server --------------------------------------------------------- */

static int msa_listen(struct msa *m)
{
	char host[256];
	size_t n = strlen(m->listen_addr);
	const char *a = m->listen_addr;
	if (n >= 2 && a[0] == '[' && a[n - 1] == ']') {
		a++;
		n -= 2;
	}
	if (n >= sizeof host) {
		fprintf(stderr, "msa: --listen %s: address too long\n", m->listen_addr);
		return -1;
	}
	memcpy(host, a, n);
	host[n] = '\0';

	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	int rc = getaddrinfo(host, "0", &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "msa: --listen %s: %s\n", m->listen_addr, gai_strerror(rc));
		return -1;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
			err = errno;
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "msa: cannot listen on %s: %s\n", m->listen_addr, strerror(err));
		return -1;
	}
	m->listen_fd = fd;
	return 0;
}

/* DIR/port, written to DIR/port.tmp first so a reader never sees half. */
static int msa_write_port(const struct msa *m)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(m->listen_fd, (struct sockaddr *)&ss, &len) != 0) {
		fprintf(stderr, "msa: getsockname: %s\n", strerror(errno));
		return -1;
	}
	unsigned port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
						 : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	char tmp[PATH_MAX], final[PATH_MAX], text[16];
	snprintf(tmp, sizeof tmp, "%s/port.tmp", m->dir);
	snprintf(final, sizeof final, "%s/port", m->dir);
	int tlen = snprintf(text, sizeof text, "%u\n", port);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "msa: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	ssize_t w = write(fd, text, (size_t)tlen);
	if (close(fd) != 0 || w != tlen || rename(tmp, final) != 0) {
		fprintf(stderr, "msa: cannot write %s: %s\n", final, strerror(errno));
		return -1;
	}
	return 0;
}

static void msa_serve(struct msa *m)
{
	for (unsigned long n = 1; n <= m->sessions && !m->expired && !m->failed;) {
		struct pollfd pfd = { .fd = m->listen_fd, .events = POLLIN };
		int left = msa_left_ms(m->deadline);
		if (left == 0) {
			m->expired = true;
			break;
		}
		int r = poll(&pfd, 1, left);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "msa: poll: %s\n", strerror(errno));
			m->failed = true;
			break;
		}
		if (r <= 0)
			continue;
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		int fd = accept4(m->listen_fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "msa: accept: %s\n", strerror(errno));
			m->failed = true;
			break;
		}
		/* Each reply write leaves at once, as from a real MSA: without
		 * this, Nagle's algorithm and the client's delayed ACK add some
		 * 40 ms to a TLS session and would blur bench/. */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		char host[128] = "?", serv[32] = "?", peer[192];
		getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, serv, sizeof serv,
			    NI_NUMERICHOST | NI_NUMERICSERV);
		snprintf(peer, sizeof peer, "%s port %s", host, serv);
		sess_run(m, fd, n, peer);
		n++;
	}
}

static void msa_usage(FILE *f)
{
	fputs("usage: msa --dir DIR [--script FILE] [--listen ADDR] [--sessions N] "
	      "[--lifetime SECONDS]\n"
	      "           [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM] [--tls-priorities P]\n"
	      "            [--implicit-tls]]\n"
	      "           [--auth-user U (--auth-password P | --auth-token T)... [--auth-mechs LIST]]\n"
	      "           [--auth-required] [--auth-scram-iterations N] [--auth-scram-extension M]\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "script", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "lifetime", required_argument, NULL, 't' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "tls-client-ca", required_argument, NULL, 'a' },
		{ "tls-priorities", required_argument, NULL, 'p' },
		{ "implicit-tls", no_argument, NULL, 'i' },
		{ "auth-user", required_argument, NULL, 'U' },
		{ "auth-password", required_argument, NULL, 'P' },
		{ "auth-token", required_argument, NULL, 'T' },
		{ "auth-mechs", required_argument, NULL, 'M' },
		{ "auth-required", no_argument, NULL, 'R' },
		{ "auth-scram-iterations", required_argument, NULL, 'I' },
		{ "auth-scram-extension", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct msa m = { .listen_addr = "127.0.0.1", .sessions = 1, .listen_fd = -1 };
	double lifetime = 30;
	struct msa_tls_conf tc = { NULL, NULL, NULL, NULL };
	struct msa_sasl_conf ac = { NULL, NULL, NULL, NULL, NULL, NULL };
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': m.dir = optarg; break;
		case 's': m.script_path = optarg; break;
		case 'l': m.listen_addr = optarg; break;
		case 'n':
			if (!msa_parse_ulong(optarg, strlen(optarg), 1, 1000000, &m.sessions)) {
				fprintf(stderr, "msa: --sessions %s: need a number >= 1\n", optarg);
				return 2;
			}
			break;
		case 't': {
			char *end;
			errno = 0;
			lifetime = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(lifetime) || lifetime <= 0 ||
			    lifetime > 86400) {
				fprintf(stderr, "msa: --lifetime %s: need seconds > 0\n", optarg);
				return 2;
			}
			break;
		}
		case 'c': tc.cert = optarg; break;
		case 'k': tc.key = optarg; break;
		case 'a': tc.client_ca = optarg; break;
		case 'p': tc.priorities = optarg; break;
		case 'i': m.implicit_tls = true; break;
		case 'U': ac.user = optarg; break;
		case 'P': ac.password = optarg; break;
		case 'T': ac.token = optarg; break;
		case 'M': ac.mechs = optarg; break;
		case 'R': m.auth_required = true; break;
		case 'I': ac.scram_iter = optarg; break;
		case 'E': ac.scram_mext = optarg; break;
		case 'h': msa_usage(stdout); return 0;
		default: msa_usage(stderr); return 2;
		}
	}
	if (optind != argc || !m.dir) {
		msa_usage(stderr);
		return 2;
	}
	m.deadline = msa_now_ms() + (int64_t)(lifetime * 1000);
	if ((tc.cert != NULL) != (tc.key != NULL) || (m.implicit_tls && tc.cert == NULL)) {
		fprintf(stderr, "msa: --tls-cert and --tls-key go together; --implicit-tls needs them\n");
		return 2;
	}
	if ((ac.user == NULL) != (ac.password == NULL && ac.token == NULL && ac.mechs == NULL) ||
	    (ac.user != NULL && ac.password == NULL && ac.token == NULL)) {
		fprintf(stderr, "msa: --auth-user needs --auth-password or --auth-token, and they "
				"(and --auth-mechs) need --auth-user\n");
		return 2;
	}
	if (ac.user != NULL && (m.sasl = msa_sasl_new(&ac)) == NULL)
		return 2;
	if (tc.cert != NULL && (m.tls = msa_tls_creds_new(&tc)) == NULL) {
		msa_sasl_free(m.sasl);
		return 2;
	}

	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);

	if (m.script_path && script_load(&m.script, m.script_path) != 0) {
		script_free(&m.script);
		msa_sasl_free(m.sasl);
		msa_tls_creds_free(m.tls);
		return 2;
	}
	if (mkdir(m.dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "msa: %s: %s\n", m.dir, strerror(errno));
		script_free(&m.script);
		msa_sasl_free(m.sasl);
		msa_tls_creds_free(m.tls);
		return 1;
	}
	int rc = 1;
	if (msa_listen(&m) == 0 && msa_write_port(&m) == 0) {
		msa_serve(&m);
		rc = m.failed ? 1 : 0;
	}
	if (m.listen_fd >= 0)
		close(m.listen_fd);
	msa_tls_creds_free(m.tls);
	msa_sasl_free(m.sasl);
	script_free(&m.script);
	return rc;
}
