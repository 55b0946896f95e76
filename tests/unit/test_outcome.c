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

static void test_reply_classification(void **state)
{
	(void)state;
	assert_int_equal(outcome_from_reply(STEP_RCPT, 550, "5.1.1"), OUTCOME_NOUSER);
	assert_int_equal(outcome_from_reply(STEP_RCPT, 450, "4.2.0"), OUTCOME_TEMPFAIL);
	assert_int_equal(outcome_from_reply(STEP_MAIL, 553, "5.7.1"), OUTCOME_UNAVAILABLE);
	assert_int_equal(outcome_from_reply(STEP_MAIL, 552, ""), OUTCOME_DATAERR);
	assert_int_equal(outcome_from_reply(STEP_EOD, 554, "5.3.4"), OUTCOME_DATAERR);
	assert_int_equal(outcome_from_reply(STEP_EOD, 554, "5.7.1"), OUTCOME_UNAVAILABLE);
	assert_int_equal(outcome_from_reply(STEP_AUTH, 535, "5.7.8"), OUTCOME_NOPERM);
	assert_int_equal(outcome_from_reply(STEP_GREETING, 554, ""), OUTCOME_UNAVAILABLE);
	assert_int_equal(outcome_from_reply(STEP_GREETING, 421, ""), OUTCOME_TEMPFAIL);
	assert_int_equal(outcome_from_reply(STEP_DATA, 250, ""), OUTCOME_PROTOCOL);
	assert_int_equal(outcome_from_reply(STEP_MAIL, 354, ""), OUTCOME_PROTOCOL);
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
		cmocka_unit_test(test_reply_classification),
		cmocka_unit_test(test_worse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
