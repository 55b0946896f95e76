/* test_address.c: the address-list parser and envelope path checks, as
 * tables, plus deterministic mutation and random passes over the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "address.h"

struct parse_row {
	const char *in;
	size_t len;        /* 0: strlen */
	const char *want;  /* addresses joined by '\n'; NULL: an error is expected */
	const char *err;   /* substring of the error */
};

#define OK(in, want) { in, 0, want, NULL }
#define BAD(in, err) { in, 0, NULL, err }
#define BADN(in, err) { in, sizeof in - 1, NULL, err }

static const struct parse_row parse_rows[] = {
	/* plain, lists, display names, comments */
	OK("a@b.c", "a@b.c"),
	OK("a@b.c, d@e.f", "a@b.c\nd@e.f"),
	OK("Name <a@b.c>", "a@b.c"),
	OK("\"Last, First\" <a@b.c>", "a@b.c"),
	OK("a@b.c (comment (nested))", "a@b.c"),
	OK("(c) Name (c) <a@b.c> (c)", "a@b.c"),
	OK("<a@b.c>", "a@b.c"),
	OK("J. Smith <a@b.c>", "a@b.c"),
	OK("Name (with \\) paren) <a@b.c>", "a@b.c"),
	OK("\"quoted (not a comment\" <a@b.c>", "a@b.c"),
	OK("\"ctl\x01 in display name\" <a@b.c>", "a@b.c"),
	OK("\"\" <a@b.c>", "a@b.c"),
	OK("a@b.c <d@e.f>", "d@e.f"),
	OK("First Last <a@b.c>, \"X\" <d@e.f>, g@h.i", "a@b.c\nd@e.f\ng@h.i"),
	/* groups */
	OK("Group: a@b.c, Name <d@e.f>;", "a@b.c\nd@e.f"),
	OK("undisclosed-recipients:;", ""),
	OK("undisclosed-recipients: ;", ""),
	OK("Group:;, x@y.z", "x@y.z"),
	OK("G: a@b.c;, H: d@e.f;", "a@b.c\nd@e.f"),
	OK("G: ,a@b.c,,;", "a@b.c"),
	OK("\"The Group\" (c): <a@b.c> ; (c)", "a@b.c"),
	/* obs-route, dropped */
	OK("<@relay1,@relay2:a@b.c>", "a@b.c"),
	OK("Name <@relay1.example:a@b.c>", "a@b.c"),
	OK("<,@a.example,,@[192.0.2.9]:c@d.e>", "c@d.e"),
	/* empty elements (obs-addr-list) */
	OK("a@b.c,, ,d@e.f", "a@b.c\nd@e.f"),
	OK(",a@b.c,", "a@b.c"),
	OK("", ""),
	OK("  , (only a comment) ,", ""),
	/* folding and the line break that ends a header field */
	OK("a@b.c,\r\n d@e.f", "a@b.c\nd@e.f"),
	OK("a@b.c,\n\td@e.f", "a@b.c\nd@e.f"),
	OK("Name\r\n <a@b.c>", "a@b.c"),
	OK("(multi\r\n line comment) a@b.c", "a@b.c"),
	OK("a@b.c\r\n", "a@b.c"),
	OK("a@b.c\n", "a@b.c"),
	OK(" a@b.c,\r\n d@e.f\r\n", "a@b.c\nd@e.f"),
	/* quoted local parts */
	OK("\"john doe\"@example.org", "\"john doe\"@example.org"),
	OK("\"john\"@example.org", "john@example.org"),
	OK("\"john\".\"doe\"@example.org", "john.doe@example.org"),
	OK("\"john doe\".smith@example.org", "\"john doe.smith\"@example.org"),
	OK("\"a\\\"b\"@x.y", "\"a\\\"b\"@x.y"),
	OK("\"a\\\\b\"@x.y", "\"a\\\\b\"@x.y"),
	OK("\"a\\b\"@x.y", "ab@x.y"),
	OK("\"john..doe\"@x.y", "\"john..doe\"@x.y"),
	OK("\"john\r\n doe\"@x.y", "\"john doe\"@x.y"),
	OK("\"\"@x.y", "\"\"@x.y"),
	OK("Name <\"a b\"@x.y>", "\"a b\"@x.y"),
	/* domain literals */
	OK("a@[192.0.2.1]", "a@[192.0.2.1]"),
	OK("a@[IPv6:::1]", "a@[IPv6:::1]"),
	OK("a@[ 192.0.2.1 ]", "a@[192.0.2.1]"),
	/* obsolete white space and comments around '@' and '.' */
	OK("a . b @ c . d", "a.b@c.d"),
	OK("a(x).b@c(y).d", "a.b@c.d"),
	/* bare local parts */
	OK("root", "root"),
	OK("root, admin@x.y", "root\nadmin@x.y"),
	OK("<root>", "root"),
	OK("first.last", "first.last"),
	/* UTF-8 passes through (RFC 6532) */
	OK("J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc" "cher.example>", "j\xc3\xb6rg@b\xc3\xbc" "cher.example"),
	OK("\"M\xc3\xbcller, J\" <a@b.c>", "a@b.c"),
	OK("\xe7\x94\xb0\xe4\xb8\xad@\xe4\xbe\x8b.jp", "\xe7\x94\xb0\xe4\xb8\xad@\xe4\xbe\x8b.jp"),

	/* errors */
	BAD("\"john doe@x", "unterminated quoted string at '\"john doe@x'"),
	BAD("a@b.c, \"x\\", "unterminated quoted string"),
	BAD("a@b.c (comment", "unterminated comment at '(comment'"),
	BAD("a@b.c (c (nested)", "unterminated comment"),
	BAD("a@b.c)", "unbalanced ')'"),
	BAD("<a@b.c", "unbalanced '<' in '<a@b.c'"),
	BAD("Name <a@b.c, d@e.f", "expected '>'"),
	BAD("Name <a@b.c", "unbalanced '<'"),
	BAD("a@b.c>", "unbalanced '>'"),
	BAD(">", "unbalanced '>'"),
	BAD("<a@b.c d>", "expected '>' at 'd>'"),
	BAD("<<a@b.c>>", "expected an address after '<'"),
	BAD("Group: a@b.c", "missing ';' at end of group in 'Group: a@b.c'"),
	BAD("Group: a@b.c, Name <d@e.f>", "missing ';'"),
	BAD("undisclosed-recipients:", "missing ';'"),
	BAD("G: H: a@b.c;;", "nested group at 'H: a@b.c;;'"),
	BAD("a@b.c;", "';' outside a group"),
	BAD(":;", "group without a name"),
	BAD("<>", "empty address <>"),
	BAD("Name <>", "empty address <>"),
	BAD("@b.c", "'@' with empty local part in '@b.c'"),
	BAD("<@b.c>", "'@' with empty local part"),
	BAD("Name <@b.c>", "'@' with empty local part"),
	BAD("a@", "'@' with empty domain"),
	BAD("a@, b@c.d", "'@' with empty domain"),
	BAD("<a@>", "'@' with empty domain"),
	BAD("a@b..c", "empty label in domain"),
	BAD("a@b.", "empty label in domain"),
	BAD("a@.b", "domain starts with '.'"),
	BAD("a@b_c.d", "invalid character '_' in domain"),
	BAD("a@b.c d@e.f", "expected ',' at 'd@e.f'"),
	BAD("a@b@c", "expected ','"),
	BAD("G: a@b.c d@e.f;", "expected ',' or ';'"),
	BAD("John Doe", "display name without '<address>'"),
	BAD("John Doe@x.y", "invalid local part"),
	BAD("a..b@c.d", "invalid local part"),
	BAD(".a@c.d", "invalid local part"),
	BAD("a.@c.d", "invalid local part"),
	BAD("a@[1.2.3.4", "unterminated domain literal"),
	BAD("a@[1.2[3]", "invalid character '[' in domain literal"),
	BAD("a@[\xc3\xb6]", "invalid character 0xc3 in domain literal"),
	BAD("a@b.c]", "unexpected ']'"),
	BAD("a\\b@c.d", "unexpected '\\'"),
	BAD("<@relay a@b.c>", "expected ':' after route"),
	BAD("\"ctl\x01\"@b.c", "control character 0x01 in quoted local part"),
	BAD("\"tab\r\n\there\"@b.c", "control character 0x09 in quoted local part"),
	BADN("a@b\0.c", "NUL byte at '\\x00.c'"),
	BADN("\"a\0b\"@c.d", "NUL byte"),
	BADN("a@b.c (\\\0)", "NUL byte"),
	BAD("a@b.c\rd@e.f", "CR not followed by LF at '\\rd@e.f'"),
	BAD("a@b.c\r", "CR not followed by LF"),
	BAD("a@b.c,\r\nd@e.f", "line break not followed by white space at '\\r\\nd@e.f'"),
	BAD("a@b.c,\nd@e.f", "line break not followed by white space"),
	BAD("a@b.c\r\n\r\n", "line break not followed by white space"),
	BAD("a@b\r\nRCPT TO:<evil@x>", "line break not followed by white space"),
	BAD("\"a\\\r\n b\"@c.d", "escaped line break"),
	BAD("a\x01@b.c", "control character 0x01"),
	BAD("a@b.c (\x7f)", "control character 0x7f"),
	BAD("a@b\x1b.c", "control character 0x1b"),
	BAD("Name\x0b <a@b.c>", "control character 0x0b"),
};

