/* test_message.c: line normalisation, the lone-dot rule, the header pass
 * and dot-stuffing, each also fed in two pieces split at every offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "message.h"

struct sinkbuf {
	char b[8192];
	size_t n;
};

static int test_sink(void *ctx, const char *buf, size_t len, char *err, size_t errlen)
{
	struct sinkbuf *s = ctx;
	(void)err;
	(void)errlen;
	assert_true(s->n + len <= sizeof s->b);
	memcpy(s->b + s->n, buf, len);
	s->n += len;
	return 0;
}

struct msg_row {
	const char *in;
	size_t inlen;        /* 0: strlen */
	bool ignore_dots;
	bool collect;
	const char *out;
	const char *rcpts;   /* comma-joined -t recipients */
	enum msg_status st;  /* of feed+finish */
};

#define ROW(in, dots, t, out, rc) { in, 0, dots, t, out, rc, MSG_OK }

static const struct msg_row msg_rows[] = {
	ROW("A: b\n\nbody\n", false, false, "A: b\r\n\r\nbody\r\n", ""),
	ROW("A: b\r\n\r\nbody\r\n", false, false, "A: b\r\n\r\nbody\r\n", ""),
	/* a bare CR ends a body line, but never a header line: there it is a
	 * space, so it cannot start a field (issue 11 item 6) */
	ROW("A: b\n\nx\ry\r", false, false, "A: b\r\n\r\nx\r\ny\r\n", ""),
	ROW("A: b\r\rbody\r", false, false, "A: b  body\r\n", ""),
	ROW("Subject: hello\rBcc: victim@x.example\nTo: a@x.example\n\nb\n", false, true,
	    "Subject: hello Bcc: victim@x.example\r\nTo: a@x.example\r\n\r\nb\r\n", "a@x.example"),
	ROW("To: a@x.example\r\rReply-To: evil@x.example\r\n\r\nb\rc\r\n", false, false,
	    "To: a@x.example  Reply-To: evil@x.example\r\n\r\nb\r\nc\r\n", ""),
	ROW("Subject: a\r\n b\rc\r\n\r\n", false, false, "Subject: a\r\n b c\r\n\r\n", ""),
	ROW("A: b\n\nno final newline", false, false, "A: b\r\n\r\nno final newline\r\n", ""),
	ROW("A: b\n\nx\r\r\ny\n", false, false, "A: b\r\n\r\nx\r\n\r\ny\r\n", ""),
	ROW("A: b\n\n.\nafter\n", false, false, "A: b\r\n\r\n", ""),
	ROW("A: b\n\n.\nafter\n", true, false, "A: b\r\n\r\n.\r\nafter\r\n", ""),
	ROW("A: b\n\n.\r\n", false, false, "A: b\r\n\r\n", ""),
	ROW("A: b\n\nx\n.", false, false, "A: b\r\n\r\nx\r\n", ""),
	ROW("A: b\n\n..\n.x\n", false, false, "A: b\r\n\r\n..\r\n.x\r\n", ""),
	ROW("A: b\n\n.\r\n", true, false, "A: b\r\n\r\n.\r\n", ""),
	ROW("A: b\n.\nafter\n", false, false, "A: b\r\n", ""),
	/* a body line right after the fields gets the empty line before it */
	ROW("A: b\nnot a field\n", false, false, "A: b\r\n\r\nnot a field\r\n", ""),
	ROW("no header at all\n", false, false, "no header at all\r\n", ""),
	ROW("To: a@x.example\nBcc: b@x.example\nSubject: s\n\nhi\n", false, false,
	    "To: a@x.example\r\nSubject: s\r\n\r\nhi\r\n", ""),
	ROW("To: a@x.example\nbcc: b@x.example,\n c@x.example\nSubject: s\n\nhi\n", false, true,
	    "To: a@x.example\r\nSubject: s\r\n\r\nhi\r\n", "a@x.example,b@x.example,c@x.example"),
	ROW("To: A <a@x.example>\nCc: c@x.example\nResent-To: r@x.example\nResent-Bcc: rb@x.example\n\nb\n",
	    false, true, "To: A <a@x.example>\r\nCc: c@x.example\r\nResent-To: r@x.example\r\n\r\nb\r\n",
	    "r@x.example,rb@x.example"),
	ROW("To: undisclosed-recipients:;\nBcc: hidden@x.example\n\nb\n", false, true,
	    "To: undisclosed-recipients:;\r\n\r\nb\r\n", "hidden@x.example"),
	ROW("From abc Mon Sep 17 00:00:00 2001\nFrom: a@x.example\n\nb\n", false, false,
	    "From: a@x.example\r\n\r\nb\r\n", ""),
	ROW("no header here\nsecond\n", false, false, "no header here\r\nsecond\r\n", ""),
	ROW("Subject: only headers", false, false, "Subject: only headers\r\n", ""),
	ROW("", false, false, "", ""),
	ROW("A: b\n\n\xc3\xa4\n", false, false, "A: b\r\n\r\n\xc3\xa4\r\n", ""),
};

