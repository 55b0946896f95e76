/* tls-cache.c: the TLS session cache file's name and directory; it makes
 * the directory, and never reads or writes the file (tls.c does). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "facts.h"
#include "tls-cache.h"

char *tls_cache_name(const char *account, const char *host, const char *port)
{
	size_t n = strlen(account) + strlen(host) + strlen(port) + sizeof "tls-session---";
	char *name = xmalloc(n), *p;

	snprintf(name, n, "tls-session-%s-%s-%s", account, host, port);
	for (p = name; *p != '\0'; p++)
		if (*p == '/')
			*p = '_';
	return name;
}

char *tls_cache_path(const char *account, const char *host, const char *port)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	char dir[4096], *name, *path;
	size_t n;
	int len;

	if (xdg != NULL && *xdg != '\0')
		len = snprintf(dir, sizeof dir, "%s", xdg);
	else
		len = snprintf(dir, sizeof dir, "%s/.cache", facts_home_dir());
	if (len < 0 || (size_t)len >= sizeof dir)
		return NULL;
	/* the parent may exist already or be made by someone else; only the
	 * kurier directory itself must be there in the end */
	mkdir(dir, 0700);
	n = strlen(dir);
	len = snprintf(dir + n, sizeof dir - n, "/kurier");
	if (len < 0 || (size_t)len >= sizeof dir - n)
		return NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return NULL;
	name = tls_cache_name(account, host, port);
	n = strlen(dir) + strlen(name) + 2;
	path = xmalloc(n);
	snprintf(path, n, "%s/%s", dir, name);
	free(name);
	return path;
}
