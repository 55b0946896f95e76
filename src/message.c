/* message.c: the header pass and the line discipline of the message; it
 * never sees a socket or a file, only bytes and a sink. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gsasl.h>

#include "common.h"
#include "message.h"

struct msg_reader {
	struct msg_opts opts;
	msg_sink_fn sink;
	void *ctx;
	bool cr_pending;          /* last byte was a CR whose line break is not out yet */
	bool in_body;
	bool ended;
	unsigned lineno;          /* physical input line, for messages */
	unsigned dot_line;        /* the lone dot that ended the input, or 0 */
	uint64_t after_dot;       /* octets fed after it, not sent */
	/* header phase */
	char *line;               /* current header line, at most MSG_HEADER_LINE_MAX */
	size_t linelen;
	char *hdr;                /* kept and removed fields, canonical, CRLF */
	size_t hdrlen;
	bool seen_field;
	bool emitted;             /* some bytes went to the sink */
	/* body phase */
	bool mid_line;            /* body: bytes of the current line went out */
	bool held_dot;            /* body: a '.' at line start waits for its next byte */
	size_t body_line;
	size_t max_body_line;
	bool eightbit;
	bool smtputf8;            /* a non-ASCII addr-spec in an address field */
	/* results */
	struct addr_list rcpts;
	char *from;
};

struct msg_reader *msg_reader_new(const struct msg_opts *opts, msg_sink_fn sink, void *ctx)
{
	struct msg_reader *r = xcalloc(1, sizeof *r);

	r->opts = *opts;
	r->sink = sink;
	r->ctx = ctx;
	r->line = xmalloc(MSG_HEADER_LINE_MAX + 1);
	r->hdr = xmalloc(MSG_HEADER_BLOCK_MAX);
	r->lineno = 1;
	return r;
}

void msg_reader_free(struct msg_reader *r)
{
	if (r == NULL)
		return;
	free(r->line);
	free(r->hdr);
	free(r->from);
	addr_list_free(&r->rcpts);
	free(r);
}

const struct addr_list *msg_reader_rcpts(const struct msg_reader *r)
{
	return &r->rcpts;
}

const char *msg_reader_from(const struct msg_reader *r)
{
	return r->from;
}

bool msg_reader_eightbit(const struct msg_reader *r)
{
	return r->eightbit;
}

bool msg_reader_needs_smtputf8(const struct msg_reader *r)
{
	return r->smtputf8;
}

size_t msg_reader_max_body_line(const struct msg_reader *r)
{
	return r->max_body_line;
}

uint64_t msg_reader_after_dot(const struct msg_reader *r, unsigned *line)
{
	if (line != NULL)
		*line = r->dot_line;
	return r->after_dot;
}

static int msg_emit(struct msg_reader *r, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < len && !r->eightbit; i++)
		if ((unsigned char)buf[i] & 0x80)
			r->eightbit = true;
	r->emitted = r->emitted || len > 0;
	return r->sink(r->ctx, buf, len, err, errlen);
}

/* Name of the field starting at F (LEN bytes, up to the colon), or 0 when
 * the line is not a field: RFC 5322 3.6.8 ftext is %d33-57 / %d59-126; the
 * obsolete syntax (4.5.8) allows white space before the colon. */
static size_t msg_field_name_len(const char *f, size_t len)
{
	size_t i = 0, name;

	while (i < len && f[i] > 32 && f[i] < 127 && f[i] != ':')
		i++;
	name = i;
	while (i < len && (f[i] == ' ' || f[i] == '\t'))
		i++;
	if (name == 0 || i >= len || f[i] != ':')
		return 0;
	return name;
}

static bool msg_name_is(const char *f, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(f, name, n) == 0;
}

/* The fields whose bodies are addresses (RFC 5322 3.6.2, 3.6.3, 3.6.6,
 * 3.6.7, and the common Disposition-Notification-To of RFC 8098 and
 * Mail-Followup-To / Mail-Reply-To). Only they can need SMTPUTF8. */
static bool msg_is_address_field(const char *f, size_t n)
{
	static const char *const names[] = {
		"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
		"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc",
		"Return-Path", "Disposition-Notification-To", "Mail-Followup-To", "Mail-Reply-To",
	};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (msg_name_is(f, n, names[i]))
			return true;
	return false;
}