static void run_row(const struct msg_row *row, size_t cut, size_t idx)
{
	struct sinkbuf sb = { .n = 0 };
	struct msg_opts o = { .ignore_dots = row->ignore_dots, .collect_rcpts = row->collect, .remove_bcc = true };
	struct msg_reader *r = msg_reader_new(&o, test_sink, &sb);
	size_t n = row->inlen ? row->inlen : strlen(row->in);
	char err[256] = "", joined[1024] = "";
	enum msg_status st;
	const struct addr_list *l;
	size_t i;

	if (cut > n)
		cut = n;
	st = msg_reader_feed(r, row->in, cut, err, sizeof err);
	if (st == MSG_OK)
		st = msg_reader_feed(r, row->in + cut, n - cut, err, sizeof err);
	if (st == MSG_OK)
		st = msg_reader_finish(r, err, sizeof err);
	if (st == MSG_END)
		st = MSG_OK;
	if (st != row->st)
		fail_msg("row %zu cut %zu: status %d (%s)", idx, cut, st, err);
	if (sb.n != strlen(row->out) || memcmp(sb.b, row->out, sb.n) != 0)
		fail_msg("row %zu cut %zu: got '%.*s'", idx, cut, (int)sb.n, sb.b);
	l = msg_reader_rcpts(r);
	for (i = 0; i < l->n; i++) {
		size_t have = strlen(joined);
		snprintf(joined + have, sizeof joined - have, "%s%s", i > 0 ? "," : "", l->v[i]);
	}
	if (strcmp(joined, row->rcpts) != 0)
		fail_msg("row %zu cut %zu: recipients '%s', expected '%s'", idx, cut, joined, row->rcpts);
	msg_reader_free(r);
}

static void test_reader_table_every_split(void **state)
{
	size_t i, cut;
	(void)state;
	for (i = 0; i < sizeof msg_rows / sizeof msg_rows[0]; i++)
		for (cut = 0; cut <= strlen(msg_rows[i].in); cut++)
			run_row(&msg_rows[i], cut, i);
}

static void test_reader_byte_by_byte(void **state)
{
	const char *in = "To: a@x.example\r\nBcc: b@x.example\r\n\r\n.\r\n..x\r\nend";
	struct sinkbuf sb = { .n = 0 };
	struct msg_opts o = { .ignore_dots = true, .collect_rcpts = true, .remove_bcc = true };
	struct msg_reader *r = msg_reader_new(&o, test_sink, &sb);
	char err[256];
	size_t i;
	(void)state;

	for (i = 0; in[i] != '\0'; i++)
		assert_int_equal(msg_reader_feed(r, in + i, 1, err, sizeof err), MSG_OK);
	assert_int_equal(msg_reader_finish(r, err, sizeof err), MSG_OK);
	assert_int_equal(sb.n, strlen("To: a@x.example\r\n\r\n.\r\n..x\r\nend\r\n"));
	assert_memory_equal(sb.b, "To: a@x.example\r\n\r\n.\r\n..x\r\nend\r\n", sb.n);
	msg_reader_free(r);
}

static void test_reader_long_header_line(void **state)
{
	char in[1100];
	struct sinkbuf sb = { .n = 0 };
	struct msg_opts o = { .ignore_dots = false, .collect_rcpts = false, .remove_bcc = true };
	struct msg_reader *r = msg_reader_new(&o, test_sink, &sb);
	char err[256] = "";
	(void)state;

	memset(in, 'x', sizeof in);
	memcpy(in, "Subject: ", 9);
	assert_int_equal(msg_reader_feed(r, in, sizeof in, err, sizeof err), MSG_ERROR);
	assert_string_equal(err, "header line 1 is longer than 998 octets");
	msg_reader_free(r);
}

