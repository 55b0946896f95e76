/* queue-format.c: the envelope file of a queue entry, version 1, both
 * ways, ids and the retry schedule. Pure: it never touches a file or the
 * clock; whatever it parses may have been written by anyone. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "queue-format.h"

static const char *const body_names[] = {
	[SMTP_BODY_AUTO] = "auto",
	[SMTP_BODY_7BIT] = "7bit",
	[SMTP_BODY_8BITMIME] = "8bitmime",
};

/* ---- writing ------------------------------------------------------------ */

/* A growing text with a hard maximum. */
struct qbuf {
	char *p;
	size_t len, cap;
	size_t line;   /* where the current line starts */
};

static void qbuf_add(struct qbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (b->len + n + 1 > cap)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void qbuf_str(struct qbuf *b, const char *s)
{
	qbuf_add(b, s, strlen(s));
}

/* Octets written as %XX. In a token (addresses, names, parameters) the
 * space separates fields, and '<' '>' are kept for the null sender "<>";
 * a text (an error) keeps its spaces. CR and LF never appear raw, so no
 * value can start a line of its own. */
static bool must_escape(unsigned char c, bool token)
{
	if (c < 0x20 || c == 0x7f || c == '%')
		return true;
	return token && (c == ' ' || c == '<' || c == '>');
}

static void qbuf_escaped(struct qbuf *b, const char *s, bool token)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (must_escape(c, token)) {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			qbuf_add(b, e, 3);
		} else {
			qbuf_add(b, s, 1);
		}
	}
}

/* Ends the current line; -1 when it grew past QUEUE_LINE_MAX. */
static int qbuf_eol(struct qbuf *b)
{
	size_t n = b->len - b->line;

	qbuf_add(b, "\n", 1);
	b->line = b->len;
	return n > QUEUE_LINE_MAX ? -1 : 0;
}

static int put_token(struct qbuf *b, const char *key, const char *v)
{
	qbuf_str(b, key);
	if (*v != '\0') {
		qbuf_add(b, " ", 1);
		qbuf_escaped(b, v, true);
	}
	return qbuf_eol(b);
}

static int put_text(struct qbuf *b, const char *key, const char *v)
{
	qbuf_str(b, key);
	qbuf_add(b, " ", 1);
	qbuf_escaped(b, v, false);
	return qbuf_eol(b);
}

static int put_num(struct qbuf *b, const char *key, uint64_t v)
{
	char n[32];

	snprintf(n, sizeof n, " %" PRIu64, v);
	qbuf_str(b, key);
	qbuf_str(b, n);
	return qbuf_eol(b);
}

static int put_bool(struct qbuf *b, const char *key, bool v)
{
	qbuf_str(b, key);
	qbuf_str(b, v ? " yes" : " no");
	return qbuf_eol(b);
}