/* Join L's addresses from FROM on with '\n'. */
static void join(const struct addr_list *l, size_t from, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = from; i < l->n; i++) {
		int k = snprintf(buf + o, len - o, "%s%s", i > from ? "\n" : "", l->v[i]);
		assert_true(k >= 0 && (size_t)k < len - o);
		o += (size_t)k;
	}
}

static void test_parse_table(void **state)
{
	size_t i;
	(void)state;

	assert_true(sizeof parse_rows / sizeof parse_rows[0] >= 40);
	for (i = 0; i < sizeof parse_rows / sizeof parse_rows[0]; i++) {
		const struct parse_row *row = &parse_rows[i];
		size_t len = row->len ? row->len : strlen(row->in);
		struct addr_list l = { 0 };
		char err[KURIER_ERRLEN], got[2048];
		char *in = malloc(len ? len : 1); /* exactly LEN bytes: no NUL to lean on */
		int rc;

		assert_non_null(in);
		memcpy(in, row->in, len);
		memset(err, 'X', sizeof err);
		rc = addr_list_parse(in, len, &l, err, sizeof err);
		assert_non_null(memchr(err, '\0', sizeof err));
		if (row->want != NULL) {
			if (rc != 0)
				fail_msg("row %zu (%s): failed: %s", i, row->in, err);
			join(&l, 0, got, sizeof got);
			if (strcmp(got, row->want) != 0)
				fail_msg("row %zu (%s): got [%s], expected [%s]", i, row->in, got, row->want);
			assert_string_equal(err, "");
		} else {
			if (rc != -1)
				fail_msg("row %zu (%s): accepted, expected error '%s'", i, row->in, row->err);
			if (strstr(err, row->err) == NULL)
				fail_msg("row %zu (%s): error [%s], expected [%s]", i, row->in, err, row->err);
			assert_int_equal(l.n, 0);
		}
		addr_list_free(&l);
		free(in);
	}
}

