/* test_session_batch.c: session_run_batch() against the real test MSA
 * (tests/msa on loopback, kernel-chosen port): several messages over one
 * connection, checked in the MSA's records (FILE, DATA, client lines). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "session.h"

#define NMSG 3

static const char *const rcpts[NMSG][1] = {
	{ "r1@example.org" }, { "r2@example.org" }, { "r3@example.org" },
};

static const char *const bodies[NMSG] = {
	"Subject: one\r\n\r\nfirst\r\n",
	"Subject: two\r\n\r\n.a line with a dot\r\n",
	"Subject: three\r\n\r\nthird\r\n",
};

struct fixture {
	char dir[256];
	char port[16];
	pid_t msa;
	struct smtp_envelope env[NMSG];
	struct spool spool[NMSG];
	struct session_item items[NMSG];
	char done[NMSG * 8];   /* "I," per DONE call, in order; "I!," failed, "I!-," not begun */
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* The whole of PATH as a string, or NULL when it does not exist. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = calloc(1, (size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return p;
}

static char *record(const struct fixture *fx, const char *name)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", fx->dir, name);
	return slurp(path);
}

static void expect_record(const struct fixture *fx, const char *name, const char *want)
{
	char *got = record(fx, name);

	if (got == NULL)
		fail_msg("no record %s", name);
	if (strcmp(got, want) != 0)
		fail_msg("%s is\n%s\nexpected\n%s", name, got, want);
	free(got);
}