static void test_reader_bad_address_with_t(void **state)
{
	const char *in = "To: \"unterminated <a@x.example>\n\nb\n";
	struct sinkbuf sb = { .n = 0 };
	struct msg_opts o = { .ignore_dots = false, .collect_rcpts = true, .remove_bcc = true };
	struct msg_reader *r = msg_reader_new(&o, test_sink, &sb);
	char err[256] = "";
	(void)state;

	assert_int_equal(msg_reader_feed(r, in, strlen(in), err, sizeof err), MSG_ERROR);
	assert_non_null(strstr(err, "To header: "));
	msg_reader_free(r);
}

static const char *from_of(const char *in, struct msg_reader **rp)
{
	static struct sinkbuf sb;
	struct msg_opts o = { .ignore_dots = false, .collect_rcpts = false, .remove_bcc = true };
	char err[256];

	sb.n = 0;
	*rp = msg_reader_new(&o, test_sink, &sb);
	assert_int_equal(msg_reader_feed(*rp, in, strlen(in), err, sizeof err), MSG_OK);
	assert_int_equal(msg_reader_finish(*rp, err, sizeof err), MSG_OK);
	return msg_reader_from(*rp);
}

/* The sender is Resent-From only when a resent block is at the top (below
 * trace fields), as RFC 5322 3.6.6 adds it; else From. */
static void test_reader_eightbit_and_from(void **state)
{
	struct msg_reader *r;
	(void)state;

	assert_string_equal(from_of("From: Al <al@x.example>\nResent-From: r@x.example\n\n\xe2\x82\xac\n", &r),
			    "al@x.example");
	assert_true(msg_reader_eightbit(r));
	msg_reader_free(r);
	assert_string_equal(from_of("Received: by x; Tue, 1 Dec 2026 10:00:00 +0000\nResent-From: r@x.example\n"
				    "Resent-To: t@x.example\nFrom: Al <al@x.example>\n\nb\n", &r),
			    "r@x.example");
	assert_false(msg_reader_eightbit(r));
	msg_reader_free(r);
	assert_string_equal(from_of("Resent-Date: x\nresent-from: <r@x.example>\nFrom: al@x.example\n\nb\n", &r),
			    "r@x.example");
	msg_reader_free(r);
}

/* Read IN with options O; the output must be WANT exactly. */
static void run_opts(const struct msg_opts *o, const char *in, const char *want)
{
	struct sinkbuf sb = { .n = 0 };
	struct msg_reader *r = msg_reader_new(o, test_sink, &sb);
	char err[256];

	assert_int_equal(msg_reader_feed(r, in, strlen(in), err, sizeof err), MSG_OK);
	assert_int_equal(msg_reader_finish(r, err, sizeof err), MSG_OK);
	if (sb.n != strlen(want) || memcmp(sb.b, want, sb.n) != 0)
		fail_msg("got '%.*s'", (int)sb.n, sb.b);
	msg_reader_free(r);
}

static void run_fixups(const char *in, enum msg_set_from sf, const char *want)
{
	struct msg_opts o = { .remove_bcc = true, .set_from = sf, .from_value = "A <a@x.example>",
			      .date = "Tue, 01 Dec 2026 10:00:00 +0000", .msgid_left = "id1" };
	run_opts(&o, in, want);
}

