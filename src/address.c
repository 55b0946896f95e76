/* address.c: owns RFC 5322 address-list parsing and RFC 5321 path checks; pure, does no I/O. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

#include "address.h"

enum addr_tt {
	ADDR_T_EOF,
	ADDR_T_ATOM,  /* run of atext and octets >= 0x80 */
	ADDR_T_QSTR,  /* quoted string, raw, quotes included */
	ADDR_T_DLIT,  /* domain literal, raw, brackets included */
	ADDR_T_DOT,
	ADDR_T_AT,
	ADDR_T_LT,
	ADDR_T_GT,
	ADDR_T_COMMA,
	ADDR_T_COLON,
	ADDR_T_SEMI,
};

struct addr_tok {
	enum addr_tt t;
	size_t start, end; /* byte range in the input */
};

struct addr_parser {
	const char *s;
	size_t len, pos;
	struct addr_tok cur;
	struct addr_list *out;
	char *err;
	size_t errlen;
};

/* A bounded string builder: never holds more than ADDR_MAX bytes, sets
 * OVER instead of growing. */
struct addr_buf {
	char b[ADDR_MAX + 1];
	size_t n;
	bool over;
};

enum addr_last { ADDR_L_NONE, ADDR_L_WORD, ADDR_L_DOT };

/* A phrase (display name) or obs-local-part: words and dots, decoded into
 * LP as they would form a local part. OK says whether they do. */
struct addr_phrase {
	struct addr_buf lp;
	size_t nwords, ndots;
	bool ok;
	enum addr_last last;
};

static bool addr_is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true; /* RFC 6532 UTF8-non-ascii */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool addr_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Quote up to 32 bytes of S (N bytes) for an error message: printable
 * ASCII as is, everything else as an escape. */
static void addr_snippet(char *d, size_t dlen, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < 32; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		size_t tl;

		if (c == '\r')
			memcpy(tmp, "\\r", 3);
		else if (c == '\n')
			memcpy(tmp, "\\n", 3);
		else if (c == '\t')
			memcpy(tmp, "\\t", 3);
		else if (c < 0x20 || c >= 0x7f)
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
		else {
			tmp[0] = (char)c;
			tmp[1] = '\0';
		}
		tl = strlen(tmp);
		if (o + tl + 4 > dlen)
			break;
		memcpy(d + o, tmp, tl);
		o += tl;
	}
	if (i < n && o + 4 <= dlen) {
		memcpy(d + o, "...", 3);
		o += 3;
	}
	d[o] = '\0';
}

/* Set the error to the message, then "at" or "in" and a quote of the input
 * from POS. Always returns -1. */
