/* test_smtpd.c: the server engine of -bs between two in-memory peers, as
 * tables of conversations: client bytes in (step by step, as one
 * pipelined feed, and split at every byte), the exact reply bytes and
 * their grouping into writes, and what the driver was asked to do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtpd.h"

#define G "220 mx.test ESMTP kurier\r\n"
#define EHLO_R "250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-SIZE\r\n" \
	       "250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n"
#define HELLO "EHLO client.test\r\n"
#define OK_MAIL "250 2.1.0 sender ok\r\n"
#define OK_RCPT "250 2.1.5 recipient ok\r\n"
#define GO "354 end data with <CR><LF>.<CR><LF>\r\n"
#define QUEUED "250 2.0.0 queued\r\n"
#define BYE "221 2.0.0 bye\r\n"
#define OK "250 2.0.0 ok\r\n"
#define SEQ "503 5.5.1 "
#define TXN "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n"

struct verdict {
	int code;
	const char *enh;
	const char *text;
};

struct conv {
	const char *name;
	const char *in[10];         /* fed one per READ; then the input ends */
	uint64_t size_max;
	size_t rcpts_max;
	const char *out;            /* every write, '|' between writes */
	const char *events;         /* <from|rcpt,...>{data} per message, {dropped}, DONE or ABORTED */
	struct verdict verdict[3];  /* for the messages in turn; then 250 2.0.0 queued */
};

