/* test_queue.c: the queue store: the envelope file both ways and its
 * refusals, ids, the retry schedule, and the store on disk in a temporary
 * directory: permissions, store, list, lock (also between two processes),
 * attempts, removal, failed/, and writes that fail half-way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue.h"

#define ID1 "1718000000.4242.0123456789abcdef"

static const char basic_text[] =
	"kurier-queue 1\n"
	"id " ID1 "\n"
	"account work\n"
	"queued 1718000000\n"
	"attempts 0\n"
	"next-attempt 1718000000\n"
	"from alice@example.org\n"
	"rcpt bob@example.org\n"
	"size 1234\n"
	"body auto\n"
	"eightbit no\n"
	"smtputf8 no\n"
	"dsn-required no\n"
	"end\n";

/* ---- the format ------------------------------------------------------- */

static void test_format_round_trip(void **state)
{
	struct queue_rcpt rc[] = {
		{ "bob@example.org", "SUCCESS,FAILURE" },
		{ "\"a b\"@example.net", NULL },
		{ "j\xc3\xb6rg@example.de", "" },
	};
	struct queue_env env = {
		.id = ID1, .account = "my account", .from = "", .rcpt = rc, .nrcpt = 3,
		.size = 99, .body = SMTP_BODY_8BITMIME, .eightbit = true, .smtputf8 = true,
		.dsn_ret = "HDRS", .dsn_envid = "<env 1%>", .dsn_required = true,
		.queued = 1718000000, .attempts = 2, .next_attempt = 1718000600,
		.last_error = "451 4.3.0 try later\r\nrcpt evil@example.org", .failed = "100% gone",
	};
	struct queue_env back;
	char *text, err[512];
	size_t len;
	(void)state;

	assert_int_equal(queue_env_format(&env, &text, &len, err, sizeof err), 0);
	assert_string_equal(text, "kurier-queue 1\n"
				  "id " ID1 "\n"
				  "account my%20account\n"
				  "queued 1718000000\n"
				  "attempts 2\n"
				  "next-attempt 1718000600\n"
				  "from <>\n"
				  "rcpt bob@example.org NOTIFY=SUCCESS,FAILURE\n"
				  "rcpt \"a%20b\"@example.net\n"
				  "rcpt j\xc3\xb6rg@example.de NOTIFY=\n"
				  "size 99\n"
				  "body 8bitmime\n"
				  "eightbit yes\n"
				  "smtputf8 yes\n"
				  "dsn-ret HDRS\n"
				  "dsn-envid %3Cenv%201%25%3E\n"
				  "dsn-required yes\n"
				  "last-error 451 4.3.0 try later%0D%0Arcpt evil@example.org\n"
				  "failed 100%25 gone\n"
				  "end\n");
	assert_int_equal(len, strlen(text));
	assert_int_equal(queue_env_parse(text, len, &back, err, sizeof err), 0);
	assert_true(queue_env_equal(&env, &back));
	assert_int_equal(back.nrcpt, 3);
	assert_string_equal(back.last_error, env.last_error);
	assert_null(back.rcpt[1].notify);
	assert_string_equal(back.rcpt[2].notify, "");
	queue_env_free(&back);
	free(text);

	/* the plainest envelope: optional keys absent, defaults */
	assert_int_equal(queue_env_parse(basic_text, strlen(basic_text), &back, err, sizeof err), 0);
	assert_string_equal(back.from, "alice@example.org");
	assert_int_equal(back.body, SMTP_BODY_AUTO);
	assert_null(back.dsn_ret);
	assert_null(back.last_error);
	assert_int_equal(queue_env_format(&back, &text, &len, err, sizeof err), 0);
	assert_string_equal(text, basic_text);
	free(text);
	queue_env_free(&back);
}

/* basic_text with line FROM (a prefix such as "size ") replaced by TO
 * ("" drops it), or with TO added before "end" when FROM is NULL. */
static char *edit(const char *from, const char *to)
{
	static char out[16384];
	const char *p = basic_text;
	size_t n = 0;

	while (*p != '\0') {
		const char *lf = strchr(p, '\n') + 1;
		if (from != NULL && strncmp(p, from, strlen(from)) == 0)
			n += (size_t)snprintf(out + n, sizeof out - n, "%s", to);
		else if (from == NULL && strcmp(p, "end\n") == 0)
			n += (size_t)snprintf(out + n, sizeof out - n, "%send\n", to);
		else
			n += (size_t)snprintf(out + n, sizeof out - n, "%.*s", (int)(lf - p), p);
		p = lf;
	}
	return out;
}

