/* test_reply.c: the reply parser and capability parser, as tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "reply.h"

struct reply_row {
	const char *in;
	enum reply_status st;
	int code;
	const char *enh;
	const char *text;
	const char *err;   /* substring of the error, for REPLY_ERROR */
};

static const struct reply_row reply_rows[] = {
	{ "220 mx.example ESMTP\r\n", REPLY_DONE, 220, "", "mx.example ESMTP", NULL },
	{ "250 2.1.0 ok\r\n", REPLY_DONE, 250, "2.1.0", "ok", NULL },
	{ "550 5.1.1 <x@y>: no such user\r\n", REPLY_DONE, 550, "5.1.1", "<x@y>: no such user", NULL },
	{ "250-a\r\n250-b\r\n250 c\r\n", REPLY_DONE, 250, "", "a\nb\nc", NULL },
	{ "250-2.0.0 a\r\n250 2.0.0 b\r\n", REPLY_DONE, 250, "2.0.0", "a\nb", NULL },
	{ "250\r\n", REPLY_DONE, 250, "", "", NULL },
	{ "250 ok\n", REPLY_DONE, 250, "", "ok", NULL },
	{ "451 4.3.0 try later\r\n", REPLY_DONE, 451, "4.3.0", "try later", NULL },
	{ "250 5.1.1 class mismatch kept as text\r\n", REPLY_DONE, 250, "", "5.1.1 class mismatch kept as text", NULL },
	{ "354 go ahead\r\n", REPLY_DONE, 354, "", "go ahead", NULL },
	{ "250-a\r\n", REPLY_MORE, 0, NULL, NULL, NULL },
	{ "250 partial", REPLY_MORE, 0, NULL, NULL, NULL },
	{ "25 short\r\n", REPLY_ERROR, 0, NULL, NULL, "malformed" },
	{ "hello\r\n", REPLY_ERROR, 0, NULL, NULL, "malformed" },
	{ "2500 x\r\n", REPLY_ERROR, 0, NULL, NULL, "malformed" },
	{ "199 x\r\n", REPLY_ERROR, 0, NULL, NULL, "not a valid" },
	{ "600 x\r\n", REPLY_ERROR, 0, NULL, NULL, "not a valid" },
	{ "260 x\r\n", REPLY_ERROR, 0, NULL, NULL, "not a valid" },
	{ "250-a\r\n220 b\r\n", REPLY_ERROR, 0, NULL, NULL, "changes from 250 to 220" },
	{ "250 a\x01 b\r\n", REPLY_ERROR, 0, NULL, NULL, "control character" },
};

static void test_reply_table(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < sizeof reply_rows / sizeof reply_rows[0]; i++) {
		const struct reply_row *row = &reply_rows[i];
		struct reply_parser p;
		struct reply r = { 0 };
		char err[256] = "";
		size_t used = 0;
		enum reply_status st;

		reply_parser_init(&p);
		st = reply_parse(&p, row->in, strlen(row->in), &used, &r, err, sizeof err);
		if (st != row->st)
			fail_msg("row %zu (%s): status %d, expected %d (%s)", i, row->in, st, row->st, err);
		if (st == REPLY_DONE) {
			assert_int_equal(r.code, row->code);
			assert_string_equal(r.enh, row->enh);
			assert_string_equal(r.text, row->text);
			assert_int_equal(used, strlen(row->in));
			reply_free(&r);
		}
		if (st == REPLY_ERROR && strstr(err, row->err) == NULL)
			fail_msg("row %zu: error '%s' lacks '%s'", i, err, row->err);
		reply_parser_free(&p);
	}
}

/* Every split of a multi-line reply gives the same result. */
static void test_reply_every_split(void **state)
{
	const char *in = "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n";
	size_t n = strlen(in), cut;
	(void)state;
	for (cut = 0; cut <= n; cut++) {
		struct reply_parser p;
		struct reply r = { 0 };
		char err[256];
		size_t used = 0, used2 = 0;
		enum reply_status st;

		reply_parser_init(&p);
		st = reply_parse(&p, in, cut, &used, &r, err, sizeof err);
		if (cut < n) {
			assert_int_equal(st, REPLY_MORE);
			assert_int_equal(used, cut);
			st = reply_parse(&p, in + cut, n - cut, &used2, &r, err, sizeof err);
		}
		assert_int_equal(st, REPLY_DONE);
		assert_string_equal(r.text, "mx.example\nPIPELINING\nSIZE 1000\n8BITMIME");
		reply_free(&r);
		reply_parser_free(&p);
	}
}