/* Whether the address field body BODY (LEN) needs SMTPUTF8. RFC 6532 3.2
 * lets UTF-8 into every field, and strictly any of it makes the message
 * one for SMTPUTF8 only; but a raw 8-bit Subject, file name or display
 * name has travelled with 8BITMIME for decades (Postfix sends it so),
 * and a reader that does not know UTF-8 only shows it wrongly. An
 * addr-spec is different: it is what the recipient replies to, and a
 * non-ASCII one (local part, or a U-label domain, which kurier does not
 * rewrite in the header) has no meaning without SMTPUTF8. A body that
 * does not parse counts as needing it when it has any 8-bit octet. */
static bool msg_field_needs_smtputf8(const char *body, size_t len)
{
	struct addr_list l = { 0 };
	bool need = false;
	size_t i;

	for (i = 0; i < len && !((unsigned char)body[i] & 0x80); i++)
		;
	if (i == len)
		return false;
	if (addr_list_parse(body, len, &l, NULL, 0) != 0)
		need = true;
	for (i = 0; i < l.n && !need; i++)
		need = !addr_local_is_ascii(l.v[i]) || !addr_domain_is_ascii(l.v[i]);
	addr_list_free(&l);
	return need;
}

static int msg_add_field(struct msg_reader *r, const char *name, const char *value, char *err,
			 size_t errlen)
{
	size_t n = strlen(name) + strlen(value) + 5;
	char *line = xmalloc(n);
	int rc;

	snprintf(line, n, "%s: %s\r\n", name, value);
	if (msg_is_address_field(name, strlen(name)) && msg_field_needs_smtputf8(value, strlen(value)))
		r->smtputf8 = true;
	rc = msg_emit(r, line, strlen(line), err, errlen);
	free(line);
	return rc;
}

/* The fields a sendmail adds when the message lacks them (RFC 5322 3.6:
 * Date and From are required, Message-ID should be there). */
static int msg_add_missing(struct msg_reader *r, bool has_from, bool has_date, bool has_msgid,
			   char *err, size_t errlen)
{
	const struct msg_opts *o = &r->opts;
	int rc;

	if (o->from_value != NULL && (o->set_from == MSG_FROM_ON || (o->set_from == MSG_FROM_AUTO && !has_from)) &&
	    (rc = msg_add_field(r, "From", o->from_value, err, errlen)) != 0)
		return rc;
	if (o->date != NULL && !has_date && (rc = msg_add_field(r, "Date", o->date, err, errlen)) != 0)
		return rc;
	if (o->undisclosed &&
	    (rc = msg_add_field(r, "To", o->to_value != NULL ? o->to_value : "undisclosed-recipients:;", err,
				errlen)) != 0)
		return rc;
	if (o->msgid_left != NULL && !has_msgid) {
		const char *dom = o->msgid_domain;
		const char *at = r->from != NULL ? strrchr(r->from, '@') : NULL;
		char id[600];

		if (dom == NULL)
			dom = at != NULL && at[1] != '\0' ? at + 1 : "localhost";
		snprintf(id, sizeof id, "<%s@%s>", o->msgid_left, dom);
		if ((rc = msg_add_field(r, "Message-ID", id, err, errlen)) != 0)
			return rc;
	}
	return 0;
}

/* Walk the header block: collect -t recipients and the From address,
 * write every field that is kept to the sink. */
