/* smtpd.c: the server side of SMTP for -bs. Client bytes in, replies, the
 * envelope and unstuffed message data out; one function changes the
 * state. It must never touch a file descriptor nor keep a whole message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "smtpd.h"

enum smtpd_state {
	ST_START,    /* greeting queued, no EHLO or HELO yet */
	ST_READY,    /* greeted, no transaction open */
	ST_MAIL,     /* MAIL accepted: RCPTs, then DATA */
	ST_DATA,     /* 354 sent: message data up to CRLF.CRLF */
	ST_VERDICT,  /* end of data: waiting for smtpd_verdict() */
	ST_DROP,     /* end of data of a message the engine refused itself */
	ST_QUIT,     /* QUIT answered */
	ST_EOF,      /* the input ended */
	ST_COUNT
};

static const char *const smtpd_state_names[] = {
	"before EHLO", "ready", "MAIL/RCPT", "message data", "verdict", "message dropped",
	"QUIT", "end of input",
};
_Static_assert(sizeof smtpd_state_names / sizeof smtpd_state_names[0] == ST_COUNT,
	       "one name per state");

/* Where the data reader stands in the current line (RFC 5321 4.5.2);
 * lines are ended by CRLF only. */
enum smtpd_dpos {
	D_BOL,       /* at the start of a line */
	D_MID,       /* inside a line */
	D_CR,        /* after a CR: a LF ends the line */
	D_DOT,       /* a '.' at the start of a line, held back */
	D_DOTCR,     /* ".\r" at the start of a line, held back */
};

/* Room the extensions we offer add to a command line: RFC 1870 6 (SIZE,
 * 26), RFC 3461 5 (RET and ENVID, 100; NOTIFY and ORCPT, 500), RFC 6531
 * 3.4 (SMTPUTF8, 10), and " BODY=8BITMIME" (14). */
#define SMTPD_MAIL_EXTRA (26 + 100 + 10 + 14)
#define SMTPD_RCPT_EXTRA 500
#define SMTPD_ENVID_MAX 100     /* RFC 3461 4.4 */
#define SMTPD_HOST_MAX 255
#define SMTPD_REPLY_MAX 512     /* RFC 5321 4.5.3.1.5: a reply line with CRLF */

struct smtpd_buf {
	char *p;
	size_t len, cap;
};

struct smtpd {
	enum smtpd_state state;
	char *host;
	uint64_t size_max;
	size_t rcpts_max;
	size_t line_max;                /* command line with CRLF, before extensions */
	bool one_notify;                /* one NOTIFY per transaction (smtpd_params) */
	bool esmtp;                     /* greeted with EHLO: extensions in effect */
	/* input: at most in_cap bytes, unconsumed from in_off */
	char *in;
	size_t in_off, in_len, in_cap;
	bool eof;
	bool discarding;                /* inside an over-long command line */
	char *line;                     /* the command line being handled, NUL-terminated */
	/* output */
	struct smtpd_buf out;
	bool flushing;                  /* out handed to the driver, not sent yet */
	/* message data */
	enum smtpd_dpos dpos;
	char *dbuf;                     /* SMTPD_DATA_CHUNK bytes */
	size_t dlen;
	bool dhanded;
	bool eod;                       /* the final ".\r\n" arrived */
	bool too_big;
	uint64_t dtotal;
	bool aborted;
	unsigned messages;
	struct smtpd_envelope env;
};

/* ---- small helpers ----------------------------------------------------- */

static void buf_add(struct smtpd_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* The one function that changes the state. */
static void smtpd_set_state(struct smtpd *s, enum smtpd_state st)
{
	s->state = st;
}

/* Queue one reply line: "CODE-" when MORE, "CODE " on the last line; ENH
 * (RFC 2034) when not NULL. TEXT is ours (never the client's), so it
 * fits a 512-octet line; it is cut if it does not. */
static void smtpd_reply_line(struct smtpd *s, int code, bool more, const char *enh, const char *text)
{
	char l[SMTPD_REPLY_MAX + 1];
	int n = snprintf(l, sizeof l - 2, "%03d%c%s%s%s", code, more ? '-' : ' ', enh != NULL ? enh : "",
			 enh != NULL ? " " : "", text);
	size_t len = n < 0 ? 0 : (size_t)n > sizeof l - 3 ? sizeof l - 3 : (size_t)n;

	buf_add(&s->out, l, len);
	buf_add(&s->out, "\r\n", 2);
}

static void smtpd_reply(struct smtpd *s, int code, const char *enh, const char *text)
{
	smtpd_reply_line(s, code, false, enh, text);
}

static void smtpd_envelope_free(struct smtpd_envelope *e)
{
	size_t i;

	free(e->from);
	free(e->ret);
	free(e->envid);
	for (i = 0; i < e->nrcpt; i++) {
		free(e->rcpt[i].addr);
		free(e->rcpt[i].notify);
		free(e->rcpt[i].orcpt);
	}
	free(e->rcpt);
	memset(e, 0, sizeof *e);
}

/* Forget the transaction (RSET, EHLO, HELO, after a message). */
static void smtpd_reset(struct smtpd *s)
{
	smtpd_envelope_free(&s->env);
	if (s->state == ST_MAIL || s->state == ST_VERDICT || s->state == ST_DROP)
		smtpd_set_state(s, ST_READY);
}

static bool smtpd_is_ascii(const char *p)
{
	for (; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return false;
	return true;
}

/* RFC 3461 4: xtext is "!".."~" but '+' and '=', or '+' and two upper-case
 * hex digits. Decodes P[0..N) into OUT (room for N + 1) when OUT is not
 * NULL. Returns the decoded length, or -1. */
static long smtpd_xtext(const char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '+') {
			const char *h1, *h2;
			if (i + 2 >= n)
				return -1;
			h1 = p[i + 1] != '\0' ? strchr(hex, p[i + 1]) : NULL;
			h2 = p[i + 2] != '\0' ? strchr(hex, p[i + 2]) : NULL;
			if (h1 == NULL || h2 == NULL)
				return -1;
			c = (unsigned char)((h1 - hex) * 16 + (h2 - hex));
			i += 2;
		} else if (c < '!' || c > '~' || c == '=') {
			return -1;
		}
		if (out != NULL)
			out[o] = (char)c;
		o++;
	}
	if (out != NULL)
		out[o] = '\0';
	return (long)o;
}

