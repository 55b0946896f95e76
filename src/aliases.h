/* aliases.h: /etc/aliases-style files for local recipients: "name: a, b"
 * lines, continuation lines that start with white space, # comments, a
 * "default" entry for names without one. Parsing and expansion are pure. */
#ifndef KURIER_ALIASES_H
#define KURIER_ALIASES_H

#include "common.h"
#include "address.h"

struct aliases;

/* Parse LEN bytes of BUF; PATH is for messages. NULL with ERR
 * ("PATH:LINE: ...") on a malformed line. */
struct aliases *aliases_parse(const char *path, const char *buf, size_t len, char *err, size_t errlen);
/* Read and parse PATH: a regular file of at most 1 MiB (a FIFO is refused,
 * never waited on). */
struct aliases *aliases_load(const char *path, char *err, size_t errlen);
void aliases_free(struct aliases *a);

/* Expand every recipient of IN without '@' through A, recursively (a name
 * that leads back to itself is an error, as are more than 64 levels,
 * 10000 results or 100000 names looked at: the work is bounded, not only
 * the results), into OUT. Names that are not aliases and have no
 * "default" pass through as they are. Returns 0 or -1 with ERR. */
int aliases_expand(const struct aliases *a, const struct addr_list *in, struct addr_list *out,
		   char *err, size_t errlen);

#endif
