/* test_proxy.c: the SOCKS5 client machine (proxy.c) as tables of proxy
 * answers, a deterministic mutation pass over them, and the loopback
 * address classifier of net.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "proxy.h"
#include "transport.h"

/* Run the machine against ANSWER (the proxy's bytes), fed STEP bytes at a
 * time and never more than it wants; CLOSED: the proxy closes after them.
 * Returns the last step; *SENT gets the request bytes the client wrote. */
static enum proxy_step drive(struct proxy *p, const unsigned char *answer, size_t alen, size_t step,
			     bool closed, unsigned char *sent, size_t *sentlen, size_t *used)
{
	size_t off = 0;
	enum proxy_step s;

	*sentlen = 0;
	for (;;) {
		s = proxy_next(p);
		*used = off;
		if (s == PROXY_WRITE) {
			size_t len;
			const unsigned char *o = proxy_output(p, &len);
			assert_true(len > 0);
			memcpy(sent + *sentlen, o, len);
			*sentlen += len;
			proxy_sent(p);
		} else if (s == PROXY_READ) {
			size_t want = proxy_want(p), n = alen - off;
			assert_true(want > 0);
			if (n == 0) {
				if (!closed)
					break;
				proxy_input(p, NULL, 0);
				continue;
			}
			if (n > step)
				n = step;
			if (n > want)
				n = want;
			proxy_input(p, answer + off, n);
			off += n;
		} else {
			/* never past the reply: what follows is the mail host's */
			break;
		}
	}
	return s;
}

struct answer_row {
	const char *answer;     /* the proxy's bytes, in a C string with \x escapes */
	size_t len;
	enum proxy_step step;
	enum outcome fail;
	const char *err;        /* substring of the reason */
	size_t left;            /* bytes of ANSWER the machine must leave unread */
};