/* ---- paths and parameters (RFC 5321 4.1.2, 4.1.1.2, 4.1.1.3) ----------- */

/* Parse "<path>" at *P into ADDR (ADDR_MAX + 1 bytes): an optional source
 * route is dropped (RFC 5321 4.1.2: accepted and ignored); a quoted local
 * part may hold '>'. *P is left after the '>'. Returns 0 or -1. */
static int smtpd_parse_path(const char **pp, char *addr)
{
	const char *p = *pp, *start;
	bool quoted = false;
	size_t n;

	if (*p != '<')
		return -1;
	p++;
	if (*p == '@') {
		/* A-d-l ":" */
		const char *colon = strchr(p, ':');
		const char *close = strchr(p, '>');
		if (colon == NULL || (close != NULL && close < colon) || memchr(p, '"', (size_t)(colon - p)))
			return -1;
		p = colon + 1;
	}
	start = p;
	for (; *p != '\0'; p++) {
		if (quoted && *p == '\\') {
			if (p[1] == '\0')
				return -1;
			p++;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (!quoted && *p == '>') {
			break;
		}
	}
	if (*p != '>')
		return -1;
	n = (size_t)(p - start);
	if (n > ADDR_MAX)
		return -1;
	memcpy(addr, start, n);
	addr[n] = '\0';
	*pp = p + 1;
	return 0;
}

/* The next "KEY[=VALUE]" of a parameter list at *P: KEY and VALUE point
 * into the line, which is cut with NULs. false at the end. */
static bool smtpd_next_param(char **pp, char **key, char **value)
{
	char *p = *pp, *eq;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return false;
	*key = p;
	while (*p != '\0' && *p != ' ')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*pp = p;
	eq = strchr(*key, '=');
	*value = NULL;
	if (eq != NULL) {
		*eq = '\0';
		*value = eq + 1;
	}
	return true;
}

static bool smtpd_all_digits(const char *v)
{
	if (*v == '\0')
		return false;
	for (; *v != '\0'; v++)
		if (*v < '0' || *v > '9')
			return false;
	return true;
}

/* "SMTPUTF8" "SUCCESS,FAILURE": upper case in place. */
static void smtpd_upper(char *v)
{
	for (; *v != '\0'; v++)
		if (*v >= 'a' && *v <= 'z')
			*v = (char)(*v - 'a' + 'A');
}

/* RFC 3461 4.1: "NEVER" alone, or a list of SUCCESS, FAILURE and DELAY,
 * each at most once. V is upper-cased. */
static bool smtpd_valid_notify(char *v)
{
	static const char *const words[] = { "SUCCESS", "FAILURE", "DELAY" };
	unsigned seen = 0;
	char *p = v;

	smtpd_upper(v);
	if (strcmp(v, "NEVER") == 0)
		return true;
	for (;;) {
		size_t n = strcspn(p, ","), i;
		for (i = 0; i < 3; i++)
			if (strlen(words[i]) == n && memcmp(p, words[i], n) == 0)
				break;
		if (i == 3 || (seen & (1u << i)))
			return false;
		seen |= 1u << i;
		if (p[n] == '\0')
			return true;
		p += n + 1;
	}
}

/* RFC 3461 4.2: ORCPT=addr-type;xtext, addr-type an atom. */
static bool smtpd_valid_orcpt(const char *v)
{
	const char *semi = strchr(v, ';');
	const char *p;

	if (semi == NULL || semi == v || strlen(v) > SMTPD_RCPT_EXTRA)
		return false;
	for (p = v; p < semi; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      strchr("!#$%&'*+-/=?^_`{|}~", *p) != NULL))
			return false;
	return semi[1] != '\0' && smtpd_xtext(semi + 1, strlen(semi + 1), NULL) >= 0;
}