static int addr_fail(struct addr_parser *p, size_t pos, bool in, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int addr_fail(struct addr_parser *p, size_t pos, bool in, const char *fmt, ...)
{
	char msg[KURIER_ERRLEN], snip[160];
	va_list ap;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (pos >= p->len) {
		snprintf(p->err, p->errlen, "%s at end of input", msg);
	} else {
		addr_snippet(snip, sizeof snip, p->s + pos, p->len - pos);
		snprintf(p->err, p->errlen, "%s %s '%s'", msg, in ? "in" : "at", snip);
	}
	return -1;
}

/* Describe an octet for a message: 'x', space or 0xNN. */
static const char *addr_octet(unsigned char c, char *buf, size_t len)
{
	if (c == ' ')
		snprintf(buf, len, "space");
	else if (c > 0x20 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "0x%02x", c);
	return buf;
}

/* S[I] is CR or LF: set *N to the length of the line break when it is
 * folding (followed by SP or HTAB), else fail. */
static int addr_fold(struct addr_parser *p, size_t i, size_t *n)
{
	size_t k = i;

	if (p->s[k] == '\r') {
		if (k + 1 >= p->len || p->s[k + 1] != '\n')
			return addr_fail(p, i, false, "CR not followed by LF");
		k++;
	}
	k++;
	if (k >= p->len || (p->s[k] != ' ' && p->s[k] != '\t'))
		return addr_fail(p, i, false, "line break not followed by white space");
	*n = k - i;
	return 0;
}

/* The octet after a backslash at POS (quoted-pair): NUL and line breaks
 * can never be quoted; other controls only where ALLOW_CTL. */
static int addr_check_pair(struct addr_parser *p, size_t pos, bool allow_ctl)
{
	unsigned char c;

	if (pos + 1 >= p->len)
		return 0; /* the caller reports the unterminated construct */
	c = (unsigned char)p->s[pos + 1];
	if (c == '\0')
		return addr_fail(p, pos, false, "NUL byte");
	if (c == '\r' || c == '\n')
		return addr_fail(p, pos, false, "escaped line break");
	if (!allow_ctl && addr_is_ctl(c) && c != '\t')
		return addr_fail(p, pos, false, "control character 0x%02x", c);
	return 0;
}

/* Skip a comment starting at p->pos, nested comments included. */
static int addr_skip_comment(struct addr_parser *p)
{
	size_t start = p->pos, depth = 0, n;

	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (--depth == 0) {
				p->pos++;
				return 0;
			}
		} else if (c == '\\') {
			if (p->pos + 1 >= p->len)
				break;
			if (addr_check_pair(p, p->pos, false) != 0)
				return -1;
			p->pos += 2;
			continue;
		} else if (c == '\r' || c == '\n') {
			if (addr_fold(p, p->pos, &n) != 0)
				return -1;
			p->pos += n;
			continue;
		} else if (c == '\0') {
			return addr_fail(p, p->pos, false, "NUL byte");
		} else if (addr_is_ctl(c) && c != '\t') {
			return addr_fail(p, p->pos, false, "control character 0x%02x", c);
		}
		p->pos++;
	}
	return addr_fail(p, start, false, "unterminated comment");
}

static int addr_lex_qstr(struct addr_parser *p)
{
	size_t start = p->pos, n;

	p->pos++;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (c == '"') {
			p->pos++;
			p->cur.t = ADDR_T_QSTR;
			p->cur.start = start;
			p->cur.end = p->pos;
			return 0;
		}
		if (c == '\\') {
			if (p->pos + 1 >= p->len)
				break;
			if (addr_check_pair(p, p->pos, true) != 0)
				return -1;
			p->pos += 2;
			continue;
		}
		if (c == '\r' || c == '\n') {
			if (addr_fold(p, p->pos, &n) != 0)
				return -1;
			p->pos += n;
			continue;
		}
		if (c == '\0')
			return addr_fail(p, p->pos, false, "NUL byte");
		/* obs-qtext: other controls are allowed in quoted strings */
		p->pos++;
	}
	return addr_fail(p, start, false, "unterminated quoted string");
}

static int addr_lex_dlit(struct addr_parser *p)
{
	size_t start = p->pos, n;
	char ob[16];

	p->pos++;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (c == ']') {
			p->pos++;
			p->cur.t = ADDR_T_DLIT;
			p->cur.start = start;
			p->cur.end = p->pos;
			return 0;
		}
		if (c == '\r' || c == '\n') {
			if (addr_fold(p, p->pos, &n) != 0)
				return -1;
			p->pos += n;
			continue;
		}
		if (c == '\0')
			return addr_fail(p, p->pos, false, "NUL byte");
		if (addr_is_ctl(c) && c != '\t')
			return addr_fail(p, p->pos, false, "control character 0x%02x", c);
		if (c == '[' || c == '\\' || c >= 0x80)
			return addr_fail(p, p->pos, false, "invalid character %s in domain literal",
					 addr_octet(c, ob, sizeof ob));
		p->pos++;
	}
	return addr_fail(p, start, false, "unterminated domain literal");
}

/* Advance p->cur to the next token, skipping white space, folding and
 * comments. */
