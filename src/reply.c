/* reply.c: turns server bytes into SMTP replies; never buffers more than
 * the limits in reply.h, never trusts a byte it has not checked. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "reply.h"

void reply_parser_init(struct reply_parser *p)
{
	memset(p, 0, sizeof *p);
	p->line = xmalloc(REPLY_LINE_MAX + 1);
}

void reply_free(struct reply *r)
{
	free(r->text);
	memset(r, 0, sizeof *r);
}

void reply_parser_free(struct reply_parser *p)
{
	free(p->line);
	reply_free(&p->cur);
	memset(p, 0, sizeof *p);
}

bool reply_parser_busy(const struct reply_parser *p)
{
	return p->linelen > 0 || p->in_reply;
}

/* Length of an RFC 3463 status code "c.sss.ddd" at S whose class must
 * match the reply's first digit, or 0 when there is none. */
static size_t reply_enh_len(const char *s, size_t len, int code)
{
	size_t i = 0, part, digits;

	if (len < 5 || s[0] != '0' + code / 100 || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; i < len && isdigit((unsigned char)s[i]) && digits < 3; i++)
			digits++;
		if (digits == 0)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

static void reply_append_text(struct reply_parser *p, const char *s, size_t n)
{
	size_t need = p->curlen + (p->cur.nlines > 0 ? 1 : 0) + n + 1;

	p->cur.text = xrealloc(p->cur.text, need);
	if (p->cur.nlines > 0)
		p->cur.text[p->curlen++] = '\n';
	memcpy(p->cur.text + p->curlen, s, n);
	p->curlen += n;
	p->cur.text[p->curlen] = '\0';
	p->cur.nlines++;
}

/* Judge one complete line (without its line ending). Returns 1 when the
 * reply is complete, 0 when more lines follow, -1 on error. */
static int reply_take_line(struct reply_parser *p, char *err, size_t errlen)
{
	const char *l = p->line;
	size_t n = p->linelen, i;
	int code;
	bool last;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];
		if (c == '\0' || (c < 0x20 && c != '\t')) {
			snprintf(err, errlen, "control character 0x%02x in a reply line", c);
			return -1;
		}
	}
	if (n < 3 || !isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) ||
	    !isdigit((unsigned char)l[2]) || (n > 3 && l[3] != ' ' && l[3] != '-')) {
		snprintf(err, errlen, "malformed reply line '%.*s'", (int)(n > 60 ? 60 : n), l);
		return -1;
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (code < 200 || code > 599 || l[1] > '5') {
		snprintf(err, errlen, "reply code %d is not a valid SMTP reply code", code);
		return -1;
	}
	if (p->in_reply && code != p->cur.code) {
		snprintf(err, errlen, "reply code changes from %d to %d inside a multi-line reply",
			 p->cur.code, code);
		return -1;
	}
	if (p->cur.nlines >= REPLY_LINES_MAX || p->curlen + n > REPLY_TOTAL_MAX) {
		snprintf(err, errlen, "reply longer than %d lines or %d bytes", REPLY_LINES_MAX,
			 REPLY_TOTAL_MAX);
		return -1;
	}
	last = n == 3 || l[3] == ' ';
	l += n > 3 ? 4 : 3;
	n -= n > 3 ? 4 : 3;
	if (!p->in_reply) {
		size_t e = reply_enh_len(l, n, code);
		p->cur.code = code;
		if (e > 0 && e < sizeof p->cur.enh) {
			memcpy(p->cur.enh, l, e);
			p->cur.enh[e] = '\0';
			l += e;
			n -= e;
			while (n > 0 && *l == ' ') {
				l++;
				n--;
			}
		}
	} else if (p->cur.enh[0] != '\0') {
		/* RFC 2034: continuation lines repeat the enhanced code. */
		size_t e = reply_enh_len(l, n, code);
		if (e > 0) {
			l += e;
			n -= e;
			while (n > 0 && *l == ' ') {
				l++;
				n--;
			}
		}
	}
	reply_append_text(p, l, n);
	p->in_reply = !last;
	return last ? 1 : 0;
}