static void test_parse_refusals(void **state)
{
	static char huge[QUEUE_LINE_MAX + 64];
	struct {
		const char *from, *to;   /* the edit of basic_text */
		const char *want;        /* the error */
	} rows[] = {
		{ "kurier-queue", "kurier-queue 2\n", "line 1: format version 2 unknown; this kurier reads version 1" },
		{ "kurier-queue", "kurier-queue 1.0\n", "line 1: not a kurier queue envelope" },
		{ "kurier-queue", "From alice Mon Jan 1\n", "line 1: not a kurier queue envelope" },
		{ "kurier-queue", "kurier-queue 1\r\n", "line 1: not a kurier queue envelope" },
		{ "account", "account work\r\n", "line 3: an unescaped control character" },
		{ "account", "account w\033rk\n", "line 3: an unescaped control character" },
		{ "account", "account my work\n", "line 3: a space inside a value" },
		{ "from", "from <alice@example.org>\n", "line 7: an unescaped control character or '<' '>'" },
		{ "from", "from\n", "line 7: an empty sender (the null sender is written <>)" },
		{ "from", "from a%0\n", "line 7: a '%' not followed by two hex digits" },
		{ "from", "from a%zz\n", "line 7: a '%' not followed by two hex digits" },
		{ "from", "from a%00b\n", "line 7: an escaped NUL" },
		{ "rcpt", "rcpt\n", "line 8: a recipient without an address" },
		{ "rcpt", "rcpt bob@example.org ORCPT=rfc822;bob@example.org\n", "line 8: an unknown recipient parameter" },
		{ "rcpt", "rcpt bob@example.org NOTIFY=a b\n", "line 8: a space inside a value" },
		{ "size", "size 01234\n", "line 9: a number with a leading zero" },
		{ "size", "size -1\n", "line 9: not a decimal number" },
		{ "size", "size 18446744073709551616\n", "line 9: a number out of range" },
		{ "queued", "queued 9223372036854775808\n", "line 4: a number out of range" },
		{ "attempts", "attempts 4294967296\n", "line 5: a number out of range" },
		{ "body", "body binarymime\n", "line 10: body is not auto, 7bit or 8bitmime" },
		{ "eightbit", "eightbit true\n", "line 11: not yes or no" },
		{ "id", "id ../../etc/passwd\n", "line 14: an invalid id" },
		{ "size", "", "line 13: no size line" },
		{ "rcpt", "", "line 13: no rcpt line" },
		{ "account", "", "line 13: no account line" },
		{ "account", "account work\naccount other\n", "line 4: a key given twice" },
		{ "account", "Account work\n", "line 3: unknown key" },
		{ "account", "\n", "line 3: unknown key" },
		{ "end", "", "line 13: no end line (a cut file?)" },
		{ "end", "end\nrcpt evil@example.org\n", "line 15: text after the end line" },
		{ "end", "end now\n", "line 14: text after end" },
		{ "end", "end", "line 14: the last line does not end with LF (a cut file?)" },
		{ "account", huge, "line 3: line too long" },
	};
	struct queue_env env;
	char err[512];
	size_t i;
	(void)state;

	memset(huge, 'x', sizeof huge - 2);
	memcpy(huge, "account ", 8);
	huge[sizeof huge - 2] = '\n';
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const char *in = edit(rows[i].from, rows[i].to);
		int r = queue_env_parse(in, strlen(in), &env, err, sizeof err);
		if (r == 0 || strncmp(err, rows[i].want, strlen(rows[i].want)) != 0)
			fail_msg("row %zu (%s): got %d '%s', want '%s'", i, rows[i].to, r, err,
				 rows[i].want);
		assert_null(env.rcpt);
		assert_null(env.block_);
	}
	/* a NUL inside, and an empty file */
	assert_int_equal(queue_env_parse("kurier-queue 1\nid \0x\n", 21, &env, err, sizeof err), -1);
	assert_string_equal(err, "line 2: a NUL octet");
	assert_int_equal(queue_env_parse("", 0, &env, err, sizeof err), -1);
	assert_string_equal(err, "line 1: empty file");
	/* a NUL does not end a number, a yes or the null sender early */
	{
		static const char *const nul_rows[][2] = {
			{ "size", "size 1234#5\n" },
			{ "eightbit", "eightbit no#x\n" },
			{ "from", "from <>#alice@example.org\n" },
			{ "body", "body auto#\n" },
		};
		char text[2048];
		for (i = 0; i < sizeof nul_rows / sizeof nul_rows[0]; i++) {
			size_t n;
			snprintf(text, sizeof text, "%s", edit(nul_rows[i][0], nul_rows[i][1]));
			n = strlen(text);
			*strchr(text, '#') = '\0';
			if (queue_env_parse(text, n, &env, err, sizeof err) == 0 ||
			    strstr(err, ": a NUL octet") == NULL)
				fail_msg("NUL row %zu: got '%s'", i, err);
		}
	}
	/* a line of exactly QUEUE_LINE_MAX bytes is fine */
	memset(huge, 'x', sizeof huge);
	memcpy(huge, "last-error ", 11);
	snprintf(huge + QUEUE_LINE_MAX, sizeof huge - QUEUE_LINE_MAX, "\n");
	{
		const char *in = edit(NULL, huge);
		assert_int_equal(queue_env_parse(in, strlen(in), &env, err, sizeof err), 0);
		assert_int_equal(strlen(env.last_error), QUEUE_LINE_MAX - 11);
		queue_env_free(&env);
	}
}