/* ADDR_MAX is a hard bound, in the parser and in the check. */
static void test_parse_lengths(void **state)
{
	char local[80], dom[300], addr[400], in[2400], err[KURIER_ERRLEN];
	struct addr_list l = { 0 };
	(void)state;

	memset(local, 'x', 64);
	local[64] = '\0';
	memset(dom, 'd', 251);
	memcpy(dom + 251, ".com", 5);
	snprintf(addr, sizeof addr, "%s@%s", local, dom);
	assert_int_equal(strlen(addr), ADDR_MAX);
	assert_int_equal(addr_check(addr, false, err, sizeof err), 0);

	snprintf(in, sizeof in, "Name <%s>", addr);
	assert_int_equal(addr_list_parse(in, strlen(in), &l, err, sizeof err), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], addr);
	addr_list_free(&l);

	snprintf(in, sizeof in, "Name <y%s>", addr);
	assert_int_equal(addr_list_parse(in, strlen(in), &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "address longer than 320 bytes"));
	assert_int_equal(l.n, 0);
	snprintf(in, sizeof in, "y%s", addr);
	assert_int_equal(addr_check(in, false, err, sizeof err), -1);
	assert_non_null(strstr(err, "longer than 320"));

	/* quoting counts: 318 bytes that need quotes become 320 + 2 */
	memset(in, 0, sizeof in);
	in[0] = '"';
	memset(in + 1, ' ', 318);
	memcpy(in + 319, "\"", 2);
	assert_int_equal(addr_list_parse(in, strlen(in), &l, err, sizeof err), 0);
	assert_int_equal(strlen(l.v[0]), 320);
	addr_list_free(&l);
	memcpy(in + 319, " \"@x", 5);
	assert_int_equal(addr_list_parse(in, strlen(in), &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "longer than 320"));

	/* a long display name is fine, a long atom as an address is not */
	memset(in, 'n', 2000);
	memcpy(in + 2000, " <a@b.c>", 9);
	assert_int_equal(addr_list_parse(in, strlen(in), &l, err, sizeof err), 0);
	assert_string_equal(l.v[0], "a@b.c");
	addr_list_free(&l);
	in[2000] = '\0';
	assert_int_equal(addr_list_parse(in, strlen(in), &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "longer than 320"));
	assert_true(strlen(err) < 200); /* the quote of the input is short */
	memcpy(in + 2000, "@b.c", 5);
	assert_int_equal(addr_list_parse(in, strlen(in), &l, err, sizeof err), -1);
	assert_non_null(strstr(err, "longer than 320"));
	addr_list_free(&l);
}

