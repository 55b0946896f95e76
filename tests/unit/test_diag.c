/* test_diag.c: the transcript: server lines as they arrive, in whole or in
 * pieces, and which of them are hidden (SASL challenges). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "diag.h"

/* Each row: the server's bytes as the reads returned them (chunks
 * separated by '|'), and the transcript lines without time stamps. */
struct trace_row {
	const char *chunks;
	const char *want;
};

static const struct trace_row rows[] = {
	{ "220 msa.test ESMTP\r\n", "<-- 220 msa.test ESMTP\n" },
	/* SCRAM server-first and server-final: never shown */
	{ "334 cj1ub25jZSxzPXNhbHQsaT00MDk2\r\n", "<-- 334 <redacted: 28 bytes>\n" },
	{ "334 dj1zaWduYXR1cmU=\r\n235 2.7.0 ok\r\n",
	  "<-- 334 <redacted: 16 bytes>\n<-- 235 2.7.0 ok\n" },
	/* an empty challenge, and a final refusal, stay readable */
	{ "334 \r\n535 5.7.8 bad\r\n", "<-- 334 \n<-- 535 5.7.8 bad\n" },
	/* split by the reads anywhere */
	{ "334 cj1ub2|5jZSxz|PXNhbHQ=\r\n250 ok\r\n",
	  "<-- 334 <redacted: 6 bytes>\n<-- <redacted: 6 more bytes>\n<-- <redacted: 8 more bytes>\n<-- 250 ok\n" },
	{ "33|4 cj1ub25jZQ==\r\n", "<-- <redacted: 2 bytes>\n<-- <redacted: 14 more bytes>\n" },
	{ "334 cj1|\r\n", "<-- 334 <redacted: 3 bytes>\n<-- \n" },
	/* other split lines stay as they are */
	{ "250-PIPEL|INING\r\n250 8BITMIME\r\n", "<-- 250-PIPEL\n<-- INING\n<-- 250 8BITMIME\n" },
	{ "3|54 go ahead\r\n", "<-- <redacted: 1 bytes>\n<-- <redacted: 11 more bytes>\n" },
	/* a 334 only counts as the reply code */
	{ "3340 x\r\n250 334 y\r\n", "<-- 3340 x\n<-- 250 334 y\n" },
};

static char *trace(const char *chunks)
{
	struct diag d = { .transcript = tmpfile() };
	char *copy = strdup(chunks), *p = copy, *bar, *out, *o, line[2048];
	size_t cap = 8192, len = 0;

	assert_non_null(d.transcript);
	assert_non_null(copy);
	do {
		bar = strchr(p, '|');
		if (bar != NULL)
			*bar = '\0';
		diag_trace(&d, 'S', p, strlen(p));
		p = bar + 1;
	} while (bar != NULL);
	free(copy);
	rewind(d.transcript);
	out = calloc(1, cap);
	assert_non_null(out);
	while (fgets(line, sizeof line, d.transcript) != NULL) {
		o = strchr(line, ' '); /* after the time stamp */
		assert_non_null(o);
		len += (size_t)snprintf(out + len, cap - len, "%s", o + 1);
	}
	fclose(d.transcript);
	return out;
}

static void test_server_lines(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *got = trace(rows[i].chunks);
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("row %zu: got\n%swant\n%s", i, got, rows[i].want);
		free(got);
	}
}

/* Client lines come redacted by the engine and are shown as they are. */
static void test_client_lines(void **state)
{
	struct diag d = { .transcript = tmpfile() };
	char line[256];
	(void)state;

	assert_non_null(d.transcript);
	diag_trace(&d, 'C', "334 abc\r\n", 9);
	rewind(d.transcript);
	assert_non_null(fgets(line, sizeof line, d.transcript));
	assert_string_equal(strchr(line, ' ') + 1, "--> 334 abc\n");
	fclose(d.transcript);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_lines),
		cmocka_unit_test(test_client_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
