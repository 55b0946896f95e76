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
#define ALIASES_STEPS_MAX 100000 /* names looked at in one expansion */
#define ALIASES_FILE_MAX 1048576

struct alias {
	char *name;
	struct addr_list to;
};

struct aliases {
	struct alias *v;
	size_t n;
	const struct alias **index; /* v sorted by aliases_cmp, for lookups */
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
	free(a->index);
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

/* Order for the lookup index: by name in any case, then file order, so the
 * first entry of a name in the file is the one found. */
static int aliases_cmp(const void *x, const void *y)
{
	const struct alias *const *a = x, *const *b = y;
	int c = strcasecmp((*a)->name, (*b)->name);

	if (c != 0)
		return c;
	return *a < *b ? -1 : *a > *b;
}

struct aliases *aliases_parse(const char *path, const char *buf, size_t len, char *err, size_t errlen)
{
	struct aliases *a = xcalloc(1, sizeof *a);
	char *cur = xmalloc(len + 1);
	const char *p = buf, *end = buf + len;
	size_t curlen = 0, i;
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
	a->index = xcalloc(a->n, sizeof *a->index);
	for (i = 0; i < a->n; i++)
		a->index[i] = &a->v[i];
	qsort(a->index, a->n, sizeof *a->index, aliases_cmp);
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

/* The first entry called NAME, by binary search over the index: each step
 * of an expansion costs log n, so the step bound below bounds the time. */
static const struct alias *aliases_find(const struct aliases *a, const char *name)
{
	size_t lo = 0, hi = a->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcasecmp(a->index[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->n && strcasecmp(a->index[lo]->name, name) == 0 ? a->index[lo] : NULL;
}

struct aliases_walk {
	const char *stack[ALIASES_DEPTH_MAX + 1];
	size_t steps;             /* names looked at so far, for ALIASES_STEPS_MAX */
	struct addr_list *out;
};

static int aliases_result(struct aliases_walk *w, const char *name, char *err, size_t errlen)
{
	if (w->out->n >= ALIASES_RESULT_MAX) {
		snprintf(err, errlen, "aliases expand to more than %d recipients", ALIASES_RESULT_MAX);
		return -1;
	}
	addr_list_add(w->out, name);
	return 0;
}

static int aliases_walk(const struct aliases *a, const char *name, int depth, struct aliases_walk *w,
			char *err, size_t errlen)
{
	const struct alias *e;
	size_t i;
	int k;

	/* Results are capped, but an alias listed twice at each of many
	 * levels takes exponential work for few or no results: bound the
	 * names looked at, too. */
	if (++w->steps > ALIASES_STEPS_MAX) {
		snprintf(err, errlen, "aliases take more than %d steps to expand (an alias listed "
			 "over and over at many levels?)", ALIASES_STEPS_MAX);
		return -1;
	}
	if (strchr(name, '@') != NULL || (e = aliases_find(a, name)) == NULL) {
		/* not local, or not an alias: the default entry, else as it is */
		if (strchr(name, '@') == NULL && depth == 0 && (e = aliases_find(a, "default")) != NULL)
			goto expand;
		return aliases_result(w, name, err, errlen);
	}
expand:
	for (k = 0; k < depth; k++)
		if (strcasecmp(w->stack[k], e->name) == 0) {
			snprintf(err, errlen, "alias loop: '%s' leads back to itself", e->name);
			return -1;
		}
	if (depth >= ALIASES_DEPTH_MAX) {
		snprintf(err, errlen, "aliases nested deeper than %d levels at '%s'", ALIASES_DEPTH_MAX, name);
		return -1;
	}
	w->stack[depth] = e->name;
	for (i = 0; i < e->to.n; i++) {
		/* a name that is its own target is the mailbox itself */
		if (strcasecmp(e->to.v[i], e->name) == 0) {
			if (aliases_result(w, e->to.v[i], err, errlen) != 0)
				return -1;
			continue;
		}
		if (aliases_walk(a, e->to.v[i], depth + 1, w, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int aliases_expand(const struct aliases *a, const struct addr_list *in, struct addr_list *out,
		   char *err, size_t errlen)
{
	struct aliases_walk w = { .steps = 0, .out = out };
	size_t i;

	for (i = 0; i < in->n; i++)
		if (aliases_walk(a, in->v[i], 0, &w, err, errlen) != 0)
			return -1;
	return 0;
}