/* Start the MSA with SCRIPT (one directive per line) in a new directory. */
static void start_msa(struct fixture *fx, const char *script)
{
	const char *msa = getenv("MSA");
	char path[512];
	char *port = NULL;
	FILE *f;
	int i;

	if (msa == NULL)
		fail_msg("MSA is not set (run through make check)");
	snprintf(fx->dir, sizeof fx->dir, "%s/kurier-batch.XXXXXX",
		 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(path, sizeof path, "%s/script", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(script, f);
	fclose(f);
	fx->msa = fork();
	assert_true(fx->msa >= 0);
	if (fx->msa == 0) {
		char err[512], records[512];
		int fd;
		snprintf(err, sizeof err, "%s/msa.stderr", fx->dir);
		snprintf(records, sizeof records, "%s/msa", fx->dir);
		fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		execl(msa, msa, "--dir", records, "--script", path, "--lifetime", "30", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 400 && port == NULL; i++) {
		port = record(fx, "msa/port");
		if (port == NULL)
			sleep_ms(25);
	}
	if (port == NULL)
		fail_msg("the test MSA did not start");
	port[strcspn(port, "\n")] = '\0';
	snprintf(fx->port, sizeof fx->port, "%s", port);
	free(port);
}

/* Let the MSA end its one session and write its records. */
static void wait_msa(struct fixture *fx)
{
	int i, st;

	for (i = 0; i < 400; i++) {
		if (waitpid(fx->msa, &st, WNOHANG) == fx->msa) {
			fx->msa = 0;
			return;
		}
		sleep_ms(25);
	}
	kill(fx->msa, SIGTERM);
	waitpid(fx->msa, &st, 0);
	fx->msa = 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void on_done(void *ctx, struct session_item *item, size_t i)
{
	struct fixture *fx = ctx;
	size_t n = strlen(fx->done);

	/* the outcome is set when DONE is called */
	snprintf(fx->done + n, sizeof fx->done - n, "%zu%s%s,", i, item->outcome == OUTCOME_OK ? "" : "!",
		 item->begun ? "" : "-");
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	char err[KURIER_ERRLEN];
	int k;

	assert_non_null(fx);
	for (k = 0; k < NMSG; k++) {
		fx->env[k].from = "alice@example.org";
		fx->env[k].rcpt = rcpts[k];
		fx->env[k].nrcpt = 1;
		fx->env[k].size = strlen(bodies[k]);
		spool_init(&fx->spool[k]);
		assert_int_equal(spool_write(&fx->spool[k], bodies[k], strlen(bodies[k]), err, sizeof err), 0);
		assert_int_equal(spool_seal(&fx->spool[k], err, sizeof err), 0);
		fx->items[k].env = &fx->env[k];
		fx->items[k].msg = &fx->spool[k];
	}
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	int k;

	if (fx->msa > 0)
		wait_msa(fx);
	for (k = 0; k < NMSG; k++)
		spool_free(&fx->spool[k]);
	if (fx->dir[0] != '\0')
		nftw(fx->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static enum outcome run(struct fixture *fx)
{
	struct session_conf c;
	struct diag d;

	memset(&c, 0, sizeof c);
	memset(&d, 0, sizeof d);
	c.account = "default";
	c.host = "127.0.0.1";
	c.port = fx->port;
	c.ehlo_name = "client.example";
	c.tls = SESSION_TLS_OFF;
	return session_run_batch(&c, fx->items, NMSG, on_done, fx, &d);
}

/* Three messages, one session: one EHLO, three MAIL groups, each after
 * the first behind the end of data before it in one write (RFC 2920 3.1:
 * one round trip per message), QUIT with the last end of data, three DATA
 * records byte for byte. */
static void test_three_messages_one_session(void **state)
{
	struct fixture *fx = *state;
	char *second;
	int k;

	start_msa(fx, "");
	assert_int_equal(run(fx), OUTCOME_OK);
	wait_msa(fx);
	for (k = 0; k < NMSG; k++) {
		assert_int_equal(fx->items[k].outcome, OUTCOME_OK);
		assert_true(fx->items[k].begun);
	}
	assert_string_equal(fx->done, "0,1,2,");
	assert_string_equal(fx->items[1].facts.reply, "250 2.0.0 ok queued as 1");
	assert_string_equal(fx->items[0].facts.tls, "off");
	expect_record(fx, "msa/1.client",
		      "EHLO client.example\n"
		      "MAIL FROM:<alice@example.org> SIZE=23\nRCPT TO:<r1@example.org>\nDATA\n.\n"
		      "MAIL FROM:<alice@example.org> SIZE=36\nRCPT TO:<r2@example.org>\nDATA\n.\n"
		      "MAIL FROM:<alice@example.org> SIZE=25\nRCPT TO:<r3@example.org>\nDATA\n.\n"
		      "QUIT\n");
	expect_record(fx, "msa/1.groups", "EHLO\nMAIL RCPT DATA\n. MAIL RCPT DATA\n. MAIL RCPT DATA\n. QUIT\n");
	expect_record(fx, "msa/1.data", "Subject: one\r\n\r\nfirst\r\n");
	expect_record(fx, "msa/1.data.2", "Subject: two\r\n\r\n..a line with a dot\r\n");
	expect_record(fx, "msa/1.data.3", "Subject: three\r\n\r\nthird\r\n");
	second = record(fx, "msa/2.client");
	assert_null(second);
}

/* The second message's recipient refused: RSET rides ahead of the third
 * message's group; DONE sees each outcome in order. */
static void test_refused_message_in_the_middle(void **state)
{
	struct fixture *fx = *state;

	start_msa(fx, "reply RCPT ~<r2@example.org> 550 5.1.1 no such user\n");
	assert_int_equal(run(fx), OUTCOME_OK);
	wait_msa(fx);
	assert_int_equal(fx->items[0].outcome, OUTCOME_OK);
	assert_int_equal(fx->items[1].outcome, OUTCOME_NOUSER);
	assert_int_equal(fx->items[2].outcome, OUTCOME_OK);
	assert_string_equal(fx->items[1].facts.reply, "550 5.1.1 no such user");
	assert_string_equal(fx->done, "0,1!,2,");
	expect_record(fx, "msa/1.groups", "EHLO\nMAIL RCPT DATA\n. MAIL RCPT DATA\nRSET MAIL RCPT DATA\n. QUIT\n");
	expect_record(fx, "msa/1.data.2", "Subject: three\r\n\r\nthird\r\n");
}

/* 421 to the second message's MAIL: the first stays delivered, the second
 * and the session fail temporarily, the third is not begun. */
static void test_421_ends_the_batch(void **state)
{
	struct fixture *fx = *state;

	start_msa(fx, "reply MAIL #2 421 4.3.2 shutting down\n");
	assert_int_equal(run(fx), OUTCOME_TEMPFAIL);
	wait_msa(fx);
	assert_string_equal(fx->done, "0,1!,2!-,");
	assert_int_equal(fx->items[1].outcome, OUTCOME_TEMPFAIL);
	assert_int_equal(fx->items[2].outcome, OUTCOME_TEMPFAIL);
	assert_string_equal(fx->items[2].facts.reply, "421 4.3.2 shutting down");
	expect_record(fx, "msa/1.data", "Subject: one\r\n\r\nfirst\r\n");
}

/* The first end of data refused: that message alone fails (its DONE
 * first), the second, whose group rode behind it, goes on. */
static void test_refused_end_of_data_behind_a_group(void **state)
{
	struct fixture *fx = *state;

	start_msa(fx, "reply . #1 554 5.7.1 looks like spam\n");
	assert_int_equal(run(fx), OUTCOME_OK);
	wait_msa(fx);
	assert_string_equal(fx->done, "0!,1,2,");
	assert_int_equal(fx->items[0].outcome, OUTCOME_UNAVAILABLE);
	assert_string_equal(fx->items[0].facts.reply, "554 5.7.1 looks like spam");
	assert_int_equal(fx->items[1].outcome, OUTCOME_OK);
	assert_int_equal(fx->items[2].outcome, OUTCOME_OK);
	expect_record(fx, "msa/1.groups", "EHLO\nMAIL RCPT DATA\n. MAIL RCPT DATA\n. MAIL RCPT DATA\n. QUIT\n");
}

/* The RFC 2920 trap in the second message (its recipient refused, DATA
 * still 354): the first message's 250, in the same write, is recorded
 * and its DONE called before the connection is dropped. */
static void test_trap_after_a_250(void **state)
{
	struct fixture *fx = *state;

	start_msa(fx, "reply RCPT ~<r2@example.org> 550 5.1.1 no such user\nreply DATA #2 354 go ahead\n");
	assert_int_equal(run(fx), OUTCOME_TEMPFAIL);
	wait_msa(fx);
	assert_string_equal(fx->done, "0,1!,2!-,");
	assert_int_equal(fx->items[0].outcome, OUTCOME_OK);
	assert_string_equal(fx->items[0].facts.reply, "250 2.0.0 ok queued as 1");
	assert_int_equal(fx->items[1].outcome, OUTCOME_NOUSER);
	assert_int_equal(fx->items[2].outcome, OUTCOME_TEMPFAIL);
	expect_record(fx, "msa/1.data", "Subject: one\r\n\r\nfirst\r\n");
	/* no end of data for the second: nothing was delivered to anyone */
	expect_record(fx, "msa/1.data.2", "");
}

/* The connection dropped before the first end of data is answered: the
 * first and second messages fail temporarily (nobody knows whether the
 * server took the first), the third is not begun. */
static void test_drop_before_the_first_answer(void **state)
{
	struct fixture *fx = *state;

	start_msa(fx, "drop . #1\n");
	assert_int_equal(run(fx), OUTCOME_TEMPFAIL);
	wait_msa(fx);
	assert_string_equal(fx->done, "0!,1!,2!-,");
	assert_int_equal(fx->items[0].outcome, OUTCOME_TEMPFAIL);
	assert_true(fx->items[1].begun);
	assert_false(fx->items[2].begun);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_three_messages_one_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_message_in_the_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_421_ends_the_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_end_of_data_behind_a_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trap_after_a_250, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_before_the_first_answer, setup, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
