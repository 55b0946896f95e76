/* test_secrets.c: no memory that held a secret keeps it after use. The
 * test replaces the allocator (malloc, calloc, realloc, free: those of
 * libgsasl and GnuTLS too) with glibc's plus a scan: every block is
 * searched for the password and its base64 forms when it is freed, and
 * realloc always moves, so an old copy left behind by a growing buffer is
 * found as well. Then an AUTH runs through the engine and the mechanism,
 * and the secret sources are read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"
#include "secret.h"
#include "smtp.h"

#if defined(__SANITIZE_ADDRESS__)
#define SCAN_ALLOCATOR 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCAN_ALLOCATOR 0
#endif
#endif
#ifndef SCAN_ALLOCATOR
#define SCAN_ALLOCATOR 1
#endif

#define PASSWORD "Tr0ub4dor&3-kurier"
#define WINDOW 10 /* bytes of a secret form that count as a leftover */

/* The secret, base64, and PLAIN's "\0alice\0secret" in base64; plus one
 * form a test adds (e.g. a SCRAM proof). */
static const char *forms[4] = { PASSWORD, "VHIwdWI0ZG9yJjMta3VyaWVy",
				"AGFsaWNlAFRyMHViNGRvciYzLWt1cmllcg==", NULL };
static int scanning;
static char found[256]; /* the first leftover seen, for the failure message */

#if SCAN_ALLOCATOR
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static void scan(const void *p, size_t n, const char *how)
{
	size_t f, k;

	if (!scanning || found[0] != '\0')
		return;
	for (f = 0; f < sizeof forms / sizeof forms[0] && forms[f] != NULL; f++) {
		size_t len = strlen(forms[f]);
		for (k = 0; k + WINDOW <= len; k++)
			if (memmem(p, n, forms[f] + k, WINDOW) != NULL) {
				snprintf(found, sizeof found, "%s block of %zu bytes keeps '%.*s' (of '%s')",
					 how, n, WINDOW, forms[f] + k, forms[f]);
				return;
			}
	}
}

void *malloc(size_t n)
{
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	return __libc_calloc(n, size);
}

void free(void *p)
{
	if (p != NULL)
		scan(p, malloc_usable_size(p), "a freed");
	__libc_free(p);
}

/* Always a new block: whatever the old one held is what a moving realloc
 * would leave behind. */
void *realloc(void *p, size_t n)
{
	void *q;
	size_t old;

	if (p == NULL)
		return __libc_malloc(n);
	old = malloc_usable_size(p);
	q = __libc_malloc(n ? n : 1);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	scan(p, old, "a realloc'd (old)");
	__libc_free(p);
	return q;
}
#endif

static int setup(void **state)
{
	(void)state;
	found[0] = '\0';
	forms[3] = NULL;
	scanning = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	scanning = 0;
	if (found[0] != '\0')
		fail_msg("%s", found);
	return 0;
}

static void feed(struct smtp *s, const char *in)
{
	smtp_feed(s, in, strlen(in));
}

/* Take what the engine wants written, as the driver does. */
static void written(struct smtp *s)
{
	const char *buf, *log;
	size_t len, loglen;

	assert_int_equal(smtp_next(s), SMTP_WRITE);
	smtp_output(s, &buf, &len);
	smtp_output_log(s, &log, &loglen);
	assert_null(memmem(log, loglen, PASSWORD, strlen(PASSWORD)));
	smtp_output_sent(s);
}

static struct smtp *start(void)
{
	struct smtp_params p = { "client.example", false, false, true };
	struct smtp *s = smtp_new(&p);

	feed(s, "220 mx.example ESMTP\r\n");
	written(s);
	feed(s, "250-mx.example\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN SCRAM-SHA-256\r\n");
	assert_int_equal(smtp_next(s), SMTP_AUTH_BEGIN);
	return s;
}

/* Many recipients: the engine's buffers grow well past the AUTH line. */
static void send_envelope(struct smtp *s)
{
	static const char *rcpt[64];
	struct smtp_envelope e;
	size_t i;

	for (i = 0; i < 64; i++)
		rcpt[i] = "some.recipient.with.a.long.name@example.org";
	memset(&e, 0, sizeof e);
	e.from = "alice@example.org";
	e.rcpt = rcpt;
	e.nrcpt = 64;
	e.size = 100;
	smtp_begin(s, &e);
	written(s);
}