static void test_format_refusals(void **state)
{
	static char longer[QUEUE_LINE_MAX];
	struct queue_rcpt rc[] = { { "bob@example.org", NULL } }, empty[] = { { "", NULL } };
	struct queue_env env = { .id = ID1, .account = "a", .from = "x", .rcpt = rc, .nrcpt = 1 };
	char *text, err[512];
	size_t len;
	(void)state;

	memset(longer, 'x', sizeof longer - 1);
	env.nrcpt = 0;
	assert_int_equal(queue_env_format(&env, &text, &len, err, sizeof err), -1);
	assert_string_equal(err, "0 recipients: an entry has 1 to 100000");
	assert_null(text);
	env.nrcpt = 1;
	env.rcpt = empty;
	assert_int_equal(queue_env_format(&env, &text, &len, err, sizeof err), -1);
	assert_string_equal(err, "recipient 1 is empty");
	env.rcpt = rc;
	env.id = "1.2.3";
	assert_int_equal(queue_env_format(&env, &text, &len, err, sizeof err), -1);
	assert_string_equal(err, "invalid queue id");
	env.id = ID1;
	/* fits raw, but not escaped */
	memset(longer, '\n', 2000);
	env.last_error = longer;
	assert_int_equal(queue_env_format(&env, &text, &len, err, sizeof err), -1);
	assert_string_equal(err, "the last-error line would be longer than 4096 bytes");
	env.last_error = NULL;
	env.queued = -1;
	assert_int_equal(queue_env_format(&env, &text, &len, err, sizeof err), -1);
	assert_string_equal(err, "a time before 1970");
}

/* Every accepted text formats into one that parses equal, and formatting
 * is stable (the fuzz invariant, on a deterministic mutation pass). */