/* On error OUT is as it was on entry; ERR may be small or absent. */
static void test_parse_rollback_and_err(void **state)
{
	struct addr_list l = { 0 };
	char err[8];
	(void)state;

	addr_list_add(&l, "pre@x.y");
	assert_int_equal(addr_list_parse("a@b.c, d@e.f, \"bad", 18, &l, err, sizeof err), -1);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0], "pre@x.y");
	assert_int_equal(strlen(err), sizeof err - 1);
	assert_int_equal(addr_list_parse("a@b.c, \"bad", 11, &l, NULL, 0), -1);
	assert_int_equal(addr_list_parse("a@b.c", 5, &l, NULL, 0), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(addr_list_parse(NULL, 0, &l, err, sizeof err), 0);
	assert_int_equal(addr_list_parse(NULL, 3, &l, err, sizeof err), -1);
	assert_int_equal(addr_list_parse("a@b", 3, NULL, err, sizeof err), -1);
	/* LEN bounds the input: the rest of the string is not looked at */
	assert_int_equal(addr_list_parse("a@b.c\"junk", 5, &l, err, sizeof err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[2], "a@b.c");
	addr_list_free(&l);
}

/* Duplicates go, the first of each stays where it was; the domain is
 * compared in any case, the local part exactly. */
static void test_list_dedupe(void **state)
{
	static const char *const in[] = { "b@x.example", "a@X.Example", "b@x.example", "A@x.example",
					  "a@x.example", "b@X.EXAMPLE", "c@y.example", "a@x.example" };
	static const char *const want[] = { "b@x.example", "a@X.Example", "A@x.example", "c@y.example" };
	struct addr_list l = { 0 };
	char buf[32];
	size_t i;
	(void)state;

	addr_list_dedupe(&l);
	for (i = 0; i < sizeof in / sizeof in[0]; i++)
		addr_list_add(&l, in[i]);
	addr_list_dedupe(&l);
	assert_int_equal(l.n, sizeof want / sizeof want[0]);
	for (i = 0; i < l.n; i++)
		assert_string_equal(l.v[i], want[i]);
	addr_list_free(&l);
	/* 20 000 addresses, each twice, in a shuffled order */
	for (i = 0; i < 20000; i++) {
		snprintf(buf, sizeof buf, "u%zu@x.y", (i * 7919) % 10000);
		addr_list_add(&l, buf);
	}
	addr_list_dedupe(&l);
	assert_int_equal(l.n, 10000);
	assert_string_equal(l.v[0], "u0@x.y");
	assert_string_equal(l.v[1], "u7919@x.y");
	addr_list_free(&l);
}

static void test_list_add_free(void **state)
{
	struct addr_list l = { 0 };
	char buf[32];
	int i;
	(void)state;

	addr_list_free(&l);
	addr_list_free(&l);
	addr_list_free(NULL);
	for (i = 0; i < 100; i++) {
		snprintf(buf, sizeof buf, "u%d@x.y", i);
		addr_list_add(&l, buf);
	}
	addr_list_add(&l, NULL);
	assert_int_equal(l.n, 100);
	assert_true(l.cap >= 100);
	assert_string_equal(l.v[0], "u0@x.y");
	assert_string_equal(l.v[99], "u99@x.y");
	addr_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.cap, 0);
	addr_list_free(&l);
}

