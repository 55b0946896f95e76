/* test_tls_cache.c: the session cache file's name for an account, host and
 * port, and where tls_cache_path puts it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tls-cache.h"

static void test_names(void **state)
{
	static const struct {
		const char *account, *host, *port, *want;
	} rows[] = {
		{ "default", "mail.example.org", "587", "tls-session-default-mail.example.org-587" },
		{ "work", "xn--bcher-kva.example", "465", "tls-session-work-xn--bcher-kva.example-465" },
		{ "v6", "2001:db8::1", "25", "tls-session-v6-2001:db8::1-25" },
		/* a name from the configuration never leaves the directory */
		{ "../../etc", "h", "1", "tls-session-.._.._etc-h-1" },
		{ "a/b", "c/d", "587", "tls-session-a_b-c_d-587" },
		{ "/", "/", "/", "tls-session-_-_-_" },
		{ "", "", "", "tls-session---" },
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char *got = tls_cache_name(rows[i].account, rows[i].host, rows[i].port);
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("row %zu: got '%s', want '%s'", i, got, rows[i].want);
		free(got);
	}
}

static void test_path_made_private(void **state)
{
	char base[] = "/tmp/test_tls_cache.XXXXXX", want[256], dir[256];
	struct stat sb;
	char *path;
	FILE *fp;
	(void)state;

	assert_non_null(mkdtemp(base));
	snprintf(dir, sizeof dir, "%s/cache", base);
	setenv("XDG_CACHE_HOME", dir, 1);
	path = tls_cache_path("acct", "a/b", "587");
	snprintf(want, sizeof want, "%s/cache/kurier/tls-session-acct-a_b-587", base);
	assert_non_null(path);
	assert_string_equal(path, want);
	snprintf(dir, sizeof dir, "%s/cache/kurier", base);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	free(path);
	/* a second call finds the directory there */
	path = tls_cache_path("acct", "a/b", "587");
	assert_non_null(path);
	free(path);
	rmdir(dir);
	snprintf(dir, sizeof dir, "%s/cache", base);
	rmdir(dir);
	/* a cache directory that cannot be made: no cache, no error */
	snprintf(dir, sizeof dir, "%s/file", base);
	fp = fopen(dir, "w");
	assert_non_null(fp);
	fclose(fp);
	setenv("XDG_CACHE_HOME", dir, 1);
	assert_null(tls_cache_path("acct", "h", "587"));
	unlink(dir);
	rmdir(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_path_made_private),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