/* A valid NOTIFY value (upper case) as a set: NEVER, SUCCESS, FAILURE,
 * DELAY one bit each; NULL (none given) is 0. */
static unsigned smtpd_notify_set(const char *v)
{
	static const char *const words[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };
	unsigned set = 0, i;

	while (v != NULL && *v != '\0') {
		size_t n = strcspn(v, ",");
		for (i = 0; i < 4; i++)
			if (strlen(words[i]) == n && memcmp(v, words[i], n) == 0)
				set |= 1u << i;
		v += n + (v[n] == ',');
	}
	return set;
}

/* Two NOTIFY values ask for the same, in any order. */
static bool smtpd_same_notify(const char *a, const char *b)
{
	return smtpd_notify_set(a) == smtpd_notify_set(b);
}

/* "FROM:" / "TO:" at the start of ARG (any case), spaces after it
 * tolerated. Returns what follows, or NULL. */
static char *smtpd_after_keyword(char *arg, const char *kw)
{
	size_t n = strlen(kw);

	if (arg == NULL || strncasecmp(arg, kw, n) != 0)
		return NULL;
	arg += n;
	while (*arg == ' ')
		arg++;
	return arg;
}

/* ---- commands, one handler each ----------------------------------------- */

static void smtpd_send_ehlo(struct smtpd *s)
{
	char size[40];

	smtpd_reply_line(s, 250, true, NULL, s->host);
	smtpd_reply_line(s, 250, true, NULL, "PIPELINING");
	smtpd_reply_line(s, 250, true, NULL, "8BITMIME");
	smtpd_reply_line(s, 250, true, NULL, "SMTPUTF8");
	/* RFC 1870 4: "SIZE" alone (or 0) announces no fixed maximum */
	if (s->size_max > 0)
		snprintf(size, sizeof size, "SIZE %llu", (unsigned long long)s->size_max);
	else
		snprintf(size, sizeof size, "SIZE");
	smtpd_reply_line(s, 250, true, NULL, size);
	smtpd_reply_line(s, 250, true, NULL, "ENHANCEDSTATUSCODES");
	smtpd_reply_line(s, 250, false, NULL, "DSN");
}

/* EHLO and HELO: a domain or address literal is required (RFC 5321
 * 4.1.1.1); either resets a transaction (4.1.4). RFC 2034: no enhanced
 * code on their replies. */
static void on_hello(struct smtpd *s, char *arg, bool ehlo)
{
	if (arg == NULL) {
		smtpd_reply(s, 501, "5.5.4", ehlo ? "EHLO needs a domain name or address literal"
						   : "HELO needs a domain name or address literal");
		return;
	}
	smtpd_reset(s);
	s->esmtp = ehlo;
	smtpd_set_state(s, ST_READY);
	if (ehlo)
		smtpd_send_ehlo(s);
	else
		smtpd_reply(s, 250, NULL, s->host);
}

static void on_ehlo(struct smtpd *s, char *arg)
{
	on_hello(s, arg, true);
}

static void on_helo(struct smtpd *s, char *arg)
{
	on_hello(s, arg, false);
}

/* A refusal a check returns instead of queueing it itself. */
struct smtpd_refusal {
	int code;
	const char *enh;
	const char *text;
};

static const struct smtpd_refusal
	REF_NEED_EHLO = { 555, "5.5.4", "parameters need EHLO" }, /* RFC 5321 4.1.1.11 */
	REF_MAIL_SYNTAX = { 501, "5.5.4", "syntax error in MAIL parameters" },
	REF_MAIL_UNKNOWN = { 555, "5.5.4", "MAIL parameter not recognised or not implemented" },
	REF_RCPT_SYNTAX = { 501, "5.5.4", "syntax error in RCPT parameters" },
	REF_RCPT_UNKNOWN = { 555, "5.5.4", "RCPT parameter not recognised or not implemented" },
	/* RFC 1870 6.1 and 6.3 */
	REF_TOO_BIG = { 552, "5.3.4", "message size exceeds fixed maximum message size" };

static bool smtpd_key_is(const char *key, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strcmp(key, *names) == 0)
			return true;
	return false;
}