struct check_row {
	const char *addr;
	bool allow_empty;
	const char *err; /* NULL: accepted */
};

static const struct check_row check_rows[] = {
	{ "a@b.c", false, NULL },
	{ "", true, NULL },
	{ "root", false, NULL },
	{ "a+tag@b-c.example", false, NULL },
	{ "first.last@x.y", false, NULL },
	{ "\"john doe\"@example.org", false, NULL },
	{ "\"a\\\"b\"@x.y", false, NULL },
	{ "\"a,b<c>(d)\"@x.y", false, NULL },
	{ "\"\"@x.y", false, NULL },
	{ "\"john doe\"", false, NULL },
	{ "a@[192.0.2.1]", false, NULL },
	{ "a@[IPv6:2001:db8::1]", false, NULL },
	{ "j\xc3\xb6rg@b\xc3\xbc" "cher.example", false, NULL },
	{ "a@B-2.EXAMPLE", false, NULL },
	{ "", false, "empty address" },
	{ "a@b\r\nRCPT TO:<evil@x>", false, "CR in address" },
	{ "a@b\nRCPT TO:<evil@x>", false, "LF in address" },
	{ "a\x01@b.c", false, "control character 0x01" },
	{ "a\t@b.c", false, "control character 0x09" },
	{ "a\x7f@b.c", false, "control character 0x7f" },
	{ "\"a\x01\"@b.c", false, "control character 0x01" },
	{ "a b@c.d", false, "unquoted space in local part" },
	{ "<a@b.c>", false, "unquoted '<' in local part" },
	{ "a>@b.c", false, "unquoted '>'" },
	{ "a,b@c.d", false, "unquoted ','" },
	{ "a(b)@c.d", false, "unquoted '('" },
	{ "a)@c.d", false, "unquoted ')'" },
	{ "a\\b@c.d", false, "unquoted '\\'" },
	{ "a\"b\"@c.d", false, "unquoted '\"'" },
	{ "a@b@c.d", false, "more than one '@'" },
	{ "\"x@y\"@c.d@e", false, "more than one '@'" },
	{ "@b.c", false, "'@' with empty local part" },
	{ "a@", false, "'@' with empty domain" },
	{ "a@b..c", false, "empty label in domain" },
	{ "a@.b", false, "empty label in domain" },
	{ "a@b.", false, "empty label in domain" },
	{ "a@b c", false, "invalid character space in domain" },
	{ "a@b_c.d", false, "invalid character '_' in domain" },
	{ "a@b.c>", false, "invalid character '>' in domain" },
	{ "a@b,c", false, "invalid character ',' in domain" },
	{ "\"a b@c.d", false, "unterminated quoted string" },
	{ "\"a\\", false, "unterminated quoted string" },
	{ "\"a\"b@c.d", false, "text after the quoted local part" },
	{ "\"a\".b@c.d", false, "text after the quoted local part" },
	{ "\"a\\\xc3\xb6\"@c.d", false, "invalid quoted pair" },
	{ "a@[1.2.3.4", false, "unterminated domain literal" },
	{ "a@[]", false, "empty domain literal" },
	{ "a@[1 2]", false, "invalid character space in domain literal" },
	{ "a@[a\\]]", false, "invalid character" },
};