static void test_plain(void **state)
{
	struct auth_creds c = { "alice", PASSWORD, "h", "587", NULL };
	char err[256], *init = NULL;
	struct smtp *s = start();
	struct auth *a = auth_new("PLAIN", &c, NULL, err, sizeof err);
	(void)state;

	assert_non_null(a);
	assert_int_equal(auth_initial(a, &init, err, sizeof err), 0);
	smtp_auth_begin(s, "PLAIN", init, auth_verified(a));
	xfree_secret(init);
	/* with PIPELINING the MAIL group rides in the AUTH's write */
	send_envelope(s);
	feed(s, "235 2.7.0 ok\r\n250 2.1.0 ok\r\n");
	auth_free(a);
	smtp_free(s);
}

static void test_login(void **state)
{
	struct auth_creds c = { "alice", PASSWORD, "h", "587", NULL };
	char err[256], *out = NULL;
	struct smtp *s = start();
	struct auth *a = auth_new("LOGIN", &c, NULL, err, sizeof err);
	(void)state;

	assert_non_null(a);
	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	smtp_auth_begin(s, "LOGIN", out, auth_verified(a));
	xfree_secret(out);
	written(s);
	feed(s, "334 VXNlcm5hbWU6\r\n");
	assert_int_equal(smtp_next(s), SMTP_AUTH_STEP);
	assert_int_equal(auth_step(a, smtp_auth_challenge(s), &out, err, sizeof err), AUTH_MORE);
	smtp_auth_respond(s, out, auth_verified(a));
	xfree_secret(out);
	written(s);
	feed(s, "334 UGFzc3dvcmQ6\r\n");
	assert_int_equal(smtp_next(s), SMTP_AUTH_STEP);
	assert_int_not_equal(auth_step(a, smtp_auth_challenge(s), &out, err, sizeof err), AUTH_ERROR);
	smtp_auth_respond(s, out, auth_verified(a));
	xfree_secret(out);
	written(s);
	feed(s, "235 2.7.0 ok\r\n");
	send_envelope(s);
	auth_free(a);
	smtp_free(s);
}

/* RFC 7677's example: the client proof is as good as the password for
 * this salt and count, and must not stay behind either. */
static void test_scram(void **state)
{
	struct auth_creds c = { "user", "pencil", "h", "587", "rOprNGfwEbeRWgbNEkqO" };
	char err[256], *out = NULL;
	struct auth *a = auth_new("SCRAM-SHA-256", &c, NULL, err, sizeof err);
	(void)state;

	forms[3] = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
	assert_int_equal(auth_initial(a, &out, err, sizeof err), 0);
	free(out);
	/* base64 of the server-first message */
	assert_int_equal(auth_step(a, "cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=",
				   &out, err, sizeof err), AUTH_MORE);
	xfree_secret(out);
	auth_free(a);
}

static void test_sources(void **state)
{
	char path[] = "/tmp/kurier-test-netrc.XXXXXX", err[256], *out = NULL;
	int fd = mkstemp(path);
	const char netrc[] = "machine mx.example login alice password " PASSWORD "\n";
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, netrc, sizeof netrc - 1), (ssize_t)(sizeof netrc - 1));
	close(fd);
	assert_int_equal(secret_netrc(path, "mx.example", "alice", &out, err, sizeof err), 0);
	assert_string_equal(out, PASSWORD);
	xfree_secret(out);
	unlink(path);
	assert_int_equal(secret_eval("printf '%s\\n' '" PASSWORD "'", &out, err, sizeof err), 0);
	assert_string_equal(out, PASSWORD);
	xfree_secret(out);
}

/* Core dumps off and the process not dumpable (then put back, so the
 * sanitizers' leak check can still attach at exit). */
static void test_protect_process(void **state)
{
	struct rlimit rl;
	(void)state;

	assert_int_equal(secret_protect_process(), 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_true(rl.rlim_cur == 0 && rl.rlim_max == 0);
	assert_int_equal(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
}

/* The scan itself finds what it must (else the rows above prove nothing). */
static void test_scan_works(void **state)
{
	/* through volatile pointers, so the compiler keeps the pair */
	void *(*volatile alloc)(size_t) = malloc;
	void (*volatile release)(void *) = free;
	char *p = alloc(64);
	(void)state;

	snprintf(p, 64, "x" PASSWORD "y");
	release(p);
#if SCAN_ALLOCATOR
	assert_true(found[0] != '\0');
#endif
	found[0] = '\0';
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scan_works, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources, setup, teardown),
		cmocka_unit_test(test_protect_process),
	};
	if (!SCAN_ALLOCATOR)
		fputs("test_secrets: AddressSanitizer owns the allocator here; the flows run "
		      "without the scan\n", stderr);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
