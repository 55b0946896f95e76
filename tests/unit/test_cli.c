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

/* SETTINGS: the expected (option, keyword, value) triples, in order. */
static void expect_settings(const struct request *r, const char *const *want, size_t n)
{
	size_t i;

	assert_int_equal(r->nsettings, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(r->settings[i].option, want[3 * i]);
		assert_string_equal(r->settings[i].keyword, want[3 * i + 1]);
		assert_string_equal(r->settings[i].value, want[3 * i + 2]);
	}
}

static void c_no_config(const struct request *r)
{
	static const char *const want[] = {
		"host", "host", "relay", "port", "port", "25", "tls", "tls", "off", "domain", "domain", "",
		"auth", "auth", "on", "tls", "tls", "on",
	};
	expect_settings(r, want, 6);
	assert_true(r->has_host);
	assert_string_equal(r->from, "app@x");
	assert_int_equal(r->nrcpt_args, 1);
	assert_string_equal(r->rcpt_args[0], "rcpt@x");
}

static void c_old_spellings(const struct request *r)
{
	static const char *const want[] = {
		"keepbcc", "keepbcc", "on", "connect-timeout", "connect_timeout", "5",
		"add-missing-from-header", "add_missing_from_header", "off", "auto-from", "auto_from", "on",
		"tls-min-dh-prime-bits", "tls_min_dh_prime_bits", "2048",
	};
	expect_settings(r, want, 5);
	assert_false(r->has_host);
}

static void c_settings_all(const struct request *r)
{
	assert_int_equal(r->nsettings, 10);
	assert_string_equal(r->settings[0].keyword, "tls_trust_file");
	assert_string_equal(r->settings[1].keyword, "tls_starttls");
	assert_string_equal(r->settings[1].value, "off");
	assert_string_equal(r->settings[2].keyword, "set_msgid_header");
	assert_string_equal(r->settings[3].keyword, "remove_bcc_headers");
	assert_string_equal(r->settings[4].keyword, "syslog");
	assert_string_equal(r->settings[4].value, "LOG_MAIL");
	assert_string_equal(r->settings[5].keyword, "proxy_host");
	assert_string_equal(r->settings[6].keyword, "proxy_port");
	assert_string_equal(r->settings[7].keyword, "source_ip");
	assert_string_equal(r->settings[8].keyword, "socket");
	assert_string_equal(r->settings[9].keyword, "passwordeval");
	assert_string_equal(r->settings[9].value, "pass show mail");
}

static void c_host_with_account(const struct request *r)
{
	assert_true(r->has_host);
	assert_string_equal(r->account, "work");
	assert_string_equal(r->config_file, "/tmp/rc");
}

static void c_short_msmtp(const struct request *r)
{
	assert_int_equal(r->mode, CLI_PRETEND);
	assert_true(r->debug);
	assert_true(r->read_recipients);
	assert_int_equal(r->nsettings, 0);
}

static void c_read_recipients(const struct request *r) { assert_true(r->read_recipients); }
static void c_debug(const struct request *r) { assert_true(r->debug); }

static void c_deliver_now(const struct request *r) { assert_int_equal(r->delivery, CLI_DELIVER_INTERACTIVE); }
static void c_deliver_queue(const struct request *r) { assert_int_equal(r->delivery, CLI_DELIVER_QUEUE); }
static void c_deliver_background(const struct request *r) { assert_int_equal(r->delivery, CLI_DELIVER_BACKGROUND); }
static void c_smtp_stdio(const struct request *r) { assert_int_equal(r->mode, CLI_SMTP_STDIO); }
static void c_queue_json(const struct request *r) { assert_int_equal(r->mode, CLI_QUEUE_JSON); }

static void c_queue_select_id(const struct request *r)
{
	assert_int_equal(r->mode, CLI_QUEUE_RUN);
	assert_string_equal(r->queue_id, "1733.42.abc");
	assert_int_equal(r->nrcpt_args, 0);
}

static void c_queue_select_addr(const struct request *r)
{
	assert_int_equal(r->mode, CLI_QUEUE_RUN);
	assert_string_equal(r->queue_rcpt, "bob@");
	assert_string_equal(r->queue_sender, "alice");
	assert_null(r->queue_id);
}

