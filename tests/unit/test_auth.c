/* test_auth.c: mechanism choice as a table, SCRAM against the RFC 7677
 * and RFC 5802 examples, the GS2 flags, a wrong server signature, and the
 * OAuth 2 messages and error flows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsasl.h>
#include <cmocka.h>

#include "auth.h"

static char *b64(const char *s)
{
	char *out;
	size_t n;
	assert_int_equal(gsasl_base64_to(s, strlen(s), &out, &n), GSASL_OK);
	return out;
}

static char *unb64(const char *s)
{
	char *out;
	size_t n;
	assert_int_equal(gsasl_base64_from(s, strlen(s), &out, &n), GSASL_OK);
	out = realloc(out, n + 1);
	out[n] = '\0';
	return out;
}

struct choose_row {
	const char *configured, *offered;
	bool secure, binding;
	const char *want;   /* NULL: refused */
};

static const struct choose_row choose_rows[] = {
	{ "ON", "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS", true, true, "SCRAM-SHA-256-PLUS" },
	{ "ON", "PLAIN LOGIN SCRAM-SHA-256 SCRAM-SHA-256-PLUS", true, false, "SCRAM-SHA-256" },
	{ "ON", "PLAIN SCRAM-SHA-1 SCRAM-SHA-1-PLUS", true, true, "SCRAM-SHA-1-PLUS" },
	{ "ON", "SCRAM-SHA-1 SCRAM-SHA-256", false, false, "SCRAM-SHA-256" },
	{ "ON", "LOGIN PLAIN", true, false, "PLAIN" },
	{ "ON", "LOGIN", true, false, "LOGIN" },
	{ "ON", "LOGIN PLAIN", false, false, NULL },
	{ "ON", "CRAM-MD5 DIGEST-MD5", true, false, NULL },
	{ "ON", "XOAUTH2 OAUTHBEARER", true, false, NULL },
	{ "ON", "", true, false, NULL },
	{ "CRAM-MD5", "CRAM-MD5 PLAIN", true, false, "CRAM-MD5" },
	{ "XOAUTH2", "PLAIN XOAUTH2", true, false, "XOAUTH2" },
	{ "XOAUTH2", "PLAIN", true, false, NULL },
	{ "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256-PLUS", true, false, NULL },
	{ "PLAIN", "PLAINX", true, false, NULL },
};

static void test_choose(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < sizeof choose_rows / sizeof choose_rows[0]; i++) {
		const struct choose_row *r = &choose_rows[i];
		char err[256] = "";
		const char *got = auth_choose(r->configured, r->offered, r->secure, r->binding, err, sizeof err);
		if ((got == NULL) != (r->want == NULL) || (got != NULL && strcmp(got, r->want) != 0))
			fail_msg("row %zu: got %s, want %s (%s)", i, got ? got : "NULL", r->want ? r->want : "NULL", err);
		if (got == NULL)
			assert_true(err[0] != '\0');
	}
}