int queue_env_format(const struct queue_env *env, char **out, size_t *outlen, char *err,
		     size_t errlen)
{
	struct qbuf b = { 0 };
	const char *too_long = NULL;
	size_t i;
	int r = -1;

	*out = NULL;
	*outlen = 0;
	if (!queue_id_valid(env->id)) {
		snprintf(err, errlen, "invalid queue id");
		goto out;
	}
	if (env->nrcpt == 0 || env->nrcpt > QUEUE_RCPT_MAX) {
		snprintf(err, errlen, "%zu recipients: an entry has 1 to %d", env->nrcpt,
			 QUEUE_RCPT_MAX);
		goto out;
	}
	if (env->queued < 0 || env->next_attempt < 0) {
		snprintf(err, errlen, "a time before 1970");
		goto out;
	}
	if ((unsigned)env->body >= sizeof body_names / sizeof body_names[0]) {
		snprintf(err, errlen, "invalid body type");
		goto out;
	}
	qbuf_str(&b, "kurier-queue 1");
	qbuf_eol(&b);
	if (put_token(&b, "id", env->id) != 0)
		too_long = "id";
	if (put_token(&b, "account", env->account) != 0)
		too_long = "account";
	put_num(&b, "queued", (uint64_t)env->queued);
	put_num(&b, "attempts", env->attempts);
	put_num(&b, "next-attempt", (uint64_t)env->next_attempt);
	qbuf_str(&b, "from ");
	if (*env->from == '\0')
		qbuf_str(&b, "<>");
	else
		qbuf_escaped(&b, env->from, true);
	if (qbuf_eol(&b) != 0)
		too_long = "from";
	for (i = 0; i < env->nrcpt; i++) {
		if (*env->rcpt[i].addr == '\0') {
			snprintf(err, errlen, "recipient %zu is empty", i + 1);
			goto out;
		}
		qbuf_str(&b, "rcpt ");
		qbuf_escaped(&b, env->rcpt[i].addr, true);
		if (env->rcpt[i].notify != NULL) {
			qbuf_str(&b, " NOTIFY=");
			qbuf_escaped(&b, env->rcpt[i].notify, true);
		}
		if (qbuf_eol(&b) != 0)
			too_long = "rcpt";
	}
	put_num(&b, "size", env->size);
	put_token(&b, "body", body_names[env->body]);
	put_bool(&b, "eightbit", env->eightbit);
	put_bool(&b, "smtputf8", env->smtputf8);
	if (env->dsn_ret != NULL && put_token(&b, "dsn-ret", env->dsn_ret) != 0)
		too_long = "dsn-ret";
	if (env->dsn_envid != NULL && put_token(&b, "dsn-envid", env->dsn_envid) != 0)
		too_long = "dsn-envid";
	put_bool(&b, "dsn-required", env->dsn_required);
	if (env->last_error != NULL && put_text(&b, "last-error", env->last_error) != 0)
		too_long = "last-error";
	if (env->failed != NULL && put_text(&b, "failed", env->failed) != 0)
		too_long = "failed";
	qbuf_str(&b, "end");
	qbuf_eol(&b);
	if (too_long != NULL) {
		snprintf(err, errlen, "the %s line would be longer than %d bytes", too_long,
			 QUEUE_LINE_MAX);
		goto out;
	}
	if (b.len > QUEUE_ENV_MAX) {
		snprintf(err, errlen, "the envelope would be larger than %d bytes", QUEUE_ENV_MAX);
		goto out;
	}
	*out = b.p;
	*outlen = b.len;
	b.p = NULL;
	err[0] = '\0';
	r = 0;
out:
	free(b.p);
	return r;
}

/* ---- reading ------------------------------------------------------------ */

enum qkey {
	K_ID, K_ACCOUNT, K_QUEUED, K_ATTEMPTS, K_NEXT, K_FROM, K_RCPT, K_SIZE, K_BODY,
	K_EIGHTBIT, K_SMTPUTF8, K_DSN_RET, K_DSN_ENVID, K_DSN_REQUIRED, K_LAST_ERROR,
	K_FAILED, K_END, K_COUNT
};

static const char *const key_names[] = {
	"id", "account", "queued", "attempts", "next-attempt", "from", "rcpt", "size", "body",
	"eightbit", "smtputf8", "dsn-ret", "dsn-envid", "dsn-required", "last-error",
	"failed", "end",
};
_Static_assert(sizeof key_names / sizeof key_names[0] == K_COUNT, "one name per key");

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undo the escaping of the N octets at S in place and NUL-terminate them.
 * Refuses what the writer would have escaped but finds raw, a broken or
 * %00 escape. Returns NULL (valid) or what is wrong. */
static const char *unescape(char *s, size_t n, bool token)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int h = i + 2 < n ? hexval(s[i + 1]) : -1;
			int l = h >= 0 ? hexval(s[i + 2]) : -1;
			if (h < 0 || l < 0)
				return "a '%' not followed by two hex digits";
			if (h == 0 && l == 0)
				return "an escaped NUL";
			s[o++] = (char)(h << 4 | l);
			i += 2;
			continue;
		}
		if (must_escape(c, token))
			return c == ' ' ? "a space inside a value" : "an unescaped control character or '<' '>'";
		s[o++] = (char)c;
	}
	s[o] = '\0';
	return NULL;
}