static int msg_finish_headers(struct msg_reader *r, char *err, size_t errlen)
{
	const char *p = r->hdr, *end = r->hdr + r->hdrlen;
	bool resent = false, has_from = false, has_date = false, has_msgid = false;
	bool seen_nontrace = false, resent_first = false;
	int pass, rc = 0;

	/* RFC 5322 3.6.6: with Resent- fields present, -t uses the Resent-
	 * recipients (sendmail and Postfix do the same). */
	for (pass = 0; pass < 2; pass++) {
		p = r->hdr;
		while (p < end) {
			const char *f = p, *q = p;
			size_t name;

			/* A field runs to the CRLF not followed by WSP. */
			for (;;) {
				const char *crlf = memchr(q, '\n', (size_t)(end - q));
				q = crlf != NULL ? crlf + 1 : end;
				if (q >= end || (*q != ' ' && *q != '\t'))
					break;
			}
			p = q;
			name = msg_field_name_len(f, (size_t)(q - f));
			if (pass == 0) {
				if (name > 7 && strncasecmp(f, "Resent-", 7) == 0)
					resent = true;
				/* RFC 5322 3.6.6: a resent block is added at the top,
				 * below trace fields only; then its From is the sender. */
				if (!seen_nontrace && name > 0 && !msg_name_is(f, name, "Received") &&
				    !msg_name_is(f, name, "Return-Path")) {
					seen_nontrace = true;
					resent_first = name > 7 && strncasecmp(f, "Resent-", 7) == 0;
				}
				has_from = has_from || msg_name_is(f, name, "From");
				has_date = has_date || msg_name_is(f, name, "Date");
				has_msgid = has_msgid || msg_name_is(f, name, "Message-ID");
				continue;
			}
			{
				const char *body = memchr(f, ':', (size_t)(q - f)) + 1;
				size_t blen = (size_t)(q - body);
				const char *pfx = resent ? "Resent-" : "";
				bool is_bcc = msg_name_is(f, name, "Bcc") || msg_name_is(f, name, "Resent-Bcc");
				char n1[16], n2[16], n3[16], nf[16];

				snprintf(n1, sizeof n1, "%sTo", pfx);
				snprintf(n2, sizeof n2, "%sCc", pfx);
				snprintf(n3, sizeof n3, "%sBcc", pfx);
				snprintf(nf, sizeof nf, "%sFrom", resent_first ? "Resent-" : "");
				if (r->opts.collect_rcpts &&
				    (msg_name_is(f, name, n1) || msg_name_is(f, name, n2) ||
				     msg_name_is(f, name, n3))) {
					char aerr[KURIER_ERRLEN];
					if (addr_list_parse(body, blen, &r->rcpts, aerr, sizeof aerr) != 0) {
						snprintf(err, errlen, "%.*s header: %s", (int)name, f, aerr);
						return -1;
					}
				}
				if (r->from == NULL && msg_name_is(f, name, nf)) {
					struct addr_list l = { 0 };
					char aerr[KURIER_ERRLEN];
					if (addr_list_parse(body, blen, &l, aerr, sizeof aerr) == 0 && l.n > 0)
						r->from = xstrdup(l.v[0]);
					addr_list_free(&l);
				}
				if (is_bcc && r->opts.remove_bcc)
					continue;
				if (r->opts.undisclosed && (msg_name_is(f, name, "To") || msg_name_is(f, name, "Cc") ||
							    msg_name_is(f, name, "Bcc")))
					continue;
				if (r->opts.set_from == MSG_FROM_ON && r->opts.from_value != NULL &&
				    msg_name_is(f, name, "From"))
					continue;
				if (msg_is_address_field(f, name) && msg_field_needs_smtputf8(body, blen))
					r->smtputf8 = true;
				if ((rc = msg_emit(r, f, (size_t)(q - f), err, errlen)) != 0)
					return rc;
			}
		}
	}
	return msg_add_missing(r, has_from, has_date, has_msgid, err, errlen);
}

static int msg_add_header_bytes(struct msg_reader *r, const char *s, size_t n, char *err, size_t errlen)
{
	if (r->hdrlen + n > MSG_HEADER_BLOCK_MAX) {
		snprintf(err, errlen, "the header block is larger than %d bytes", MSG_HEADER_BLOCK_MAX);
		return -1;
	}
	memcpy(r->hdr + r->hdrlen, s, n);
	r->hdrlen += n;
	return 0;
}

static int msg_body_bytes(struct msg_reader *r, const char *s, size_t n, char *err, size_t errlen);
static int msg_body_break(struct msg_reader *r, char *err, size_t errlen);

/* One complete header-phase line (without its line break). Returns 0, 1
 * when the lone dot ended the message, -1 on error. */