/* One MAIL parameter (KEY upper-cased) into the envelope, or a refusal. */
static const struct smtpd_refusal *smtpd_mail_param(struct smtpd *s, const char *key, char *v)
{
	static const char *const known[] = { "SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", NULL };
	char dec[SMTPD_ENVID_MAX + 1];
	uint64_t n = 0;
	long dlen;
	size_t i;

	if (strcmp(key, "SIZE") == 0 && !s->env.has_size) {
		if (v == NULL || !smtpd_all_digits(v) || strlen(v) > 19)
			return &REF_MAIL_SYNTAX;
		for (i = 0; v[i] != '\0'; i++)
			n = n * 10 + (uint64_t)(v[i] - '0');
		s->env.has_size = true;
		s->env.size = n;
		return s->size_max > 0 && n > s->size_max ? &REF_TOO_BIG : NULL;
	}
	if (strcmp(key, "BODY") == 0 && s->env.body == SMTPD_BODY_NONE && v != NULL) {
		smtpd_upper(v);
		if (strcmp(v, "7BIT") == 0)
			s->env.body = SMTPD_BODY_7BIT;
		else if (strcmp(v, "8BITMIME") == 0)
			s->env.body = SMTPD_BODY_8BITMIME;
		else
			return &REF_MAIL_UNKNOWN; /* BINARYMIME is not offered */
		return NULL;
	}
	if (strcmp(key, "SMTPUTF8") == 0 && !s->env.smtputf8) {
		s->env.smtputf8 = true;
		return v != NULL ? &REF_MAIL_SYNTAX : NULL;
	}
	if (strcmp(key, "RET") == 0 && s->env.ret == NULL && v != NULL) {
		smtpd_upper(v);
		if (strcmp(v, "FULL") != 0 && strcmp(v, "HDRS") != 0)
			return &REF_MAIL_SYNTAX;
		s->env.ret = xstrdup(v);
		return NULL;
	}
	if (strcmp(key, "ENVID") == 0 && s->env.envid == NULL && v != NULL) {
		if (strlen(v) > SMTPD_ENVID_MAX || (dlen = smtpd_xtext(v, strlen(v), dec)) <= 0)
			return &REF_MAIL_SYNTAX;
		/* RFC 3461 4.4: printable US-ASCII */
		for (i = 0; i < (size_t)dlen; i++)
			if (dec[i] < ' ' || dec[i] > '~')
				return &REF_MAIL_SYNTAX;
		s->env.envid = xstrdup(dec);
		return NULL;
	}
	/* a known one given twice or without its value, or an unknown one */
	return smtpd_key_is(key, known) ? &REF_MAIL_SYNTAX : &REF_MAIL_UNKNOWN;
}

/* One RCPT parameter (KEY upper-cased) into R, or a refusal. */
static const struct smtpd_refusal *smtpd_rcpt_param(struct smtpd_rcpt *r, const char *key, char *v)
{
	static const char *const known[] = { "NOTIFY", "ORCPT", NULL };

	if (strcmp(key, "NOTIFY") == 0 && r->notify == NULL && v != NULL && smtpd_valid_notify(v)) {
		r->notify = xstrdup(v);
		return NULL;
	}
	if (strcmp(key, "ORCPT") == 0 && r->orcpt == NULL && v != NULL && smtpd_valid_orcpt(v)) {
		r->orcpt = xstrdup(v);
		return NULL;
	}
	return smtpd_key_is(key, known) ? &REF_RCPT_SYNTAX : &REF_RCPT_UNKNOWN;
}

/* The parameters after a path, into the envelope (R NULL: MAIL's) or R. */
static const struct smtpd_refusal *smtpd_params(struct smtpd *s, char *p, struct smtpd_rcpt *r)
{
	const struct smtpd_refusal *ref = NULL;
	char *key, *v;

	while (ref == NULL && smtpd_next_param(&p, &key, &v)) {
		smtpd_upper(key);
		if (!s->esmtp)
			ref = &REF_NEED_EHLO;
		else if (r == NULL)
			ref = smtpd_mail_param(s, key, v);
		else
			ref = smtpd_rcpt_param(r, key, v);
	}
	return ref;
}

static void on_mail(struct smtpd *s, char *arg)
{
	static const struct smtpd_refusal
		not_greeted = { 503, "5.5.1", "send EHLO or HELO first" }, /* RFC 5321 4.1.4 */
		nested = { 503, "5.5.1", "nested MAIL command" },
		syntax = { 501, "5.5.4", "syntax: MAIL FROM:<address>" },
		bad_addr = { 501, "5.1.7", "bad sender address syntax" },
		/* RFC 6531 3.4; X.6.7 of RFC 6533 */
		not_ascii = { 553, "5.6.7", "non-ASCII sender address needs SMTPUTF8" };
	const struct smtpd_refusal *ref = NULL;
	char addr[ADDR_MAX + 1];
	const char *p;
	char *rest;

	if (s->state == ST_START) {
		ref = &not_greeted;
		goto out;
	}
	if (s->state == ST_MAIL) {
		ref = &nested;
		goto out;
	}
	p = rest = smtpd_after_keyword(arg, "FROM:");
	if (p == NULL || smtpd_parse_path(&p, addr) != 0 || (*p != '\0' && *p != ' ')) {
		ref = &syntax;
		goto out;
	}
	if (addr_check(addr, true, NULL, 0) != 0) {
		ref = &bad_addr;
		goto out;
	}
	s->env.from = xstrdup(addr);
	if ((ref = smtpd_params(s, rest + (p - rest), NULL)) != NULL)
		goto out;
	if (!s->env.smtputf8 && !smtpd_is_ascii(s->env.from))
		ref = &not_ascii;
out:
	if (ref != NULL) {
		if (s->state != ST_MAIL)
			smtpd_envelope_free(&s->env);
		smtpd_reply(s, ref->code, ref->enh, ref->text);
		return;
	}
	smtpd_set_state(s, ST_MAIL);
	smtpd_reply(s, 250, "2.1.0", "sender ok");
}