static void check_round_trip(const char *in, size_t n)
{
	struct queue_env a, b;
	char err[512], *t1, *t2;
	size_t l1, l2;

	if (queue_env_parse(in, n, &a, err, sizeof err) != 0) {
		assert_true(strncmp(err, "line ", 5) == 0);
		return;
	}
	assert_int_equal(queue_env_format(&a, &t1, &l1, err, sizeof err), 0);
	assert_int_equal(queue_env_parse(t1, l1, &b, err, sizeof err), 0);
	assert_true(queue_env_equal(&a, &b));
	assert_int_equal(queue_env_format(&b, &t2, &l2, err, sizeof err), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(t1, t2, l1);
	free(t1);
	free(t2);
	queue_env_free(&a);
	queue_env_free(&b);
}

static void test_mutations(void **state)
{
	static const char bytes[] = { '\0', '\n', '\r', ' ', '%', '<', '0', 'x', '\x80', '\x7f' };
	char buf[sizeof basic_text];
	size_t n = strlen(basic_text), i, j, accepted = 0;
	(void)state;

	for (i = 0; i <= n; i++)
		check_round_trip(basic_text, i); /* every cut */
	for (i = 0; i < n; i++) {
		for (j = 0; j < sizeof bytes; j++) {
			struct queue_env e;
			char err[512];
			memcpy(buf, basic_text, n);
			buf[i] = bytes[j];
			check_round_trip(buf, n);
			if (queue_env_parse(buf, n, &e, err, sizeof err) == 0) {
				accepted++;
				queue_env_free(&e);
			}
		}
	}
	assert_true(accepted > 0); /* the pass reached the round trip */
}

/* ---- ids and the schedule ------------------------------------------------- */

static void test_ids(void **state)
{
	static const struct {
		const char *id;
		bool valid;
	} rows[] = {
		{ ID1, true },
		{ "0.0.0000000000000000", true },
		{ "9223372036854775807.2147483647.ffffffffffffffff", true },
		{ "1718000000.4242.0123456789ABCDEF", false },
		{ "1718000000.4242.0123456789abcde", false },
		{ "1718000000.4242.0123456789abcdef0", false },
		{ "1718000000..0123456789abcdef", false },
		{ ".4242.0123456789abcdef", false },
		{ "1718000000.4242.0123456789abcdef.env", false },
		{ "../4242.0123456789abcdef", false },
		{ "17180000000000000000.1.0123456789abcdef", false },
		{ "", false },
	};
	char id[QUEUE_ID_MAX + 1];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (queue_id_valid(rows[i].id) != rows[i].valid)
			fail_msg("row %zu: %s", i, rows[i].id);
	assert_false(queue_id_valid(NULL));
	queue_id_make(id, sizeof id, 1718000000, 4242, 0x0123456789abcdefULL);
	assert_string_equal(id, ID1);
	queue_id_make(id, sizeof id, INT64_MAX, 2147483647L, UINT64_MAX);
	assert_true(queue_id_valid(id));
	assert_true(strlen(id) <= QUEUE_ID_MAX);
}

static void test_schedule(void **state)
{
	static const struct {
		unsigned attempts;
		int64_t delay;
	} rows[] = {
		{ 1, 5 * 60 }, { 2, 10 * 60 }, { 3, 20 * 60 }, { 4, 40 * 60 },
		{ 5, 80 * 60 }, { 6, 160 * 60 }, { 7, 240 * 60 }, { 8, 240 * 60 },
		{ 100, 240 * 60 }, { UINT32_MAX, 240 * 60 },
	};
	const int64_t q = 1718000000, now = q + 12345;
	size_t i;
	(void)state;

	/* never tried (queued with -odq): due at once */
	assert_int_equal(queue_next_attempt(q, 0, now), q);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (queue_next_attempt(q, rows[i].attempts, now) != now + rows[i].delay)
			fail_msg("row %zu: %u attempts", i, rows[i].attempts);
	assert_int_equal(queue_next_attempt(q, 3, INT64_MAX - 5), INT64_MAX);

	assert_false(queue_expired(q, q, QUEUE_LIFETIME_DEFAULT));
	assert_false(queue_expired(q, q + QUEUE_LIFETIME_DEFAULT - 1, QUEUE_LIFETIME_DEFAULT));
	assert_true(queue_expired(q, q + QUEUE_LIFETIME_DEFAULT, QUEUE_LIFETIME_DEFAULT));
	assert_true(queue_expired(q, q + 1, 0));
	assert_false(queue_expired(q, q - 100, QUEUE_LIFETIME_DEFAULT)); /* clock went back */
	assert_true(queue_expired(0, INT64_MAX, QUEUE_LIFETIME_DEFAULT));
	assert_int_equal(QUEUE_LIFETIME_DEFAULT, 5 * 24 * 3600);
}

/* ---- the store on disk ------------------------------------------------------ */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		chmod(path, 0700);
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char top[64];

static int make_top(void **state)
{
	snprintf(top, sizeof top, "/tmp/test_queue.XXXXXX");
	(void)state;
	return mkdtemp(top) == NULL ? -1 : 0;
}

static int remove_top(void **state)
{
	(void)state;
	rm_tree(top);
	return 0;
}

static char *in_top(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *in_top(const char *fmt, ...)
{
	static char path[8][512];
	static int k;
	char rel[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	k = (k + 1) % 8;
	snprintf(path[k], sizeof path[k], "%s/%s", top, rel);
	return path[k];
}

static void fill_spool(struct spool *s, const char *text, size_t copies)
{
	char err[512];

	spool_init(s);
	while (copies-- > 0)
		assert_int_equal(spool_write(s, text, strlen(text), err, sizeof err), 0);
	assert_int_equal(spool_seal(s, err, sizeof err), 0);
}

static struct queue_rcpt two_rcpt[] = { { "bob@example.org", "FAILURE" }, { "carol@example.net", NULL } };
static const struct queue_env sample = {
	.account = "work", .from = "alice@example.org", .rcpt = two_rcpt, .nrcpt = 2,
	.body = SMTP_BODY_AUTO, .dsn_ret = "HDRS",
	/* what queue_store must replace: */
	.id = "1.1.1111111111111111", .size = 7, .queued = 5, .attempts = 9, .next_attempt = 9,
	.last_error = "old", .failed = "old",
};

static mode_t mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* What queue_list saw, as one line per item: "KIND NAME". */
struct seen {
	char text[4096];
	size_t n;
	struct queue_env env;   /* a copy of the last entry's (re-parsed) */
	bool have_env;
};

static int collect(void *ctx, const struct queue_item *it)
{
	static const char *const kinds[] = { "entry", "corrupt", "incomplete", "temporary", "foreign" };
	struct seen *s = ctx;

	s->n += (size_t)snprintf(s->text + s->n, sizeof s->text - s->n, "%s %s\n", kinds[it->kind],
				 it->kind == QUEUE_ITEM_TEMPORARY ? "-" : it->name);
	if (it->kind == QUEUE_ITEM_ENTRY) {
		char *t, err[512];
		size_t len;
		if (s->have_env)
			queue_env_free(&s->env);
		assert_int_equal(queue_env_format(it->env, &t, &len, err, sizeof err), 0);
		assert_int_equal(queue_env_parse(t, len, &s->env, err, sizeof err), 0);
		free(t);
		s->have_env = true;
		assert_int_equal(it->msg_size, it->env->size);
	} else {
		assert_non_null(it->problem);
	}
	return 0;
}

static const char *list(struct queue *q, enum queue_area area, struct seen *s)
{
	char err[512];

	if (s->have_env)
		queue_env_free(&s->env);
	memset(s, 0, sizeof *s);
	assert_int_equal(queue_list(q, area, collect, s, err, sizeof err), 0);
	return s->text;
}

static size_t count_files(const char *dir)
{
	char cmd[600], out[32] = "";
	FILE *p;

	snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, sizeof out, p));
	pclose(p);
	return (size_t)strtoul(out, NULL, 10);
}

static void test_open_and_permissions(void **state)
{
	struct queue *q;
	char err[512];
	(void)state;

	/* not there, and not to be made: an empty queue */
	assert_int_equal(queue_open(in_top("none"), false, &q, err, sizeof err), -2);
	assert_null(q);
	/* made with its parents, every directory 0700 */
	assert_int_equal(queue_open(in_top("state/kurier/queue"), true, &q, err, sizeof err), 0);
	assert_string_equal(queue_path(q), in_top("state/kurier/queue"));
	queue_close(q);
	assert_int_equal(mode_of(in_top("state")), 0700);
	assert_int_equal(mode_of(in_top("state/kurier/queue")), 0700);
	assert_int_equal(mode_of(in_top("state/kurier/queue/tmp")), 0700);
	assert_int_equal(mode_of(in_top("state/kurier/queue/entries")), 0700);
	assert_int_equal(mode_of(in_top("state/kurier/queue/failed")), 0700);
	assert_int_equal(queue_open(in_top("state/kurier/queue"), false, &q, err, sizeof err), 0);
	queue_close(q);

	/* writable by others: refused, with the fix */
	assert_int_equal(chmod(in_top("state/kurier/queue"), 0777), 0);
	assert_int_equal(queue_open(in_top("state/kurier/queue"), true, &q, err, sizeof err), -1);
	assert_null(q);
	assert_non_null(strstr(err, "is writable by others (mode 0777); chmod 700 "));
	assert_non_null(strstr(err, in_top("state/kurier/queue")));
	assert_int_equal(chmod(in_top("state/kurier/queue"), 0755), 0);
	assert_int_equal(queue_open(in_top("state/kurier/queue"), false, &q, err, sizeof err), 0);
	queue_close(q);
	assert_int_equal(chmod(in_top("state/kurier/queue/entries"), 0770), 0);
	assert_int_equal(queue_open(in_top("state/kurier/queue"), false, &q, err, sizeof err), -1);
	assert_non_null(strstr(err, "/entries is writable by others (mode 0770); chmod 700 "));
	assert_int_equal(chmod(in_top("state/kurier/queue/entries"), 0700), 0);

	/* a part of the layout that is a symbolic link is refused */
	assert_int_equal(rmdir(in_top("state/kurier/queue/failed")), 0);
	assert_int_equal(symlink("/tmp", in_top("state/kurier/queue/failed")), 0);
	assert_int_equal(queue_open(in_top("state/kurier/queue"), true, &q, err, sizeof err), -1);
	assert_non_null(strstr(err, "/failed: "));
	assert_int_equal(unlink(in_top("state/kurier/queue/failed")), 0);

	/* owned by someone else: refused, with the fix */
	if (geteuid() == 0) {
		assert_int_equal(queue_open(in_top("other"), true, &q, err, sizeof err), 0);
		queue_close(q);
		assert_int_equal(chown(in_top("other"), 65534, 65534), 0);
		assert_int_equal(queue_open(in_top("other"), true, &q, err, sizeof err), -1);
		assert_non_null(strstr(err, "belongs to uid 65534, not to you (uid 0); chown root "));
	} else {
		assert_int_equal(queue_open("/", false, &q, err, sizeof err), -1);
		assert_non_null(strstr(err, "queue directory / belongs to uid 0, not to you"));
	}
	assert_null(q);
}

static void test_store_list_remove(void **state)
{
	struct queue *q;
	struct queue_entry *e;
	struct spool small, big;
	struct seen s = { 0 };
	char err[512], id1[QUEUE_ID_MAX + 1], id2[QUEUE_ID_MAX + 1], want[256], *buf;
	const struct queue_env *env;
	ssize_t n;
	int fd;
	(void)state;

	assert_int_equal(queue_open(in_top("q"), true, &q, err, sizeof err), 0);
	assert_string_equal(list(q, QUEUE_ACTIVE, &s), "");
	fill_spool(&small, "Subject: hi\r\n\r\nhello\r\n", 1);
	/* larger than the spool's memory: it streams from its file */
	fill_spool(&big, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n",
		   3 * SPOOL_MEM_MAX / 64 + 7);
	assert_true(big.fd >= 0);

	assert_int_equal(queue_store(q, &small, &sample, 1718000000, id1, sizeof id1, err, sizeof err), 0);
	assert_true(queue_id_valid(id1));
	assert_true(strncmp(id1, "1718000000.", 11) == 0);
	assert_int_equal(queue_store(q, &big, &sample, 1718000001, id2, sizeof id2, err, sizeof err), 0);
	assert_string_not_equal(id1, id2);
	assert_int_equal(count_files(in_top("q/tmp")), 0);
	assert_int_equal(count_files(in_top("q/entries")), 4);
	assert_int_equal(mode_of(in_top("q/entries/%s.msg", id1)), 0600);
	assert_int_equal(mode_of(in_top("q/entries/%s.env", id1)), 0600);

	snprintf(want, sizeof want, "entry %s\nentry %s\n", id1, id2);
	assert_string_equal(list(q, QUEUE_ACTIVE, &s), want);
	assert_string_equal(list(q, QUEUE_FAILED, &s), "");

	/* the envelope as stored: the fields queue_store sets are its own */
	assert_int_equal(queue_lock(q, id1, &e, err, sizeof err), 0);
	env = queue_entry_env(e);
	assert_string_equal(env->id, id1);
	assert_int_equal(env->size, small.size);
	assert_int_equal(env->queued, 1718000000);
	assert_int_equal(env->next_attempt, 1718000000);
	assert_int_equal(env->attempts, 0);
	assert_null(env->last_error);
	assert_null(env->failed);
	assert_string_equal(env->account, "work");
	assert_string_equal(env->rcpt[0].notify, "FAILURE");
	assert_string_equal(env->rcpt[1].addr, "carol@example.net");
	assert_string_equal(env->dsn_ret, "HDRS");
	buf = xmalloc(64);
	n = pread(queue_entry_fd(e), buf, 64, 0);
	assert_int_equal(n, (ssize_t)small.size);
	assert_memory_equal(buf, "Subject: hi\r\n\r\nhello\r\n", small.size);
	free(buf);

	/* a failed attempt rewrites the envelope; the lock holds across it */
	assert_int_equal(queue_record_attempt(e, 1718000100, "451 4.3.0 busy\nnow", 1718000400, err,
					      sizeof err),
			 0);
	assert_int_equal(queue_entry_env(e)->attempts, 1);
	assert_string_equal(queue_entry_env(e)->last_error, "451 4.3.0 busy\nnow");
	list(q, QUEUE_ACTIVE, &s);
	assert_int_equal(count_files(in_top("q/tmp")), 0);
	{
		/* flock(2) locks conflict between open files, also in one
		 * process: a second queue_lock is told it is busy */
		struct queue_entry *e2;
		assert_int_equal(queue_lock(q, id1, &e2, err, sizeof err), 1);
		assert_null(e2);
		assert_non_null(strstr(err, "being sent by another process"));
	}
	/* a rewrite that cannot be put in place (a directory where the
	 * envelope was) fails, and the entry still shows what is on disk */
	assert_int_equal(rename(in_top("q/entries/%s.env", id1), in_top("q/saved.env")), 0);
	assert_int_equal(mkdir(in_top("q/entries/%s.env", id1), 0700), 0);
	assert_int_equal(queue_record_attempt(e, 1718000200, "later", 1718000800, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot replace "));
	assert_int_equal(queue_entry_env(e)->attempts, 1);
	assert_int_equal(queue_entry_env(e)->next_attempt, 1718000400);
	assert_int_equal(queue_move_failed(e, "gone", err, sizeof err), -1);
	assert_null(queue_entry_env(e)->failed);
	assert_int_equal(count_files(in_top("q/tmp")), 0);
	assert_int_equal(count_files(in_top("q/failed")), 0);
	assert_int_equal(rmdir(in_top("q/entries/%s.env", id1)), 0);
	assert_int_equal(rename(in_top("q/saved.env"), in_top("q/entries/%s.env", id1)), 0);
	queue_unlock(e);

	assert_int_equal(queue_lock(q, id2, &e, err, sizeof err), 0);
	assert_int_equal(queue_entry_env(e)->size, big.size);
	fd = open(in_top("q/entries/%s.msg", id2), O_RDONLY);
	assert_int_equal(lseek(fd, 0, SEEK_END), (off_t)big.size);
	close(fd);
	/* sent: gone, and a second runner finds nothing */
	assert_int_equal(queue_remove(e, err, sizeof err), 0);
	queue_unlock(e);
	assert_int_equal(queue_lock(q, id2, &e, err, sizeof err), -2);
	assert_null(e);
	snprintf(want, sizeof want, "entry %s\n", id1);
	assert_string_equal(list(q, QUEUE_ACTIVE, &s), want);
	assert_int_equal(s.env.attempts, 1);
	assert_int_equal(s.env.next_attempt, 1718000400);

	/* failed for good: kept in failed/ with the reason */
	assert_int_equal(queue_lock(q, id1, &e, err, sizeof err), 0);
	assert_int_equal(queue_move_failed(e, "550 5.1.1 no such user", err, sizeof err), 0);
	queue_unlock(e);
	assert_string_equal(list(q, QUEUE_ACTIVE, &s), "");
	assert_string_equal(list(q, QUEUE_FAILED, &s), want);
	assert_string_equal(s.env.failed, "550 5.1.1 no such user");
	assert_int_equal(queue_lock(q, id1, &e, err, sizeof err), -2);
	assert_int_equal(queue_delete(q, id1, err, sizeof err), 0);
	assert_string_equal(list(q, QUEUE_FAILED, &s), "");
	assert_int_equal(queue_delete(q, id1, err, sizeof err), -2);
	assert_int_equal(queue_delete(q, "../x", err, sizeof err), -2);
	assert_int_equal(count_files(in_top("q/failed")), 0);
	assert_int_equal(count_files(in_top("q/entries")), 0);

	/* -odq with a message of zero bytes is an entry like any other */
	spool_free(&small);
	fill_spool(&small, "", 1);
	assert_int_equal(queue_store(q, &small, &sample, 1718000002, id1, sizeof id1, err, sizeof err), 0);
	assert_int_equal(queue_delete(q, id1, err, sizeof err), 0);
	assert_int_equal(count_files(in_top("q/entries")), 0);

	list(q, QUEUE_ACTIVE, &s);
	if (s.have_env)
		queue_env_free(&s.env);
	spool_free(&small);
	spool_free(&big);
	queue_close(q);
}

/* In a child: try to lock ID; exit 10 + queue_lock's result (9: -1). */
static pid_t child_lock(const char *path, const char *id, int go, bool remove_it)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct queue *q;
		struct queue_entry *e;
		char err[512], c;
		int r;

		if (go >= 0 && read(go, &c, 1) != 1)
			_exit(2);
		if (queue_open(path, false, &q, err, sizeof err) != 0)
			_exit(3);
		r = queue_lock(q, id, &e, err, sizeof err);
		if (r == 0 && remove_it) {
			usleep(20000); /* hold it while the other one tries */
			if (queue_remove(e, err, sizeof err) != 0)
				_exit(4);
		}
		queue_unlock(e);
		queue_close(q);
		_exit(10 + r);
	}
	return pid;
}

static int exit_of(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_lock_between_processes(void **state)
{
	struct queue *q;
	struct queue_entry *e;
	struct spool m;
	char err[512], id[QUEUE_ID_MAX + 1];
	int round, go[2];
	(void)state;

	assert_int_equal(queue_open(in_top("race"), true, &q, err, sizeof err), 0);
	fill_spool(&m, "hello\r\n", 1);
	assert_int_equal(queue_store(q, &m, &sample, 1718000000, id, sizeof id, err, sizeof err), 0);

	/* held here: another process is told it is busy, and skips it */
	assert_int_equal(queue_lock(q, id, &e, err, sizeof err), 0);
	assert_int_equal(exit_of(child_lock(in_top("race"), id, -1, false)), 11);
	assert_int_equal(queue_delete(q, id, err, sizeof err), 1);
	queue_unlock(e);
	assert_int_equal(exit_of(child_lock(in_top("race"), id, -1, false)), 10);
	assert_int_equal(queue_delete(q, id, err, sizeof err), 0);

	/* two runners at once on one entry: exactly one sends it */
	for (round = 0; round < 20; round++) {
		pid_t a, b;
		int ra, rb;

		assert_int_equal(queue_store(q, &m, &sample, 1718000000, id, sizeof id, err, sizeof err), 0);
		assert_int_equal(pipe(go), 0);
		a = child_lock(in_top("race"), id, go[0], true);
		b = child_lock(in_top("race"), id, go[0], true);
		assert_int_equal(write(go[1], "xx", 2), 2);
		close(go[0]);
		close(go[1]);
		ra = exit_of(a);
		rb = exit_of(b);
		/* one got it (10); the other found it busy (11) or gone (8) */
		if (!((ra == 10 && (rb == 11 || rb == 8)) || (rb == 10 && (ra == 11 || ra == 8))))
			fail_msg("round %d: runners exited %d and %d", round, ra, rb);
		assert_int_equal(count_files(in_top("race/entries")), 0);
	}
	spool_free(&m);
	queue_close(q);
}

/* In a child with files limited to LIMIT bytes: store MSG with NRCPT
 * recipients; exit 0 when the store failed as it should. */
static void store_over_limit(const char *path, rlim_t limit, const char *msg, size_t nrcpt)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { limit, limit };
		struct queue_rcpt *rc = calloc(nrcpt, sizeof *rc);
		struct queue_env env = sample;
		struct queue *q;
		struct spool m;
		char err[512], id[QUEUE_ID_MAX + 1];
		size_t i;

		for (i = 0; i < nrcpt; i++)
			rc[i].addr = "somebody.with.a.long.name@example.org";
		env.rcpt = rc;
		env.nrcpt = nrcpt;
		signal(SIGXFSZ, SIG_IGN);
		if (queue_open(path, false, &q, err, sizeof err) != 0)
			_exit(3);
		fill_spool(&m, msg, 1);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(4);
		if (queue_store(q, &m, &env, 1718000000, id, sizeof id, err, sizeof err) != -1)
			_exit(5);
		if (strstr(err, "cannot write ") == NULL || strstr(err, "/tmp/") == NULL ||
		    strstr(err, "File too large") == NULL)
			_exit(6);
		_exit(id[0] == '\0' ? 0 : 7);
	}
	assert_int_equal(exit_of(pid), 0);
}