static int addr_next(struct addr_parser *p)
{
	unsigned char c;
	size_t n;

	for (;;) {
		if (p->pos >= p->len) {
			p->cur.t = ADDR_T_EOF;
			p->cur.start = p->cur.end = p->len;
			return 0;
		}
		c = (unsigned char)p->s[p->pos];
		if (c == ' ' || c == '\t') {
			p->pos++;
		} else if (c == '\r' || c == '\n') {
			if (addr_fold(p, p->pos, &n) != 0)
				return -1;
			p->pos += n;
		} else if (c == '(') {
			if (addr_skip_comment(p) != 0)
				return -1;
		} else if (c == ')') {
			return addr_fail(p, p->pos, false, "unbalanced ')'");
		} else {
			break;
		}
	}
	p->cur.start = p->pos;
	switch (c) {
	case '"':
		return addr_lex_qstr(p);
	case '[':
		return addr_lex_dlit(p);
	case ']':
		return addr_fail(p, p->pos, false, "unexpected ']'");
	case '.': p->cur.t = ADDR_T_DOT; break;
	case '@': p->cur.t = ADDR_T_AT; break;
	case '<': p->cur.t = ADDR_T_LT; break;
	case '>': p->cur.t = ADDR_T_GT; break;
	case ',': p->cur.t = ADDR_T_COMMA; break;
	case ':': p->cur.t = ADDR_T_COLON; break;
	case ';': p->cur.t = ADDR_T_SEMI; break;
	default:
		if (addr_is_atext(c)) {
			while (p->pos < p->len && addr_is_atext((unsigned char)p->s[p->pos]))
				p->pos++;
			p->cur.t = ADDR_T_ATOM;
			p->cur.end = p->pos;
			return 0;
		}
		if (c == '\0')
			return addr_fail(p, p->pos, false, "NUL byte");
		if (addr_is_ctl(c))
			return addr_fail(p, p->pos, false, "control character 0x%02x", c);
		return addr_fail(p, p->pos, false, "unexpected '%c'", c);
	}
	p->pos++;
	p->cur.end = p->pos;
	return 0;
}

static void addr_buf_put(struct addr_buf *b, char c)
{
	if (b->n < ADDR_MAX)
		b->b[b->n++] = c;
	else
		b->over = true;
}

/* Append the value of an atom or quoted string (quotes, quoted-pair
 * backslashes and folding CRLFs removed). */
static void addr_buf_word(struct addr_buf *b, const char *s, const struct addr_tok *t)
{
	size_t i;

	if (t->t == ADDR_T_ATOM) {
		for (i = t->start; i < t->end; i++)
			addr_buf_put(b, s[i]);
		return;
	}
	for (i = t->start + 1; i + 1 < t->end; i++) {
		if (s[i] == '\\')
			addr_buf_put(b, s[++i]);
		else if (s[i] != '\r' && s[i] != '\n')
			addr_buf_put(b, s[i]);
	}
}