static int msg_header_line(struct msg_reader *r, char *err, size_t errlen)
{
	const char *l = r->line;
	size_t n = r->linelen;
	int rc;

	r->linelen = 0;
	if (!r->opts.ignore_dots && n == 1 && l[0] == '.') {
		if ((rc = msg_finish_headers(r, err, errlen)) != 0)
			return rc;
		return 1;
	}
	/* A leading mbox "From " line is not part of the message. */
	if (r->lineno == 1 && n >= 5 && memcmp(l, "From ", 5) == 0)
		return 0;
	if (n == 0) {
		if ((rc = msg_finish_headers(r, err, errlen)) != 0)
			return rc;
		r->in_body = true;
		return msg_emit(r, "\r\n", 2, err, errlen);
	}
	if (((l[0] == ' ' || l[0] == '\t') && r->seen_field) || msg_field_name_len(l, n) > 0) {
		r->seen_field = true;
		if ((rc = msg_add_header_bytes(r, l, n, err, errlen)) != 0)
			return rc;
		return msg_add_header_bytes(r, "\r\n", 2, err, errlen);
	}
	/* Not a header field: the header block ended without an empty line
	 * and this line is the first of the body. RFC 5322 2.1 wants the
	 * empty line between them (else the line, or a field added here,
	 * would read as part of the header), so it is put in, as Postfix does. */
	if ((rc = msg_finish_headers(r, err, errlen)) != 0)
		return rc;
	r->in_body = true;
	if (r->emitted && (rc = msg_emit(r, "\r\n", 2, err, errlen)) != 0)
		return rc;
	if ((rc = msg_body_bytes(r, l, n, err, errlen)) != 0)
		return rc;
	return msg_body_break(r, err, errlen);
}

static int msg_body_bytes(struct msg_reader *r, const char *s, size_t n, char *err, size_t errlen)
{
	int rc;

	if (n == 0)
		return 0;
	if (r->held_dot) {
		r->held_dot = false;
		if ((rc = msg_emit(r, ".", 1, err, errlen)) != 0)
			return rc;
		r->mid_line = true;
		r->body_line++;
	} else if (!r->mid_line && !r->opts.ignore_dots && s[0] == '.') {
		if (n == 1) {
			r->held_dot = true;
			return 0;
		}
	}
	r->mid_line = true;
	r->body_line += n;
	return msg_emit(r, s, n, err, errlen);
}

/* Returns 1 when the line was the lone dot. */
static int msg_body_break(struct msg_reader *r, char *err, size_t errlen)
{
	if (r->held_dot)
		return 1;
	if (r->body_line > r->max_body_line)
		r->max_body_line = r->body_line;
	r->body_line = 0;
	r->mid_line = false;
	return msg_emit(r, "\r\n", 2, err, errlen);
}

static int msg_content(struct msg_reader *r, const char *s, size_t n, char *err, size_t errlen)
{
	if (r->in_body)
		return msg_body_bytes(r, s, n, err, errlen);
	if (r->linelen + n > MSG_HEADER_LINE_MAX) {
		snprintf(err, errlen, "header line %u is longer than %d octets", r->lineno,
			 MSG_HEADER_LINE_MAX);
		return -1;
	}
	memcpy(r->line + r->linelen, s, n);
	r->linelen += n;
	return 0;
}

static int msg_break(struct msg_reader *r, char *err, size_t errlen)
{
	int rc;

	if (r->in_body)
		rc = msg_body_break(r, err, errlen);
	else
		rc = msg_header_line(r, err, errlen);
	if (rc > 0)
		r->dot_line = r->lineno;
	r->lineno++;
	return rc;
}

static enum msg_status msg_status_of(struct msg_reader *r, int rc)
{
	if (rc < 0)
		return MSG_ERROR;
	if (rc > 0) {
		r->ended = true;
		return MSG_END;
	}
	return MSG_OK;
}

enum msg_status msg_reader_feed(struct msg_reader *r, const char *buf, size_t len,
				char *err, size_t errlen)
{
	size_t i = 0;
	int rc = 0;

	/* Input after the lone dot is not sent, but counted for the warning
	 * (the caller reads to the end, so that its writer gets no SIGPIPE). */
	if (r->ended) {
		r->after_dot += len;
		return MSG_END;
	}
	while (i < len && rc == 0) {
		size_t j = i;
		unsigned char c;

		if (r->cr_pending && buf[i] != '\n') {
			r->cr_pending = false;
			/* In the header block a line ends only at LF, as with
			 * sendmail and Postfix: a bare CR there is a space, or
			 * "Subject: x\rBcc: y" would become a field of its own. */
			if (!r->in_body)
				rc = msg_content(r, " ", 1, err, errlen);
			else
				rc = msg_break(r, err, errlen);
			if (rc != 0)
				break;
		}
		while (j < len && buf[j] != '\r' && buf[j] != '\n')
			j++;
		if (j > i && (rc = msg_content(r, buf + i, j - i, err, errlen)) != 0)
			break;
		if (j == len)
			break;
		c = (unsigned char)buf[j];
		i = j + 1;
		if (c == '\r') {
			/* Bare CR, or the first half of CRLF: decided by the next byte. */
			r->cr_pending = true;
		} else {
			r->cr_pending = false;
			rc = msg_break(r, err, errlen);
		}
	}
	if (rc > 0)
		r->after_dot += len - i;
	return msg_status_of(r, rc);
}