#define A(s) s, sizeof s - 1
static const struct answer_row answer_rows[] = {
	{ A("\x05\x00" "\x05\x00\x00\x01" "\x7f\x00\x00\x01\x04\x38"), PROXY_DONE, OUTCOME_OK, NULL, 0 },
	{ A("\x05\x00" "\x05\x00\x00\x01" "\x7f\x00\x00\x01\x04\x38" "220 greeting\r\n"), PROXY_DONE,
	  OUTCOME_OK, NULL, 14 },
	{ A("\x05\x00" "\x05\x00\x00\x03" "\x04" "abcd\x00\x19" "220"), PROXY_DONE, OUTCOME_OK, NULL, 3 },
	{ A("\x05\x00" "\x05\x00\x00\x03" "\x00" "\x00\x19"), PROXY_DONE, OUTCOME_OK, NULL, 0 },
	{ A("\x05\x00" "\x05\x00\x00\x04" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x00\x19"), PROXY_DONE, OUTCOME_OK, NULL, 0 },
	{ A("\x05\x00" "\x05\x05\x00\x01"), PROXY_FAIL, OUTCOME_TEMPFAIL,
	  "the proxy could not reach the host: connection refused (SOCKS5 reply 5)", 0 },
	{ A("\x05\x00" "\x05\x04\x00\x01\x00\x00\x00\x00\x00\x00"), PROXY_FAIL, OUTCOME_TEMPFAIL,
	  "host unreachable (SOCKS5 reply 4)", 6 },
	{ A("\x05\x00" "\x05\x02\x00\x01"), PROXY_FAIL, OUTCOME_TEMPFAIL, "rules do not allow", 0 },
	{ A("\x05\x00" "\x05\x01\x00\x01"), PROXY_FAIL, OUTCOME_TEMPFAIL, "general SOCKS server failure", 0 },
	{ A("\x05\x00" "\x05\x09\x00\x01"), PROXY_FAIL, OUTCOME_TEMPFAIL, "unknown reply code (SOCKS5 reply 9)", 0 },
	{ A("\x05\xff"), PROXY_FAIL, OUTCOME_TEMPFAIL, "requires authentication", 0 },
	{ A("\x05\x02"), PROXY_FAIL, OUTCOME_PROTOCOL, "a method kurier did not offer (SOCKS5 method 2)", 0 },
	{ A("\x04\x5a"), PROXY_FAIL, OUTCOME_PROTOCOL, "does not speak SOCKS5", 0 },
	{ A("HTTP/1.1 400"), PROXY_FAIL, OUTCOME_PROTOCOL, "does not speak SOCKS5", 10 },
	{ A("\x05\x00" "\x04\x00\x00\x01"), PROXY_FAIL, OUTCOME_PROTOCOL, "does not speak SOCKS5", 0 },
	{ A("\x05\x00" "\x05\x00\x00\x02"), PROXY_FAIL, OUTCOME_PROTOCOL, "unknown address type", 0 },
	{ A(""), PROXY_FAIL, OUTCOME_TEMPFAIL, "closed the connection", 0 },
	{ A("\x05"), PROXY_FAIL, OUTCOME_TEMPFAIL, "closed the connection", 0 },
	{ A("\x05\x00" "\x05\x00\x00\x01\x7f"), PROXY_FAIL, OUTCOME_TEMPFAIL, "closed the connection", 0 },
};

static void test_answers(void **state)
{
	static const size_t steps[] = { 1, 2, 3, 7, 1000 };
	size_t i, k;
	(void)state;

	for (i = 0; i < sizeof answer_rows / sizeof answer_rows[0]; i++) {
		const struct answer_row *r = &answer_rows[i];
		for (k = 0; k < sizeof steps / sizeof steps[0]; k++) {
			struct proxy p;
			unsigned char sent[600];
			size_t sentlen, used;
			char err[256];
			enum proxy_step s;

			assert_int_equal(proxy_init(&p, "smtp.example", NULL, 0, 587, err, sizeof err), 0);
			s = drive(&p, (const unsigned char *)r->answer, r->len, steps[k], true, sent, &sentlen,
				  &used);
			/* the bytes after the reply (or after a refusal) stay unread */
			if (used != r->len - r->left)
				fail_msg("row %zu step %zu: read %zu bytes, expected %zu", i, steps[k], used,
					 r->len - r->left);
			if (s != r->step)
				fail_msg("row %zu step %zu: step %d, expected %d (%s)", i, steps[k], s, r->step,
					 proxy_error(&p));
			if (s == PROXY_FAIL) {
				assert_int_equal(proxy_fail(&p), r->fail);
				if (strstr(proxy_error(&p), r->err) == NULL)
					fail_msg("row %zu: '%s' lacks '%s'", i, proxy_error(&p), r->err);
			}
			/* left bytes are not wanted: a DONE or FAIL machine wants none */
			assert_int_equal(proxy_want(&p), 0);
		}
	}
}

/* The machine stops asking at the end of the reply even when more bytes
 * are there: the rows' trailing bytes are never requested. */
static void test_never_reads_past_reply(void **state)
{
	static const unsigned char answer[] = "\x05\x00\x05\x00\x00\x03\x02hi\x01\x02" "220 x\r\n";
	struct proxy p;
	size_t off = 0;
	char err[64];
	(void)state;

	assert_int_equal(proxy_init(&p, "h", NULL, 0, 25, err, sizeof err), 0);
	while (proxy_next(&p) != PROXY_DONE) {
		size_t len;
		assert_int_not_equal(proxy_next(&p), PROXY_FAIL);
		if (proxy_next(&p) == PROXY_WRITE) {
			proxy_output(&p, &len);
			proxy_sent(&p);
			continue;
		}
		len = proxy_want(&p);
		proxy_input(&p, answer + off, len);
		off += len;
	}
	assert_int_equal(off, 2 + 4 + 1 + 2 + 2);
}

static void test_requests(void **state)
{
	struct proxy p;
	unsigned char sent[600];
	size_t n, used;
	char err[256];
	static const unsigned char ok[] = "\x05\x00\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00";
	static const unsigned char v4[4] = { 192, 0, 2, 1 };
	unsigned char v6[16] = { 0 };
	char longname[300];
	(void)state;

	/* RFC 1928 3 and 4: greeting "no authentication", CONNECT by name */
	assert_int_equal(proxy_init(&p, "smtp.invalid", NULL, 0, 587, err, sizeof err), 0);
	assert_int_equal(drive(&p, ok, sizeof ok - 1, 64, true, sent, &n, &used), PROXY_DONE);
	assert_int_equal(n, 3 + 4 + 1 + 12 + 2);
	assert_memory_equal(sent, "\x05\x01\x00" "\x05\x01\x00\x03\x0csmtp.invalid\x02\x4b", n);

	assert_int_equal(proxy_init(&p, "192.0.2.1", v4, 4, 25, err, sizeof err), 0);
	assert_int_equal(drive(&p, ok, sizeof ok - 1, 64, true, sent, &n, &used), PROXY_DONE);
	assert_int_equal(n, 3 + 4 + 4 + 2);
	assert_memory_equal(sent + 3, "\x05\x01\x00\x01\xc0\x00\x02\x01\x00\x19", 10);

	v6[15] = 1;
	assert_int_equal(proxy_init(&p, "::1", v6, 16, 465, err, sizeof err), 0);
	assert_int_equal(drive(&p, ok, sizeof ok - 1, 64, true, sent, &n, &used), PROXY_DONE);
	assert_int_equal(n, 3 + 4 + 16 + 2);
	assert_int_equal(sent[6], 4);

	memset(longname, 'a', 256);
	longname[256] = '\0';
	assert_int_equal(proxy_init(&p, longname, NULL, 0, 25, err, sizeof err), -1);
	assert_non_null(strstr(err, "1 to 255 octets"));
	longname[255] = '\0';
	assert_int_equal(proxy_init(&p, longname, NULL, 0, 25, err, sizeof err), 0);
	assert_int_equal(proxy_init(&p, "", NULL, 0, 25, err, sizeof err), -1);
	assert_int_equal(proxy_init(&p, "h", NULL, 0, 0, err, sizeof err), -1);
	assert_int_equal(proxy_init(&p, "h", NULL, 0, 65536, err, sizeof err), -1);
}

/* Deterministic mutations of the good answers: every byte flipped to each
 * of a few values, and every truncation. The machine ends DONE or FAIL,
 * never wants more than it has room for, and always has a reason. */
static void test_mutations(void **state)
{
	static const unsigned char vals[] = { 0x00, 0x01, 0x03, 0x04, 0x05, 0x7f, 0xff };
	size_t i, j, v;
	(void)state;

	for (i = 0; i < 5; i++) {
		const struct answer_row *r = &answer_rows[i];
		unsigned char buf[64];
		for (j = 0; j <= r->len && j < sizeof buf; j++) {
			for (v = 0; v < sizeof vals; v++) {
				struct proxy p;
				unsigned char sent[600];
				size_t n, used, len = r->len;
				char err[64];
				enum proxy_step s;

				memcpy(buf, r->answer, r->len);
				if (j < r->len)
					buf[j] = vals[v];
				else
					len = v % 2 == 0 ? r->len / 2 : r->len - 1;
				assert_int_equal(proxy_init(&p, "h", NULL, 0, 25, err, sizeof err), 0);
				s = drive(&p, buf, len, v + 1, true, sent, &n, &used);
				assert_true(used <= len);
				assert_true(s == PROXY_DONE || s == PROXY_FAIL);
				assert_true(p.need <= sizeof p.in);
				if (s == PROXY_FAIL)
					assert_true(proxy_error(&p)[0] != '\0' && proxy_fail(&p) != OUTCOME_OK);
			}
		}
	}
}

struct addr_row {
	int family;
	const char *addr;
	bool loopback;
};

static const struct addr_row addr_rows[] = {
	{ AF_INET, "127.0.0.1", true },
	{ AF_INET, "127.255.255.254", true },
	{ AF_INET, "127.1.2.3", true },
	{ AF_INET, "128.0.0.1", false },
	{ AF_INET, "126.255.255.255", false },
	{ AF_INET, "10.0.0.1", false },
	{ AF_INET, "0.0.0.0", false },
	{ AF_INET, "192.0.2.127", false },
	{ AF_INET6, "::1", true },
	{ AF_INET6, "::2", false },
	{ AF_INET6, "::", false },
	{ AF_INET6, "::ffff:127.0.0.1", true },
	{ AF_INET6, "::ffff:10.0.0.1", false },
	{ AF_INET6, "::127.0.0.1", false },
	{ AF_INET6, "fe80::1", false },
	{ AF_INET6, "2001:db8::1", false },
};

static void test_loopback_addresses(void **state)
{
	size_t i;
	(void)state;

	for (i = 0; i < sizeof addr_rows / sizeof addr_rows[0]; i++) {
		const struct addr_row *r = &addr_rows[i];
		struct sockaddr_storage ss;
		socklen_t len;
		memset(&ss, 0, sizeof ss);
		if (r->family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			in->sin_family = AF_INET;
			assert_int_equal(inet_pton(AF_INET, r->addr, &in->sin_addr), 1);
			len = sizeof *in;
		} else {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
			in6->sin6_family = AF_INET6;
			assert_int_equal(inet_pton(AF_INET6, r->addr, &in6->sin6_addr), 1);
			len = sizeof *in6;
		}
		if (net_addr_is_loopback((struct sockaddr *)&ss, len) != r->loopback)
			fail_msg("%s: expected %s", r->addr, r->loopback ? "loopback" : "not loopback");
		/* a short length is never trusted */
		assert_false(net_addr_is_loopback((struct sockaddr *)&ss, 2));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_never_reads_past_reply),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_loopback_addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