/* A decimal number without sign or leading zero, at most MAX. */
static const char *number(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;

	if (*s == '\0')
		return "an empty number";
	if (*s == '0' && s[1] != '\0')
		return "a number with a leading zero";
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return "not a decimal number";
		if (n > (max - (uint64_t)(*s - '0')) / 10)
			return "a number out of range";
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*v = n;
	return NULL;
}

static const char *boolean(const char *s, bool *v)
{
	if (strcmp(s, "yes") == 0)
		*v = true;
	else if (strcmp(s, "no") == 0)
		*v = false;
	else
		return "not yes or no";
	return NULL;
}

/* The recipient line's value (raw, N octets at S): ADDR [NOTIFY=VALUE]. */
static const char *parse_rcpt(char *s, size_t n, struct queue_rcpt *r)
{
	char *sp = memchr(s, ' ', n);
	const char *why;
	size_t alen = sp != NULL ? (size_t)(sp - s) : n;

	r->notify = NULL;
	if (alen == 0)
		return "a recipient without an address";
	if (sp != NULL) {
		char *p = sp + 1;
		size_t plen = n - alen - 1;
		if (plen < 7 || memcmp(p, "NOTIFY=", 7) != 0)
			return "an unknown recipient parameter (v1 knows NOTIFY=)";
		if ((why = unescape(p + 7, plen - 7, true)) != NULL)
			return why;
		r->notify = p + 7;
	}
	if ((why = unescape(s, alen, true)) != NULL)
		return why;
	r->addr = s;
	return NULL;
}

