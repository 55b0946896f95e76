/* test_aliases.c: alias files as tables: parsing, continuation lines,
 * recursive expansion, the default entry, loops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aliases.h"

static const char table[] =
	"# system aliases\n"
	"postmaster: root\n"
	"root: admin@example.org, ops\n"
	"ops: Ops Team <ops@example.org>,\n"
	"  oncall@example.org\n"
	"\n"
	"loop1: loop2\n"
	"loop2: loop1\n"
	"self: self, self@example.org\n";

struct expand_row {
	const char *in;    /* comma-joined recipients */
	const char *want;  /* comma-joined result, or NULL for an error */
	bool with_default;
};

static const struct expand_row rows[] = {
	{ "postmaster", "admin@example.org,ops@example.org,oncall@example.org", false },
	{ "root,bob@example.org", "admin@example.org,ops@example.org,oncall@example.org,bob@example.org", false },
	{ "ROOT", "admin@example.org,ops@example.org,oncall@example.org", false },
	{ "nobody", "nobody", false },
	{ "nobody", "catchall@example.org", true },
	{ "self", "self,self@example.org", false },
	{ "loop1", NULL, false },
};

static void join(const struct addr_list *l, char *buf, size_t len)
{
	size_t i, o = 0;
	buf[0] = '\0';
	for (i = 0; i < l->n; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? "," : "", l->v[i]);
}

static void test_expand(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char text[1024], err[256] = "", got[1024];
		struct aliases *a;
		struct addr_list in = { 0 }, out = { 0 };
		int rc;

		snprintf(text, sizeof text, "%s%s", table, rows[i].with_default ? "default: catchall@example.org\n" : "");
		a = aliases_parse("t", text, strlen(text), err, sizeof err);
		assert_non_null(a);
		assert_int_equal(addr_list_parse(rows[i].in, strlen(rows[i].in), &in, err, sizeof err), 0);
		rc = aliases_expand(a, &in, &out, err, sizeof err);
		if (rows[i].want == NULL) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err, "loop"));
		} else {
			assert_int_equal(rc, 0);
			join(&out, got, sizeof got);
			if (strcmp(got, rows[i].want) != 0)
				fail_msg("row %zu: got %s", i, got);
		}
		addr_list_free(&in);
		addr_list_free(&out);
		aliases_free(a);
	}
}

/* N aliases a0..a(N-1), each listing the next one twice (and itself when
 * SELF): 2^N paths through the file. The last one lists LEAF. */
static char *doubling_file(int n, bool self, const char *leaf)
{
	size_t cap = (size_t)n * 64 + 64, o = 0;
	char *f = malloc(cap);
	int i;

	assert_non_null(f);
	for (i = 0; i < n - 1; i++) {
		if (self)
			o += (size_t)snprintf(f + o, cap - o, "a%d: a%d, a%d, a%d\n", i, i, i + 1, i + 1);
		else
			o += (size_t)snprintf(f + o, cap - o, "a%d: a%d, a%d\n", i, i + 1, i + 1);
	}
	o += (size_t)snprintf(f + o, cap - o, "a%d: %s\n", n - 1, leaf);
	return f;
}

/* Expanding "a0" of TEXT must end with an error containing WANT_ERR. */
static void expect_expand_error(const char *text, const char *want_err)
{
	char err[256] = "";
	struct aliases *a = aliases_parse("t", text, strlen(text), err, sizeof err);
	struct addr_list in = { 0 }, out = { 0 };

	assert_non_null(a);
	addr_list_add(&in, "a0");
	assert_int_equal(aliases_expand(a, &in, &out, err, sizeof err), -1);
	if (strstr(err, want_err) == NULL)
		fail_msg("error '%s' does not say '%s'", err, want_err);
	addr_list_free(&in);
	addr_list_free(&out);
	aliases_free(a);
}

/* The work is bounded, not only the results: a file where each alias lists
 * the next one twice takes 2^N steps to walk even when it yields nothing
 * (a 400-byte file exhausted memory when the aliases also listed
 * themselves, which bypassed the result cap). */
static void test_expand_bounded(void **state)
{
	char *f;
	(void)state;

	/* each level lists itself (kept as a mailbox) and the next twice */
	f = doubling_file(20, true, "a19, last@example.org");
	expect_expand_error(f, "more than 10000 recipients");
	free(f);
	/* no result at all, only work: the leaf is an empty group */
	f = doubling_file(24, false, "nobody:;");
	expect_expand_error(f, "more than 100000 steps");
	free(f);
	/* the 406-byte file of the report: 2^40 self entries */
	f = doubling_file(40, true, "x@example.org");
	assert_true(strlen(f) < 1000);
	expect_expand_error(f, "more than 10000 recipients");
	free(f);
}

static void test_parse_errors(void **state)
{
	char err[256] = "";
	(void)state;

	assert_null(aliases_parse("f", "root admin@x\n", 13, err, sizeof err));
	assert_string_equal(err, "f:1: expected 'name: address, ...'");
	assert_null(aliases_parse("f", "a: b\n: c\n", 9, err, sizeof err));
	assert_string_equal(err, "f:2: an alias needs a name before ':'");
	assert_null(aliases_parse("f", "a: \"unterminated\n", 17, err, sizeof err));
	assert_non_null(strstr(err, "f:1: alias 'a': "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_expand_bounded),
		cmocka_unit_test(test_parse_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