enum msg_status msg_reader_finish(struct msg_reader *r, char *err, size_t errlen)
{
	int rc = 0;

	if (r->ended)
		return MSG_END;
	if (r->cr_pending) {
		r->cr_pending = false;
		rc = msg_break(r, err, errlen);
	}
	if (rc == 0 && !r->in_body && r->linelen > 0)
		rc = msg_break(r, err, errlen);
	if (rc == 0 && !r->in_body)
		rc = msg_finish_headers(r, err, errlen);
	else if (rc == 0 && r->held_dot)
		rc = 1; /* a final "." without a line break is the lone dot too */
	else if (rc == 0 && r->mid_line)
		rc = msg_body_break(r, err, errlen);
	if (rc > 0)
		rc = 0;
	r->ended = true;
	return rc < 0 ? MSG_ERROR : MSG_OK;
}

/* ---- the mailbox of an added From: RFC 5322 3.4 and RFC 2047 ---- */

#define MSG_EW_MAX 75      /* RFC 2047 2: the longest encoded-word */
#define MSG_EW_OVERHEAD 12 /* its "=?UTF-8?B?" and "?=" */

/* The From field body being built, and the room left on its last line. */
struct msg_fold {
	char *p;
	size_t len, cap;
	size_t left;
};

static void msg_fold_add(struct msg_fold *f, const char *s, size_t n)
{
	if (f->len + n + 1 > f->cap) {
		f->cap = (f->len + n + 1) * 2;
		f->p = xrealloc(f->p, f->cap);
	}
	memcpy(f->p + f->len, s, n);
	f->len += n;
	f->p[f->len] = '\0';
	f->left = f->left > n ? f->left - n : 0;
}

/* RFC 5322 2.2.3: folding is a CRLF put before white space. */
static void msg_fold_break(struct msg_fold *f)
{
	msg_fold_add(f, "\r\n", 2);
	f->left = MSG_LINE_FOLD;
}

/* Octets of the UTF-8 character at S (N > 0 octets there), or 0 when they
 * are not one: RFC 3629 4, so no overlong forms, no surrogates, nothing
 * above U+10FFFF. */
static size_t msg_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	cp = s[0] & (0x7fu >> len);
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Octets of S (N, whole UTF-8 characters) that one encoded-word takes on a
 * line with LEFT characters of room: 3 octets per 4 of base64. */
static size_t msg_ew_take(const char *s, size_t n, size_t left)
{
	size_t room = left < MSG_EW_MAX ? left : MSG_EW_MAX;
	size_t most = room > MSG_EW_OVERHEAD ? (room - MSG_EW_OVERHEAD) / 4 * 3 : 0;
	size_t take = 0, c;

	while (take < n && take + (c = msg_utf8_len((const unsigned char *)s + take, n - take)) <= most)
		take += c;
	return take;
}

/* RFC 2047 5 (3): a phrase as B encoded-words of whole characters (each a
 * complete UTF-8 sequence, 6.3), the later ones each on a folded line. */
static int msg_fold_words(struct msg_fold *f, const char *s, size_t n, char *err, size_t errlen)
{
	size_t i = 0;

	while (i < n) {
		size_t take = msg_ew_take(s + i, n - i, f->left), b64len;
		char *b64 = NULL;

		if (i > 0 || take == 0) {
			msg_fold_break(f);
			msg_fold_add(f, " ", 1);
			take = msg_ew_take(s + i, n - i, f->left);
		}
		if (gsasl_base64_to(s + i, take, &b64, &b64len) != GSASL_OK) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		msg_fold_add(f, "=?UTF-8?B?", 10);
		msg_fold_add(f, b64, b64len);
		msg_fold_add(f, "?=", 2);
		free(b64);
		i += take;
	}
	return 0;
}

/* An ASCII phrase P (no CR or LF), folded before spaces; false when a word
 * is too long for a line. A line never holds white space alone. */