static void test_header_fixups(void **state)
{
	(void)state;
	/* nothing there: all three, at the end of the header block */
	run_fixups("Subject: s\n\nb\n", MSG_FROM_AUTO,
		   "Subject: s\r\nFrom: A <a@x.example>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
		   "Message-ID: <id1@localhost>\r\n\r\nb\r\n");
	/* all there (any case): nothing added; the Message-ID domain would be the From's */
	run_fixups("from: z@y.example\nDATE: x\nMessage-Id: <m@y>\n\nb\n", MSG_FROM_AUTO,
		   "from: z@y.example\r\nDATE: x\r\nMessage-Id: <m@y>\r\n\r\nb\r\n");
	/* From present, set_from on: replaced; Message-ID takes the From's domain */
	run_fixups("From: z@y.example\nDate: x\n\nb\n", MSG_FROM_ON,
		   "Date: x\r\nFrom: A <a@x.example>\r\nMessage-ID: <id1@y.example>\r\n\r\nb\r\n");
	/* no empty line before the body: the added fields stay in the header */
	run_fixups("Subject: s\nbody line\n", MSG_FROM_AUTO,
		   "Subject: s\r\nFrom: A <a@x.example>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
		   "Message-ID: <id1@localhost>\r\n\r\nbody line\r\n");
	run_fixups("just a body\n", MSG_FROM_AUTO,
		   "From: A <a@x.example>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
		   "Message-ID: <id1@localhost>\r\n\r\njust a body\r\n");
	/* set_from off: no From even when missing */
	run_fixups("Date: x\nMessage-ID: <m@y>\n\nb\n", MSG_FROM_OFF,
		   "Date: x\r\nMessage-ID: <m@y>\r\n\r\nb\r\n");
}

static void run_to(const char *in, const char *to_value, const char *want)
{
	struct msg_opts o = { .remove_bcc = true, .set_from = MSG_FROM_OFF, .undisclosed = true,
			      .to_value = to_value };
	run_opts(&o, in, want);
}

/* undisclosed_recipients / set_to_header: To, Cc and Bcc (any case,
 * folded) give way to one To field at the end of the header; Resent-To
 * and the body are left alone. */
static void test_to_replaced(void **state)
{
	(void)state;
	run_to("To: a@x\nSubject: s\ncc: c@x,\n d@x\n\nb\n", NULL,
	       "Subject: s\r\nTo: undisclosed-recipients:;\r\n\r\nb\r\n");
	run_to("Bcc: h@x\nResent-To: r@x\n\nTo: body@x\n", NULL,
	       "Resent-To: r@x\r\nTo: undisclosed-recipients:;\r\n\r\nTo: body@x\r\n");
	run_to("Subject: s\n\nb\n", "Hidden:;", "Subject: s\r\nTo: Hidden:;\r\n\r\nb\r\n");
}

struct dot_row {
	const char *in;
	unsigned line;       /* of the lone dot, 0: none */
	uint64_t after;      /* octets after it (issue 11 item 24) */
};

static const struct dot_row dot_rows[] = {
	{ "A: b\n\nx\n.\nafter\n", 4, 6 },
	{ "A: b\n\nx\n.\r\nafter", 4, 5 },
	{ "A: b\n\nx\n.\rafter", 4, 5 },
	{ "A: b\n.\nrest\n", 2, 5 },
	{ "A: b\n\nx\n.\n\n", 4, 1 },
	{ "A: b\n\nx\n.\n", 4, 0 },
	{ "A: b\n\nx\n.\r\n", 4, 0 },
	{ "A: b\n\nx\n.", 0, 0 },
	{ "A: b\n\nx\n.\r", 4, 0 },
	{ "A: b\n\nx\n..\nx\n", 0, 0 },
};

/* The bytes after the lone dot are counted however the input is cut. */
static void test_reader_after_dot(void **state)
{
	size_t i, cut;
	(void)state;

	for (i = 0; i < sizeof dot_rows / sizeof dot_rows[0]; i++) {
		const char *in = dot_rows[i].in;
		size_t n = strlen(in);

		for (cut = 0; cut <= n; cut++) {
			struct sinkbuf sb = { .n = 0 };
			struct msg_opts o = { .remove_bcc = true };
			struct msg_reader *r = msg_reader_new(&o, test_sink, &sb);
			char err[256];
			unsigned line = 99;
			uint64_t after;

			enum msg_status st = msg_reader_feed(r, in, cut, err, sizeof err);

			assert_int_not_equal(st, MSG_ERROR);
			if (st == MSG_END)
				assert_int_equal(msg_reader_feed(r, in + cut, n - cut, err, sizeof err), MSG_END);
			else if (msg_reader_feed(r, in + cut, n - cut, err, sizeof err) == MSG_OK)
				assert_int_not_equal(msg_reader_finish(r, err, sizeof err), MSG_ERROR);
			after = msg_reader_after_dot(r, &line);
			if (after != dot_rows[i].after || (dot_rows[i].line != 0 && line != dot_rows[i].line))
				fail_msg("row %zu cut %zu: line %u, %llu after", i, cut, line, (unsigned long long)after);
			msg_reader_free(r);
		}
	}
}