static void on_rcpt(struct smtpd *s, char *arg)
{
	static const struct smtpd_refusal
		no_mail = { 503, "5.5.1", "need MAIL before RCPT" },
		syntax = { 501, "5.5.4", "syntax: RCPT TO:<address>" },
		bad_addr = { 501, "5.1.3", "bad recipient address syntax" },
		not_ascii = { 553, "5.6.7", "non-ASCII recipient address needs SMTPUTF8" },
		/* RFC 5321 4.5.3.1.10: the client sends the rest in a further
		 * transaction */
		too_many = { 452, "4.5.3", "too many recipients" },
		/* the same answer: a client sends the recipient again in a
		 * further transaction (RFC 3461 4.1: its NOTIFY is never
		 * changed on the way) */
		other_notify = { 452, "4.5.3", "a recipient with another NOTIFY goes in a further transaction" };
	const struct smtpd_refusal *ref = NULL;
	struct smtpd_rcpt r = { 0 };
	char addr[ADDR_MAX + 1];
	const char *p;
	char *rest;

	if (s->state != ST_MAIL) {
		ref = &no_mail;
		goto out;
	}
	p = rest = smtpd_after_keyword(arg, "TO:");
	if (p == NULL || smtpd_parse_path(&p, addr) != 0 || (*p != '\0' && *p != ' ')) {
		ref = &syntax;
		goto out;
	}
	if (addr_check(addr, false, NULL, 0) != 0) {
		ref = &bad_addr;
		goto out;
	}
	if (!s->env.smtputf8 && !smtpd_is_ascii(addr)) {
		ref = &not_ascii;
		goto out;
	}
	if (s->env.nrcpt >= s->rcpts_max) {
		ref = &too_many;
		goto out;
	}
	if ((ref = smtpd_params(s, rest + (p - rest), &r)) != NULL)
		goto out;
	if (s->one_notify && s->env.nrcpt > 0 && !smtpd_same_notify(r.notify, s->env.rcpt[0].notify)) {
		ref = &other_notify;
		goto out;
	}
	r.addr = xstrdup(addr);
	s->env.rcpt = xrealloc(s->env.rcpt, (s->env.nrcpt + 1) * sizeof *s->env.rcpt);
	s->env.rcpt[s->env.nrcpt++] = r;
	memset(&r, 0, sizeof r);
	smtpd_reply(s, 250, "2.1.5", "recipient ok");
out:
	free(r.notify);
	free(r.orcpt);
	if (ref != NULL)
		smtpd_reply(s, ref->code, ref->enh, ref->text);
}

static void on_data(struct smtpd *s, char *arg)
{
	if (arg != NULL) {
		smtpd_reply(s, 501, "5.5.4", "DATA takes no argument");
		return;
	}
	if (s->state != ST_MAIL) {
		smtpd_reply(s, 503, "5.5.1", "need MAIL before DATA");
		return;
	}
	if (s->env.nrcpt == 0) {
		/* RFC 2920 3.1 */
		smtpd_reply(s, 554, "5.5.1", "no valid recipients");
		return;
	}
	s->dpos = D_BOL;
	s->dlen = 0;
	s->dtotal = 0;
	s->eod = false;
	s->too_big = false;
	smtpd_set_state(s, ST_DATA);
	smtpd_reply(s, 354, NULL, "end data with <CR><LF>.<CR><LF>");
}

static void on_rset(struct smtpd *s, char *arg)
{
	if (arg != NULL) {
		smtpd_reply(s, 501, "5.5.4", "RSET takes no argument");
		return;
	}
	smtpd_reset(s);
	smtpd_reply(s, 250, "2.0.0", "ok");
}

static void on_noop(struct smtpd *s, char *arg)
{
	(void)arg; /* RFC 5321 4.1.1.9: a string argument is ignored */
	smtpd_reply(s, 250, "2.0.0", "ok");
}

static void on_quit(struct smtpd *s, char *arg)
{
	if (arg != NULL) {
		smtpd_reply(s, 501, "5.5.4", "QUIT takes no argument");
		return;
	}
	smtpd_envelope_free(&s->env);
	smtpd_set_state(s, ST_QUIT);
	smtpd_reply(s, 221, "2.0.0", "bye");
}