static void test_reply_two_in_one_buffer(void **state)
{
	const char *in = "250 a\r\n354 b\r\n";
	struct reply_parser p;
	struct reply r = { 0 };
	char err[256];
	size_t used = 0;
	(void)state;

	reply_parser_init(&p);
	assert_int_equal(reply_parse(&p, in, strlen(in), &used, &r, err, sizeof err), REPLY_DONE);
	assert_int_equal(used, 7);
	assert_int_equal(r.code, 250);
	reply_free(&r);
	assert_int_equal(reply_parse(&p, in + used, strlen(in) - used, &used, &r, err, sizeof err), REPLY_DONE);
	assert_int_equal(r.code, 354);
	reply_free(&r);
	reply_parser_free(&p);
}

static void test_reply_nul_is_refused(void **state)
{
	static const char in[] = "250 a\0b\r\n";
	struct reply_parser p;
	struct reply r = { 0 };
	char err[256] = "";
	size_t used = 0;
	(void)state;

	reply_parser_init(&p);
	assert_int_equal(reply_parse(&p, in, sizeof in - 1, &used, &r, err, sizeof err), REPLY_ERROR);
	assert_non_null(strstr(err, "control character 0x00"));
	reply_parser_free(&p);
}

static void test_reply_line_limit(void **state)
{
	size_t n = REPLY_LINE_MAX + 10;
	char *big = malloc(n);
	struct reply_parser p;
	struct reply r = { 0 };
	char err[256] = "";
	size_t used = 0;
	(void)state;

	memcpy(big, "250 ", 4);
	memset(big + 4, 'x', n - 4);
	reply_parser_init(&p);
	assert_int_equal(reply_parse(&p, big, n, &used, &r, err, sizeof err), REPLY_ERROR);
	assert_non_null(strstr(err, "longer than 65536"));
	reply_parser_free(&p);
	free(big);
}

static void test_caps(void **state)
{
	struct reply r = { 250, "", (char *)"mx.example greets you\nPIPELINING\nSIZE 35882577\n8BITMIME\n"
					      "AUTH=LOGIN\nAUTH PLAIN login XOAUTH2\nENHANCEDSTATUSCODES\n"
					      "SMTPUTF8\nDSN\nSTARTTLS\nCHUNKING", 11 };
	struct caps c;
	(void)state;

	reply_parse_caps(&r, &c);
	assert_int_equal(c.flags, CAP_PIPELINING | CAP_SIZE | CAP_8BITMIME | CAP_AUTH |
				  CAP_ENHANCEDSTATUSCODES | CAP_SMTPUTF8 | CAP_DSN | CAP_STARTTLS |
				  CAP_CHUNKING);
	assert_int_equal(c.size_max, 35882577);
	assert_string_equal(c.auth, "LOGIN PLAIN LOGIN XOAUTH2");
}

static void test_caps_first_line_is_not_a_capability(void **state)
{
	struct reply r = { 250, "", (char *)"PIPELINING", 1 };
	struct caps c;
	(void)state;

	reply_parse_caps(&r, &c);
	assert_int_equal(c.flags, 0);
}

/* Deterministic mutations: never a crash, always a defined status. */
static void test_reply_mutations(void **state)
{
	const char *seed = "250-mx.example\r\n250-SIZE 100\r\n250 2.0.0 ok\r\n";
	const char vals[] = { '\0', '\r', '\n', '-', ' ', '9', '0', 'x', (char)0xff };
	size_t n = strlen(seed), i, k;
	(void)state;

	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof vals; k++) {
			char buf[64];
			struct reply_parser p;
			struct reply r = { 0 };
			char err[256];
			size_t used = 0, off = 0;
			enum reply_status st = REPLY_MORE;

			memcpy(buf, seed, n);
			buf[i] = vals[k];
			reply_parser_init(&p);
			while (off < n) {
				st = reply_parse(&p, buf + off, n - off, &used, &r, err, sizeof err);
				off += used;
				if (st == REPLY_DONE)
					reply_free(&r);
				if (st == REPLY_ERROR || (st == REPLY_MORE && used == 0))
					break;
			}
			reply_parser_free(&p);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_table),
		cmocka_unit_test(test_reply_every_split),
		cmocka_unit_test(test_reply_two_in_one_buffer),
		cmocka_unit_test(test_reply_nul_is_refused),
		cmocka_unit_test(test_reply_line_limit),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_caps_first_line_is_not_a_capability),
		cmocka_unit_test(test_reply_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
