/* test_smtp.c: the engine between two in-memory peers: server replies go
 * in, the exact command bytes and the outcome come out. No sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp.h"

static const char *const two_rcpts[] = { "bob@example.org", "carol@example.org" };

static struct smtp_envelope env_default(void)
{
	struct smtp_envelope e;
	memset(&e, 0, sizeof e);
	e.from = "alice@example.org";
	e.rcpt = two_rcpts;
	e.nrcpt = 2;
	e.size = 100;
	return e;
}

/* Take the pending output, compare it with WANT, mark it sent. */
static void expect_out(struct smtp *s, const char *want)
{
	const char *buf;
	size_t len;

	assert_int_equal(smtp_next(s), SMTP_WRITE);
	smtp_output(s, &buf, &len);
	if (len != strlen(want) || memcmp(buf, want, len) != 0)
		fail_msg("output '%.*s', expected '%s'", (int)len, buf, want);
	smtp_output_sent(s);
}

static void feed(struct smtp *s, const char *in)
{
	smtp_feed(s, in, strlen(in));
}

static struct smtp *start(const char *caps)
{
	struct smtp_params p = { "client.example", false, false, false };
	struct smtp *s = smtp_new(&p);
	char ehlo[512];

	assert_int_equal(smtp_next(s), SMTP_READ);
	feed(s, "220 mx.example ESMTP\r\n");
	expect_out(s, "EHLO client.example\r\n");
	snprintf(ehlo, sizeof ehlo, "250-mx.example\r\n%s", caps);
	feed(s, ehlo);
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	return s;
}