int queue_env_parse(const char *buf, size_t len, struct queue_env *env, char *err,
		    size_t errlen)
{
	static const char first[] = "kurier-queue ";
	bool seen[K_COUNT] = { false };
	char *block = NULL, *p, *end;
	size_t lineno = 0, cap = 0;
	const char *why = NULL;
	uint64_t v;
	int r = -1;

	memset(env, 0, sizeof *env);
	if (len > QUEUE_ENV_MAX) {
		snprintf(err, errlen, "larger than %d bytes", QUEUE_ENV_MAX);
		goto out;
	}
	block = xmalloc(len + 1);
	memcpy(block, buf, len);
	block[len] = '\0';
	p = block;
	end = block + len;
	while (p < end && !seen[K_END]) {
		char *lf = memchr(p, '\n', (size_t)(end - p)), *val;
		size_t n, klen;
		int k;

		lineno++;
		if (lf == NULL) {
			why = "the last line does not end with LF (a cut file?)";
			goto bad;
		}
		n = (size_t)(lf - p);
		*lf = '\0';
		if (n > QUEUE_LINE_MAX) {
			why = "line too long";
			goto bad;
		}
		/* Values are C strings from here on: a NUL would end a
		 * number, a yes or the null sender's "<>" early. */
		if (memchr(p, '\0', n) != NULL) {
			why = "a NUL octet";
			goto bad;
		}
		if (lineno == 1) {
			if (n < sizeof first - 1 || memcmp(p, first, sizeof first - 1) != 0) {
				why = "not a kurier queue envelope (no \"kurier-queue 1\")";
				goto bad;
			}
			if (strcmp(p + sizeof first - 1, "1") != 0) {
				const char *ver = p + sizeof first - 1;
				if (*ver == '\0' || strlen(ver) > 9 || strspn(ver, "0123456789") != strlen(ver)) {
					why = "not a kurier queue envelope (no \"kurier-queue 1\")";
					goto bad;
				}
				snprintf(err, errlen, "line 1: format version %s unknown; this kurier reads version %d",
					 ver, QUEUE_FORMAT_VERSION);
				goto out;
			}
			p = lf + 1;
			continue;
		}
		val = memchr(p, ' ', n);
		klen = val != NULL ? (size_t)(val - p) : n;
		val = val != NULL ? val + 1 : p + n;
		for (k = 0; k < K_COUNT; k++)
			if (strlen(key_names[k]) == klen && memcmp(p, key_names[k], klen) == 0)
				break;
		if (k == K_COUNT) {
			why = "unknown key";
			goto bad;
		}
		if (seen[k] && k != K_RCPT) {
			why = "a key given twice";
			goto bad;
		}
		seen[k] = true;
		n -= (size_t)(val - p);
		switch ((enum qkey)k) {
		case K_ID:
		case K_ACCOUNT:
		case K_DSN_RET:
		case K_DSN_ENVID:
		case K_BODY:
			if ((why = unescape(val, n, true)) != NULL)
				goto bad;
			if (k == K_ID)
				env->id = val;
			else if (k == K_ACCOUNT)
				env->account = val;
			else if (k == K_DSN_RET)
				env->dsn_ret = val;
			else if (k == K_DSN_ENVID)
				env->dsn_envid = val;
			else {
				for (v = 0; v < sizeof body_names / sizeof body_names[0]; v++)
					if (strcmp(val, body_names[v]) == 0)
						break;
				if (v == sizeof body_names / sizeof body_names[0]) {
					why = "body is not auto, 7bit or 8bitmime";
					goto bad;
				}
				env->body = (enum smtp_body)v;
			}
			break;
		case K_FROM:
			if (strcmp(val, "<>") == 0)
				val[0] = '\0';
			else if (n == 0) {
				why = "an empty sender (the null sender is written <>)";
				goto bad;
			} else if ((why = unescape(val, n, true)) != NULL)
				goto bad;
			env->from = val;
			break;
		case K_RCPT:
			if (env->nrcpt == QUEUE_RCPT_MAX) {
				why = "too many recipients";
				goto bad;
			}
			if (env->nrcpt == cap) {
				cap = cap ? cap * 2 : 8;
				env->rcpt = xrealloc(env->rcpt, cap * sizeof *env->rcpt);
			}
			if ((why = parse_rcpt(val, n, &env->rcpt[env->nrcpt])) != NULL)
				goto bad;
			env->nrcpt++;
			break;
		case K_QUEUED:
		case K_NEXT:
		case K_ATTEMPTS:
		case K_SIZE:
			if ((why = number(val, k == K_ATTEMPTS ? UINT32_MAX : k == K_SIZE ? UINT64_MAX
											  : INT64_MAX,
					  &v)) != NULL)
				goto bad;
			if (k == K_QUEUED)
				env->queued = (int64_t)v;
			else if (k == K_NEXT)
				env->next_attempt = (int64_t)v;
			else if (k == K_ATTEMPTS)
				env->attempts = (unsigned)v;
			else
				env->size = v;
			break;
		case K_EIGHTBIT:
		case K_SMTPUTF8:
		case K_DSN_REQUIRED:
			if ((why = boolean(val, k == K_EIGHTBIT	    ? &env->eightbit
						: k == K_SMTPUTF8 ? &env->smtputf8
								  : &env->dsn_required)) != NULL)
				goto bad;
			break;
		case K_LAST_ERROR:
		case K_FAILED:
			if ((why = unescape(val, n, false)) != NULL)
				goto bad;
			if (k == K_LAST_ERROR)
				env->last_error = val;
			else
				env->failed = val;
			break;
		case K_END:
			if (n != 0) {
				why = "text after end";
				goto bad;
			}
			break;
		case K_COUNT:
			break;
		}
		p = lf + 1;
	}
	if (lineno == 0) {
		snprintf(err, errlen, "line 1: empty file");
		goto out;
	}
	if (!seen[K_END]) {
		snprintf(err, errlen, "line %zu: no end line (a cut file?)", lineno);
		goto out;
	}
	if (p != end) {
		snprintf(err, errlen, "line %zu: text after the end line", lineno + 1);
		goto out;
	}
	{
		static const enum qkey required[] = { K_ID, K_ACCOUNT, K_QUEUED, K_ATTEMPTS,
						      K_NEXT, K_FROM, K_RCPT, K_SIZE };
		size_t i;

		for (i = 0; i < sizeof required / sizeof required[0]; i++)
			if (!seen[required[i]]) {
				snprintf(err, errlen, "line %zu: no %s line", lineno,
					 key_names[required[i]]);
				goto out;
			}
	}
	if (!queue_id_valid(env->id)) {
		snprintf(err, errlen, "line %zu: an invalid id", lineno);
		goto out;
	}
	env->block_ = block;
	block = NULL;
	err[0] = '\0';
	r = 0;
	goto out;
bad:
	snprintf(err, errlen, "line %zu: %s", lineno, why);
out:
	if (r != 0) {
		free(env->rcpt);
		memset(env, 0, sizeof *env);
	}
	free(block);
	return r;
}

