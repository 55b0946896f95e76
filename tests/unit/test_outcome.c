/* test_outcome.c: the outcome table agrees with sysexits.h, and replies
 * are classified as documented. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>
#include <cmocka.h>

#include "outcome.h"

static void test_table_matches_sysexits(void **state)
{
	static const struct { enum outcome o; int code; const char *name; } rows[] = {
		{ OUTCOME_OK, EX_OK, "EX_OK" },
		{ OUTCOME_USAGE, EX_USAGE, "EX_USAGE" },
		{ OUTCOME_DATAERR, EX_DATAERR, "EX_DATAERR" },
		{ OUTCOME_NOUSER, EX_NOUSER, "EX_NOUSER" },
		{ OUTCOME_NOHOST, EX_NOHOST, "EX_NOHOST" },
		{ OUTCOME_UNAVAILABLE, EX_UNAVAILABLE, "EX_UNAVAILABLE" },
		{ OUTCOME_SOFTWARE, EX_SOFTWARE, "EX_SOFTWARE" },
		{ OUTCOME_OSERR, EX_OSERR, "EX_OSERR" },
		{ OUTCOME_IOERR, EX_IOERR, "EX_IOERR" },
		{ OUTCOME_TEMPFAIL, EX_TEMPFAIL, "EX_TEMPFAIL" },
		{ OUTCOME_PROTOCOL, EX_PROTOCOL, "EX_PROTOCOL" },
		{ OUTCOME_NOPERM, EX_NOPERM, "EX_NOPERM" },
		{ OUTCOME_CONFIG, EX_CONFIG, "EX_CONFIG" },
	};
	size_t i;
	(void)state;

	assert_int_equal(sizeof rows / sizeof rows[0], OUTCOME_COUNT);
	for (i = 0; i < OUTCOME_COUNT; i++) {
		assert_int_equal(outcome_exit_code(rows[i].o), rows[i].code);
		assert_string_equal(outcome_info(rows[i].o)->name, rows[i].name);
		assert_int_equal(outcome_info(rows[i].o)->outcome, rows[i].o);
	}
}

/* One row per reply: where it came, what it said, and the judgement. The
 * named rows are replies measured against real servers. */