static void test_check_table(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof check_rows / sizeof check_rows[0]; i++) {
		const struct check_row *row = &check_rows[i];
		char err[KURIER_ERRLEN];
		int rc;

		memset(err, 'X', sizeof err);
		rc = addr_check(row->addr, row->allow_empty, err, sizeof err);
		assert_non_null(memchr(err, '\0', sizeof err));
		if (row->err == NULL && rc != 0)
			fail_msg("check row %zu (%s): rejected: %s", i, row->addr, err);
		if (row->err != NULL && rc != -1)
			fail_msg("check row %zu (%s): accepted, expected '%s'", i, row->addr, row->err);
		if (row->err != NULL && strstr(err, row->err) == NULL)
			fail_msg("check row %zu (%s): error [%s], expected [%s]", i, row->addr, err, row->err);
	}
	assert_int_equal(addr_check(NULL, true, NULL, 0), -1);
	assert_int_equal(addr_check("a b", false, NULL, 0), -1);
}

struct ascii_row {
	const char *addr;
	bool local, domain;
};

static const struct ascii_row ascii_rows[] = {
	{ "a@b.c", true, true },
	{ "root", true, true },
	{ "", true, true },
	{ "j\xc3\xb6rg@b.c", false, true },
	{ "a@b\xc3\xbc.c", true, false },
	{ "\xc3\xb6@\xc3\xbc", false, false },
	{ "\xc3\xb6", false, true },
	{ "\"x@\xc3\xb6\"@b.c", false, true },
	{ "\"a\\\"@\xc3\xb6\"@b.c", false, true },
	{ "\"a@b\"@\xc3\xbc", true, false },
	{ "a@b@\xc3\xbc", true, false },
};

static void test_ascii(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof ascii_rows / sizeof ascii_rows[0]; i++) {
		if (addr_local_is_ascii(ascii_rows[i].addr) != ascii_rows[i].local)
			fail_msg("ascii row %zu (%s): local part", i, ascii_rows[i].addr);
		if (addr_domain_is_ascii(ascii_rows[i].addr) != ascii_rows[i].domain)
			fail_msg("ascii row %zu (%s): domain", i, ascii_rows[i].addr);
	}
	assert_true(addr_local_is_ascii(NULL));
	assert_true(addr_domain_is_ascii(NULL));
}

/* Host names into A-labels (RFC 5891; UTS #46 non-transitional, so the
 * German sharp s stays itself, not "ss"); NULL: refused. */