static void test_failed_write_leaves_nothing(void **state)
{
	static char big[4096];
	struct queue *q;
	struct seen s = { 0 };
	char err[512];
	(void)state;

	assert_int_equal(queue_open(in_top("full"), true, &q, err, sizeof err), 0);
	memset(big, 'x', sizeof big - 1);
	/* the message does not fit */
	store_over_limit(in_top("full"), 1000, big, 1);
	assert_string_equal(list(q, QUEUE_ACTIVE, &s), "");
	/* the message fits, its envelope does not */
	store_over_limit(in_top("full"), 1000, "hi\r\n", 100);
	assert_string_equal(list(q, QUEUE_ACTIVE, &s), "");
	assert_int_equal(count_files(in_top("full/entries")), 0);
	assert_int_equal(count_files(in_top("full/tmp")), 0);
	queue_close(q);
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_corrupt_and_foreign(void **state)
{
	struct queue *q;
	struct queue_entry *e;
	struct spool m;
	struct seen s = { 0 };
	char err[512], id[QUEUE_ID_MAX + 1], want[1024];
	(void)state;

	assert_int_equal(queue_open(in_top("mess"), true, &q, err, sizeof err), 0);
	fill_spool(&m, "hello\r\n", 1);
	assert_int_equal(queue_store(q, &m, &sample, 1718000000, id, sizeof id, err, sizeof err), 0);
	put_file(in_top("mess/entries/README"), "notes\n");
	/* an envelope of another version, with its message */
	put_file(in_top("mess/entries/1.1.aaaaaaaaaaaaaaaa.env"), "kurier-queue 2\n");
	put_file(in_top("mess/entries/1.1.aaaaaaaaaaaaaaaa.msg"), "x");
	/* an envelope without its message */
	put_file(in_top("mess/entries/1.2.bbbbbbbbbbbbbbbb.env"), edit("size", "size 0\n"));
	/* a message without its envelope, a leftover in tmp/ */
	put_file(in_top("mess/entries/1.3.cccccccccccccccc.msg"), "x");
	put_file(in_top("mess/tmp/1.4.dddddddddddddddd.msg"), "x");
	/* the right size? the envelope says 1234 */
	put_file(in_top("mess/entries/1.5.eeeeeeeeeeeeeeee.env"), edit("id", "id 1.5.eeeeeeeeeeeeeeee\n"));
	put_file(in_top("mess/entries/1.5.eeeeeeeeeeeeeeee.msg"), "short");

	snprintf(want, sizeof want,
		 "corrupt 1.1.aaaaaaaaaaaaaaaa\n"
		 "corrupt 1.2.bbbbbbbbbbbbbbbb\n"
		 "incomplete 1.3.cccccccccccccccc\n"
		 "corrupt 1.5.eeeeeeeeeeeeeeee\n"
		 "entry %s\n"
		 "foreign README\n"
		 "temporary -\n",
		 id);
	assert_string_equal(list(q, QUEUE_ACTIVE, &s), want);

	/* none of them can be locked for sending; none is touched */
	assert_int_equal(queue_lock(q, "1.1.aaaaaaaaaaaaaaaa", &e, err, sizeof err), -1);
	assert_non_null(strstr(err, "/entries/1.1.aaaaaaaaaaaaaaaa.env: line 1: format version 2 unknown"));
	assert_int_equal(queue_lock(q, "1.2.bbbbbbbbbbbbbbbb", &e, err, sizeof err), -2);
	assert_int_equal(queue_lock(q, "1.3.cccccccccccccccc", &e, err, sizeof err), -2);
	assert_int_equal(queue_lock(q, "1.5.eeeeeeeeeeeeeeee", &e, err, sizeof err), -1);
	assert_non_null(strstr(err, ".msg: 5 bytes, but its envelope says 1234"));
	assert_null(e);
	assert_string_equal(list(q, QUEUE_ACTIVE, &s), want);

	assert_int_equal(count_files(in_top("mess/entries")), 9);

	/* the user deletes them by id; the foreign file stays */
	assert_int_equal(queue_delete(q, "1.1.aaaaaaaaaaaaaaaa", err, sizeof err), 0);
	assert_int_equal(queue_delete(q, "1.2.bbbbbbbbbbbbbbbb", err, sizeof err), 0);
	assert_int_equal(queue_delete(q, "1.3.cccccccccccccccc", err, sizeof err), 0);
	assert_int_equal(queue_delete(q, "1.5.eeeeeeeeeeeeeeee", err, sizeof err), 0);
	snprintf(want, sizeof want, "entry %s\nforeign README\ntemporary -\n", id);
	assert_string_equal(list(q, QUEUE_ACTIVE, &s), want);
	if (s.have_env)
		queue_env_free(&s.env);
	spool_free(&m);
	queue_close(q);
}

static int stop_at_second(void *ctx, const struct queue_item *it)
{
	int *n = ctx;
	(void)it;
	return ++*n == 2 ? 42 : 0;
}

static void test_list_stops(void **state)
{
	struct queue *q;
	struct spool m;
	char err[512], id[QUEUE_ID_MAX + 1];
	int n = 0, i;
	(void)state;

	assert_int_equal(queue_open(in_top("stop"), true, &q, err, sizeof err), 0);
	fill_spool(&m, "hello\r\n", 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(queue_store(q, &m, &sample, 1718000000 + i, id, sizeof id, err, sizeof err), 0);
	assert_int_equal(queue_list(q, QUEUE_ACTIVE, stop_at_second, &n, err, sizeof err), 42);
	assert_int_equal(n, 2);
	spool_free(&m);
	queue_close(q);
}

/* Another runner sends the second entry while a listing is at the first:
 * its name was read, its envelope is gone. It is gone, not corrupt. */
struct vanish {
	struct queue *q;
	const char *victim;
	struct seen s;
};

static int remove_victim(void *ctx, const struct queue_item *it)
{
	struct vanish *v = ctx;
	struct queue_entry *e;
	char err[512];

	if (v->s.n == 0) {
		assert_int_equal(queue_lock(v->q, v->victim, &e, err, sizeof err), 0);
		assert_int_equal(queue_remove(e, err, sizeof err), 0);
		queue_unlock(e);
	}
	return collect(&v->s, it);
}

static void test_list_entry_vanishes(void **state)
{
	struct vanish v = { 0 };
	struct spool m;
	char err[512], id[3][QUEUE_ID_MAX + 1], want[256];
	int i;
	(void)state;

	assert_int_equal(queue_open(in_top("vanish"), true, &v.q, err, sizeof err), 0);
	fill_spool(&m, "hello\r\n", 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(queue_store(v.q, &m, &sample, 1718000000 + i, id[i], sizeof id[i], err, sizeof err), 0);
	v.victim = id[1];
	assert_int_equal(queue_list(v.q, QUEUE_ACTIVE, remove_victim, &v, err, sizeof err), 0);
	snprintf(want, sizeof want, "entry %s\nentry %s\n", id[0], id[2]);
	assert_string_equal(v.s.text, want);
	if (v.s.have_env)
		queue_env_free(&v.s.env);
	spool_free(&m);
	queue_close(v.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_format_refusals),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_open_and_permissions),
		cmocka_unit_test(test_store_list_remove),
		cmocka_unit_test(test_lock_between_processes),
		cmocka_unit_test(test_failed_write_leaves_nothing),
		cmocka_unit_test(test_corrupt_and_foreign),
		cmocka_unit_test(test_list_stops),
		cmocka_unit_test(test_list_entry_vanishes),
	};
	return cmocka_run_group_tests(tests, make_top, remove_top);
}