static void on_vrfy(struct smtpd *s, char *arg)
{
	if (arg == NULL) {
		smtpd_reply(s, 501, "5.5.4", "VRFY needs an argument");
		return;
	}
	/* RFC 5321 3.5.3: 252 when the address is not checked */
	smtpd_reply(s, 252, "2.5.0", "cannot verify; send the message and it will be tried");
}

static void on_help(struct smtpd *s, char *arg)
{
	(void)arg;
	smtpd_reply(s, 214, "2.0.0", "commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
}

static const struct smtpd_command {
	const char *verb;
	void (*handle)(struct smtpd *s, char *arg);  /* NULL: known, not implemented */
} smtpd_commands[] = {
	{ "EHLO", on_ehlo }, { "HELO", on_helo }, { "MAIL", on_mail }, { "RCPT", on_rcpt },
	{ "DATA", on_data }, { "RSET", on_rset }, { "NOOP", on_noop }, { "QUIT", on_quit },
	{ "VRFY", on_vrfy }, { "HELP", on_help },
	/* Nothing to secure or authenticate on stdio; no mailing lists to
	 * expand; CHUNKING is not offered. RFC 5321 4.2.4: 502. */
	{ "STARTTLS", NULL }, { "AUTH", NULL }, { "EXPN", NULL }, { "BDAT", NULL },
	{ "TURN", NULL }, { "ETRN", NULL }, { "ATRN", NULL },
};

/* One command line of LEN octets, CRLF included. */
static void smtpd_command(struct smtpd *s, const char *l, size_t len)
{
	const struct smtpd_command *c = NULL;
	size_t n, i, limit;
	char *verb, *arg;

	/* RFC 5321 2.3.8: a bare LF does not end a command line. It is taken
	 * as one here only to refuse it at once: a client that sends LF
	 * alone gets an answer instead of a silent wait. */
	if (len < 2 || l[len - 2] != '\r') {
		smtpd_reply(s, 500, "5.5.2", "line ends in a bare LF; end command lines with CRLF");
		return;
	}
	n = len - 2;
	limit = s->line_max;
	if (n >= 4 && strncasecmp(l, "MAIL", 4) == 0)
		limit += SMTPD_MAIL_EXTRA;
	else if (n >= 4 && strncasecmp(l, "RCPT", 4) == 0)
		limit += SMTPD_RCPT_EXTRA;
	if (len > limit) {
		smtpd_reply(s, 500, "5.5.2", "line too long");
		return;
	}
	if (memchr(l, '\0', n) != NULL || memchr(l, '\r', n) != NULL) {
		smtpd_reply(s, 500, "5.5.2", "NUL or CR in a command line");
		return;
	}
	memcpy(s->line, l, n);
	s->line[n] = '\0';
	/* trailing spaces carry nothing */
	while (n > 0 && s->line[n - 1] == ' ')
		s->line[--n] = '\0';
	verb = s->line;
	arg = strchr(verb, ' ');
	if (arg != NULL) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
	}
	for (i = 0; i < sizeof smtpd_commands / sizeof smtpd_commands[0]; i++)
		if (strcasecmp(verb, smtpd_commands[i].verb) == 0)
			c = &smtpd_commands[i];
	if (c == NULL) {
		smtpd_reply(s, 500, "5.5.2", "command not recognised");
		return;
	}
	if (c->handle == NULL) {
		char t[64];
		snprintf(t, sizeof t, "%s not implemented", c->verb);
		smtpd_reply(s, 502, "5.5.1", t);
		return;
	}
	c->handle(s, arg);
}

/* ---- message data (RFC 5321 4.1.1.4, 4.5.2) ------------------------------ */

static void smtpd_data_put(struct smtpd *s, char c)
{
	s->dtotal++;
	if (s->size_max > 0 && s->dtotal > s->size_max) {
		/* RFC 1870 6.3: read to the end, refuse then; keep nothing */
		s->too_big = true;
		return;
	}
	s->dbuf[s->dlen++] = c;
}

/* Move input into the data window until it is full, the input is used up
 * or the final ".\r\n" arrives. */
static void smtpd_data(struct smtpd *s)
{
	while (s->in_off < s->in_len && !s->eod && s->dlen + 2 <= SMTPD_DATA_CHUNK) {
		char c = s->in[s->in_off++];

		switch (s->dpos) {
		case D_BOL:
			if (c == '.') {
				s->dpos = D_DOT;
				continue;
			}
			break;
		case D_DOT:
			if (c == '\r') {
				s->dpos = D_DOTCR;
				continue;
			}
			/* a line with more than the dot: the dot goes */
			s->dpos = D_MID;
			break;
		case D_DOTCR:
			if (c == '\n') {
				s->eod = true;
				continue;
			}
			/* ".\r" and more: the dot goes, the CR stays */
			smtpd_data_put(s, '\r');
			s->dpos = D_CR;
			break;
		default:
			break;
		}
		smtpd_data_put(s, c);
		if (c == '\r')
			s->dpos = D_CR;
		else if (c == '\n' && s->dpos == D_CR)
			s->dpos = D_BOL;
		else
			s->dpos = D_MID;
	}
}