static void test_pipelined_submission(void **state)
{
	struct smtp *s = start("250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org> SIZE=100\r\nRCPT TO:<bob@example.org>\r\n"
		      "RCPT TO:<carol@example.org>\r\nDATA\r\n");
	assert_int_equal(smtp_next(s), SMTP_READ);
	feed(s, "250 2.1.0 ok\r\n250 2.1.5 ok\r\n");
	assert_int_equal(smtp_next(s), SMTP_READ);
	feed(s, "250 2.1.5 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_SEND_BODY);
	smtp_body_done(s);
	expect_out(s, ".\r\nQUIT\r\n");
	feed(s, "250 2.0.0 queued\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_string_equal(smtp_result(s)->final_reply, "250 2.0.0 queued");
	smtp_free(s);
}

static void test_lockstep_without_pipelining(void **state)
{
	struct smtp *s = start("250 8BITMIME\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	e.eightbit = true;
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org> BODY=8BITMIME\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<bob@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<carol@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "DATA\r\n");
	feed(s, "354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_SEND_BODY);
	smtp_body_done(s);
	expect_out(s, ".\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "QUIT\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);
}

/* The pipelining trap: a refused RCPT and DATA still answered 354. */
static void test_rejected_rcpt_with_354_drops(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
		      "RCPT TO:<carol@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOUSER);
	assert_int_equal(smtp_result(s)->nrejects, 1);
	assert_int_equal(smtp_result(s)->rejects[0].rcpt, 0);
	assert_string_equal(smtp_result(s)->rejects[0].enh, "5.1.1");
	smtp_free(s);
}

static void test_rejected_rcpt_cancels(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
		      "RCPT TO:<carol@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n450 4.2.0 busy\r\n550 5.1.1 unknown\r\n554 5.5.1 no valid recipients\r\n");
	expect_out(s, "RSET\r\nQUIT\r\n");
	feed(s, "250 ok\r\n221 bye\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	/* permanent beats temporary */
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOUSER);
	assert_int_equal(smtp_result(s)->nrejects, 2);
	smtp_free(s);
}

static void test_size_refused_before_mail(void **state)
{
	struct smtp *s = start("250 SIZE 50\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	smtp_begin(s, &e);
	expect_out(s, "QUIT\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_DATAERR);
	assert_string_equal(smtp_result(s)->text,
			    "the message is 100 bytes but the server accepts at most 50");
	smtp_free(s);
}

static void test_eightbit_without_8bitmime(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	e.eightbit = true;
	smtp_begin(s, &e);
	expect_out(s, "QUIT\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_DATAERR);
	smtp_free(s);
}

static void test_helo_fallback(void **state)
{
	struct smtp_params p = { "client.example", false, false, false };
	struct smtp *s = smtp_new(&p);
	(void)state;

	feed(s, "220 old.example\r\n");
	expect_out(s, "EHLO client.example\r\n");
	feed(s, "502 5.5.2 what\r\n");
	expect_out(s, "HELO client.example\r\n");
	feed(s, "250 old.example\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_caps(s)->flags, 0);
	smtp_free(s);
}

static void test_greeting_refused(void **state)
{
	struct smtp_params p = { "c", false, false, false };
	struct smtp *s = smtp_new(&p);
	(void)state;

	feed(s, "554 5.7.1 go away\r\n");
	expect_out(s, "QUIT\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_UNAVAILABLE);
	smtp_free(s);
}

static void test_421_ends(void **state)
{
	struct smtp_params p = { "c", false, false, false };
	struct smtp *s = smtp_new(&p);
	(void)state;

	feed(s, "421 4.3.2 shutting down\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	smtp_free(s);
}

static void test_data_after_reply_is_protocol_error(void **state)
{
	struct smtp_params p = { "c", false, false, false };
	struct smtp *s = smtp_new(&p);
	(void)state;

	feed(s, "220 hi\r\n250 unasked\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_PROTOCOL);
	smtp_free(s);
}

static void test_421_out_of_turn_is_tempfail(void **state)
{
	struct smtp_params p = { "c", false, false, false };
	struct smtp *s = smtp_new(&p);
	(void)state;

	feed(s, "220 hi\r\n421 4.3.2 shutting down now\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_result(s)->code, 421);
	smtp_free(s);
}

static void test_starttls_injection(void **state)
{
	struct smtp_params p = { "c", true, false, false };
	struct smtp *s = smtp_new(&p);
	(void)state;

	feed(s, "220 hi\r\n");
	expect_out(s, "EHLO c\r\n");
	feed(s, "250-mx\r\n250 STARTTLS\r\n");
	expect_out(s, "STARTTLS\r\n");
	feed(s, "220 go ahead\r\n250 injected\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_PROTOCOL);
	smtp_free(s);
}

static void test_starttls_not_offered(void **state)
{
	struct smtp_params p = { "c", true, false, false };
	struct smtp *s = smtp_new(&p);
	(void)state;

	feed(s, "220 hi\r\n");
	expect_out(s, "EHLO c\r\n");
	feed(s, "250-mx\r\n250 PIPELINING\r\n");
	expect_out(s, "QUIT\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_UNAVAILABLE);
	smtp_free(s);
}

static void test_dsn_parameters(void **state)
{
	struct smtp *s = start("250-DSN\r\n250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	e.nrcpt = 1;
	e.dsn_notify = "FAILURE,DELAY";
	e.dsn_ret = "HDRS";
	e.dsn_envid = "id+1=2";
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org> RET=HDRS ENVID=id+2B1+3D2\r\n"
		      "RCPT TO:<bob@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob@example.org\r\n"
		      "DATA\r\n");
	smtp_free(s);
}

static void test_dsn_dropped(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	e.nrcpt = 1;
	e.dsn_notify = "NEVER";
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
	assert_true(smtp_result(s)->dsn_dropped);
	smtp_free(s);
}

static void test_eof_midway(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
		      "RCPT TO:<carol@example.org>\r\nDATA\r\n");
	smtp_eof(s);
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_string_equal(smtp_result(s)->command, "MAIL FROM:<alice@example.org>");
	smtp_free(s);
}

/* A 250 where 354 belongs is not success: nothing was delivered. */
static void test_data_answered_250(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	e.nrcpt = 1;
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n250 ok\r\n");
	expect_out(s, "RSET\r\nQUIT\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_PROTOCOL);
	smtp_free(s);
}

static void test_mail_answered_354(void **state)
{
	struct smtp *s = start("250 8BITMIME\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
	feed(s, "354 what\r\n");
	expect_out(s, "RSET\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_PROTOCOL);
	smtp_free(s);
}

static struct smtp *start_auth(const char *caps)
{
	struct smtp_params p = { "c", false, false, true };
	struct smtp *s = smtp_new(&p);

	feed(s, "220 hi\r\n");
	expect_out(s, "EHLO c\r\n");
	feed(s, caps);
	assert_int_equal(smtp_next(s), SMTP_AUTH_BEGIN);
	return s;
}

static void expect_log(struct smtp *s, const char *want)
{
	const char *log;
	size_t len;

	smtp_output_log(s, &log, &len);
	if (len != strlen(want) || memcmp(log, want, len) != 0)
		fail_msg("log '%.*s', expected '%s'", (int)len, log, want);
}

/* The initial response joins AUTH; the transcript never shows it. */
static void test_auth_initial_response_redacted(void **state)
{
	struct smtp *s = start_auth("250-mx\r\n250 AUTH PLAIN\r\n");
	(void)state;

	assert_string_equal(smtp_caps(s)->auth, "PLAIN");
	smtp_auth_begin(s, "PLAIN", "AGFsaWNlAHNlY3JldA==", true);
	expect_log(s, "AUTH PLAIN <redacted>\r\n");
	expect_out(s, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n");
	feed(s, "235 2.7.0 ok\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	smtp_free(s);
}

static void test_auth_challenge_steps(void **state)
{
	struct smtp *s = start_auth("250-mx\r\n250 AUTH LOGIN\r\n");
	(void)state;

	smtp_auth_begin(s, "LOGIN", NULL, true);
	expect_out(s, "AUTH LOGIN\r\n");
	feed(s, "334 VXNlcm5hbWU6\r\n");
	assert_int_equal(smtp_next(s), SMTP_AUTH_STEP);
	assert_string_equal(smtp_auth_challenge(s), "VXNlcm5hbWU6");
	smtp_auth_respond(s, "YWxpY2U=", true);
	expect_log(s, "<redacted>\r\n");
	expect_out(s, "YWxpY2U=\r\n");
	feed(s, "334 UGFzc3dvcmQ6\r\n");
	smtp_auth_respond(s, "c2VjcmV0", true);
	expect_out(s, "c2VjcmV0\r\n");
	feed(s, "535 5.7.8 bad credentials\r\n");
	expect_out(s, "QUIT\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOPERM);
	assert_string_equal(smtp_result(s)->command, "AUTH LOGIN");
	smtp_free(s);
}

/* With PIPELINING, AUTH PLAIN with its initial response and the MAIL group
 * leave in one write; the 235 lets the group's replies count. */
static void test_auth_pipelined_with_mail(void **state)
{
	struct smtp *s = start_auth("250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	smtp_auth_begin(s, "PLAIN", "AGFsaWNlAHNlY3JldA==", true);
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	smtp_begin(s, &e);
	expect_log(s, "AUTH PLAIN <redacted>\r\nMAIL FROM:<alice@example.org>\r\n"
		      "RCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n");
	expect_out(s, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<alice@example.org>\r\n"
		      "RCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n");
	feed(s, "235 2.7.0 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_SEND_BODY);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);
}

/* AUTH PLAIN with a wrong password, the MAIL group behind it, all sent. */
static struct smtp *start_pipelined_auth(void)
{
	struct smtp *s = start_auth("250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n");
	struct smtp_envelope e = env_default();

	smtp_auth_begin(s, "PLAIN", "AGFsaWNlAHdyb25n", true);
	smtp_begin(s, &e);
	expect_out(s, "AUTH PLAIN AGFsaWNlAHdyb25n\r\nMAIL FROM:<alice@example.org>\r\n"
		      "RCPT TO:<bob@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n");
	return s;
}

/* A refused pipelined AUTH decides the outcome; the group's replies (here
 * a permissive server's 250s and 354) change nothing, and a 354 is met by
 * closing the connection, never by data. */
static void test_auth_pipelined_refused(void **state)
{
	struct smtp *s = start_pipelined_auth();
	(void)state;

	feed(s, "535 5.7.8 no\r\n250 ok\r\n550 5.1.1 who\r\n250 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOPERM);
	assert_string_equal(smtp_result(s)->command, "AUTH PLAIN");
	assert_int_equal(smtp_result(s)->nrejects, 0);
	smtp_free(s);

	/* A strict server refuses the group too: RSET and QUIT end it. */
	s = start_pipelined_auth();
	feed(s, "454 4.7.0 later\r\n530 5.7.0 auth first\r\n503 5.5.1 no\r\n503 5.5.1 no\r\n503 5.5.1 no\r\n");
	expect_out(s, "RSET\r\nQUIT\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	smtp_free(s);

	/* A server that hangs up after the refusal: still the AUTH's outcome. */
	s = start_pipelined_auth();
	feed(s, "535 5.7.8 no\r\n421 4.7.0 too many failures\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOPERM);
	assert_string_equal(smtp_result(s)->command, "AUTH PLAIN");
	smtp_free(s);

	/* A 334 after a complete initial response: the server would take the
	 * MAIL line as its answer; the session ends at once. */
	s = start_pipelined_auth();
	feed(s, "334 \r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_PROTOCOL);
	smtp_free(s);
}

/* Multi-step mechanisms and LOGIN never carry the MAIL group. */
static void test_auth_not_pipelined_when_multistep(void **state)
{
	struct smtp *s = start_auth("250-mx\r\n250-PIPELINING\r\n250 AUTH SCRAM-SHA-256 XOAUTH2\r\n");
	(void)state;

	smtp_auth_begin(s, "SCRAM-SHA-256", "Yyws", false);
	expect_out(s, "AUTH SCRAM-SHA-256 Yyws\r\n");
	assert_int_equal(smtp_next(s), SMTP_READ);
	smtp_free(s);
	s = start_auth("250-mx\r\n250-PIPELINING\r\n250 AUTH XOAUTH2\r\n");
	smtp_auth_begin(s, "XOAUTH2", "dG9rZW4=", true);
	expect_out(s, "AUTH XOAUTH2 dG9rZW4=\r\n");
	assert_int_equal(smtp_next(s), SMTP_READ);
	smtp_free(s);
}

/* A 235 before the mechanism proved the server (SCRAM) is not believed. */
static void test_auth_235_without_proof(void **state)
{
	struct smtp *s = start_auth("250-mx\r\n250 AUTH SCRAM-SHA-256\r\n");
	(void)state;

	smtp_auth_begin(s, "SCRAM-SHA-256", "Yyws", false);
	expect_out(s, "AUTH SCRAM-SHA-256 Yyws\r\n");
	feed(s, "334 cj1h\r\n");
	smtp_auth_respond(s, "Yz1i", false);
	expect_out(s, "Yz1i\r\n");
	feed(s, "235 2.7.0 trust me\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOPERM);
	smtp_free(s);
}

/* A long initial response waits for the server's empty challenge. */
static void test_auth_long_initial_response(void **state)
{
	struct smtp *s = start_auth("250-mx\r\n250 AUTH XOAUTH2\r\n");
	char big[4097];
	(void)state;

	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	smtp_auth_begin(s, "XOAUTH2", big, true);
	expect_out(s, "AUTH XOAUTH2\r\n");
	feed(s, "334 \r\n");
	expect_log(s, "<redacted>\r\n");
	{
		const char *buf;
		size_t len;
		assert_int_equal(smtp_next(s), SMTP_WRITE);
		smtp_output(s, &buf, &len);
		assert_int_equal(len, 4096 + 2);
		smtp_output_sent(s);
	}
	feed(s, "454 4.7.0 try later\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	smtp_free(s);
}

/* Replies read while a long group is still being written: the bytes being
 * written stay as they were, and what the refusal queues (RSET, QUIT)
 * goes out after them. */
static void test_output_stable_while_writing(void **state)
{
	static char names[100][32];
	const char *rc[100];
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	const char *buf;
	char *copy;
	size_t len, i;
	(void)state;

	for (i = 0; i < 100; i++) {
		snprintf(names[i], sizeof names[i], "user%zu@example.org", i);
		rc[i] = names[i];
	}
	e.rcpt = rc;
	e.nrcpt = 100;
	smtp_begin(s, &e);
	assert_int_equal(smtp_next(s), SMTP_WRITE);
	smtp_output(s, &buf, &len);
	copy = malloc(len);
	memcpy(copy, buf, len);
	/* the hostile server answers everything before the group is written */
	feed(s, "250 ok\r\n");
	for (i = 0; i < 100; i++)
		feed(s, "550 5.1.1 no\r\n");
	feed(s, "554 5.5.1 no valid recipients\r\n");
	if (memcmp(buf, copy, len) != 0)
		fail_msg("the bytes being written changed");
	free(copy);
	smtp_output_sent(s);
	expect_out(s, "RSET\r\nQUIT\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOUSER);
	assert_int_equal(smtp_result(s)->nrejects, 100);
	smtp_free(s);
}

/* The output queue has a maximum: a group of 10 000 recipients goes out in
 * pieces of at most SMTP_GROUP_MAX bytes plus one line, in order, DATA
 * last. */
static void test_group_has_a_maximum(void **state)
{
	enum { N = 10000 };
	static char names[N][32];
	static const char *rc[N];
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	size_t i, next = 0, pieces = 0;
	bool data = false;
	(void)state;

	for (i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "user%zu@example.org", i);
		rc[i] = names[i];
	}
	e.rcpt = rc;
	e.nrcpt = N;
	smtp_begin(s, &e);
	while (smtp_next(s) == SMTP_WRITE) {
		const char *buf, *p;
		size_t len;
		smtp_output(s, &buf, &len);
		assert_true(len <= SMTP_GROUP_MAX + 100);
		for (p = buf; p < buf + len;) {
			const char *nl = memchr(p, '\n', (size_t)(buf + len - p));
			char want[64];
			assert_non_null(nl);
			assert_false(data);
			if (pieces == 0 && p == buf) {
				assert_memory_equal(p, "MAIL FROM:", 10);
			} else if (next == N) {
				assert_memory_equal(p, "DATA\r\n", 6);
				data = true;
			} else {
				snprintf(want, sizeof want, "RCPT TO:<%s>\r\n", names[next++]);
				assert_memory_equal(p, want, strlen(want));
			}
			p = nl + 1;
		}
		pieces++;
		smtp_output_sent(s);
	}
	assert_true(data);
	assert_true(pieces > 1);
	smtp_free(s);
}

/* RFC 5321 4.1.1.10: after the 250 to the end of data the message is the
 * server's; a QUIT that cannot be written changes nothing. */
static void test_quit_fails_after_250(void **state)
{
	struct smtp *s = start("250 8BITMIME\r\n");
	struct smtp_envelope e = env_default();
	const char *buf;
	size_t len;
	(void)state;

	e.nrcpt = 1;
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<bob@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "DATA\r\n");
	feed(s, "354 go\r\n");
	smtp_body_done(s);
	expect_out(s, ".\r\n");
	feed(s, "250 2.0.0 queued\r\n");
	assert_int_equal(smtp_next(s), SMTP_WRITE);
	smtp_output(s, &buf, &len);
	smtp_fail(s, OUTCOME_TEMPFAIL, "Connection reset by peer", false);
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_string_equal(smtp_result(s)->final_reply, "250 2.0.0 queued");
	smtp_free(s);
}

/* RFC 5321 3.8: a 421 in the same read as the reply before it. */
static void test_421_right_behind_a_reply(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	struct smtp_params p = { "c", false, false, false };
	(void)state;

	e.nrcpt = 1;
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n354 go\r\n421 4.3.2 shutting down\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_result(s)->code, 421);
	smtp_free(s);

	s = smtp_new(&p);
	feed(s, "220 hi\r\n");
	expect_out(s, "EHLO c\r\n");
	feed(s, "250-mx\r\n250 PIPELINING\r\n421 4.3.2 shutting down\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	smtp_free(s);

	/* anything else there is still a protocol error */
	s = smtp_new(&p);
	feed(s, "220 hi\r\n");
	expect_out(s, "EHLO c\r\n");
	feed(s, "250-mx\r\n250 PIPELINING\r\n420 4.3.2 what\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_PROTOCOL);
	smtp_free(s);
}

static const char *const three_rcpts[] = { "bob@example.org", "carol@example.org", "dave@example.org" };

/* RFC 5321 4.5.3.1.10: recipients deferred with 452 go in a further
 * transaction on the same connection, with the body sent again. */
static void test_too_many_recipients_pipelined(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	e.rcpt = three_rcpts;
	e.nrcpt = 3;
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
		      "RCPT TO:<carol@example.org>\r\nRCPT TO:<dave@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n452 4.5.3 too many recipients\r\n"
		"552 5.5.3 too many recipients\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_SEND_BODY);
	smtp_body_done(s);
	expect_out(s, ".\r\n"); /* no QUIT: another transaction follows */
	feed(s, "250 2.0.0 queued as 1\r\n");
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\n"
		      "RCPT TO:<dave@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_SEND_BODY);
	smtp_body_done(s);
	expect_out(s, ".\r\nQUIT\r\n");
	feed(s, "250 2.0.0 queued as 2\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_int_equal(smtp_result(s)->transactions, 2);
	assert_int_equal(smtp_result(s)->delivered, 3);
	assert_string_equal(smtp_result(s)->final_reply, "250 2.0.0 queued as 2");
	smtp_free(s);
}

static void test_too_many_recipients_lockstep(void **state)
{
	struct smtp *s = start("250 8BITMIME\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	e.rcpt = three_rcpts;
	e.nrcpt = 3;
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<bob@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<carol@example.org>\r\n");
	feed(s, "452 4.5.3 too many recipients\r\n");
	/* the rest would be deferred too: DATA for the one accepted */
	expect_out(s, "DATA\r\n");
	feed(s, "354 go\r\n");
	smtp_body_done(s);
	expect_out(s, ".\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<carol@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<dave@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "DATA\r\n");
	feed(s, "354 go\r\n");
	smtp_body_done(s);
	expect_out(s, ".\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "QUIT\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);
}

/* A further transaction whose first recipient is deferred again makes no
 * progress: 75, not a loop. */
static void test_too_many_recipients_no_progress(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
		      "RCPT TO:<carol@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n452 4.5.3 too many recipients\r\n354 go\r\n");
	smtp_body_done(s);
	expect_out(s, ".\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n452 4.5.3 too many recipients\r\n554 5.5.1 no valid recipients\r\n");
	expect_out(s, "RSET\r\nQUIT\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_result(s)->code, 452);
	assert_string_equal(smtp_result(s)->command, "RCPT TO:<carol@example.org>");
	assert_int_equal(smtp_result(s)->delivered, 1);
	smtp_free(s);

	/* a DATA accepted anyway gets no end of data */
	s = start("250 PIPELINING\r\n");
	e.nrcpt = 1;
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n452 4.5.3 too many recipients\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	smtp_free(s);
}

/* Other refusals keep the all-or-nothing rule, in every transaction; a
 * 552 that is not about the number of recipients is one of them. */
static void test_refusal_in_further_transaction(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	e.rcpt = three_rcpts;
	e.nrcpt = 3;
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
		      "RCPT TO:<carol@example.org>\r\nRCPT TO:<dave@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n452 4.5.3 too many recipients\r\n452 4.5.3 too many\r\n354 go\r\n");
	smtp_body_done(s);
	expect_out(s, ".\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\n"
		      "RCPT TO:<dave@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n552 5.2.2 mailbox full\r\n250 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOUSER);
	assert_int_equal(smtp_result(s)->nrejects, 1);
	assert_int_equal(smtp_result(s)->rejects[0].rcpt, 1);
	assert_int_equal(smtp_result(s)->rejects[0].hint, HINT_MAILBOX);
	smtp_free(s);
}

/* Every line of a multi-line refusal is kept. */
static void test_multiline_refusal_kept(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_default();
	(void)state;

	e.nrcpt = 1;
	smtp_begin(s, &e);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n354 go\r\n");
	smtp_body_done(s);
	expect_out(s, ".\r\nQUIT\r\n");
	feed(s, "550-5.7.1 The message was rejected\r\n550-5.7.1 for policy reasons.\r\n"
		"550 5.7.1 https://help.example/rejected\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_UNAVAILABLE);
	assert_int_equal(smtp_result(s)->hint, HINT_POLICY);
	assert_string_equal(smtp_result(s)->text, "The message was rejected\nfor policy reasons.\n"
						  "https://help.example/rejected");
	assert_string_equal(smtp_result(s)->final_reply, "550 5.7.1 The message was rejected / "
							 "for policy reasons. / https://help.example/rejected");
	smtp_free(s);
}

static void test_xtext(void **state)
{
	char *x = smtp_xtext("a+b=c d\xc3\xa4");
	(void)state;
	assert_string_equal(x, "a+2Bb+3Dc+20d+C3+A4");
	free(x);
}

/* ---- several messages per session (RFC 5321 3.3) ------------------------ */

static const char *const batch_rcpts[3][2] = {
	{ "r1@example.org", "x1@example.org" },
	{ "r2@example.org", "x2@example.org" },
	{ "r3@example.org", "x3@example.org" },
};

/* Message K (0..2) of a batch: one recipient, rK@example.org. */
static struct smtp_envelope env_msg(int k)
{
	struct smtp_envelope e = env_default();
	e.rcpt = batch_rcpts[k];
	e.nrcpt = 1;
	return e;
}

/* Message E (to r1) begun, its MAIL group sent and answered 250, 250, 354. */
static void first_group(struct smtp *s, struct smtp_envelope *e, bool last)
{
	smtp_begin_message(s, e, last);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<r1@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n354 go\r\n");
}

/* Message K, pipelined: its group goes out, 250s and 354 come back, its
 * end of data (with QUIT when LAST) goes out, REPLY answers it. */
static void batch_send(struct smtp *s, int k, bool last, const char *pre, const char *reply)
{
	struct smtp_envelope e = env_msg(k);
	char want[512];

	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	smtp_begin_message(s, &e, last);
	snprintf(want, sizeof want, "%sMAIL FROM:<alice@example.org>\r\nRCPT TO:<r%d@example.org>\r\nDATA\r\n",
		 pre, k + 1);
	expect_out(s, want);
	feed(s, "250 ok\r\n250 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_SEND_BODY);
	smtp_body_done(s);
	expect_out(s, last ? ".\r\nQUIT\r\n" : ".\r\n");
	assert_int_equal(smtp_next(s), SMTP_READ);
	feed(s, reply);
}

/* Three messages, one EHLO, one AUTH; QUIT only with the last end of
 * data; each message's result read when the next is asked for. */
static void test_batch_three_delivered(void **state)
{
	struct smtp *s = start_auth("250-mx\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n");
	struct smtp_envelope e = env_msg(0);
	(void)state;

	smtp_auth_begin(s, "PLAIN", "AGFsaWNlAHNlY3JldA==", true);
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	smtp_begin_message(s, &e, false);
	expect_out(s, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nMAIL FROM:<alice@example.org>\r\n"
		      "RCPT TO:<r1@example.org>\r\nDATA\r\n");
	feed(s, "235 2.7.0 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_SEND_BODY);
	smtp_body_done(s);
	expect_out(s, ".\r\n");
	feed(s, "250 2.0.0 queued as 1\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_string_equal(smtp_result(s)->final_reply, "250 2.0.0 queued as 1");
	assert_int_equal(smtp_result(s)->delivered, 1);
	batch_send(s, 1, false, "", "250 2.0.0 queued as 2\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_string_equal(smtp_result(s)->final_reply, "250 2.0.0 queued as 2");
	assert_int_equal(smtp_result(s)->transactions, 1);
	batch_send(s, 2, true, "", "250 2.0.0 queued as 3\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_string_equal(smtp_result(s)->final_reply, "250 2.0.0 queued as 3");
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);

	/* Lock-step: QUIT after the last end of data's reply only. */
	s = start("250 8BITMIME\r\n");
	for (int k = 0; k < 3; k++) {
		e = env_msg(k);
		assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
		smtp_begin_message(s, &e, k == 2);
		expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
		feed(s, "250 ok\r\n");
		expect_out(s, k == 0 ? "RCPT TO:<r1@example.org>\r\n" : k == 1 ? "RCPT TO:<r2@example.org>\r\n"
									 : "RCPT TO:<r3@example.org>\r\n");
		feed(s, "250 ok\r\n");
		expect_out(s, "DATA\r\n");
		feed(s, "354 go\r\n");
		smtp_body_done(s);
		expect_out(s, ".\r\n");
		feed(s, "250 ok\r\n");
		assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	}
	expect_out(s, "QUIT\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	smtp_free(s);
}

/* The second message refused at MAIL: no transaction is open, so no RSET;
 * the third is still sent. */
static void test_batch_mail_refused(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_msg(1);
	(void)state;

	batch_send(s, 0, false, "", "250 ok\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<r2@example.org>\r\nDATA\r\n");
	feed(s, "550 5.7.1 sender refused\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_result(s)->step, STEP_MAIL);
	assert_int_equal(smtp_result(s)->code, 550);
	assert_string_equal(smtp_result(s)->command, "MAIL FROM:<alice@example.org>");
	assert_int_not_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_OK);
	batch_send(s, 2, true, "", "250 ok\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);

	/* lock-step */
	s = start("250 8BITMIME\r\n");
	e = env_msg(0);
	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
	feed(s, "550 5.7.1 sender refused\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_result(s)->code, 550);
	e = env_msg(1);
	smtp_begin_message(s, &e, true);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<r2@example.org>\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);
}

/* The second message's recipient refused: MAIL was accepted, DATA refused,
 * the transaction is open: RSET, pipelined ahead of the next group. */
static void test_batch_rcpt_refused(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_msg(1);
	(void)state;

	batch_send(s, 0, false, "", "250 ok\r\n");
	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<r2@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOUSER);
	assert_int_equal(smtp_result(s)->nrejects, 1);
	assert_string_equal(smtp_result(s)->rejects[0].text, "no such user");
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_OK);
	e = env_msg(2);
	smtp_begin_message(s, &e, true);
	expect_out(s, "RSET\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<r3@example.org>\r\nDATA\r\n");
	feed(s, "250 2.0.0 reset\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_SEND_BODY);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_int_equal(smtp_result(s)->nrejects, 0);
	smtp_body_done(s);
	expect_out(s, ".\r\nQUIT\r\n");
	feed(s, "250 ok\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);

	/* lock-step: RSET is answered before the next MAIL */
	s = start("250 8BITMIME\r\n");
	e = env_msg(0);
	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<r1@example.org>\r\n");
	feed(s, "550 5.1.1 no such user\r\n");
	expect_out(s, "RSET\r\n");
	assert_int_equal(smtp_next(s), SMTP_READ);
	feed(s, "250 ok\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOUSER);
	e = env_msg(1);
	smtp_begin_message(s, &e, true);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
	smtp_free(s);

	/* a refused RSET leaves the server's state unknown: the session ends,
	 * the refused message keeps its own outcome */
	s = start("250 8BITMIME\r\n");
	e = env_msg(0);
	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<r1@example.org>\r\n");
	feed(s, "550 5.1.1 no such user\r\n");
	expect_out(s, "RSET\r\n");
	feed(s, "421 4.3.2 going down\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOUSER);
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_session_result(s)->code, 421);
	smtp_free(s);
}

/* 451 to the first end of data fails that message alone; it closed the
 * transaction, so no RSET. */
static void test_batch_eod_tempfail(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	(void)state;

	batch_send(s, 0, false, "", "451 4.3.0 try later\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_result(s)->step, STEP_EOD);
	assert_string_equal(smtp_result(s)->final_reply, "451 4.3.0 try later");
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_OK);
	batch_send(s, 1, false, "", "250 ok\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	batch_send(s, 2, true, "", "250 ok\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);
}

/* 421 after the first message: the second (begun) and the session end
 * with it; the first stays delivered, also when the 421 arrives in the
 * same read as its 250. */
static void test_batch_421_ends_session(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_msg(1);
	(void)state;

	batch_send(s, 0, false, "", "250 ok\r\n");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<r2@example.org>\r\nDATA\r\n");
	feed(s, "421 4.3.2 shutting down\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_result(s)->code, 421);
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_session_result(s)->code, 421);
	smtp_free(s);

	s = start("250 PIPELINING\r\n");
	batch_send(s, 0, false, "", "250 2.0.0 queued\r\n421 4.3.2 shutting down\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_string_equal(smtp_result(s)->final_reply, "250 2.0.0 queued");
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_TEMPFAIL);
	smtp_fail(s, OUTCOME_TEMPFAIL, "timed out", false);
	smtp_eof(s);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);
}

/* The pipelining trap mid-batch: a refused recipient and DATA still 354:
 * no end of data, the connection is dropped; the message has the
 * recipient's outcome, the session a temporary failure. */
static void test_batch_pipelining_trap(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_msg(1);
	(void)state;

	batch_send(s, 0, false, "", "250 ok\r\n");
	e.nrcpt = 2;
	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<r2@example.org>\r\n"
		      "RCPT TO:<x2@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOUSER);
	assert_int_equal(smtp_result(s)->nrejects, 1);
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_session_result(s)->step, STEP_DATA);
	smtp_free(s);
}

/* The engine refuses the middle message itself (SIZE): nothing is sent
 * for it, and the next goes out. */
static void test_batch_size_refused_in_middle(void **state)
{
	struct smtp *s = start("250-PIPELINING\r\n250 SIZE 1000\r\n");
	struct smtp_envelope e = env_msg(1);
	(void)state;

	e.size = 5000;
	smtp_begin_message(s, &e, false);
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_DATAERR);
	smtp_free(s);

	s = start("250-PIPELINING\r\n250 SIZE 1000\r\n");
	e = env_msg(0);
	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org> SIZE=100\r\nRCPT TO:<r1@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n354 go\r\n");
	smtp_body_done(s);
	expect_out(s, ".\r\n");
	feed(s, "250 ok\r\n");
	e = env_msg(1);
	e.size = 5000;
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	smtp_begin_message(s, &e, false);
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_DATAERR);
	assert_string_equal(smtp_result(s)->text, "the message is 5000 bytes but the server accepts at most 1000");
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_OK);
	e = env_msg(2);
	smtp_begin_message(s, &e, true);
	expect_out(s, "MAIL FROM:<alice@example.org> SIZE=100\r\nRCPT TO:<r3@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n354 go\r\n");
	smtp_body_done(s);
	expect_out(s, ".\r\nQUIT\r\n");
	feed(s, "250 ok\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);
}

/* ---- the next message's group behind the end of data (RFC 2920 3.1) ---- */

/* Message K has had its 354; the overlap group goes out: its end of data
 * and message K+1's MAIL, RCPT and DATA in one write. */
static void overlap_send(struct smtp *s, int k, bool last)
{
	struct smtp_envelope e = env_msg(k);
	char want[512];

	assert_int_equal(smtp_next(s), SMTP_SEND_BODY);
	assert_true(smtp_body_done_next(s, &e, last));
	snprintf(want, sizeof want, ".\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<r%d@example.org>\r\nDATA\r\n",
		 k + 1);
	expect_out(s, want);
	assert_int_equal(smtp_next(s), SMTP_READ);
	assert_null(smtp_take_finished(s));
}

/* A pipelined batch of three: the exact bytes, one write and one round
 * trip per message; each message's result handed out as soon as its end of data
 * is answered, while the next is in progress. */
static void test_overlap_three_messages(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_msg(0);
	const struct smtp_result *f;
	(void)state;

	first_group(s, &e, false);
	overlap_send(s, 1, false);
	/* K's 250 alone: K is settled at once */
	feed(s, "250 2.0.0 queued as 1\r\n");
	f = smtp_take_finished(s);
	assert_non_null(f);
	assert_int_equal(f->outcome, OUTCOME_OK);
	assert_string_equal(f->final_reply, "250 2.0.0 queued as 1");
	assert_int_equal(f->transactions, 1);
	assert_int_equal(f->delivered, 1);
	assert_null(smtp_take_finished(s));
	assert_int_equal(smtp_next(s), SMTP_READ);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_int_equal(smtp_result(s)->transactions, 0);
	feed(s, "250 ok\r\n250 ok\r\n354 go\r\n");
	overlap_send(s, 2, true);
	/* all in one read */
	feed(s, "250 2.0.0 queued as 2\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	f = smtp_take_finished(s);
	assert_non_null(f);
	assert_string_equal(f->final_reply, "250 2.0.0 queued as 2");
	assert_int_equal(smtp_next(s), SMTP_SEND_BODY);
	/* the last message: nothing to overlap, QUIT rides with its end */
	assert_false(smtp_body_done_next(s, NULL, false));
	expect_out(s, ".\r\nQUIT\r\n");
	feed(s, "250 2.0.0 queued as 3\r\n");
	assert_null(smtp_take_finished(s));
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_string_equal(smtp_result(s)->final_reply, "250 2.0.0 queued as 3");
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);
}

/* No overlap without PIPELINING, for the last message, when recipients
 * wait for a further transaction (that goes first), or when the engine
 * would refuse the next message itself. */
static void test_overlap_only_when_safe(void **state)
{
	struct smtp *s = start("250 8BITMIME\r\n");
	struct smtp_envelope e = env_msg(0), n = env_msg(1);
	(void)state;

	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "RCPT TO:<r1@example.org>\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "DATA\r\n");
	feed(s, "354 go\r\n");
	assert_false(smtp_body_done_next(s, &n, false));
	expect_out(s, ".\r\n");
	feed(s, "250 ok\r\n");
	assert_null(smtp_take_finished(s));
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	smtp_free(s);

	/* the last message */
	s = start("250 PIPELINING\r\n");
	first_group(s, &e, true);
	assert_false(smtp_body_done_next(s, &n, false));
	expect_out(s, ".\r\nQUIT\r\n");
	smtp_free(s);

	/* a deferred recipient: the further transaction of this message first */
	s = start("250 PIPELINING\r\n");
	e = env_default();
	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.org>\r\n"
		      "RCPT TO:<carol@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n452 4.5.3 too many recipients\r\n354 go\r\n");
	assert_false(smtp_body_done_next(s, &n, false));
	expect_out(s, ".\r\n");
	feed(s, "250 ok\r\n");
	expect_out(s, "MAIL FROM:<alice@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n354 go\r\n");
	/* now nothing is left for this message: overlap */
	assert_true(smtp_body_done_next(s, &n, true));
	expect_out(s, ".\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<r2@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n");
	assert_int_equal(smtp_take_finished(s)->delivered, 2);
	smtp_free(s);

	/* the next message is too big for the server */
	s = start("250-PIPELINING\r\n250 SIZE 1000\r\n");
	e = env_msg(0);
	smtp_begin_message(s, &e, false);
	expect_out(s, "MAIL FROM:<alice@example.org> SIZE=100\r\nRCPT TO:<r1@example.org>\r\nDATA\r\n");
	feed(s, "250 ok\r\n250 ok\r\n354 go\r\n");
	n.size = 5000;
	assert_false(smtp_body_done_next(s, &n, false));
	expect_out(s, ".\r\n");
	feed(s, "250 ok\r\n");
	assert_int_equal(smtp_next(s), SMTP_NEED_ENVELOPE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);

	/* one finishing message at a time: the one before was not taken */
	s = start("250 PIPELINING\r\n");
	e = env_msg(0);
	first_group(s, &e, false);
	n = env_msg(1);
	assert_true(smtp_body_done_next(s, &n, false));
	expect_out(s, ".\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<r2@example.org>\r\nDATA\r\n");
	feed(s, "250 2.0.0 queued as 1\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	n = env_msg(2);
	assert_false(smtp_body_done_next(s, &n, true));
	expect_out(s, ".\r\n");
	assert_string_equal(smtp_take_finished(s)->final_reply, "250 2.0.0 queued as 1");
	smtp_free(s);
}

/* K's end of data refused: K alone fails, K+1 (its MAIL already sent)
 * goes on; a 4xx the same way. */
static void test_overlap_eod_refused(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_msg(0);
	const struct smtp_result *f;
	(void)state;

	first_group(s, &e, false);
	overlap_send(s, 1, false);
	feed(s, "554 5.7.1 spam\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	f = smtp_take_finished(s);
	assert_non_null(f);
	assert_int_not_equal(f->outcome, OUTCOME_OK);
	assert_int_equal(f->step, STEP_EOD);
	assert_int_equal(f->code, 554);
	assert_string_equal(f->enh, "5.7.1");
	assert_string_equal(f->command, "end of data");
	assert_string_equal(f->final_reply, "554 5.7.1 spam");
	assert_int_equal(f->delivered, 0);
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_OK);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	overlap_send(s, 2, true);
	feed(s, "451 4.3.0 try later\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	f = smtp_take_finished(s);
	assert_int_equal(f->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(f->code, 451);
	smtp_body_done(s);
	expect_out(s, ".\r\nQUIT\r\n");
	feed(s, "250 ok\r\n");
	assert_int_equal(smtp_next(s), SMTP_DONE);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_OK);
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_OK);
	smtp_free(s);
}

/* 421 behind K's 250 in the same read: K is delivered and stays so; K+1
 * and the session fail. A 421 or EOF instead of K's answer fails K too. */
static void test_overlap_421_after_250(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_msg(0);
	const struct smtp_result *f;
	(void)state;

	first_group(s, &e, false);
	overlap_send(s, 1, false);
	feed(s, "250 2.0.0 queued\r\n421 4.3.2 shutting down\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	f = smtp_take_finished(s);
	assert_non_null(f);
	assert_int_equal(f->outcome, OUTCOME_OK);
	assert_string_equal(f->final_reply, "250 2.0.0 queued");
	assert_int_equal(f->delivered, 1);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_result(s)->code, 421);
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_TEMPFAIL);
	smtp_fail(s, OUTCOME_TEMPFAIL, "timed out", false);
	smtp_eof(s);
	assert_int_equal(f->outcome, OUTCOME_OK);
	assert_null(smtp_take_finished(s));
	smtp_free(s);

	/* 421 instead of K's answer */
	s = start("250 PIPELINING\r\n");
	first_group(s, &e, false);
	overlap_send(s, 1, false);
	feed(s, "421 4.3.2 shutting down\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	f = smtp_take_finished(s);
	assert_non_null(f);
	assert_int_equal(f->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(f->code, 421);
	assert_int_equal(f->step, STEP_EOD);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_session_result(s)->code, 421);
	smtp_free(s);

	/* the connection closes before K's answer */
	s = start("250 PIPELINING\r\n");
	first_group(s, &e, false);
	overlap_send(s, 1, false);
	smtp_eof(s);
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	f = smtp_take_finished(s);
	assert_non_null(f);
	assert_int_equal(f->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(f->step, STEP_EOD);
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_TEMPFAIL);
	smtp_free(s);
}

/* The RFC 2920 trap in K+1 (a refused recipient, DATA still 354): the
 * connection is dropped, but only after K's 250 has been recorded. */
static void test_overlap_trap_after_250(void **state)
{
	struct smtp *s = start("250 PIPELINING\r\n");
	struct smtp_envelope e = env_msg(0), n = env_msg(1);
	const struct smtp_result *f;
	(void)state;

	first_group(s, &e, false);
	n.nrcpt = 2;
	assert_true(smtp_body_done_next(s, &n, false));
	expect_out(s, ".\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<r2@example.org>\r\n"
		      "RCPT TO:<x2@example.org>\r\nDATA\r\n");
	feed(s, "250 2.0.0 queued\r\n250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n");
	assert_int_equal(smtp_next(s), SMTP_ABORT);
	f = smtp_take_finished(s);
	assert_non_null(f);
	assert_int_equal(f->outcome, OUTCOME_OK);
	assert_string_equal(f->final_reply, "250 2.0.0 queued");
	assert_int_equal(smtp_result(s)->outcome, OUTCOME_NOUSER);
	assert_int_equal(smtp_result(s)->nrejects, 1);
	assert_int_equal(smtp_session_result(s)->outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(smtp_session_result(s)->step, STEP_DATA);
	smtp_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_submission),
		cmocka_unit_test(test_lockstep_without_pipelining),
		cmocka_unit_test(test_rejected_rcpt_with_354_drops),
		cmocka_unit_test(test_rejected_rcpt_cancels),
		cmocka_unit_test(test_size_refused_before_mail),
		cmocka_unit_test(test_eightbit_without_8bitmime),
		cmocka_unit_test(test_helo_fallback),
		cmocka_unit_test(test_greeting_refused),
		cmocka_unit_test(test_421_ends),
		cmocka_unit_test(test_data_after_reply_is_protocol_error),
		cmocka_unit_test(test_421_out_of_turn_is_tempfail),
		cmocka_unit_test(test_starttls_injection),
		cmocka_unit_test(test_starttls_not_offered),
		cmocka_unit_test(test_dsn_parameters),
		cmocka_unit_test(test_dsn_dropped),
		cmocka_unit_test(test_eof_midway),
		cmocka_unit_test(test_data_answered_250),
		cmocka_unit_test(test_mail_answered_354),
		cmocka_unit_test(test_auth_initial_response_redacted),
		cmocka_unit_test(test_auth_challenge_steps),
		cmocka_unit_test(test_auth_pipelined_with_mail),
		cmocka_unit_test(test_auth_pipelined_refused),
		cmocka_unit_test(test_auth_not_pipelined_when_multistep),
		cmocka_unit_test(test_auth_235_without_proof),
		cmocka_unit_test(test_auth_long_initial_response),
		cmocka_unit_test(test_output_stable_while_writing),
		cmocka_unit_test(test_group_has_a_maximum),
		cmocka_unit_test(test_quit_fails_after_250),
		cmocka_unit_test(test_421_right_behind_a_reply),
		cmocka_unit_test(test_too_many_recipients_pipelined),
		cmocka_unit_test(test_too_many_recipients_lockstep),
		cmocka_unit_test(test_too_many_recipients_no_progress),
		cmocka_unit_test(test_refusal_in_further_transaction),
		cmocka_unit_test(test_multiline_refusal_kept),
		cmocka_unit_test(test_xtext),
		cmocka_unit_test(test_batch_three_delivered),
		cmocka_unit_test(test_batch_mail_refused),
		cmocka_unit_test(test_batch_rcpt_refused),
		cmocka_unit_test(test_batch_eod_tempfail),
		cmocka_unit_test(test_batch_421_ends_session),
		cmocka_unit_test(test_batch_pipelining_trap),
		cmocka_unit_test(test_batch_size_refused_in_middle),
		cmocka_unit_test(test_overlap_three_messages),
		cmocka_unit_test(test_overlap_only_when_safe),
		cmocka_unit_test(test_overlap_eod_refused),
		cmocka_unit_test(test_overlap_421_after_250),
		cmocka_unit_test(test_overlap_trap_after_250),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