struct utf8_row {
	const char *in;
	bool remove_bcc;
	bool eightbit;       /* BODY=8BITMIME */
	bool smtputf8;       /* SMTPUTF8 (issue 11 item 22) */
};

static const struct utf8_row utf8_rows[] = {
	{ "Subject: s\n\nb\n", true, false, false },
	/* 8-bit outside addresses: 8BITMIME is enough */
	{ "Subject: Gr\xc3\xbc\xc3\x9f" "e\n\nb\n", true, true, false },
	{ "Subject: Latin-1 Gr\xfc\xdf" "e\n\nb\n", true, true, false },
	{ "Content-Disposition: attachment; filename=\"\xc3\xa4.txt\"\n\nb\n", true, true, false },
	{ "From: J\xc3\xb6rg <j@x.example>\nTo: \"M\xc3\xbcller, A\" <a@x.example>\n\nb\n", true, true, false },
	{ "To: a@x.example (J\xc3\xb6rg)\nCc: Gr\xc3\xbcppe: c@x.example;\n\nb\n", true, true, false },
	/* a non-ASCII addr-spec in an address field: SMTPUTF8 */
	{ "To: j\xc3\xb6rg@x.example\n\nb\n", true, true, true },
	{ "cc: A <a@x.example>,\n B <b@b\xc3\xbc" "cher.example>\n\nb\n", true, true, true },
	{ "Reply-To: j\xc3\xb6rg@x.example\n\nb\n", true, true, true },
	{ "Resent-Sender: j\xc3\xb6rg@x.example\n\nb\n", true, true, true },
	/* an address field that does not parse and has 8-bit octets */
	{ "From: \"J\xc3\xb6rg <j@x.example>\n\nb\n", true, true, true },
	/* a Bcc that is removed never reaches the server */
	{ "Bcc: j\xc3\xb6rg@x.example\n\nb\n", true, false, false },
	{ "Bcc: j\xc3\xb6rg@x.example\n\nb\n", false, true, true },
	/* 8-bit in the body only */
	{ "To: a@x.example\n\nj\xc3\xb6rg@x.example\n", true, true, false },
};

static void test_reader_smtputf8(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof utf8_rows / sizeof utf8_rows[0]; i++) {
		struct sinkbuf sb = { .n = 0 };
		struct msg_opts o = { .remove_bcc = utf8_rows[i].remove_bcc };
		struct msg_reader *r = msg_reader_new(&o, test_sink, &sb);
		char err[256];

		assert_int_equal(msg_reader_feed(r, utf8_rows[i].in, strlen(utf8_rows[i].in), err, sizeof err), MSG_OK);
		assert_int_equal(msg_reader_finish(r, err, sizeof err), MSG_OK);
		if (msg_reader_eightbit(r) != utf8_rows[i].eightbit ||
		    msg_reader_needs_smtputf8(r) != utf8_rows[i].smtputf8)
			fail_msg("row %zu: eightbit %d smtputf8 %d", i, msg_reader_eightbit(r),
				 msg_reader_needs_smtputf8(r));
		msg_reader_free(r);
	}
	/* an added From or To is an address field too */
	{
		struct sinkbuf sb = { .n = 0 };
		struct msg_opts o = { .set_from = MSG_FROM_AUTO, .from_value = "j\xc3\xb6rg@x.example" };
		struct msg_reader *r = msg_reader_new(&o, test_sink, &sb);
		char err[256];

		assert_int_equal(msg_reader_finish(r, err, sizeof err), MSG_OK);
		assert_true(msg_reader_needs_smtputf8(r));
		msg_reader_free(r);
	}
}

struct name_row {
	const char *name;
	size_t room;         /* first_line_room */
	const char *out;     /* NULL: refused, with ERR starting with err */
	const char *err;
};