/* Append a domain literal without its folding white space. */
static void addr_buf_dlit(struct addr_buf *b, const char *s, const struct addr_tok *t)
{
	size_t i;

	for (i = t->start; i < t->end; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			addr_buf_put(b, s[i]);
}

/* True if S (N bytes) is a dot-atom: atext runs joined by single dots. */
static bool addr_is_dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!addr_is_atext((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* Read words and dots at p->cur into PH. */
static int addr_read_phrase(struct addr_parser *p, struct addr_phrase *ph)
{
	memset(ph, 0, sizeof *ph);
	ph->ok = true;
	while (p->cur.t == ADDR_T_ATOM || p->cur.t == ADDR_T_QSTR || p->cur.t == ADDR_T_DOT) {
		if (p->cur.t == ADDR_T_DOT) {
			if (ph->last != ADDR_L_WORD)
				ph->ok = false;
			addr_buf_put(&ph->lp, '.');
			ph->last = ADDR_L_DOT;
			ph->ndots++;
		} else {
			if (ph->last == ADDR_L_WORD)
				ph->ok = false;
			addr_buf_word(&ph->lp, p->s, &p->cur);
			ph->last = ADDR_L_WORD;
			ph->nwords++;
		}
		if (addr_next(p) != 0)
			return -1;
	}
	if (ph->last == ADDR_L_DOT)
		ph->ok = false;
	return 0;
}

/* p->cur follows an '@': read the domain into DOM. START is where the
 * address began, for messages. */
static int addr_read_domain(struct addr_parser *p, size_t start, struct addr_buf *dom)
{
	memset(dom, 0, sizeof *dom);
	if (p->cur.t == ADDR_T_DLIT) {
		addr_buf_dlit(dom, p->s, &p->cur);
		return addr_next(p);
	}
	if (p->cur.t == ADDR_T_DOT)
		return addr_fail(p, start, true, "domain starts with '.'");
	if (p->cur.t != ADDR_T_ATOM)
		return addr_fail(p, start, true, "'@' with empty domain");
	for (;;) {
		addr_buf_word(dom, p->s, &p->cur);
		if (addr_next(p) != 0)
			return -1;
		if (p->cur.t != ADDR_T_DOT)
			return 0;
		addr_buf_put(dom, '.');
		if (addr_next(p) != 0)
			return -1;
		if (p->cur.t != ADDR_T_ATOM)
			return addr_fail(p, start, true, "empty label in domain");
	}
}

/* Build the addr-spec from a local part and a domain (NULL: bare local
 * part), check it and append it. START is where it began, for messages. */
static int addr_emit(struct addr_parser *p, size_t start, const struct addr_buf *lp,
		     const struct addr_buf *dom)
{
	struct addr_buf o = { .n = 0 };
	char cerr[KURIER_ERRLEN];
	size_t i;

	if (lp->over || (dom != NULL && dom->over))
		return addr_fail(p, start, true, "address longer than %d bytes", ADDR_MAX);
	if (addr_is_dot_atom(lp->b, lp->n)) {
		for (i = 0; i < lp->n; i++)
			addr_buf_put(&o, lp->b[i]);
	} else {
		/* RFC 5321 Quoted-string: only '"' and '\' need a backslash */
		addr_buf_put(&o, '"');
		for (i = 0; i < lp->n; i++) {
			unsigned char c = (unsigned char)lp->b[i];
			if (addr_is_ctl(c))
				return addr_fail(p, start, true,
						 "control character 0x%02x in quoted local part", c);
			if (c == '"' || c == '\\')
				addr_buf_put(&o, '\\');
			addr_buf_put(&o, (char)c);
		}
		addr_buf_put(&o, '"');
	}
	if (dom != NULL) {
		addr_buf_put(&o, '@');
		for (i = 0; i < dom->n; i++)
			addr_buf_put(&o, dom->b[i]);
	}
	if (o.over)
		return addr_fail(p, start, true, "address longer than %d bytes", ADDR_MAX);
	o.b[o.n] = '\0';
	if (addr_check(o.b, false, cerr, sizeof cerr) != 0)
		return addr_fail(p, start, true, "%s", cerr);
	addr_list_add(p->out, o.b);
	return 0;
}

/* p->cur is '<': parse [obs-route] addr-spec '>' and append it. */
static int addr_parse_angle(struct addr_parser *p)
{
	size_t lt = p->cur.start, at, start;
	struct addr_phrase ph;
	struct addr_buf dom;
	bool have_dom = false;

	if (addr_next(p) != 0)
		return -1;
	if (p->cur.t == ADDR_T_GT)
		return addr_fail(p, lt, true, "empty address <>");
	if (p->cur.t == ADDR_T_AT || p->cur.t == ADDR_T_COMMA) {
		/* obs-route: *("," / "@" domain) ":", dropped */
		size_t ndom = 0, ncomma = 0;

		while (p->cur.t != ADDR_T_COLON) {
			if (p->cur.t == ADDR_T_COMMA) {
				ncomma++;
				if (addr_next(p) != 0)
					return -1;
			} else if (p->cur.t == ADDR_T_AT) {
				at = p->cur.start;
				if (addr_next(p) != 0 || addr_read_domain(p, at, &dom) != 0)
					return -1;
				ndom++;
			} else if (p->cur.t == ADDR_T_GT && ndom == 1 && ncomma == 0) {
				return addr_fail(p, lt, true, "'@' with empty local part");
			} else if (p->cur.t == ADDR_T_EOF) {
				return addr_fail(p, lt, true, "unbalanced '<'");
			} else {
				return addr_fail(p, p->cur.start, false, "expected ':' after route");
			}
		}
		if (ndom == 0)
			return addr_fail(p, lt, true, "route without a domain");
		if (addr_next(p) != 0)
			return -1;
	}
	start = p->cur.start;
	if (addr_read_phrase(p, &ph) != 0)
		return -1;
	if (ph.nwords == 0 && ph.ndots == 0) {
		if (p->cur.t == ADDR_T_AT)
			return addr_fail(p, lt, true, "'@' with empty local part");
		if (p->cur.t == ADDR_T_EOF)
			return addr_fail(p, lt, true, "unbalanced '<'");
		return addr_fail(p, p->cur.start, false, "expected an address after '<'");
	}
	if (!ph.ok)
		return addr_fail(p, start, true, "invalid local part");
	if (p->cur.t == ADDR_T_AT) {
		if (addr_next(p) != 0 || addr_read_domain(p, start, &dom) != 0)
			return -1;
		have_dom = true;
	}
	if (p->cur.t == ADDR_T_EOF)
		return addr_fail(p, lt, true, "unbalanced '<'");
	if (p->cur.t != ADDR_T_GT)
		return addr_fail(p, p->cur.start, false, "expected '>'");
	if (addr_next(p) != 0)
		return -1;
	/* <root> is a bare local part, like root */
	return addr_emit(p, start, &ph.lp, have_dom ? &dom : NULL);
}

/* p->cur is not a separator after an address: say what is wrong. */
static int addr_bad_sep(struct addr_parser *p, bool in_group)
{
	if (p->cur.t == ADDR_T_GT)
		return addr_fail(p, p->cur.start, false, "unbalanced '>'");
	if (p->cur.t == ADDR_T_SEMI)
		return addr_fail(p, p->cur.start, false, "';' outside a group");
	return addr_fail(p, p->cur.start, false, in_group ? "expected ',' or ';'" : "expected ','");
}

static int addr_parse_group(struct addr_parser *p, size_t start);

/* One address (mailbox or, outside a group, a group) at p->cur. */
static int addr_parse_address(struct addr_parser *p, bool in_group)
{
	size_t start = p->cur.start;
	struct addr_phrase ph;
	struct addr_buf dom;
	bool empty;

	if (addr_read_phrase(p, &ph) != 0)
		return -1;
	empty = ph.nwords == 0 && ph.ndots == 0;
	switch (p->cur.t) {
	case ADDR_T_COLON:
		if (in_group)
			return addr_fail(p, start, false, "nested group");
		if (empty)
			return addr_fail(p, start, false, "group without a name");
		return addr_parse_group(p, start);
	case ADDR_T_LT:
		return addr_parse_angle(p); /* the phrase was the display name */
	case ADDR_T_AT:
		if (empty)
			return addr_fail(p, start, true, "'@' with empty local part");
		if (!ph.ok)
			return addr_fail(p, start, true, "invalid local part");
		if (addr_next(p) != 0 || addr_read_domain(p, start, &dom) != 0)
			return -1;
		/* "a@b <c@d>": an unquoted '@' in a display name, seen in real
		 * mail; the angle address is the one that counts */
		if (p->cur.t == ADDR_T_LT)
			return addr_parse_angle(p);
		return addr_emit(p, start, &ph.lp, &dom);
	default:
		break;
	}
	if (empty) {
		if (p->cur.t == ADDR_T_GT || p->cur.t == ADDR_T_SEMI)
			return addr_bad_sep(p, in_group);
		return addr_fail(p, p->cur.start, false, "expected an address");
	}
	if (!ph.ok && ph.ndots == 0)
		return addr_fail(p, start, true, "display name without '<address>'");
	if (!ph.ok)
		return addr_fail(p, start, true, "invalid local part");
	return addr_emit(p, start, &ph.lp, NULL); /* bare local part */
}

/* p->cur is the ':' of a group whose display name began at START. */
static int addr_parse_group(struct addr_parser *p, size_t start)
{
	if (addr_next(p) != 0)
		return -1;
	for (;;) {
		switch (p->cur.t) {
		case ADDR_T_SEMI:
			return addr_next(p);
		case ADDR_T_EOF:
			return addr_fail(p, start, true, "missing ';' at end of group");
		case ADDR_T_COMMA:
			if (addr_next(p) != 0)
				return -1;
			continue;
		default:
			break;
		}
		if (addr_parse_address(p, true) != 0)
			return -1;
		if (p->cur.t != ADDR_T_COMMA && p->cur.t != ADDR_T_SEMI && p->cur.t != ADDR_T_EOF)
			return addr_bad_sep(p, true);
	}
}

static int addr_parse_list(struct addr_parser *p)
{
	if (addr_next(p) != 0)
		return -1;
	for (;;) {
		if (p->cur.t == ADDR_T_EOF)
			return 0;
		if (p->cur.t == ADDR_T_COMMA) {
			if (addr_next(p) != 0)
				return -1;
			continue;
		}
		if (addr_parse_address(p, false) != 0)
			return -1;
		if (p->cur.t != ADDR_T_COMMA && p->cur.t != ADDR_T_EOF)
			return addr_bad_sep(p, false);
	}
}

int addr_list_parse(const char *s, size_t len, struct addr_list *out, char *err, size_t errlen)
{
	struct addr_parser p;
	size_t n0, i;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&p, 0, sizeof p);
	p.err = err;
	p.errlen = errlen;
	if (out == NULL || (s == NULL && len > 0))
		return addr_fail(&p, 0, false, "no input");
	/* a header field body may arrive with the CRLF (or LF) that ends it */
	if (len >= 2 && s[len - 2] == '\r' && s[len - 1] == '\n')
		len -= 2;
	else if (len >= 1 && s[len - 1] == '\n')
		len--;
	p.s = s;
	p.len = len;
	p.out = out;
	n0 = out->n;
	if (addr_parse_list(&p) == 0)
		return 0;
	/* roll back: on error OUT is as it was on entry */
	for (i = n0; i < out->n; i++) {
		free(out->v[i]);
		out->v[i] = NULL;
	}
	out->n = n0;
	return -1;
}

void addr_list_add(struct addr_list *l, const char *addr)
{
	if (l == NULL || addr == NULL)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, cap * sizeof *l->v);
		l->cap = cap;
	}
	l->v[l->n++] = xstrdup(addr);
}

