/* test_cli.c: the sendmail command-line grammar as a table of argv rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"

#define MAXARGS 12

struct cli_row {
	const char *argv[MAXARGS];
	int rc;
	const char *err;          /* substring, when rc is -1 */
	void (*check)(const struct request *r);
};

static void c_plain(const struct request *r)
{
	assert_int_equal(r->mode, CLI_SEND);
	assert_int_equal(r->nrcpt_args, 2);
	assert_string_equal(r->rcpt_args[0], "a@x");
	assert_false(r->read_recipients);
	assert_false(r->ignore_dots);
}

static void c_cluster(const struct request *r)
{
	assert_true(r->read_recipients);
	assert_true(r->ignore_dots);
	assert_string_equal(r->from, "me@x");
	assert_int_equal(r->nrcpt_args, 0);
}

static void c_cron(const struct request *r)
{
	assert_string_equal(r->full_name, "CronDaemon");
	assert_true(r->ignore_dots);
	assert_int_equal(r->body, SMTP_BODY_8BITMIME);
	assert_int_equal(r->nrcpt_args, 1);
	assert_string_equal(r->rcpt_args[0], "root");
}

static void c_sender_forms(const struct request *r) { assert_string_equal(r->from, "ops@example.org"); }
static void c_sender_two(const struct request *r) { assert_string_equal(r->from, "a@x, b@y"); }

static void c_null_sender(const struct request *r)
{
	assert_string_equal(r->from, "");
}

static void c_dsn(const struct request *r)
{
	assert_string_equal(r->dsn_notify, "FAILURE,DELAY");
	assert_string_equal(r->dsn_return, "HDRS");
	assert_string_equal(r->dsn_envid, "abc");
}

static void c_long(const struct request *r)
{
	assert_string_equal(r->account, "work");
	assert_string_equal(r->config_file, "/tmp/rc");
	assert_string_equal(r->from, "f@x");
	assert_true(r->read_envelope_from);
	assert_true(r->debug);
}

static void c_dashdash(const struct request *r)
{
	assert_int_equal(r->nrcpt_args, 1);
	assert_string_equal(r->rcpt_args[0], "-odd@x");
}

static void c_ignored(const struct request *r)
{
	assert_int_equal(r->nrcpt_args, 1);
	assert_false(r->ignore_dots);
}

static void c_pretend(const struct request *r) { assert_int_equal(r->mode, CLI_PRETEND); }
static void c_serverinfo(const struct request *r) { assert_int_equal(r->mode, CLI_SERVERINFO); }
static void c_transcript(const struct request *r)
{
	assert_string_equal(r->transcript_file, "/tmp/x");
	assert_int_equal(r->verbose, 2);
}

static void c_queue_list(const struct request *r) { assert_int_equal(r->mode, CLI_QUEUE_LIST); }
static void c_queue_run(const struct request *r) { assert_int_equal(r->mode, CLI_QUEUE_RUN); }
static void c_newaliases(const struct request *r) { assert_int_equal(r->mode, CLI_NEWALIASES); }