static const struct name_row name_rows[] = {
	{ "", MSG_FROM_FIRST_ROOM, "a@x.example", NULL },
	{ "John Smith", MSG_FROM_FIRST_ROOM, "John Smith <a@x.example>", NULL },
	{ "Doe, \"J\" \\x", MSG_FROM_FIRST_ROOM, "\"Doe, \\\"J\\\" \\\\x\" <a@x.example>", NULL },
	{ "   ", MSG_FROM_FIRST_ROOM, "\"   \" <a@x.example>", NULL },
	{ "J\xc3\xb6rg M\xc3\xbcller", MSG_FROM_FIRST_ROOM, "=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <a@x.example>", NULL },
	/* looks like an encoded-word: encoded, so that it reads as written */
	{ "=?UTF-8?B?QQ==?=", MSG_FROM_FIRST_ROOM, "=?UTF-8?B?PT9VVEYtOD9CP1FRPT0/PQ==?= <a@x.example>", NULL },
	/* RFC 2047 2: the first word shares its line with "From: " (issue 11 item 31) */
	{ "J\xc3\xbcrgen M\xc3\xbcller-L\xc3\xbc" "denscheidt von und zu Gro\xc3\x9f" "herzogtum", MSG_FROM_FIRST_ROOM,
	  "=?UTF-8?B?SsO8cmdlbiBNw7xsbGVyLUzDvGRlbnNjaGVpZHQgdm9uIHVuZCB6dSBH?=\r\n"
	  " =?UTF-8?B?cm/Dn2hlcnpvZ3R1bQ==?= <a@x.example>", NULL },
	/* no room on the first line: the first word goes to the next */
	{ "J\xc3\xb6rg", 3, "\r\n =?UTF-8?B?SsO2cmc=?= <a@x.example>", NULL },
	/* long ASCII folds before a space; the address goes where it fits */
	{ "A very long ascii name that goes on and on and on and on and with more words", MSG_FROM_FIRST_ROOM,
	  "A very long ascii name that goes on and on and on and on and with more\r\n words <a@x.example>", NULL },
	{ "abcdefghij", 20, "abcdefghij\r\n <a@x.example>", NULL },
	/* a word too long for any line: encoded-words, which can be split */
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", MSG_FROM_FIRST_ROOM,
	  "=?UTF-8?B?eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4?=\r\n"
	  " =?UTF-8?B?eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eA==?=\r\n <a@x.example>", NULL },
	/* issue 11 item 1: bytes that are not UTF-8, and control characters */
	{ "a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80", MSG_FROM_FIRST_ROOM, NULL,
	  "the name is not UTF-8 (octet 2 is 0x80)" },
	{ "\x80name", MSG_FROM_FIRST_ROOM, NULL, "the name is not UTF-8 (octet 1 is 0x80)" },
	{ "Latin-1 J\xf6rg", MSG_FROM_FIRST_ROOM, NULL, "the name is not UTF-8 (octet 10 is 0xf6)" },
	{ "cut \xc3", MSG_FROM_FIRST_ROOM, NULL, "the name is not UTF-8 (octet 5 is 0xc3)" },
	{ "overlong \xc0\xaf", MSG_FROM_FIRST_ROOM, NULL, "the name is not UTF-8 (octet 10 is 0xc0)" },
	{ "surrogate \xed\xa0\x80", MSG_FROM_FIRST_ROOM, NULL, "the name is not UTF-8 (octet 11 is 0xed)" },
	{ "too high \xf4\x90\x80\x80", MSG_FROM_FIRST_ROOM, NULL, "the name is not UTF-8 (octet 10 is 0xf4)" },
	{ "tab\there", MSG_FROM_FIRST_ROOM, NULL, "the name has a control character (octet 4 is 0x09)" },
	{ "cr\rBcc: x@y", MSG_FROM_FIRST_ROOM, NULL, "the name has a control character (octet 3 is 0x0d)" },
	{ "J\xc3\xb6rg\x1b[31m", MSG_FROM_FIRST_ROOM, NULL, "the name has a control character (octet 6 is 0x1b)" },
};

static void test_name_addr(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof name_rows / sizeof name_rows[0]; i++) {
		const struct name_row *row = &name_rows[i];
		char err[256] = "";
		char *got = msg_name_addr(row->name, "a@x.example", row->room, err, sizeof err);

		if (row->out == NULL) {
			if (got != NULL || strcmp(err, row->err) != 0)
				fail_msg("row %zu: got '%s', error '%s'", i, got != NULL ? got : "(null)", err);
			continue;
		}
		if (got == NULL || strcmp(got, row->out) != 0)
			fail_msg("row %zu: got '%s' (%s)", i, got != NULL ? got : "(null)", err);
		free(got);
	}
}