/* Order by domain (any case), then local part (exactly). */
static int addr_same_cmp(const char *a, const char *b)
{
	const char *da = strrchr(a, '@'), *db = strrchr(b, '@');
	size_t la = da != NULL ? (size_t)(da - a) : strlen(a), lb = db != NULL ? (size_t)(db - b) : strlen(b);
	int c = strcasecmp(da != NULL ? da + 1 : "", db != NULL ? db + 1 : "");

	if (c != 0)
		return c;
	c = memcmp(a, b, la < lb ? la : lb);
	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb ? 1 : 0;
}

static int addr_index_cmp(const void *x, const void *y)
{
	char *const *a = *(char **const *)x, *const *b = *(char **const *)y;
	int c = addr_same_cmp(*a, *b);

	/* equal addresses stay in list order: the first is kept */
	if (c != 0)
		return c;
	return a < b ? -1 : a > b;
}

void addr_list_dedupe(struct addr_list *l)
{
	char ***by = NULL;
	size_t i, n = 0;

	if (l == NULL || l->n < 2)
		return;
	by = xcalloc(l->n, sizeof *by);
	for (i = 0; i < l->n; i++)
		by[i] = &l->v[i];
	qsort(by, l->n, sizeof *by, addr_index_cmp);
	for (i = 1; i < l->n; i++)
		if (addr_same_cmp(*by[i - 1], *by[i]) == 0) {
			free(*by[i]);
			*by[i] = NULL;
			by[i] = by[i - 1]; /* a run of three compares with the kept one */
		}
	free(by);
	for (i = 0; i < l->n; i++)
		if (l->v[i] != NULL)
			l->v[n++] = l->v[i];
	l->n = n;
}

