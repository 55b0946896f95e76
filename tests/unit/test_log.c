/* test_log.c: the log line of a submission, as logfile and syslog get it,
 * and the refusals of the files kurier writes for the user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static void test_line(void **state)
{
	static const char *const two[] = { "bob@example.org", "carol@example.net" };
	static char longer[40][20];
	static const char *many[40];
	static char name[] = "work";
	struct cfg_account a = { .name = name };
	struct session_conf sc = { .host = "mail.example.org" };
	struct smtp_envelope env = { .from = "alice@example.org", .rcpt = two, .nrcpt = 2 };
	struct session_facts f = { "TLS1.3 (TLS_AES_256_GCM_SHA384)", "PLAIN user=alice", "250 2.0.0 ok", 0, "", "" };
	struct log_entry e = { &a, &sc, &env, &f, OUTCOME_OK, 1234, 0, NULL };
	char line[4096];
	size_t i;
	(void)state;

	log_format(&e, line, sizeof line);
	assert_string_equal(line, "account=work host=mail.example.org tls=TLS1.3 (TLS_AES_256_GCM_SHA384) "
				  "auth=PLAIN user=alice from=<alice@example.org> "
				  "recipients=bob@example.org,carol@example.net mailsize=1234 "
				  "reply='250 2.0.0 ok' exitcode=EX_OK");

	/* through a proxy, refused, with the null sender */
	sc.proxy_host = "127.0.0.1";
	sc.proxy_port = "1080";
	env.from = "";
	env.nrcpt = 1;
	snprintf(f.tls, sizeof f.tls, "off");
	snprintf(f.auth, sizeof f.auth, "off");
	snprintf(f.reply, sizeof f.reply, "550 5.1.1 no such user");
	e.outcome = OUTCOME_NOUSER;
	e.size = 0;
	log_format(&e, line, sizeof line);
	assert_string_equal(line, "account=work host=mail.example.org proxy=127.0.0.1:1080 tls=off auth=off "
				  "from=<> recipients=bob@example.org mailsize=0 "
				  "reply='550 5.1.1 no such user' exitcode=EX_NOUSER");

	/* input after a lone dot, ignored, is told */
	e.after_dot = 42;
	log_format(&e, line, sizeof line);
	assert_non_null(strstr(line, " exitcode=EX_NOUSER ignored-after-dot=42"));
	e.after_dot = 0;

	/* many recipients are cut with "..." */
	for (i = 0; i < 40; i++) {
		snprintf(longer[i], sizeof longer[i], "user%02zu@example.org", i);
		many[i] = longer[i];
	}
	env.rcpt = many;
	env.nrcpt = 40;
	log_format(&e, line, sizeof line);
	assert_non_null(strstr(line, "recipients=user00@example.org,user01@example.org,"));
	assert_non_null(strstr(line, "... mailsize=0"));
	assert_null(strstr(line, "user39"));

	/* a short buffer holds a cut line, never more */
	log_format(&e, line, 20);
	assert_string_equal(line, "account=work host=m");
}

static void test_open_private(void **state)
{
	char dir[] = "/tmp/test_log.XXXXXX", path[256], link[256], err[512];
	int fd;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/log", dir);
	snprintf(link, sizeof link, "%s/link", dir);
	fd = log_open_private(path, true, err, sizeof err);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "one\n", 4), 4);
	close(fd);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(log_open_private(link, true, err, sizeof err), -1);
	assert_non_null(strstr(err, "is a symbolic link"));
	/* a transcript empties a file of this user's, but nothing else */
	fd = log_open_private(path, false, err, sizeof err);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 0, SEEK_END), 0);
	close(fd);
	assert_int_equal(log_open_private(dir, false, err, sizeof err), -1);
	unlink(link);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_open_private),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