static const struct {
	const char *host, *want;
} idn_rows[] = {
	{ "mail.example.org", "mail.example.org" },
	{ "MAIL.Example.ORG", "MAIL.Example.ORG" },     /* ASCII goes as it is */
	{ "127.0.0.1", "127.0.0.1" },
	{ "", "" },
	{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
	{ "B\xc3\x9c" "CHER.example", "xn--bcher-kva.example" }, /* mapped to lower case */
	{ "fa\xc3\x9f.de", "xn--fa-hia.de" },
	{ "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", "xn--r8jz45g.xn--zckzah" },
	{ "\xff\xfe.example", NULL },                   /* not UTF-8 */
	{ "\xcc\x81" "a.example", NULL },              /* a label starting with a combining mark */
	{ "\xc3\xbc" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", NULL }, /* over 63 octets */
};

static void test_host_to_ascii(void **state)
{
	char err[KURIER_ERRLEN];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof idn_rows / sizeof idn_rows[0]; i++) {
		char *out = (char *)"unset";
		int rc;

		err[0] = '\0';
		rc = addr_host_to_ascii(idn_rows[i].host, &out, err, sizeof err);
		if (idn_rows[i].want == NULL) {
			if (rc != -1 || out != NULL)
				fail_msg("idn row %zu: accepted as '%s'", i, rc == 0 ? out : "?");
			if (strstr(err, "is not a valid internationalised domain name: ") == NULL)
				fail_msg("idn row %zu: err '%s'", i, err);
			continue;
		}
		if (rc != 0)
			fail_msg("idn row %zu: refused: %s", i, err);
		if (strcmp(out, idn_rows[i].want) != 0)
			fail_msg("idn row %zu: got '%s', want '%s'", i, out, idn_rows[i].want);
		free(out);
	}
	assert_non_null(addr_library_version());
}

/* An account's from, expanded with the facts of a made-up machine. */
static void test_from_pattern(void **state)
{
	static const struct host_facts f = { "alice", "box", "box.example.org", "example.org" };
	static const struct {
		const char *pattern, *want;
		unsigned needs;
	} rows[] = {
		{ "alice@example.org", "alice@example.org", 0 },
		{ "%U@%M", "alice@example.org", ADDR_FACT_USER | ADDR_FACT_MAILNAME },
		{ "%U+%%x@%H.%M", "alice+%x@box.example.org", ADDR_FACT_USER | ADDR_FACT_HOST | ADDR_FACT_MAILNAME },
		{ "cron@%C", "cron@box.example.org", ADDR_FACT_CANONICAL },
		{ "cron-%C@%C", "cron-box.example.org@box.example.org", ADDR_FACT_CANONICAL },
		{ "%H", "box", ADDR_FACT_HOST },
		/* any other %X is X; a final lone % stays */
		{ "a%xb@c%", "axb@c%", 0 },
		{ "%%U@%%M", "%U@%M", 0 },
		{ "", "", 0 },
		/* wildcards: a pattern that chooses the account, not an address */
		{ "*@example.org", NULL, 0 },
		{ "%U@exampl?.org", NULL, 0 },
		{ "[ab]@%M", NULL, 0 },
	};
	struct host_facts none;
	char big[2000], *got;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (addr_from_pattern_needs(rows[i].pattern) != rows[i].needs)
			fail_msg("row %zu (%s): needs %u, want %u", i, rows[i].pattern,
				 addr_from_pattern_needs(rows[i].pattern), rows[i].needs);
		got = addr_expand_from_pattern(rows[i].pattern, &f);
		if (rows[i].want == NULL ? got != NULL : got == NULL || strcmp(got, rows[i].want) != 0)
			fail_msg("row %zu (%s): got '%s', want '%s'", i, rows[i].pattern, got ? got : "(null)",
				 rows[i].want ? rows[i].want : "(null)");
		free(got);
	}
	assert_int_equal(addr_from_pattern_needs(NULL), 0);
	assert_null(addr_expand_from_pattern(NULL, &f));
	/* facts not looked up are empty */
	memset(&none, 0, sizeof none);
	got = addr_expand_from_pattern("%U@%C", &none);
	assert_string_equal(got, "@");
	free(got);
	/* at most 1023 bytes, also when a fact is what makes it long */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	got = addr_expand_from_pattern(big, &f);
	assert_int_equal(strlen(got), 1023);
	free(got);
	memset(big, 0, sizeof big);
	for (i = 0; i + 2 < 1400; i += 2)
		memcpy(big + i, "%C", 2);
	got = addr_expand_from_pattern(big, &f);
	assert_int_equal(strlen(got), 1023);
	free(got);
}