void addr_list_free(struct addr_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int addr_check_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int addr_check_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The domain D (N > 0 bytes) of an envelope address. */
static int addr_check_domain(const char *d, size_t n, char *err, size_t errlen)
{
	size_t i, label = 0;
	char ob[16];

	if (d[0] == '[') {
		if (n < 2 || d[n - 1] != ']')
			return addr_check_fail(err, errlen, "unterminated domain literal");
		if (n == 2)
			return addr_check_fail(err, errlen, "empty domain literal");
		for (i = 1; i + 1 < n; i++) {
			unsigned char c = (unsigned char)d[i];
			if (c <= ' ' || c >= 0x7f || c == '[' || c == ']' || c == '\\')
				return addr_check_fail(err, errlen, "invalid character %s in domain literal",
						       addr_octet(c, ob, sizeof ob));
		}
		return 0;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0)
				return addr_check_fail(err, errlen, "empty label in domain");
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c >= 0x80))
			return addr_check_fail(err, errlen, "invalid character %s in domain",
					       addr_octet(c, ob, sizeof ob));
		label++;
	}
	if (label == 0)
		return addr_check_fail(err, errlen, "empty label in domain");
	return 0;
}

int addr_check(const char *addr, bool allow_empty, char *err, size_t errlen)
{
	size_t n, i;
	char ob[16];

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (addr == NULL)
		return addr_check_fail(err, errlen, "no address");
	n = strnlen(addr, ADDR_MAX + 1);
	if (n > ADDR_MAX)
		return addr_check_fail(err, errlen, "address longer than %d bytes", ADDR_MAX);
	if (n == 0)
		return allow_empty ? 0 : addr_check_fail(err, errlen, "empty address");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];
		if (c == '\r')
			return addr_check_fail(err, errlen, "CR in address");
		if (c == '\n')
			return addr_check_fail(err, errlen, "LF in address");
		if (addr_is_ctl(c))
			return addr_check_fail(err, errlen, "control character 0x%02x in address", c);
	}
	i = 0;
	if (addr[0] == '"') {
		/* Quoted-string: the whole local part (RFC 5321 4.1.2) */
		for (i = 1;; i++) {
			if (i >= n)
				return addr_check_fail(err, errlen, "unterminated quoted string");
			if (addr[i] == '"') {
				i++;
				break;
			}
			if (addr[i] == '\\') {
				if (++i >= n)
					return addr_check_fail(err, errlen, "unterminated quoted string");
				if ((unsigned char)addr[i] >= 0x80)
					return addr_check_fail(err, errlen, "invalid quoted pair");
			}
		}
		if (i < n && addr[i] != '@')
			return addr_check_fail(err, errlen, "text after the quoted local part");
	} else {
		for (; i < n && addr[i] != '@'; i++) {
			unsigned char c = (unsigned char)addr[i];
			if (c != '.' && !addr_is_atext(c))
				return addr_check_fail(err, errlen, "unquoted %s in local part",
						       addr_octet(c, ob, sizeof ob));
		}
	}
	if (i == n)
		return 0; /* bare local part: the caller qualifies or rejects it */
	if (i == 0)
		return addr_check_fail(err, errlen, "'@' with empty local part");
	i++;
	if (i == n)
		return addr_check_fail(err, errlen, "'@' with empty domain");
	if (memchr(addr + i, '@', n - i) != NULL)
		return addr_check_fail(err, errlen, "more than one '@'");
	return addr_check_domain(addr + i, n - i, err, errlen);
}