/* ---- the driver's side ------------------------------------------------- */

struct smtpd *smtpd_new(const struct smtpd_params *p)
{
	struct smtpd *s = xcalloc(1, sizeof *s);
	const char *h = p->hostname != NULL && p->hostname[0] != '\0' ? p->hostname : "localhost";
	size_t i, n = strnlen(h, SMTPD_HOST_MAX);

	s->host = xstrndup(h, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)s->host[i] <= ' ' || (unsigned char)s->host[i] >= 0x7f)
			s->host[i] = '?';
	s->size_max = p->size_max;
	s->rcpts_max = p->rcpts_max > 0 ? p->rcpts_max : SMTPD_RCPTS_MAX;
	s->one_notify = p->one_notify;
	s->line_max = p->line_max > SMTPD_LINE_MAX ? p->line_max : SMTPD_LINE_MAX;
	if (s->line_max > 65536)
		s->line_max = 65536;
	s->line = xmalloc(s->line_max + SMTPD_RCPT_EXTRA + 1);
	/* room for one read after any partial command line */
	s->in_cap = SMTPD_READ_MAX + s->line_max + SMTPD_RCPT_EXTRA;
	s->in = xmalloc(s->in_cap);
	s->dbuf = xmalloc(SMTPD_DATA_CHUNK);
	smtpd_set_state(s, ST_START);
	{
		char g[SMTPD_HOST_MAX + 32];
		snprintf(g, sizeof g, "%s ESMTP kurier", s->host);
		smtpd_reply(s, 220, NULL, g);
	}
	return s;
}

void smtpd_free(struct smtpd *s)
{
	if (s == NULL)
		return;
	smtpd_envelope_free(&s->env);
	free(s->host);
	free(s->line);
	free(s->in);
	free(s->dbuf);
	free(s->out.p);
	free(s);
}

/* A complete line (or the end of an over-long one) waits in the input. */
static bool smtpd_line_waiting(const struct smtpd *s)
{
	return memchr(s->in + s->in_off, '\n', s->in_len - s->in_off) != NULL;
}

/* Command mode: handle one line if one is complete. Returns true when
 * something was consumed. */
static bool smtpd_commands_step(struct smtpd *s)
{
	size_t avail = s->in_len - s->in_off;
	const char *start = s->in + s->in_off;
	const char *lf = memchr(start, '\n', avail);

	if (lf != NULL) {
		size_t len = (size_t)(lf - start) + 1;
		s->in_off += len;
		if (s->discarding) {
			s->discarding = false;
			/* RFC 5321 4.5.3.1.4 */
			smtpd_reply(s, 500, "5.5.2", "line too long");
		} else {
			smtpd_command(s, start, len);
		}
		return true;
	}
	/* No line end: a partial line longer than any command may be is
	 * dropped as it comes, and answered at its end. */
	if (s->discarding || avail >= s->line_max + SMTPD_RCPT_EXTRA) {
		s->discarding = true;
		s->in_off = s->in_len;
		return avail > 0;
	}
	return false;
}

enum smtpd_action smtpd_next(struct smtpd *s)
{
	for (;;) {
		if (s->flushing)
			return SMTPD_WRITE;
		switch (s->state) {
		case ST_QUIT:
		case ST_EOF:
			if (s->out.len > 0) {
				s->flushing = true;
				return SMTPD_WRITE;
			}
			return SMTPD_DONE;
		case ST_VERDICT:
			return SMTPD_MESSAGE_END;
		case ST_DROP:
			smtpd_reset(s);
			return SMTPD_MESSAGE_DROP;
		case ST_DATA:
			/* the 354 goes out before any data is taken */
			if (s->out.len > 0) {
				s->flushing = true;
				return SMTPD_WRITE;
			}
			if (s->dhanded)
				return SMTPD_MESSAGE_DATA;
			smtpd_data(s);
			if (s->dlen > 0 && (s->eod || s->in_off == s->in_len || s->dlen + 2 > SMTPD_DATA_CHUNK)) {
				s->dhanded = true;
				return SMTPD_MESSAGE_DATA;
			}
			if (s->eod) {
				if (s->too_big) {
					/* RFC 1870 6.3 */
					smtpd_reply(s, REF_TOO_BIG.code, REF_TOO_BIG.enh, REF_TOO_BIG.text);
					smtpd_set_state(s, ST_DROP);
				} else {
					smtpd_set_state(s, ST_VERDICT);
				}
				continue;
			}
			if (s->in_off < s->in_len)
				continue;
			if (s->eof) {
				/* no final ".": the message must not be sent */
				s->aborted = true;
				smtpd_envelope_free(&s->env);
				smtpd_set_state(s, ST_EOF);
				continue;
			}
			return SMTPD_READ;
		default:
			break;
		}
		/* command mode: answer every complete line first (RFC 2920) */
		if (s->out.len > 0 && (s->out.len >= SMTPD_OUT_FLUSH || !smtpd_line_waiting(s))) {
			s->flushing = true;
			return SMTPD_WRITE;
		}
		if (smtpd_commands_step(s))
			continue;
		if (s->eof) {
			smtpd_envelope_free(&s->env);
			smtpd_set_state(s, ST_EOF);
			continue;
		}
		return SMTPD_READ;
	}
}