enum reply_status reply_parse(struct reply_parser *p, const char *buf, size_t len, size_t *used,
			      struct reply *out, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t take = nl != NULL ? (size_t)(nl - (buf + i)) : len - i;
		int r;

		if (p->linelen + take > REPLY_LINE_MAX) {
			snprintf(err, errlen, "reply line longer than %d bytes", REPLY_LINE_MAX);
			*used = i;
			return REPLY_ERROR;
		}
		memcpy(p->line + p->linelen, buf + i, take);
		p->linelen += take;
		i += take;
		if (nl == NULL)
			break;
		i++; /* the LF */
		if (p->linelen > 0 && p->line[p->linelen - 1] == '\r')
			p->linelen--;
		r = reply_take_line(p, err, errlen);
		p->linelen = 0;
		if (r < 0) {
			*used = i;
			return REPLY_ERROR;
		}
		if (r == 1) {
			*out = p->cur;
			memset(&p->cur, 0, sizeof p->cur);
			p->curlen = 0;
			p->in_reply = false;
			if (out->text == NULL)
				out->text = xstrdup("");
			*used = i;
			return REPLY_DONE;
		}
	}
	*used = i;
	return REPLY_MORE;
}

void reply_format(const struct reply *r, char *buf, size_t len)
{
	const char *t = r->text != NULL ? r->text : "";
	const char *nl = strchr(t, '\n');
	int tl = (int)(nl != NULL ? (size_t)(nl - t) : strlen(t));

	if (tl > 400)
		tl = 400;
	if (r->enh[0] != '\0')
		snprintf(buf, len, "%d %s %.*s", r->code, r->enh, tl, t);
	else
		snprintf(buf, len, "%d %.*s", r->code, tl, t);
}

static bool reply_word_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

void reply_parse_caps(const struct reply *r, struct caps *caps)
{
	const char *line = r->text != NULL ? r->text : "";
	bool first = true;

	memset(caps, 0, sizeof *caps);
	while (*line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		size_t kw = 0;

		while (kw < len && line[kw] != ' ' && line[kw] != '=')
			kw++;
		if (!first) {
			const char *arg = line + kw + (kw < len ? 1 : 0);
			size_t arglen = kw < len ? len - kw - 1 : 0;

			if (reply_word_is(line, kw, "SIZE")) {
				char num[24];
				size_t k = arglen < sizeof num - 1 ? arglen : sizeof num - 1;
				memcpy(num, arg, k);
				num[k] = '\0';
				caps->flags |= CAP_SIZE;
				caps->size_max = strtoull(num, NULL, 10);
			} else if (reply_word_is(line, kw, "PIPELINING")) {
				caps->flags |= CAP_PIPELINING;
			} else if (reply_word_is(line, kw, "8BITMIME")) {
				caps->flags |= CAP_8BITMIME;
			} else if (reply_word_is(line, kw, "SMTPUTF8")) {
				caps->flags |= CAP_SMTPUTF8;
			} else if (reply_word_is(line, kw, "DSN")) {
				caps->flags |= CAP_DSN;
			} else if (reply_word_is(line, kw, "ENHANCEDSTATUSCODES")) {
				caps->flags |= CAP_ENHANCEDSTATUSCODES;
			} else if (reply_word_is(line, kw, "STARTTLS")) {
				caps->flags |= CAP_STARTTLS;
			} else if (reply_word_is(line, kw, "CHUNKING")) {
				caps->flags |= CAP_CHUNKING;
			} else if (reply_word_is(line, kw, "AUTH")) {
				/* "AUTH=LOGIN PLAIN" is the pre-RFC 4954 form some servers still send. */
				size_t have = strlen(caps->auth), k;
				caps->flags |= CAP_AUTH;
				for (k = 0; k < arglen && have + 2 < sizeof caps->auth; k++) {
					caps->auth[have++] = (char)toupper((unsigned char)arg[k]);
				}
				if (have > 0 && have + 1 < sizeof caps->auth && caps->auth[have - 1] != ' ')
					caps->auth[have++] = ' ';
				caps->auth[have] = '\0';
			}
		}
		first = false;
		line += len;
		if (*line == '\n')
			line++;
	}
	/* Trailing space left by the join above. */
	if (caps->auth[0] != '\0' && caps->auth[strlen(caps->auth) - 1] == ' ')
		caps->auth[strlen(caps->auth) - 1] = '\0';
}