static void c_queue_delete(const struct request *r)
{
	assert_int_equal(r->mode, CLI_QUEUE_DELETE);
	assert_string_equal(r->queue_id, "1733.42.abc");
}

static const struct cli_row cli_rows[] = {
	{ { "kurier", "--host=relay", "--port", "25", "--tls=off", "--domain=", "--auth", "--tls",
	    "--from=app@x", "rcpt@x" }, 0, NULL, c_no_config },
	{ { "kurier", "--keepbcc", "--connect-timeout", "5", "--add-missing-from-header=off", "--auto-from",
	    "--tls-min-dh-prime-bits=2048" }, 0, NULL, c_old_spellings },
	{ { "kurier", "--tls-trust-file=/ca.pem", "--tls-starttls=off", "--set-msgid-header",
	    "--remove-bcc-headers=on", "--syslog=LOG_MAIL", "--proxy-host", "p", "--proxy-port=1080",
	    "--source-ip=::1", "--socket=/s", "--passwordeval=pass show mail" }, 0, NULL, c_settings_all },
	{ { "kurier", "--host", "h", "-a", "work", "-C", "/tmp/rc" }, 0, NULL, c_host_with_account },
	{ { "kurier", "-tdP" }, 0, NULL, c_short_msmtp },
	{ { "kurier", "-S" }, 0, NULL, c_serverinfo },
	{ { "kurier", "-P" }, 0, NULL, c_pretend },
	{ { "kurier", "-d", "a@x" }, 0, NULL, c_debug },
	{ { "kurier", "--read-recipients" }, 0, NULL, c_read_recipients },
	{ { "kurier", "--tls", "off", "a@x" }, -1, "write --tls=off", NULL },
	{ { "kurier", "--auth", "on" }, -1, "write --auth=on", NULL },
	{ { "kurier", "--port" }, -1, "option --port needs a value", NULL },
	{ { "kurier", "--host=h", "-C", "/tmp/rc" }, -1, "--host without -a reads no configuration file", NULL },
	{ { "kurier", "--password=x" }, -1, "unknown option '--password=x'", NULL },
	{ { "kurier", "--read-recipients=yes" }, -1, "takes no value", NULL },
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
	{ { "kurier", "-oem", "-oep", "-em", "-ep", "-U", "-G", "-n", "-Ltag", "a@x" },
	  0, NULL, c_ignored },
	{ { "kurier", "-odb", "-odi", "a@x" }, 0, NULL, c_deliver_now },
	{ { "kurier", "-odq", "a@x" }, 0, NULL, c_deliver_queue },
	{ { "kurier", "-odd", "a@x" }, 0, NULL, c_deliver_queue },
	{ { "kurier", "-odi", "-odb", "a@x" }, 0, NULL, c_deliver_background },
	{ { "kurier", "-odx", "a@x" }, -1, "unknown delivery mode -odx", NULL },
	{ { "kurier", "-qI", "1733.42.abc" }, 0, NULL, c_queue_select_id },
	{ { "kurier", "-qI1733.42.abc" }, 0, NULL, c_queue_select_id },
	{ { "kurier", "-qR", "bob@", "-qSalice" }, 0, NULL, c_queue_select_addr },
	{ { "kurier", "-qI" }, -1, "option -qI needs a value", NULL },
	{ { "kurier", "-qX" }, -1, "unknown queue selection -qX", NULL },
	{ { "kurier", "-q5x" }, -1, "bad -q interval", NULL },
	{ { "kurier", "--queue-run" }, 0, NULL, c_queue_run },
	{ { "kurier", "--queue-json" }, 0, NULL, c_queue_json },
	{ { "kurier", "--queue-delete", "1733.42.abc" }, 0, NULL, c_queue_delete },
	{ { "kurier", "--queue-delete" }, -1, "needs a value", NULL },
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
	{ { "kurier", "-bs" }, 0, NULL, c_smtp_stdio },
	{ { "kurier", "-bd" }, -1, "mode -bd is not supported", NULL },
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