/* Parse LEN bytes of IN from an exactly sized copy and check the contract:
 * 0 or -1, ERR terminated, nothing appended on error, and every address
 * returned fit for the envelope (addr_check also lets a bare local part
 * through). Returns the number of addresses. */
static size_t parse_one(const char *in, size_t len)
{
	struct addr_list l = { 0 };
	char err[KURIER_ERRLEN], cerr[KURIER_ERRLEN];
	char *buf = malloc(len ? len : 1);
	size_t i, n;
	int rc;

	assert_non_null(buf);
	if (len > 0)
		memcpy(buf, in, len);
	memset(err, 'X', sizeof err);
	rc = addr_list_parse(buf, len, &l, err, sizeof err);
	assert_true(rc == 0 || rc == -1);
	assert_non_null(memchr(err, '\0', sizeof err));
	if (rc == -1) {
		assert_int_equal(l.n, 0);
		assert_true(err[0] != '\0');
	}
	for (i = 0; i < l.n; i++) {
		size_t alen = strlen(l.v[i]);
		assert_true(alen > 0 && alen <= ADDR_MAX);
		if (addr_check(l.v[i], false, cerr, sizeof cerr) != 0)
			fail_msg("parsed [%.*s] into [%s], which fails addr_check: %s", (int)len, in,
				 l.v[i], cerr);
		assert_null(strpbrk(l.v[i], "\r\n"));
	}
	n = l.n;
	addr_list_free(&l);
	free(buf);
	return n;
}

static const char *const seeds[] = {
	"Name <a@b.c>, \"x y\"@d.e",
	"Group: a@b.c, (c) <@r.example:d@e.f>;, g@h.i",
	"\"Last, First\" (c (n)) <a.b@[192.0.2.1]>",
	"a . b @ c . d,\r\n root",
	"J\xc3\xb6rg <j@b\xc3\xbc.example>, \"q\\\"p\"@x.y",
	"undisclosed-recipients:;, <x@[IPv6:::1]>",
};

static void test_parse_mutations(void **state)
{
	static const char vals[] = { '\0', '\r', '\n', '"', '(', ')', '<', '>', ',', ':',
				     ';', '\\', '@', (char)0xff, ' ', '.', '[', ']' };
	size_t s, i, k, ok = 0;
	(void)state;

	for (s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
		const char *seed = seeds[s];
		size_t n = strlen(seed);
		char buf[128];

		assert_true(n < sizeof buf);
		assert_true(parse_one(seed, n) > 0);
		for (i = 0; i < n; i++) {
			for (k = 0; k < sizeof vals; k++) {
				memcpy(buf, seed, n);
				buf[i] = vals[k];
				ok += parse_one(buf, n) > 0;
			}
			/* delete byte i */
			memcpy(buf, seed, i);
			memcpy(buf + i, seed + i + 1, n - i - 1);
			ok += parse_one(buf, n - 1) > 0;
		}
		for (i = 0; i <= n; i++)
			ok += parse_one(seed, i) > 0;
	}
	assert_true(ok > 0);
}

/* A fixed-seed random pass over strings of the characters that matter. */
static void test_parse_random(void **state)
{
	static const char alpha[] = "ab.@<>,:;\"()\\[] \t\r\n\x01\xc3\xb6";
	uint32_t x = 12345;
	char buf[48];
	int round;
	size_t i, n;
	(void)state;

	for (round = 0; round < 50000; round++) {
		x = x * 1103515245u + 12345u;
		n = (x >> 16) % sizeof buf;
		for (i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = alpha[(x >> 16) % (sizeof alpha - 1)];
		}
		parse_one(buf, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_parse_rollback_and_err),
		cmocka_unit_test(test_list_add_free),
		cmocka_unit_test(test_list_dedupe),
		cmocka_unit_test(test_check_table),
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_host_to_ascii),
		cmocka_unit_test(test_from_pattern),
		cmocka_unit_test(test_parse_mutations),
		cmocka_unit_test(test_parse_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