static const struct conv convs[] = {
	{ "lock-step session",
	  { HELLO, "MAIL FROM:<alice@example.org>\r\n", "RCPT TO:<bob@example.org>\r\n", "DATA\r\n",
	    "Subject: hi\r\n\r\nHello\r\n.\r\n", "QUIT\r\n" },
	  0, 0, G "|" EHLO_R "|" OK_MAIL "|" OK_RCPT "|" GO "|" QUEUED "|" BYE,
	  "<alice@example.org|bob@example.org>{Subject: hi\r\n\r\nHello\r\n}DONE", { { 0 } } },
	{ "a pipelined group gets one write",
	  { HELLO, "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n",
	    "x\r\n.\r\n", "QUIT\r\n" },
	  0, 0, G "|" EHLO_R "|" OK_MAIL OK_RCPT OK_RCPT GO "|" QUEUED "|" BYE,
	  "<a@x.test|b@y.test,c@y.test>{x\r\n}DONE", { { 0 } } },
	{ "everything in one feed: replies before 354 in one write, the rest in another",
	  { HELLO TXN "x\r\n.\r\nQUIT\r\n" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO "|" QUEUED BYE, "<a@x.test|b@y.test>{x\r\n}DONE", { { 0 } } },
	{ "dot-stuffing removed, only a lone dot ends the data",
	  { HELLO TXN, "..leading\r\n.x\r\n...\r\n. \r\n.\r\n", "QUIT\r\n" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO "|" QUEUED "|" BYE,
	  "<a@x.test|b@y.test>{.leading\r\nx\r\n..\r\n \r\n}DONE", { { 0 } } },
	{ "bare LF and bare CR pass as data and never end it",
	  { HELLO TXN, "a\nb\rc\r\n.\n.\r\n", "\r.\r\n.\r\r\n.\r\n", "QUIT\r\n" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO "|" QUEUED "|" BYE,
	  "<a@x.test|b@y.test>{a\nb\rc\r\n\n.\r\n\r.\r\n\r\r\n}DONE", { { 0 } } },
	{ "an empty message", { HELLO TXN, ".\r\n", "QUIT\r\n" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO "|" QUEUED "|" BYE, "<a@x.test|b@y.test>{}DONE", { { 0 } } },
	{ "two messages; the envelope resets after the first",
	  { HELLO TXN, "one\r\n.\r\n", "RCPT TO:<c@y.test>\r\n", "MAIL FROM:<>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n",
	    "two\r\n.\r\n", "QUIT\r\n" },
	  0, 0,
	  G "|" EHLO_R OK_MAIL OK_RCPT GO "|" QUEUED "|" SEQ "need MAIL before RCPT\r\n|" OK_MAIL OK_RCPT GO
	  "|550-5.1.1 no such user\r\n550 5.1.1 second line\r\n|" BYE,
	  "<a@x.test|b@y.test>{one\r\n}<|c@y.test>{two\r\n}DONE",
	  { { 250, "2.0.0", "queued" }, { 550, "5.1.1", "no such user\nsecond line" } } },
	{ "an upstream deferral keeps its class; bad octets in its text become '?'",
	  { HELLO TXN, ".\r\n" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO "|451 4.7.1 try \x3f later\x3f\r\n",
	  "<a@x.test|b@y.test>{}DONE", { { 421, "4.7.1", "try \x01 later\xff" } } },
	{ "a verdict that is no valid reply is a local temporary failure",
	  { HELLO TXN, ".\r\n" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO "|451 4.3.0 odd\r\n", "<a@x.test|b@y.test>{}DONE",
	  { { 354, "2.0.0", "odd" } } },
	{ "an enhanced code of another class is replaced; an empty text gets one",
	  { HELLO TXN, ".\r\n" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO "|554 5.0.0 message refused\r\n", "<a@x.test|b@y.test>{}DONE",
	  { { 554, "4.1.1", "" } } },
	{ "commands out of order",
	  { "MAIL FROM:<a@x.test>\r\n", HELLO "RCPT TO:<b@y.test>\r\nDATA\r\n",
	    "MAIL FROM:<a@x.test>\r\nMAIL FROM:<a@x.test>\r\nDATA\r\n", "QUIT\r\n" },
	  0, 0,
	  G "|" SEQ "send EHLO or HELO first\r\n|" EHLO_R SEQ "need MAIL before RCPT\r\n" SEQ "need MAIL before DATA\r\n|"
	  OK_MAIL SEQ "nested MAIL command\r\n554 5.5.1 no valid recipients\r\n|" BYE,
	  "DONE", { { 0 } } },
	{ "syntax errors",
	  { "EHLO\r\n", "HELO\r\n", HELLO, "MAIL FROM:a@x.test\r\n", "MAIL TO:<a@x.test>\r\n",
	    "MAIL FROM:<a@@x>\r\n", "MAIL FROM:<a@x.test>x\r\n", "MAIL FROM:<a@x.test>\r\nRCPT TO:<>\r\n",
	    "RCPT TO:<b@y.test>\r\nDATA now\r\nRSET x\r\nQUIT now\r\nVRFY\r\n" },
	  0, 0,
	  G "|501 5.5.4 EHLO needs a domain name or address literal\r\n|"
	  "501 5.5.4 HELO needs a domain name or address literal\r\n|" EHLO_R
	  "|501 5.5.4 syntax: MAIL FROM:<address>\r\n|501 5.5.4 syntax: MAIL FROM:<address>\r\n"
	  "|501 5.1.7 bad sender address syntax\r\n|501 5.5.4 syntax: MAIL FROM:<address>\r\n"
	  "|" OK_MAIL "501 5.1.3 bad recipient address syntax\r\n|" OK_RCPT "501 5.5.4 DATA takes no argument\r\n"
	  "501 5.5.4 RSET takes no argument\r\n501 5.5.4 QUIT takes no argument\r\n501 5.5.4 VRFY needs an argument\r\n",
	  "DONE", { { 0 } } },
	{ "unknown and unimplemented commands; VRFY, HELP, NOOP with a string",
	  { "FOO bar\r\nSTARTTLS\r\nAUTH PLAIN AGEAYg==\r\nexpn list\r\nVRFY bob\r\nHELP\r\nnoop hello\r\n" },
	  0, 0,
	  G "|500 5.5.2 command not recognised\r\n502 5.5.1 STARTTLS not implemented\r\n"
	  "502 5.5.1 AUTH not implemented\r\n502 5.5.1 EXPN not implemented\r\n"
	  "252 2.5.0 cannot verify; send the message and it will be tried\r\n"
	  "214 2.0.0 commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n" OK,
	  "DONE", { { 0 } } },
	{ "a bare LF ends no command: it is refused, CRLF is asked for",
	  { "EHLO client.test\n", "NOOP\r\n" },
	  0, 0, G "|500 5.5.2 line ends in a bare LF; end command lines with CRLF\r\n|" OK, "DONE", { { 0 } } },
	{ "a bare CR in a command line is refused",
	  { "NOOP a\rb\r\n" }, 0, 0, G "|500 5.5.2 NUL or CR in a command line\r\n", "DONE", { { 0 } } },
	{ "SIZE advertised and enforced at MAIL",
	  { HELLO, "MAIL FROM:<a@x.test> SIZE=1001\r\n", "MAIL FROM:<a@x.test> SIZE=1x\r\n",
	    "MAIL FROM:<a@x.test> SIZE=1000\r\n" },
	  1000, 0,
	  G "|250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-SIZE 1000\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n|552 5.3.4 message size exceeds fixed maximum message size\r\n"
	  "|501 5.5.4 syntax error in MAIL parameters\r\n|" OK_MAIL,
	  "DONE", { { 0 } } },
	{ "a message over the SIZE limit is read to its end and refused; the session goes on",
	  { HELLO TXN, "0123456789\r\n0123456789\r\n", "0123456789\r\n.\r\n", "NOOP\r\n" },
	  30, 0,
	  G "|250-mx.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-SIZE 30\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250 DSN\r\n" OK_MAIL OK_RCPT GO
	  "|552 5.3.4 message size exceeds fixed maximum message size\r\n|" OK,
	  "{dropped}DONE", { { 0 } } },
	{ "too many recipients: 452, the accepted ones stay",
	  { HELLO "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nRCPT TO:<d@y.test>\r\nDATA\r\n",
	    ".\r\n" },
	  0, 2, G "|" EHLO_R OK_MAIL OK_RCPT OK_RCPT "452 4.5.3 too many recipients\r\n" GO "|" QUEUED,
	  "<a@x.test|b@y.test,c@y.test>{}DONE", { { 0 } } },
	{ "parameters: unknown ones 555, none after HELO, no repeats",
	  { HELLO "MAIL FROM:<a@x.test> FOO=1\r\nMAIL FROM:<a@x.test> BODY=BINARYMIME\r\n"
		  "MAIL FROM:<a@x.test> RET=FULL RET=HDRS\r\nMAIL FROM:<a@x.test> ENVID=a+2\r\n"
		  "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test> NOTIFY=NEVER,DELAY\r\n"
		  "RCPT TO:<b@y.test> ORCPT=rfc822\r\nRCPT TO:<b@y.test> XYZ\r\n",
	    "HELO client.test\r\nMAIL FROM:<a@x.test> SIZE=10\r\n" },
	  0, 0,
	  G "|" EHLO_R "555 5.5.4 MAIL parameter not recognised or not implemented\r\n"
	  "555 5.5.4 MAIL parameter not recognised or not implemented\r\n"
	  "501 5.5.4 syntax error in MAIL parameters\r\n501 5.5.4 syntax error in MAIL parameters\r\n" OK_MAIL
	  "501 5.5.4 syntax error in RCPT parameters\r\n501 5.5.4 syntax error in RCPT parameters\r\n"
	  "555 5.5.4 RCPT parameter not recognised or not implemented\r\n"
	  "|250 mx.test\r\n555 5.5.4 parameters need EHLO\r\n",
	  "DONE", { { 0 } } },
	{ "a non-ASCII address needs SMTPUTF8",
	  { HELLO "MAIL FROM:<j\xc3\xb6rg@x.test>\r\nMAIL FROM:<j\xc3\xb6rg@x.test> SMTPUTF8\r\n"
		  "RCPT TO:<\xc3\xa5@y.test>\r\nDATA\r\n",
	    ".\r\n" },
	  0, 0, G "|" EHLO_R "553 5.6.7 non-ASCII sender address needs SMTPUTF8\r\n" OK_MAIL OK_RCPT GO "|" QUEUED,
	  "<j\xc3\xb6rg@x.test|\xc3\xa5@y.test>{}DONE", { { 0 } } },
	{ "source routes dropped, quoted local parts kept, postmaster alone taken",
	  { HELLO "MAIL FROM: <@a.test,@b.test:a@x.test>\r\nRCPT TO:<\"b>c d\"@y.test>\r\n"
		  "rcpt to:<Postmaster>\r\nDATA\r\n",
	    ".\r\n" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT OK_RCPT GO "|" QUEUED,
	  "<a@x.test|\"b>c d\"@y.test,Postmaster>{}DONE", { { 0 } } },
	{ "RSET and EHLO end a transaction",
	  { HELLO "MAIL FROM:<a@x.test>\r\nRSET\r\nRCPT TO:<b@y.test>\r\nMAIL FROM:<a@x.test>\r\n"
		  "EHLO again.test\r\nDATA\r\n" },
	  0, 0, G "|" EHLO_R OK_MAIL OK SEQ "need MAIL before RCPT\r\n" OK_MAIL EHLO_R SEQ "need MAIL before DATA\r\n",
	  "DONE", { { 0 } } },
	{ "the input ends inside the data: the message is not submitted",
	  { HELLO TXN, "Subject: cut\r\n\r\nhalf a mess" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO, "ABORTED", { { 0 } } },
	{ "the input ends after a dot and CR: still not submitted",
	  { HELLO TXN, "x\r\n.\r" }, 0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO, "ABORTED", { { 0 } } },
	{ "the input ends without QUIT after a message: done, not aborted",
	  { HELLO TXN, "x\r\n.\r\nNOOP" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO "|" QUEUED, "<a@x.test|b@y.test>{x\r\n}DONE", { { 0 } } },
	{ "nothing is read after QUIT",
	  { "QUIT\r\nNOOP\r\n", "NOOP\r\n" }, 0, 0, G "|" BYE, "DONE", { { 0 } } },
	{ "a pipelined group that sends data without waiting for 354",
	  { HELLO TXN "x\r\n.\r\n" TXN "y\r\n.\r\nQUIT\r\n" },
	  0, 0, G "|" EHLO_R OK_MAIL OK_RCPT GO "|" QUEUED OK_MAIL OK_RCPT GO "|" QUEUED BYE,
	  "<a@x.test|b@y.test>{x\r\n}<a@x.test|b@y.test>{y\r\n}DONE", { { 0 } } },
	{ "data refused (no recipients): what follows is read as commands",
	  { HELLO "MAIL FROM:<a@x.test>\r\nRCPT TO:<>\r\nDATA\r\nhello\r\n.\r\n" },
	  0, 0,
	  G "|" EHLO_R OK_MAIL "501 5.1.3 bad recipient address syntax\r\n554 5.5.1 no valid recipients\r\n"
	  "500 5.5.2 command not recognised\r\n500 5.5.2 command not recognised\r\n",
	  "DONE", { { 0 } } },
};

struct run {
	char out[65536];
	size_t outlen;
	char events[65536];
	size_t evlen;
	unsigned writes;
};

static void add(char *b, size_t *len, size_t max, const char *s, size_t n)
{
	assert_true(*len + n < max);
	memcpy(b + *len, s, n);
	*len += n;
	b[*len] = '\0';
}

static void add_envelope(struct run *r, const struct smtpd_envelope *e)
{
	size_t i;

	add(r->events, &r->evlen, sizeof r->events, "<", 1);
	add(r->events, &r->evlen, sizeof r->events, e->from, strlen(e->from));
	add(r->events, &r->evlen, sizeof r->events, "|", 1);
	for (i = 0; i < e->nrcpt; i++) {
		if (i > 0)
			add(r->events, &r->evlen, sizeof r->events, ",", 1);
		add(r->events, &r->evlen, sizeof r->events, e->rcpt[i].addr, strlen(e->rcpt[i].addr));
	}
	add(r->events, &r->evlen, sizeof r->events, ">{", 2);
}

/* Drive the engine as a driver would over IN[0..LEN): STEP bytes per READ
 * (0: the chunks of C, one per READ). SEPARATE puts '|' between writes. */
static void drive(const struct conv *c, const char *in, size_t len, size_t step, bool separate,
		  struct run *r)
{
	struct smtpd_params p = { "mx.test", c->size_max, c->rcpts_max, 0, false };
	struct smtpd *s = smtpd_new(&p);
	size_t off = 0, chunk = 0, nverdict = 0, steps = 0;
	bool running = true;

	memset(r, 0, sizeof *r);
	while (running) {
		const char *b;
		size_t n;

		assert_true(steps++ < 1000000);
		switch (smtpd_next(s)) {
		case SMTPD_WRITE:
			smtpd_output(s, &b, &n);
			assert_true(n > 0);
			if (separate && r->writes > 0)
				add(r->out, &r->outlen, sizeof r->out, "|", 1);
			add(r->out, &r->outlen, sizeof r->out, b, n);
			r->writes++;
			smtpd_output_sent(s);
			break;
		case SMTPD_READ:
			if (step == 0 && chunk < sizeof c->in / sizeof c->in[0] && c->in[chunk] != NULL) {
				n = strlen(c->in[chunk++]);
				assert_int_equal(smtpd_feed(s, c->in[chunk - 1], n), n);
			} else if (step > 0 && off < len) {
				n = len - off < step ? len - off : step;
				assert_int_equal(smtpd_feed(s, in + off, n), n);
				off += n;
			} else {
				smtpd_eof(s);
			}
			break;
		case SMTPD_MESSAGE_DATA:
			if (r->evlen == 0 || r->events[r->evlen - 1] == '}')
				add_envelope(r, smtpd_envelope(s));
			smtpd_message_data(s, &b, &n);
			assert_true(n > 0 && n <= SMTPD_DATA_CHUNK);
			add(r->events, &r->evlen, sizeof r->events, b, n);
			smtpd_message_taken(s);
			break;
		case SMTPD_MESSAGE_END: {
			struct verdict v = { 250, "2.0.0", "queued" };
			if (r->evlen == 0 || r->events[r->evlen - 1] == '}')
				add_envelope(r, smtpd_envelope(s));
			add(r->events, &r->evlen, sizeof r->events, "}", 1);
			if (nverdict < 3 && c->verdict[nverdict].code != 0)
				v = c->verdict[nverdict];
			nverdict++;
			smtpd_verdict(s, v.code, v.enh, v.text);
			break;
		}
		case SMTPD_MESSAGE_DROP:
			/* whatever was streamed is discarded */
			if (r->evlen > 0 && r->events[r->evlen - 1] != '}') {
				char *open = strrchr(r->events, '<');
				r->evlen = (size_t)(open - r->events);
			}
			add(r->events, &r->evlen, sizeof r->events, "{dropped}", 9);
			break;
		case SMTPD_DONE: {
			const char *d = smtpd_aborted(s) ? "ABORTED" : "DONE";
			if (smtpd_aborted(s) && r->evlen > 0 && r->events[r->evlen - 1] != '}') {
				char *open = strrchr(r->events, '<');
				r->evlen = (size_t)(open - r->events);
			}
			add(r->events, &r->evlen, sizeof r->events, d, strlen(d));
			running = false;
			break;
		}
		}
	}
	smtpd_free(s);
}

/* WANT without the '|' between writes. */
static void unseparate(const char *want, char *buf, size_t max)
{
	size_t n = 0;

	for (; *want != '\0' && n + 1 < max; want++)
		if (*want != '|')
			buf[n++] = *want;
	buf[n] = '\0';
}

static void check(const struct conv *c, const struct run *r, const char *how, const char *want_out)
{
	if (strcmp(r->out, want_out) != 0)
		fail_msg("%s (%s): replies\n'%s'\nexpected\n'%s'", c->name, how, r->out, want_out);
	if (strcmp(r->events, c->events) != 0)
		fail_msg("%s (%s): events\n'%s'\nexpected\n'%s'", c->name, how, r->events, c->events);
}

static void test_conversations(void **state)
{
	static struct run r;
	static char all[65536], flat[65536];
	size_t i, k, steps[] = { 1, 2, 3, 7, 64, 65536 };
	(void)state;

	for (i = 0; i < sizeof convs / sizeof convs[0]; i++) {
		const struct conv *c = &convs[i];
		size_t len = 0;

		drive(c, NULL, 0, 0, true, &r);
		check(c, &r, "step by step", c->out);
		/* the same bytes in any split: the same replies and messages */
		for (k = 0; k < sizeof c->in / sizeof c->in[0] && c->in[k] != NULL; k++)
			add(all, &len, sizeof all, c->in[k], strlen(c->in[k]));
		unseparate(c->out, flat, sizeof flat);
		for (k = 0; k < sizeof steps / sizeof steps[0]; k++) {
			char how[32];
			snprintf(how, sizeof how, "split every %zu bytes", steps[k]);
			drive(c, all, len, steps[k], false, &r);
			check(c, &r, how, flat);
		}
	}
}

/* A group split at every byte: a reply goes out as soon as the line it
 * answers is complete, since no further complete line waits. */
static void test_group_split_at_every_byte(void **state)
{
	static struct run r;
	static const char group[] = HELLO "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n";
	struct conv c = { "split group", { NULL }, 0, 0, NULL, NULL, { { 0 } } };
	(void)state;

	drive(&c, group, sizeof group - 1, 1, true, &r);
	assert_string_equal(r.out, G "|" EHLO_R "|" OK_MAIL "|" OK_RCPT "|" GO);
	assert_string_equal(r.events, "ABORTED");
	drive(&c, group, sizeof group - 1, sizeof group, true, &r);
	assert_string_equal(r.out, G "|" EHLO_R OK_MAIL OK_RCPT GO);
	assert_int_equal(r.writes, 2);
}

static void feed_all(struct smtpd *s, const char *in, size_t len)
{
	assert_int_equal(smtpd_next(s), SMTPD_READ);
	assert_int_equal(smtpd_feed(s, in, len), len);
}

static void expect_write(struct smtpd *s, const char *want)
{
	const char *b;
	size_t n;

	assert_int_equal(smtpd_next(s), SMTPD_WRITE);
	smtpd_output(s, &b, &n);
	if (n != strlen(want) || memcmp(b, want, n) != 0)
		fail_msg("wrote '%.*s', expected '%s'", (int)n, b, want);
	smtpd_output_sent(s);
}

static struct smtpd *greeted(uint64_t size_max)
{
	struct smtpd_params p = { "mx.test", size_max, 0, 0, false };
	struct smtpd *s = smtpd_new(&p);

	expect_write(s, G);
	return s;
}

/* What MAIL and RCPT carry reaches the envelope, decoded where it must be. */
static void test_envelope_parameters(void **state)
{
	static const char in[] =
		HELLO "MAIL FROM:<a@x.test> size=1234 body=8bitmime SMTPUTF8 ret=hdrs ENVID=q+2B1+3Dx\r\n"
		"RCPT TO:<b@y.test> notify=failure,delay ORCPT=rfc822;b+40y.test\r\n"
		"RCPT TO:<c@y.test>\r\nDATA\r\n";
	struct smtpd *s = greeted(0);
	const struct smtpd_envelope *e;
	(void)state;

	feed_all(s, in, sizeof in - 1);
	expect_write(s, EHLO_R OK_MAIL OK_RCPT OK_RCPT GO);
	e = smtpd_envelope(s);
	assert_string_equal(e->from, "a@x.test");
	assert_true(e->has_size);
	assert_int_equal(e->size, 1234);
	assert_int_equal(e->body, SMTPD_BODY_8BITMIME);
	assert_true(e->smtputf8);
	assert_string_equal(e->ret, "HDRS");
	assert_string_equal(e->envid, "q+1=x");
	assert_int_equal(e->nrcpt, 2);
	assert_string_equal(e->rcpt[0].notify, "FAILURE,DELAY");
	assert_string_equal(e->rcpt[0].orcpt, "rfc822;b+40y.test");
	assert_null(e->rcpt[1].notify);
	assert_null(e->rcpt[1].orcpt);
	smtpd_free(s);
}

/* With one_notify, a RCPT asking for another NOTIFY than the first
 * recipient (in any order of the words, or none at all) is deferred to a
 * further transaction, never accepted with a NOTIFY it did not ask for. */
static void test_one_notify(void **state)
{
	static const char in[] =
		HELLO "MAIL FROM:<a@x.test>\r\n"
		"RCPT TO:<b@y.test> NOTIFY=SUCCESS,FAILURE\r\n"
		"RCPT TO:<c@y.test>\r\n"
		"RCPT TO:<d@y.test> NOTIFY=NEVER\r\n"
		"RCPT TO:<e@y.test> notify=failure,success\r\nDATA\r\n";
	struct smtpd_params p = { "mx.test", 0, 0, 0, true };
	struct smtpd *s = smtpd_new(&p);
	const struct smtpd_envelope *e;
	(void)state;

	expect_write(s, G);
	feed_all(s, in, sizeof in - 1);
	expect_write(s, EHLO_R OK_MAIL OK_RCPT "452 4.5.3 a recipient with another NOTIFY goes in a further "
		     "transaction\r\n452 4.5.3 a recipient with another NOTIFY goes in a further transaction\r\n"
		     OK_RCPT GO);
	e = smtpd_envelope(s);
	assert_int_equal(e->nrcpt, 2);
	assert_string_equal(e->rcpt[0].addr, "b@y.test");
	assert_string_equal(e->rcpt[1].addr, "e@y.test");
	assert_string_equal(e->rcpt[1].notify, "FAILURE,SUCCESS");
	smtpd_free(s);
}

/* A NUL anywhere in a command line is refused; the session goes on. */
static void test_nul_in_command(void **state)
{
	static const char in[] = "NOOP a\0b\r\nMAIL FROM:<a\0@x>\r\nNOOP\r\n";
	struct smtpd *s = greeted(0);
	(void)state;

	feed_all(s, in, sizeof in - 1);
	expect_write(s, "500 5.5.2 NUL or CR in a command line\r\n500 5.5.2 NUL or CR in a command line\r\n" OK);
	smtpd_free(s);
}

/* RFC 5321 4.5.3.1.4: 512 octets with CRLF; MAIL and RCPT have the room
 * their extensions add. A longer line is read to its end and refused. */
static void test_line_limits(void **state)
{
	static char in[200000];
	struct smtpd *s = greeted(0);
	size_t n;
	(void)state;

	/* "NOOP " + 505 digits + CRLF = 512: taken; one more: refused */
	n = (size_t)snprintf(in, sizeof in, "NOOP %0505d\r\nNOOP %0506d\r\n", 0, 0);
	feed_all(s, in, n);
	expect_write(s, OK "500 5.5.2 line too long\r\n");
	/* a line far over every limit, fed in pieces: one reply at its end */
	memset(in, 'x', sizeof in);
	feed_all(s, in, SMTPD_READ_MAX);
	assert_int_equal(smtpd_next(s), SMTPD_READ);
	assert_int_equal(smtpd_feed(s, in, SMTPD_READ_MAX), SMTPD_READ_MAX);
	assert_int_equal(smtpd_next(s), SMTPD_READ);
	assert_int_equal(smtpd_feed(s, "xx\r\nNOOP\r\n", 10), 10);
	expect_write(s, "500 5.5.2 line too long\r\n" OK);
	/* RCPT may be 512 + 500 octets long (RFC 3461 5): 514 is taken, 1014 not */
	n = (size_t)snprintf(in, sizeof in, HELLO "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test> ORCPT=rfc822;%0480d\r\n", 0);
	feed_all(s, in, n);
	expect_write(s, EHLO_R OK_MAIL OK_RCPT);
	n = (size_t)snprintf(in, sizeof in, "RCPT TO:<b@y.test> ORCPT=rfc822;%0980d\r\n", 0);
	feed_all(s, in, n);
	expect_write(s, "500 5.5.2 line too long\r\n");
	smtpd_free(s);
}

/* The data goes out in windows of at most SMTPD_DATA_CHUNK bytes: a long
 * message never sits whole in the engine, and long text lines pass. */
static void test_long_message_streams(void **state)
{
	static char body[300000];
	struct smtpd *s = greeted(0);
	size_t off = 0, got = 0, chunks = 0;
	bool ended = false;
	(void)state;

	memset(body, 'a', sizeof body);
	feed_all(s, HELLO TXN, sizeof HELLO TXN - 1);
	expect_write(s, EHLO_R OK_MAIL OK_RCPT GO);
	while (!ended) {
		const char *b;
		size_t n;
		switch (smtpd_next(s)) {
		case SMTPD_READ:
			if (off < sizeof body) {
				n = sizeof body - off < SMTPD_READ_MAX ? sizeof body - off : SMTPD_READ_MAX;
				assert_int_equal(smtpd_feed(s, body + off, n), n);
				off += n;
			} else {
				assert_int_equal(smtpd_feed(s, "\r\n.\r\n", 5), 5);
			}
			break;
		case SMTPD_MESSAGE_DATA:
			smtpd_message_data(s, &b, &n);
			assert_true(n <= SMTPD_DATA_CHUNK);
			got += n;
			chunks++;
			smtpd_message_taken(s);
			break;
		case SMTPD_MESSAGE_END:
			ended = true;
			break;
		default:
			fail_msg("unexpected action");
		}
	}
	assert_int_equal(got, sizeof body + 2);
	assert_true(chunks >= sizeof body / SMTPD_DATA_CHUNK);
	smtpd_verdict(s, 250, "2.0.0", "ok");
	expect_write(s, "250 2.0.0 ok\r\n");
	assert_int_equal(smtpd_messages(s), 1);
	smtpd_free(s);
}

/* Feeding past the fixed input buffer takes only what fits. */
static void test_feed_is_bounded(void **state)
{
	static char big[4 * SMTPD_READ_MAX];
	struct smtpd *s = greeted(0);
	size_t n;
	(void)state;

	memset(big, 'x', sizeof big);
	assert_int_equal(smtpd_next(s), SMTPD_READ);
	n = smtpd_feed(s, big, sizeof big);
	assert_true(n >= SMTPD_READ_MAX && n < sizeof big);
	smtpd_free(s);
}

/* An upstream text of many long lines: at most SMTPD_VERDICT_LINES lines,
 * each at most 512 octets with CRLF. */
static void test_verdict_text_bounded(void **state)
{
	static char text[20000];
	struct smtpd *s = greeted(0);
	const char *b, *l;
	size_t n, lines = 0, i;
	(void)state;

	for (i = 0; i + 1 < sizeof text; i++)
		text[i] = i % 1000 == 999 ? '\n' : 'y';
	text[i] = '\0';
	feed_all(s, HELLO TXN ".\r\n", sizeof HELLO TXN ".\r\n" - 1);
	expect_write(s, EHLO_R OK_MAIL OK_RCPT GO);
	assert_int_equal(smtpd_next(s), SMTPD_MESSAGE_END);
	smtpd_verdict(s, 550, "5.7.1", text);
	assert_int_equal(smtpd_next(s), SMTPD_WRITE);
	smtpd_output(s, &b, &n);
	for (l = b; l < b + n; lines++) {
		const char *e = memchr(l, '\n', (size_t)(b + n - l));
		assert_non_null(e);
		assert_true(e - l + 1 <= 512);
		assert_memory_equal(l, lines + 1 < SMTPD_VERDICT_LINES ? "550-5.7.1 " : "550 5.7.1 ", 10);
		l = e + 1;
	}
	assert_int_equal(lines, SMTPD_VERDICT_LINES);
	assert_int_equal(smtpd_messages(s), 0);
	smtpd_free(s);
}

/* Deterministic mutation pass over a whole session: every byte replaced
 * by a few others. The engine ends on EOF, and what it writes is made of
 * well-formed reply lines. */
static void test_mutations(void **state)
{
	static const char base[] = HELLO "MAIL FROM:<a@x.test> SIZE=10 ENVID=x\r\n"
				   "RCPT TO:<b@y.test> NOTIFY=NEVER\r\nDATA\r\n.x\r\n..\r\n.\r\nRSET\r\nQUIT\r\n";
	static const char subst[] = { '\0', '\r', '\n', '.', ' ', '<', '>', '+', '\x80' };
	char in[sizeof base];
	size_t i, k;
	(void)state;

	for (i = 0; i + 1 < sizeof base; i++) {
		for (k = 0; k < sizeof subst; k++) {
			struct smtpd_params p = { "mx.test", 100, 2, 0, false };
			struct smtpd *s = smtpd_new(&p);
			size_t off = 0, steps = 0;
			bool running = true, eof = false;

			memcpy(in, base, sizeof base);
			in[i] = subst[k];
			while (running) {
				const char *b, *l;
				size_t n;
				assert_true(steps++ < 10000);
				switch (smtpd_next(s)) {
				case SMTPD_WRITE:
					smtpd_output(s, &b, &n);
					for (l = b; l < b + n;) {
						const char *e = memchr(l, '\n', (size_t)(b + n - l));
						assert_non_null(e);
						assert_true(e - l >= 5 && e[-1] == '\r' && e - l + 1 <= 512);
						assert_true(l[0] >= '2' && l[0] <= '5' && (l[3] == ' ' || l[3] == '-'));
						l = e + 1;
					}
					smtpd_output_sent(s);
					break;
				case SMTPD_READ:
					if (off < sizeof base - 1) {
						n = (i % 5) + 1 < sizeof base - 1 - off ? (i % 5) + 1 : sizeof base - 1 - off;
						smtpd_feed(s, in + off, n);
						off += n;
					} else {
						assert_false(eof);
						smtpd_eof(s);
						eof = true;
					}
					break;
				case SMTPD_MESSAGE_DATA:
					smtpd_message_taken(s);
					break;
				case SMTPD_MESSAGE_END:
					smtpd_verdict(s, 250, "2.0.0", "ok");
					break;
				case SMTPD_MESSAGE_DROP:
					break;
				case SMTPD_DONE:
					running = false;
					break;
				}
			}
			smtpd_free(s);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conversations),
		cmocka_unit_test(test_group_split_at_every_byte),
		cmocka_unit_test(test_envelope_parameters),
		cmocka_unit_test(test_one_notify),
		cmocka_unit_test(test_nul_in_command),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_long_message_streams),
		cmocka_unit_test(test_feed_is_bounded),
		cmocka_unit_test(test_verdict_text_bounded),
		cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