size_t smtpd_feed(struct smtpd *s, const char *buf, size_t len)
{
	size_t room;

	if (s->eof || s->state == ST_QUIT || s->state == ST_EOF)
		return len; /* nothing more is read */
	if (s->in_off > 0) {
		memmove(s->in, s->in + s->in_off, s->in_len - s->in_off);
		s->in_len -= s->in_off;
		s->in_off = 0;
	}
	room = s->in_cap - s->in_len;
	if (len > room)
		len = room;
	memcpy(s->in + s->in_len, buf, len);
	s->in_len += len;
	return len;
}

void smtpd_eof(struct smtpd *s)
{
	s->eof = true;
}

void smtpd_output(const struct smtpd *s, const char **buf, size_t *len)
{
	*buf = s->out.p != NULL ? s->out.p : "";
	*len = s->out.len;
}

void smtpd_output_sent(struct smtpd *s)
{
	s->out.len = 0;
	s->flushing = false;
}

void smtpd_message_data(const struct smtpd *s, const char **buf, size_t *len)
{
	*buf = s->dbuf;
	*len = s->dhanded ? s->dlen : 0;
}

void smtpd_message_taken(struct smtpd *s)
{
	s->dlen = 0;
	s->dhanded = false;
}

const struct smtpd_envelope *smtpd_envelope(const struct smtpd *s)
{
	return &s->env;
}

/* "D.D{1,3}.D{1,3}" (RFC 3463 2) whose class is CLS. */
static bool smtpd_valid_enh(const char *e, int cls)
{
	size_t i, part = 0, digits = 0;

	if (e == NULL || e[0] != (char)('0' + cls) || e[1] != '.')
		return false;
	for (i = 2; e[i] != '\0'; i++) {
		if (e[i] == '.') {
			if (digits == 0 || ++part > 1)
				return false;
			digits = 0;
		} else if (e[i] >= '0' && e[i] <= '9') {
			if (++digits > 3)
				return false;
		} else {
			return false;
		}
	}
	return part == 1 && digits > 0;
}

void smtpd_verdict(struct smtpd *s, int code, const char *enh, const char *text)
{
	char e[16], line[SMTPD_REPLY_MAX];
	int cls = code / 100;
	const char *t;
	size_t lines = 0, room;

	if (s->state != ST_VERDICT)
		return;
	/* RFC 5321 4.2.1: the class is what the client acts on; it is kept.
	 * Anything that is not a 2xx, 4xx or 5xx cannot say the message was
	 * taken: a local error, try again (RFC 3463 4.3.0). */
	if (code < 200 || code > 599 || (cls != 2 && cls != 4 && cls != 5)) {
		code = 451;
		cls = 4;
		enh = "4.3.0";
	} else if (cls == 2) {
		code = 250;
	} else if (code == 421 || code % 100 / 10 > 5) {
		/* 421 would tell the client that this channel closes: it does not */
		code = cls == 4 ? 451 : 554;
	}
	if (smtpd_valid_enh(enh, cls))
		snprintf(e, sizeof e, "%s", enh);
	else
		snprintf(e, sizeof e, "%d.0.0", cls);
	if (text == NULL || text[0] == '\0')
		text = cls == 2 ? "message accepted" : cls == 4 ? "temporary failure; try again later"
								: "message refused";
	/* "CODE-ENH " and CRLF around each line's text */
	room = SMTPD_REPLY_MAX - 2 - 4 - strlen(e) - 1;
	for (t = text; *t != '\0' && lines < SMTPD_VERDICT_LINES; lines++) {
		size_t n = strcspn(t, "\n"), i, k = 0;
		bool last;
		for (i = 0; i < n && k < room; i++) {
			unsigned char c = (unsigned char)t[i];
			if (c == '\r')
				continue;
			line[k++] = c < ' ' || c >= 0x7f ? '?' : (char)c;
		}
		line[k] = '\0';
		t += n;
		if (*t == '\n')
			t++;
		last = *t == '\0' || lines + 1 == SMTPD_VERDICT_LINES;
		smtpd_reply_line(s, code, !last, e, line);
	}
	if (cls == 2)
		s->messages++;
	smtpd_reset(s);
}

bool smtpd_aborted(const struct smtpd *s)
{
	return s->aborted;
}

unsigned smtpd_messages(const struct smtpd *s)
{
	return s->messages;
}

const char *smtpd_state_name(const struct smtpd *s)
{
	return smtpd_state_names[s->state];
}