/* Every line of an encoded name fits: the first within the room left by
 * "From: ", the others within 76 (RFC 2047 2), for every length. */
static void test_name_addr_line_lengths(void **state)
{
	char name[400];
	size_t n, k;
	(void)state;

	for (n = 1; n + 2 < sizeof name; n += 2) {
		char err[256], *got, *line;
		size_t first = 1;

		for (k = 0; k + 2 <= n; k += 2)
			memcpy(name + k, "\xc3\xa9", 2);
		name[k] = '\0';
		got = msg_name_addr(name, "a@x.example", MSG_FROM_FIRST_ROOM, err, sizeof err);
		assert_non_null(got);
		for (line = got; line != NULL; first = 0) {
			char *end = strstr(line, "\r\n");
			size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
			if (len > (first ? MSG_FROM_FIRST_ROOM : 76))
				fail_msg("%zu octets: a line of %zu: '%s'", n, len, got);
			line = end != NULL ? end + 2 : NULL;
		}
		free(got);
	}
}

/* Dot-stuffing in two pieces split at every offset equals one piece. */
static void test_stuff_every_split(void **state)
{
	const char *in = ".a\r\nb\r\n.\r\n..\r\nc.d\r\n.";
	const char *want = "..a\r\nb\r\n..\r\n...\r\nc.d\r\n..";
	size_t n = strlen(in), cut;
	(void)state;

	for (cut = 0; cut <= n; cut++) {
		struct msg_stuffer st = { false };
		char out[128];
		size_t o = msg_stuff(&st, in, cut, out);
		o += msg_stuff(&st, in + cut, n - cut, out + o);
		assert_int_equal(o, strlen(want));
		assert_memory_equal(out, want, o);
	}
}

/* RFC 5322 3.3 dates and 3.6.4 Message-ID left parts, with the clock and
 * the random bytes handed in. */
static void test_format_date_and_msgid(void **state)
{
	static const struct {
		struct msg_time t;
		const char *want;
	} rows[] = {
		{ { .year = 2026, .mon = 11, .mday = 1, .wday = 2, .hour = 10, .gmtoff_s = 3600 },
		  "Tue, 01 Dec 2026 10:00:00 +0100" },
		{ { .year = 1999, .mon = 0, .mday = 31, .wday = 0, .hour = 23, .min = 59, .sec = 59, .gmtoff_s = -12600 },
		  "Sun, 31 Jan 1999 23:59:59 -0330" },
		{ { .year = 2030, .mon = 5, .mday = 9, .wday = 6, .gmtoff_s = 0 }, "Sat, 09 Jun 2030 00:00:00 +0000" },
		/* out-of-range fields from a broken clock never index past the tables */
		{ { .year = 2030, .mon = 12, .mday = 9, .wday = 7 }, "Sun, 09 Jan 2030 00:00:00 +0000" },
	};
	static const unsigned char rnd[3] = { 0x00, 0xab, 0xff };
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		msg_format_date(&rows[i].t, buf, sizeof buf);
		assert_string_equal(buf, rows[i].want);
	}
	msg_format_msgid_left(rnd, sizeof rnd, 1796115600, buf, sizeof buf);
	assert_string_equal(buf, "00abff.1796115600");
	msg_format_msgid_left(rnd, sizeof rnd, 1796115600, buf, 5);
	assert_string_equal(buf, "00.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_date_and_msgid),
		cmocka_unit_test(test_reader_table_every_split),
		cmocka_unit_test(test_reader_byte_by_byte),
		cmocka_unit_test(test_reader_long_header_line),
		cmocka_unit_test(test_reader_bad_address_with_t),
		cmocka_unit_test(test_reader_eightbit_and_from),
		cmocka_unit_test(test_header_fixups),
		cmocka_unit_test(test_to_replaced),
		cmocka_unit_test(test_stuff_every_split),
		cmocka_unit_test(test_reader_smtputf8),
		cmocka_unit_test(test_reader_after_dot),
		cmocka_unit_test(test_name_addr),
		cmocka_unit_test(test_name_addr_line_lengths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