void queue_env_free(struct queue_env *env)
{
	free(env->rcpt);
	free(env->block_);
	memset(env, 0, sizeof *env);
}

static bool str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool queue_env_equal(const struct queue_env *a, const struct queue_env *b)
{
	size_t i;

	if (!str_equal(a->id, b->id) || !str_equal(a->account, b->account) ||
	    !str_equal(a->from, b->from) || a->nrcpt != b->nrcpt || a->size != b->size ||
	    a->body != b->body || a->eightbit != b->eightbit || a->smtputf8 != b->smtputf8 ||
	    !str_equal(a->dsn_ret, b->dsn_ret) || !str_equal(a->dsn_envid, b->dsn_envid) ||
	    a->dsn_required != b->dsn_required || a->queued != b->queued ||
	    a->attempts != b->attempts || a->next_attempt != b->next_attempt ||
	    !str_equal(a->last_error, b->last_error) || !str_equal(a->failed, b->failed))
		return false;
	for (i = 0; i < a->nrcpt; i++)
		if (!str_equal(a->rcpt[i].addr, b->rcpt[i].addr) ||
		    !str_equal(a->rcpt[i].notify, b->rcpt[i].notify))
			return false;
	return true;
}

/* ---- ids and the schedule ------------------------------------------------ */

/* N decimal digits (1 to 19) at S, ending at a '.'; the length or 0. */
static size_t digits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n >= 1 && n <= 19 && s[n] == '.' ? n : 0;
}

bool queue_id_valid(const char *id)
{
	size_t n, i;

	if (id == NULL || (n = digits(id)) == 0)
		return false;
	id += n + 1;
	if ((n = digits(id)) == 0)
		return false;
	id += n + 1;
	for (i = 0; i < 16; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return id[16] == '\0';
}

void queue_id_make(char *buf, size_t len, int64_t now, long pid, uint64_t random)
{
	snprintf(buf, len, "%" PRId64 ".%ld.%016" PRIx64, now < 0 ? 0 : now, pid < 0 ? 0 : pid,
		 random);
}

int64_t queue_next_attempt(int64_t queued, unsigned attempts, int64_t now)
{
	int64_t delay = QUEUE_RETRY_FIRST;
	unsigned i;

	if (attempts == 0)
		return queued;
	for (i = 1; i < attempts && delay < QUEUE_RETRY_MAX; i++)
		delay *= 2;
	if (delay > QUEUE_RETRY_MAX)
		delay = QUEUE_RETRY_MAX;
	return now > INT64_MAX - delay ? INT64_MAX : now + delay;
}

bool queue_expired(int64_t queued, int64_t now, int64_t lifetime)
{
	if (now < queued)
		return false;
	if (lifetime <= 0)
		return true;
	return (uint64_t)now - (uint64_t)queued >= (uint64_t)lifetime;
}
