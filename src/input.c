/* input.c: the message from standard input into the reader and the spool:
 * read in blocks, the header block first when the account follows the
 * From header, and the input after a lone dot counted. The driver's side
 * of message.c; only here is standard input read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "diag.h"
#include "input.h"

static int discard_sink(void *ctx, const char *buf, size_t len, char *err, size_t errlen)
{
	(void)ctx, (void)buf, (void)len, (void)err, (void)errlen;
	return 0;
}

/* true when BUF[0..LEN) holds the empty line that ends a header block.
 * FROM is where the previous call stopped looking: a line end found there
 * may pair with the bytes that have arrived since, so only the last two
 * bytes before it are looked at again, never the whole buffer. */
static bool header_block_ends(const char *buf, size_t len, size_t from)
{
	size_t i = from > 2 ? from - 2 : 0;

	if ((len >= 1 && buf[0] == '\n') || (len >= 2 && buf[0] == '\r' && buf[1] == '\n'))
		return true;
	for (; i + 1 < len; i++)
		if (buf[i] == '\n' && (buf[i + 1] == '\n' || (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')))
			return true;
	return false;
}

/* --read-envelope-from without -f: the account follows the From header,
 * and that account's header rules apply to this very message, so the
 * header block is read first. HEAD keeps those bytes (at most the header
 * block limit and one read more) to be fed to the real reader; FROM is the
 * From (or Resent-From) address, or NULL. */
enum outcome input_peek_header(const struct request *req, char **head, size_t *headlen, char **from)
{
	struct msg_opts mo = { .ignore_dots = req->ignore_dots, .set_from = MSG_FROM_OFF };
	struct msg_reader *probe;
	char err[KURIER_ERRLEN];
	size_t cap = 65536, len = 0, seen = 0;
	char *buf = xmalloc(cap);

	*from = NULL;
	while (!header_block_ends(buf, len, seen) && len <= MSG_HEADER_BLOCK_MAX) {
		ssize_t n;

		seen = len;
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(0, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_error("cannot read the message from standard input: %s; nothing was sent",
				   strerror(errno));
			free(buf);
			return OUTCOME_IOERR;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* A header the probe refuses is refused again, with its message, by
	 * the real reader; here it only means no From to go by. */
	probe = msg_reader_new(&mo, discard_sink, NULL);
	if (msg_reader_feed(probe, buf, len, err, sizeof err) != MSG_ERROR &&
	    msg_reader_finish(probe, err, sizeof err) != MSG_ERROR && msg_reader_from(probe) != NULL)
		*from = xstrdup(msg_reader_from(probe));
	msg_reader_free(probe);
	*head = buf;
	*headlen = len;
	return OUTCOME_OK;
}

/* Read the message (HEAD, HEADLEN bytes already read, then standard input)
 * into SPOOL through the reader. */
enum outcome input_read_message(struct msg_reader *rd, struct spool *sp, const char *head, size_t headlen)
{
	char err[KURIER_ERRLEN];
	char *buf = xmalloc(65536);
	enum outcome o = OUTCOME_OK;
	enum msg_status st = MSG_OK;

	if (headlen > 0)
		st = msg_reader_feed(rd, head, headlen, err, sizeof err);
	/* After the lone dot, read on to count what is not sent; but a
	 * terminal user who typed the dot wants the message to go now. */
	while (st == MSG_OK || (st == MSG_END && !isatty(0))) {
		ssize_t n = read(0, buf, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_error("cannot read the message from standard input: %s; nothing was sent",
				   strerror(errno));
			o = OUTCOME_IOERR;
			goto out;
		}
		if (n == 0)
			break;
		st = msg_reader_feed(rd, buf, (size_t)n, err, sizeof err);
	}
	if (st == MSG_OK)
		st = msg_reader_finish(rd, err, sizeof err);
	if (st == MSG_ERROR) {
		diag_error("message: %s; nothing was sent", err);
		/* a spool failure is the system's fault, a bad header the input's */
		o = strncmp(err, "cannot ", 7) == 0 ? OUTCOME_OSERR : OUTCOME_DATAERR;
		goto out;
	}
	{
		unsigned line;
		uint64_t after = msg_reader_after_dot(rd, &line);
		if (after > 0)
			diag_warn("input line %u is a lone '.', which ends the message without -i; the %llu bytes "
				  "after it were not sent; give -i (or -oi) to send them", line,
				  (unsigned long long)after);
	}
	if (spool_seal(sp, err, sizeof err) != 0) {
		diag_error("%s", err);
		o = OUTCOME_OSERR;
	}
out:
	free(buf);
	return o;
}

