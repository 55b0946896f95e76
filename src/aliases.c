/* aliases.c: the local-recipient alias table: parsed from a buffer,
 * expanded depth-first with loop detection. No I/O except aliases_load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "aliases.h"

#define ALIASES_DEPTH_MAX 64
#define ALIASES_RESULT_MAX 10000
#define ALIASES_FILE_MAX 1048576

struct alias {
	char *name;
	struct addr_list to;
};

struct aliases {
	struct alias *v;
	size_t n;
};

void aliases_free(struct aliases *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->v[i].name);
		addr_list_free(&a->v[i].to);
	}
	free(a->v);
	free(a);
}

/* One logical entry (continuations joined): "name: targets". */
static int aliases_entry(struct aliases *a, const char *path, unsigned line, const char *s, size_t n,
			 char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	size_t nl;
	char aerr[KURIER_ERRLEN];
	struct alias *e;

	if (colon == NULL) {
		snprintf(err, errlen, "%s:%u: expected 'name: address, ...'", path, line);
		return -1;
	}
	nl = (size_t)(colon - s);
	while (nl > 0 && (s[nl - 1] == ' ' || s[nl - 1] == '\t'))
		nl--;
	if (nl == 0) {
		snprintf(err, errlen, "%s:%u: an alias needs a name before ':'", path, line);
		return -1;
	}
	a->v = xrealloc(a->v, (a->n + 1) * sizeof *a->v);
	e = &a->v[a->n];
	memset(e, 0, sizeof *e);
	e->name = xstrndup(s, nl);
	if (addr_list_parse(colon + 1, n - (size_t)(colon + 1 - s), &e->to, aerr, sizeof aerr) != 0) {
		snprintf(err, errlen, "%s:%u: alias '%s': %s", path, line, e->name, aerr);
		free(e->name);
		addr_list_free(&e->to);
		return -1;
	}
	a->n++;
	return 0;
}

struct aliases *aliases_parse(const char *path, const char *buf, size_t len, char *err, size_t errlen)
{
	struct aliases *a = xcalloc(1, sizeof *a);
	char *cur = xmalloc(len + 1);
	const char *p = buf, *end = buf + len;
	size_t curlen = 0;
	unsigned line = 0, start = 0;
	bool have = false;

	for (;;) {
		bool eof = p >= end;
		const char *nl = eof ? NULL : memchr(p, '\n', (size_t)(end - p));
		size_t n = eof ? 0 : nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (!eof && n > 0 && (p[0] == ' ' || p[0] == '\t') && have) {
			/* a line that starts with white space continues the entry */
			memcpy(cur + curlen, p, n);
			curlen += n;
		} else {
			size_t k = 0;
			if (have && aliases_entry(a, path, start, cur, curlen, err, errlen) != 0)
				goto fail;
			have = false;
			curlen = 0;
			while (k < n && (p[k] == ' ' || p[k] == '\t'))
				k++;
			if (!eof && k < n && p[k] != '#') {
				memcpy(cur, p, n);
				curlen = n;
				have = true;
				start = line;
			}
		}
		if (eof)
			break;
		p = nl != NULL ? nl + 1 : end;
	}
	free(cur);
	return a;
fail:
	free(cur);
	aliases_free(a);
	return NULL;
}

struct aliases *aliases_load(const char *path, char *err, size_t errlen)
{
	struct stat st;
	struct aliases *a = NULL;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1;

	if (open_regular_file(path, ALIASES_FILE_MAX, &fd, &st, err, errlen) != 0)
		goto out;
	if (read_whole_fd(fd, (size_t)st.st_size, &buf, &len) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	a = aliases_parse(path, buf, len, err, errlen);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return a;
}

static const struct alias *aliases_find(const struct aliases *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcasecmp(a->v[i].name, name) == 0)
			return &a->v[i];
	return NULL;
}

static int aliases_walk(const struct aliases *a, const char *name, const char **stack, int depth,
			struct addr_list *out, char *err, size_t errlen)
{
	const struct alias *e;
	size_t i;
	int k;

	if (strchr(name, '@') != NULL || (e = aliases_find(a, name)) == NULL) {
		/* not local, or not an alias: the default entry, else as it is */
		if (strchr(name, '@') == NULL && depth == 0 && (e = aliases_find(a, "default")) != NULL)
			goto expand;
		if (out->n >= ALIASES_RESULT_MAX) {
			snprintf(err, errlen, "aliases expand to more than %d recipients", ALIASES_RESULT_MAX);
			return -1;
		}
		addr_list_add(out, name);
		return 0;
	}
expand:
	for (k = 0; k < depth; k++)
		if (strcasecmp(stack[k], e->name) == 0) {
			snprintf(err, errlen, "alias loop: '%s' leads back to itself", e->name);
			return -1;
		}
	if (depth >= ALIASES_DEPTH_MAX) {
		snprintf(err, errlen, "aliases nested deeper than %d levels at '%s'", ALIASES_DEPTH_MAX, name);
		return -1;
	}
	stack[depth] = e->name;
	for (i = 0; i < e->to.n; i++) {
		/* a name that is its own target is the mailbox itself */
		if (strcasecmp(e->to.v[i], e->name) == 0) {
			addr_list_add(out, e->to.v[i]);
			continue;
		}
		if (aliases_walk(a, e->to.v[i], stack, depth + 1, out, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int aliases_expand(const struct aliases *a, const struct addr_list *in, struct addr_list *out,
		   char *err, size_t errlen)
{
	const char *stack[ALIASES_DEPTH_MAX + 1];
	size_t i;

	for (i = 0; i < in->n; i++)
		if (aliases_walk(a, in->v[i], stack, 0, out, err, errlen) != 0)
			return -1;
	return 0;
}