static const struct cli_row cli_rows[] = {
	{ { "kurier", "a@x", "b@x" }, 0, NULL, c_plain },
	{ { "kurier", "-tif", "me@x" }, 0, NULL, c_cluster },
	{ { "kurier", "-t", "-i", "-fme@x" }, 0, NULL, c_cluster },
	{ { "kurier", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root" }, 0, NULL, c_cron },
	{ { "kurier", "-f", "<>", "a@x" }, 0, NULL, c_null_sender },
	{ { "kurier", "-r", "", "a@x" }, 0, NULL, c_null_sender },
	{ { "kurier", "-f", "Ops Team <ops@example.org>", "a@x" }, 0, NULL, c_sender_forms },
	{ { "kurier", "-f<ops@example.org>", "a@x" }, 0, NULL, c_sender_forms },
	{ { "kurier", "--from=ops@example.org (Ops)", "a@x" }, 0, NULL, c_sender_forms },
	{ { "kurier", "-f", "ops@example.org", "-f", "Ops <ops@example.org>", "a@x" }, 0, NULL, c_sender_forms },
	{ { "kurier", "-f", "a@x, b@y", "a@x" }, 0, NULL, c_sender_two },
	{ { "kurier", "-N", "failure,delay", "-R", "hdrs", "-V", "abc", "a@x" }, 0, NULL, c_dsn },
	{ { "kurier", "--account=work", "--file", "/tmp/rc", "--from=f@x", "--read-envelope-from",
	    "--debug", "a@x" }, 0, NULL, c_long },
	{ { "kurier", "--", "-odd@x" }, 0, NULL, c_dashdash },
	{ { "kurier", "-oem", "-oep", "-odi", "-odb", "-em", "-ep", "-U", "-G", "-n", "-Ltag", "a@x" },
	  0, NULL, c_ignored },
	{ { "kurier", "-h", "5", "-O", "x=y", "-L", "tag", "-oXfoo", "-bm", "a@x" }, 0, NULL, c_ignored },
	{ { "kurier", "--pretend" }, 0, NULL, c_pretend },
	{ { "kurier", "--serverinfo" }, 0, NULL, c_serverinfo },
	{ { "kurier", "-vv", "-X", "/tmp/x", "a@x" }, 0, NULL, c_transcript },
	{ { "kurier", "-q" }, 0, NULL, c_queue_run },
	{ { "kurier", "-q30m" }, 0, NULL, c_queue_run },
	{ { "kurier", "-qf" }, 0, NULL, c_queue_run },
	{ { "kurier", "-bp" }, 0, NULL, c_queue_list },
	{ { "/usr/bin/mailq" }, 0, NULL, c_queue_list },
	{ { "kurier", "-bi" }, 0, NULL, c_newaliases },
	{ { "newaliases" }, 0, NULL, c_newaliases },
	{ { "kurier", "-Q" }, -1, "unknown option '-Q'", NULL },
	{ { "kurier", "--bogus" }, -1, "unknown option '--bogus'", NULL },
	{ { "kurier", "-bs" }, -1, "mode -bs is not supported", NULL },
	{ { "kurier", "-f" }, -1, "option -f needs a value", NULL },
	{ { "kurier", "--account" }, -1, "option --account needs a value", NULL },
	{ { "kurier", "--pretend=1" }, -1, "takes no value", NULL },
	{ { "kurier", "-N", "never,success" }, -1, "never cannot be combined", NULL },
	{ { "kurier", "-N", "sometimes" }, -1, "bad -N value", NULL },
	{ { "kurier", "-R", "body" }, -1, "bad -R value", NULL },
	{ { "kurier", "-Bbinary" }, -1, "bad -B value", NULL },
	{ { "kurier", "-V", "a b" }, -1, "printable ASCII", NULL },
	{ { "kurier", "-o" }, -1, "needs a letter", NULL },
};

static void test_cli_table(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof cli_rows / sizeof cli_rows[0]; i++) {
		const struct cli_row *row = &cli_rows[i];
		struct request req;
		char err[256] = "";
		int argc = 0, rc;

		while (argc < MAXARGS && row->argv[argc] != NULL)
			argc++;
		rc = cli_parse(argc, (char *const *)row->argv, &req, err, sizeof err);
		if (rc != row->rc)
			fail_msg("row %zu: rc %d (%s)", i, rc, err);
		if (rc != 0 && strstr(err, row->err) == NULL)
			fail_msg("row %zu: error '%s' lacks '%s'", i, err, row->err);
		if (rc == 0 && row->check != NULL)
			row->check(&req);
		cli_free(&req);
	}
}

static void test_help_fits_80_columns(void **state)
{
	const char *p = cli_help_text;
	(void)state;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		assert_true(nl - p <= 80);
		p = nl + 1;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_table),
		cmocka_unit_test(test_help_fits_80_columns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