static bool msg_fold_plain(struct msg_fold *f, const char *p, size_t n)
{
	size_t start = 0;

	while (n - start > f->left) {
		size_t brk = 0, k;
		bool word = false;

		for (k = start; k < n && k - start <= f->left; k++) {
			if (p[k] == ' ' && word)
				brk = k;
			word = word || p[k] != ' ';
		}
		if (brk == 0)
			return false;
		msg_fold_add(f, p + start, brk - start);
		msg_fold_break(f);
		start = brk;
	}
	msg_fold_add(f, p + start, n - start);
	return true;
}

char *msg_name_addr(const char *name, const char *addr, size_t first_line_room, char *err,
		    size_t errlen)
{
	struct msg_fold f = { .left = first_line_room < MSG_LINE_FOLD ? first_line_room : MSG_LINE_FOLD };
	size_t n = strlen(name), alen = strlen(addr), i, c, o = 0;
	bool ascii = true, special = false, word = false;
	char *q = NULL;

	if (n > MSG_NAME_MAX) {
		snprintf(err, errlen, "the name is longer than %d octets", MSG_NAME_MAX);
		return NULL;
	}
	for (i = 0; i < n; i += c) {
		unsigned char b = (unsigned char)name[i];

		if ((c = msg_utf8_len((const unsigned char *)name + i, n - i)) == 0) {
			snprintf(err, errlen, "the name is not UTF-8 (octet %zu is 0x%02x)", i + 1, b);
			return NULL;
		}
		/* No CR or LF may reach the header, and no other control
		 * character has a place in a name. */
		if (b < 0x20 || b == 0x7f) {
			snprintf(err, errlen, "the name has a control character (octet %zu is 0x%02x)", i + 1, b);
			return NULL;
		}
		ascii = ascii && c == 1;
		special = special || (c == 1 && strchr("()<>[]:;@\\,.\"", b) != NULL);
		word = word || b != ' ';
	}
	if (n == 0) {
		msg_fold_add(&f, addr, alen);
		return f.p;
	}
	/* ASCII that looks like an encoded-word is encoded too, or a reader
	 * would decode it (RFC 2047 6.1). */
	if (ascii && strstr(name, "=?") == NULL) {
		/* RFC 5322 3.2.5: a phrase of atoms as it is, else a quoted-string */
		if (!special && word) {
			q = xstrdup(name);
			o = n;
		} else {
			q = xmalloc(2 * n + 3);
			q[o++] = '"';
			for (i = 0; i < n; i++) {
				if (name[i] == '"' || name[i] == '\\')
					q[o++] = '\\';
				q[o++] = name[i];
			}
			q[o++] = '"';
		}
		ascii = msg_fold_plain(&f, q, o);
		free(q);
		if (!ascii) {
			f.len = 0;
			f.left = first_line_room < MSG_LINE_FOLD ? first_line_room : MSG_LINE_FOLD;
		}
	} else {
		ascii = false;
	}
	if (!ascii && msg_fold_words(&f, name, n, err, errlen) != 0) {
		free(f.p);
		return NULL;
	}
	if (f.left < alen + 3)
		msg_fold_break(&f);
	msg_fold_add(&f, " <", 2);
	msg_fold_add(&f, addr, alen);
	msg_fold_add(&f, ">", 1);
	return f.p;
}

size_t msg_stuff(struct msg_stuffer *s, const char *in, size_t inlen, char *out)
{
	size_t i = 0, o = 0;

	while (i < inlen) {
		const char *nl;
		size_t n;

		if (!s->mid_line && in[i] == '.')
			out[o++] = '.';
		nl = memchr(in + i, '\n', inlen - i);
		n = nl != NULL ? (size_t)(nl - (in + i)) + 1 : inlen - i;
		memcpy(out + o, in + i, n);
		o += n;
		i += n;
		s->mid_line = nl == NULL;
	}
	return o;
}

void msg_format_date(const struct msg_time *t, char *buf, size_t len)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	long off = t->gmtoff_s / 60;

	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[(unsigned)t->wday % 7],
		 t->mday, months[(unsigned)t->mon % 12], t->year, t->hour, t->min, t->sec, off < 0 ? '-' : '+',
		 labs(off) / 60, labs(off) % 60);
}

void msg_format_msgid_left(const unsigned char *rnd, size_t rndlen, long long now, char *buf, size_t len)
{
	size_t i, o = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < rndlen && o + 3 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%02x", rnd[i]);
	if (o < len)
		snprintf(buf + o, len - o, ".%lld", now);
}