/* Offset of the last '@' outside quotes in A, or strlen(A) if none. */
static size_t addr_split(const char *a)
{
	size_t i, at = SIZE_MAX;
	bool q = false;

	for (i = 0; a[i] != '\0'; i++) {
		if (q && a[i] == '\\' && a[i + 1] != '\0')
			i++;
		else if (a[i] == '"')
			q = !q;
		else if (a[i] == '@' && !q)
			at = i;
	}
	return at == SIZE_MAX ? i : at;
}

static bool addr_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

const char *addr_domain(const char *addr)
{
	size_t at;

	if (addr == NULL)
		return NULL;
	at = addr_split(addr);
	return addr[at] == '@' ? addr + at + 1 : NULL;
}

bool addr_local_is_ascii(const char *addr)
{
	if (addr == NULL)
		return true;
	return addr_ascii(addr, addr_split(addr));
}

bool addr_domain_is_ascii(const char *addr)
{
	size_t at;

	if (addr == NULL)
		return true;
	at = addr_split(addr);
	if (addr[at] == '\0')
		return true;
	return addr_ascii(addr + at + 1, strlen(addr + at + 1));
}

int addr_host_to_ascii(const char *host, char **out, char *err, size_t errlen)
{
	const unsigned char *p;
	int rc;

	for (p = (const unsigned char *)host; *p != '\0' && *p < 0x80; p++)
		;
	if (*p == '\0') {
		*out = xstrdup(host);
		return 0;
	}
	rc = idn2_to_ascii_8z(host, out, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc != IDN2_OK) {
		*out = NULL;
		snprintf(err, errlen, "host name '%s' is not a valid internationalised domain name: %s",
			 host, idn2_strerror(rc));
		return -1;
	}
	return 0;
}