/* RFC 7677 section 3, with the client nonce fixed. */
static void test_scram_sha256_rfc7677(void **state)
{
	struct auth_creds c = { "user", "pencil", "h", "587", "rOprNGfwEbeRWgbNEkqO" };
	char err[256] = "", *out = NULL, *plain, *ch;
	struct auth *a = auth_new("SCRAM-SHA-256", &c, NULL, err, sizeof err);
	(void)state;

	assert_non_null(a);
	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	plain = unb64(out);
	assert_string_equal(plain, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
	free(plain);
	free(out);
	ch = b64("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	assert_int_equal(auth_step(a, ch, &out, err, sizeof err), AUTH_MORE);
	free(ch);
	plain = unb64(out);
	assert_string_equal(plain, "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
				   "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
	free(plain);
	free(out);
	assert_false(auth_verified(a));
	ch = b64("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	assert_int_equal(auth_step(a, ch, &out, err, sizeof err), AUTH_DONE);
	assert_string_equal(out, "");
	assert_true(auth_verified(a));
	free(ch);
	free(out);
	auth_free(a);
}

/* RFC 5802 section 5 (SCRAM-SHA-1). */
static void test_scram_sha1_rfc5802(void **state)
{
	struct auth_creds c = { "user", "pencil", "h", "587", "fyko+d2lbbFgONRv9qkxdawL" };
	char err[256] = "", *out = NULL, *plain, *ch;
	struct auth *a = auth_new("SCRAM-SHA-1", &c, NULL, err, sizeof err);
	(void)state;

	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	free(out);
	ch = b64("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
	assert_int_equal(auth_step(a, ch, &out, err, sizeof err), AUTH_MORE);
	free(ch);
	plain = unb64(out);
	assert_string_equal(plain, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
	free(plain);
	free(out);
	ch = b64("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
	assert_int_equal(auth_step(a, ch, &out, err, sizeof err), AUTH_DONE);
	free(ch);
	free(out);
	auth_free(a);
}

static void test_scram_wrong_signature(void **state)
{
	struct auth_creds c = { "user", "pencil", "h", "587", "rOprNGfwEbeRWgbNEkqO" };
	char err[256] = "", *out = NULL, *ch;
	struct auth *a = auth_new("SCRAM-SHA-256", &c, NULL, err, sizeof err);
	(void)state;

	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	free(out);
	ch = b64("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
	assert_int_equal(auth_step(a, ch, &out, err, sizeof err), AUTH_MORE);
	free(ch);
	free(out);
	ch = b64("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	assert_int_equal(auth_step(a, ch, &out, err, sizeof err), AUTH_ERROR);
	assert_non_null(strstr(err, "signature is wrong"));
	assert_false(auth_verified(a));
	free(ch);
	auth_free(a);
}

static void test_scram_gs2_flags(void **state)
{
	static const unsigned char cbdata[] = { 1, 2, 3, 4 };
	struct auth_binding b = { "tls-exporter", cbdata, sizeof cbdata, false };
	struct auth_creds c = { "us,er=", "pw", "h", "587", "NONCE" };
	char err[256] = "", *out = NULL, *plain;
	struct auth *a;
	(void)state;

	/* binding available, server without -PLUS: "y" */
	a = auth_new("SCRAM-SHA-256", &c, &b, err, sizeof err);
	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	plain = unb64(out);
	assert_string_equal(plain, "y,,n=us=2Cer=3D,r=NONCE");
	free(plain);
	free(out);
	auth_free(a);
	/* binding available, -PLUS offered but declined: "n" */
	b.server_plus = true;
	a = auth_new("SCRAM-SHA-256", &c, &b, err, sizeof err);
	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	plain = unb64(out);
	assert_string_equal(plain, "n,,n=us=2Cer=3D,r=NONCE");
	free(plain);
	free(out);
	auth_free(a);
	/* -PLUS: "p=" with the binding type */
	a = auth_new("SCRAM-SHA-256-PLUS", &c, &b, err, sizeof err);
	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	plain = unb64(out);
	assert_string_equal(plain, "p=tls-exporter,,n=us=2Cer=3D,r=NONCE");
	free(plain);
	free(out);
	auth_free(a);
	/* -PLUS without binding cannot start */
	assert_null(auth_new("SCRAM-SHA-256-PLUS", &c, NULL, err, sizeof err));
}

static void test_scram_hostile_server_first(void **state)
{
	static const char *const bad[] = {
		"r=OTHER,s=QSXCR+Q6sek8bf92,i=4096",          /* nonce not ours */
		"r=NONCE,s=QSXCR+Q6sek8bf92,i=4096",          /* nonce not extended */
		"r=NONCEx,s=QSXCR+Q6sek8bf92,i=0",            /* no iterations */
		"r=NONCEx,s=QSXCR+Q6sek8bf92,i=99999999",     /* a CPU trap */
		"r=NONCEx,s=!!!,i=4096",                      /* salt not base64 */
		"garbage",
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct auth_creds c = { "u", "p", "h", "587", "NONCE" };
		char err[256] = "", *out = NULL, *ch = b64(bad[i]);
		struct auth *a = auth_new("SCRAM-SHA-1", &c, NULL, err, sizeof err);
		assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
		free(out);
		out = NULL;
		if (auth_step(a, ch, &out, err, sizeof err) != AUTH_ERROR)
			fail_msg("row %zu accepted", i);
		free(out);
		free(ch);
		auth_free(a);
	}
}

/* Servers that may be honest but are unsafe to answer: the exchange is
 * cancelled (the driver sends "*") and no proof is computed or sent. */
static void test_scram_unsafe_server_first(void **state)
{
	static const struct {
		const char *server_first;
		enum auth_status want;
		const char *err; /* a part of the message */
	} rows[] = {
		{ "r=NONCEx,s=QSXCR+Q6sek8bf92,i=1", AUTH_CANCEL,
		  "the server asks for only 1 iteration (RFC 7677 wants at least 4096)" },
		{ "r=NONCEx,s=QSXCR+Q6sek8bf92,i=4095", AUTH_CANCEL, "only 4095 iterations" },
		{ "m=x-ext,r=NONCEx,s=QSXCR+Q6sek8bf92,i=4096", AUTH_CANCEL,
		  "mandatory extension 'm=x-ext'" },
		{ "r=NONCEx,s=QSXCR+Q6sek8bf92,i=4096,m=later", AUTH_CANCEL, "'m=later'" },
		{ "r=NONCEx,s=QSXCR+Q6sek8bf92,i=4096x", AUTH_ERROR, "iteration count 4096x is out of range" },
		{ "r=NONCEx,s=QSXCR+Q6sek8bf92,i=4096", AUTH_MORE, "" },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct auth_creds c = { "u", "p", "h", "587", "NONCE" };
		char err[256] = "", *out = NULL, *ch = b64(rows[i].server_first);
		struct auth *a = auth_new("SCRAM-SHA-1", &c, NULL, err, sizeof err);
		enum auth_status st;

		assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
		free(out);
		out = NULL;
		st = auth_step(a, ch, &out, err, sizeof err);
		if (st != rows[i].want || strstr(err, rows[i].err) == NULL)
			fail_msg("row %zu: status %d, err '%s'", i, (int)st, err);
		if (st == AUTH_CANCEL) {
			assert_null(out); /* no proof */
			assert_non_null(auth_failure_hint(a));
		} else {
			assert_null(auth_failure_hint(a));
		}
		free(out);
		free(ch);
		auth_free(a);
	}
}

static void test_oauth(void **state)
{
	struct auth_creds c = { "alice@example.org", "tok3n", "smtp.example.org", "587", NULL };
	char err[256] = "", *out = NULL, *plain, *ch;
	struct auth *a;
	(void)state;

	a = auth_new("XOAUTH2", &c, NULL, err, sizeof err);
	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	plain = unb64(out);
	assert_string_equal(plain, "user=alice@example.org\001auth=Bearer tok3n\001\001");
	assert_true(auth_verified(a)); /* nothing to prove: a 235 is believed */
	free(plain);
	free(out);
	ch = b64("{\"status\":\"401\",\"schemes\":\"bearer\"}");
	assert_int_equal(auth_step(a, ch, &out, err, sizeof err), AUTH_MORE);
	assert_string_equal(out, "");
	assert_string_equal(auth_server_error(a), "{\"status\":\"401\",\"schemes\":\"bearer\"}");
	free(out);
	free(ch);
	auth_free(a);

	a = auth_new("OAUTHBEARER", &c, NULL, err, sizeof err);
	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	plain = unb64(out);
	assert_string_equal(plain, "n,a=alice@example.org,\001host=smtp.example.org\001port=587\001"
				   "auth=Bearer tok3n\001\001");
	free(plain);
	free(out);
	ch = b64("{\"status\":\"invalid_token\"}");
	assert_int_equal(auth_step(a, ch, &out, err, sizeof err), AUTH_MORE);
	assert_string_equal(out, "AQ==");
	free(out);
	free(ch);
	auth_free(a);
}

static void test_plain(void **state)
{
	struct auth_creds c = { "alice", "pass word \"q\" \xc3\xa4", "h", "587", NULL };
	char err[256] = "", *out = NULL, *plain;
	size_t n;
	struct auth *a = auth_new("PLAIN", &c, NULL, err, sizeof err);
	(void)state;

	assert_non_null(a);
	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	assert_int_equal(gsasl_base64_from(out, strlen(out), &plain, &n), GSASL_OK);
	assert_int_equal(n, 1 + 5 + 1 + strlen(c.secret));
	assert_memory_equal(plain, "\0alice\0pass word \"q\" \xc3\xa4", n);
	assert_true(auth_verified(a));
	free(plain);
	free(out);
	auth_free(a);
}

/* The AUTH policy: TLS, or loopback without a proxy; the refusal says why. */
static void test_may_send(void **state)
{
	char err[256];

	(void)state;
	assert_true(auth_may_send(true, false, false, err, sizeof err));
	assert_true(auth_may_send(true, false, true, err, sizeof err));
	assert_true(auth_may_send(false, true, false, err, sizeof err));
	assert_false(auth_may_send(false, false, false, err, sizeof err));
	assert_string_equal(err, "authentication without TLS is refused (except to loopback); "
				 "remove 'tls off' from the account");
	assert_false(auth_may_send(false, true, true, err, sizeof err));
	assert_string_equal(err, "authentication without TLS is refused (except to loopback, never through a "
				 "proxy); remove 'tls off' from the account");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_may_send),
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_scram_sha256_rfc7677),
		cmocka_unit_test(test_scram_sha1_rfc5802),
		cmocka_unit_test(test_scram_wrong_signature),
		cmocka_unit_test(test_scram_gs2_flags),
		cmocka_unit_test(test_scram_hostile_server_first),
		cmocka_unit_test(test_scram_unsafe_server_first),
		cmocka_unit_test(test_oauth),
		cmocka_unit_test(test_plain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