static void test_reply_judgement(void **state)
{
	static const struct {
		enum outcome_step step;
		int code;
		const char *enh, *text;
		enum outcome outcome;
		enum outcome_hint hint;
	} rows[] = {
		{ STEP_RCPT, 550, "5.1.1", "<nobody@example.org>: Recipient address rejected: User unknown in local recipient table", OUTCOME_NOUSER, HINT_RECIPIENT },
		{ STEP_RCPT, 450, "4.2.0", "busy", OUTCOME_TEMPFAIL, HINT_TRY_LATER },
		{ STEP_RCPT, 451, "4.7.1", "<alice@example.org>: Sender address rejected: greylisted", OUTCOME_TEMPFAIL, HINT_TRY_LATER },
		/* Postfix smtpd_client_restrictions */
		{ STEP_RCPT, 554, "5.7.1", "<unknown[192.0.2.1]>: Client host rejected: Access denied", OUTCOME_UNAVAILABLE, HINT_POLICY },
		/* Postfix reject_unauth_destination */
		{ STEP_RCPT, 554, "5.7.1", "<bob@example.net>: Relay access denied", OUTCOME_UNAVAILABLE, HINT_POLICY },
		/* Exim: relaying needs AUTH */
		{ STEP_RCPT, 550, "5.7.1", "authentication required", OUTCOME_NOPERM, HINT_AUTH_REQUIRED },
		{ STEP_RCPT, 550, "", "Authentication required", OUTCOME_NOPERM, HINT_AUTH_REQUIRED },
		/* Postfix reject_sender_login_mismatch */
		{ STEP_RCPT, 553, "5.7.1", "<alice@example.org>: Sender address rejected: not owned by user bob", OUTCOME_UNAVAILABLE, HINT_SENDER },
		/* Postfix reject_unknown_sender_domain, at RCPT */
		{ STEP_RCPT, 550, "5.1.8", "<alice@nowhere.invalid>: Domain not found", OUTCOME_UNAVAILABLE, HINT_SENDER },
		{ STEP_RCPT, 553, "5.1.7", "bad sender syntax", OUTCOME_UNAVAILABLE, HINT_SENDER },
		{ STEP_RCPT, 552, "5.2.2", "mailbox full", OUTCOME_NOUSER, HINT_MAILBOX },
		{ STEP_RCPT, 550, "", "no such user", OUTCOME_NOUSER, HINT_RECIPIENT },
		{ STEP_RCPT, 551, "", "user not local", OUTCOME_NOUSER, HINT_RECIPIENT },
		{ STEP_RCPT, 553, "", "mailbox name not allowed", OUTCOME_NOUSER, HINT_RECIPIENT },
		{ STEP_RCPT, 554, "", "transaction failed", OUTCOME_UNAVAILABLE, HINT_NOT_SENT },
		{ STEP_RCPT, 503, "5.5.1", "need MAIL first", OUTCOME_UNAVAILABLE, HINT_NOT_SENT },
		/* OpenSMTPD */
		{ STEP_MAIL, 530, "5.5.1", "Invalid command: Must issue an AUTH command first", OUTCOME_NOPERM, HINT_AUTH_REQUIRED },
		/* Gmail, Microsoft 365 */
		{ STEP_MAIL, 530, "5.7.0", "Authentication Required. Learn more at\nhttps://support.google.com/mail/?p=WantAuthError", OUTCOME_NOPERM, HINT_AUTH_REQUIRED },
		{ STEP_MAIL, 530, "5.7.57", "Client not authenticated to send mail. [AM0PR01CA0001.eurprd01.prod.exchangelabs.com]", OUTCOME_NOPERM, HINT_AUTH_REQUIRED },
		{ STEP_MAIL, 553, "5.7.1", "<alice@example.org>: Sender address rejected: not owned by user bob", OUTCOME_UNAVAILABLE, HINT_SENDER },
		{ STEP_MAIL, 554, "5.7.1", "<unknown[192.0.2.1]>: Client host rejected: Access denied", OUTCOME_UNAVAILABLE, HINT_POLICY },
		{ STEP_MAIL, 550, "5.1.8", "sender domain does not exist", OUTCOME_UNAVAILABLE, HINT_SENDER },
		{ STEP_MAIL, 501, "5.1.7", "bad sender address syntax", OUTCOME_UNAVAILABLE, HINT_SENDER },
		{ STEP_MAIL, 550, "", "go away", OUTCOME_UNAVAILABLE, HINT_SENDER },
		{ STEP_MAIL, 552, "", "too big", OUTCOME_DATAERR, HINT_NOT_SENT },
		{ STEP_MAIL, 452, "4.3.1", "insufficient system storage", OUTCOME_TEMPFAIL, HINT_TRY_LATER },
		{ STEP_MAIL, 354, "", "what", OUTCOME_PROTOCOL, HINT_PROTOCOL },
		{ STEP_DATA, 250, "", "ok", OUTCOME_PROTOCOL, HINT_PROTOCOL },
		{ STEP_DATA, 554, "5.5.1", "no valid recipients", OUTCOME_UNAVAILABLE, HINT_NOT_SENT },
		{ STEP_EOD, 554, "5.3.4", "message too big", OUTCOME_DATAERR, HINT_NOT_SENT },
		{ STEP_EOD, 552, "", "too big", OUTCOME_DATAERR, HINT_NOT_SENT },
		{ STEP_EOD, 554, "5.7.1", "spam", OUTCOME_UNAVAILABLE, HINT_POLICY },
		/* at the end of data X.7.0 is content policy, not authentication */
		{ STEP_EOD, 554, "5.7.0", "Reject, id=12345", OUTCOME_UNAVAILABLE, HINT_POLICY },
		{ STEP_EOD, 550, "5.6.3", "cannot convert", OUTCOME_DATAERR, HINT_NOT_SENT },
		{ STEP_AUTH, 535, "5.7.8", "authentication credentials invalid", OUTCOME_NOPERM, HINT_AUTH_REFUSED },
		{ STEP_AUTH, 454, "4.7.0", "temporary authentication failure", OUTCOME_TEMPFAIL, HINT_TRY_LATER },
		{ STEP_GREETING, 554, "", "no SMTP service here", OUTCOME_UNAVAILABLE, HINT_NOT_SENT },
		{ STEP_GREETING, 554, "5.7.1", "your host is blocked", OUTCOME_UNAVAILABLE, HINT_POLICY },
		{ STEP_GREETING, 421, "", "busy", OUTCOME_TEMPFAIL, HINT_TRY_LATER },
		{ STEP_RCPT, 550, NULL, NULL, OUTCOME_NOUSER, HINT_RECIPIENT },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct outcome_judgement j = outcome_judge(rows[i].step, rows[i].code, rows[i].enh, rows[i].text);
		if (j.outcome != rows[i].outcome || j.hint != rows[i].hint)
			fail_msg("row %zu (%d %s %s): outcome %d hint %d, expected %d and %d", i,
				 rows[i].code, rows[i].enh ? rows[i].enh : "-", rows[i].text ? rows[i].text : "-",
				 j.outcome, j.hint, rows[i].outcome, rows[i].hint);
	}
}

/* Every hint has words, and the default hints fit their outcomes. */
static void test_hints(void **state)
{
	int h;
	(void)state;

	for (h = 0; h < HINT_COUNT; h++)
		assert_true(strlen(outcome_hint_text((enum outcome_hint)h)) > 10);
	assert_string_equal(outcome_hint_text(outcome_default_hint(OUTCOME_TEMPFAIL)), "try again later");
	assert_int_equal(outcome_default_hint(OUTCOME_PROTOCOL), HINT_PROTOCOL);
	assert_true(strstr(outcome_hint_text(HINT_AUTH_REQUIRED), "auth on") != NULL);
	assert_true(strstr(outcome_hint_text(HINT_SENDER), "-f or from") != NULL);
}

static void test_worse(void **state)
{
	(void)state;
	assert_int_equal(outcome_worse(OUTCOME_OK, OUTCOME_TEMPFAIL), OUTCOME_TEMPFAIL);
	assert_int_equal(outcome_worse(OUTCOME_TEMPFAIL, OUTCOME_NOUSER), OUTCOME_NOUSER);
	assert_int_equal(outcome_worse(OUTCOME_NOUSER, OUTCOME_TEMPFAIL), OUTCOME_NOUSER);
	assert_int_equal(outcome_worse(OUTCOME_NOUSER, OUTCOME_UNAVAILABLE), OUTCOME_NOUSER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_sysexits),
		cmocka_unit_test(test_reply_judgement),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_worse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