/* msmtp's from patterns choose an account by sender when they hold shell
 * wildcards; only a plain from is an address. */
static bool addr_is_wildcard(const char *pattern)
{
	return strpbrk(pattern, "*?[") != NULL;
}

unsigned addr_from_pattern_needs(const char *pattern)
{
	unsigned need = 0;
	const char *p;

	if (pattern == NULL || addr_is_wildcard(pattern))
		return 0;
	for (p = pattern; *p != '\0'; p++) {
		if (*p != '%' || p[1] == '\0')
			continue;
		p++;
		need |= *p == 'U' ? ADDR_FACT_USER : *p == 'H' ? ADDR_FACT_HOST
		      : *p == 'C' ? ADDR_FACT_CANONICAL : *p == 'M' ? ADDR_FACT_MAILNAME : 0u;
	}
	return need;
}

char *addr_expand_from_pattern(const char *pattern, const struct host_facts *f)
{
	char out[1024];
	const char *p;
	size_t o = 0;

	if (pattern == NULL || addr_is_wildcard(pattern))
		return NULL;
	for (p = pattern; *p != '\0' && o + 1 < sizeof out; p++) {
		char one[2] = { *p, '\0' };
		const char *ins = one;

		if (*p == '%' && p[1] != '\0') {
			p++;
			one[0] = *p;
			ins = *p == 'U' ? f->user : *p == 'H' ? f->host : *p == 'C' ? f->canonical
			    : *p == 'M' ? f->mailname : one;
		}
		o += (size_t)snprintf(out + o, sizeof out - o, "%s", ins);
	}
	if (o >= sizeof out)
		o = sizeof out - 1;
	out[o] = '\0';
	return xstrdup(out);
}

const char *addr_library_version(void)
{
	return idn2_check_version(NULL);
}
