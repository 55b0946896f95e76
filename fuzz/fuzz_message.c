/* fuzz_message.c: a message on standard input into the reader, then
 * dot-stuffing, in pieces whose sizes the second byte chooses; the first
 * byte chooses the options. What goes to the server must be canonical
 * CRLF text that no input can end early: no bare CR or LF, and no line
 * that is a lone dot once stuffed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "message.h"

struct out {
	char *p;
	size_t len, cap;
};

static int sink(void *ctx, const char *buf, size_t len, char *err, size_t errlen)
{
	struct out *o = ctx;
	(void)err;
	(void)errlen;
	if (o->len + len > o->cap) {
		o->cap = (o->len + len) * 2 + 64;
		o->p = realloc(o->p, o->cap);
		if (o->p == NULL)
			abort();
	}
	memcpy(o->p + o->len, buf, len);
	o->len += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_opts opts;
	struct out o = { 0 };
	struct msg_reader *r;
	struct msg_stuffer st = { false };
	char err[256], *stuffed;
	size_t off = 2, step, i, n;
	enum msg_status s = MSG_OK;

	if (size < 2)
		return 0;
	memset(&opts, 0, sizeof opts);
	opts.ignore_dots = data[0] & 1;
	opts.collect_rcpts = data[0] & 2;
	opts.remove_bcc = data[0] & 4;
	opts.set_from = (enum msg_set_from)((data[0] >> 3) % 3);
	opts.from_value = data[0] & 32 ? "A <a@x.example>" : NULL;
	opts.date = data[0] & 64 ? "Tue, 01 Dec 2026 10:00:00 +0000" : NULL;
	opts.msgid_left = data[0] & 64 ? "id" : NULL;
	opts.undisclosed = data[0] & 128;
	opts.to_value = data[1] & 128 ? "undisclosed-recipients:;" : NULL;
	step = (size_t)(data[1] & 127) + 1;
	r = msg_reader_new(&opts, sink, &o);
	while (off < size && s == MSG_OK) {
		size_t len = size - off < step ? size - off : step;
		s = msg_reader_feed(r, (const char *)data + off, len, err, sizeof err);
		off += len;
	}
	if (s == MSG_OK)
		s = msg_reader_finish(r, err, sizeof err);
	if (s != MSG_ERROR) {
		for (i = 0; i < o.len; i++) {
			if (o.p[i] == '\r')
				FUZZ_ASSERT(i + 1 < o.len && o.p[i + 1] == '\n');
			if (o.p[i] == '\n')
				FUZZ_ASSERT(i > 0 && o.p[i - 1] == '\r');
		}
		FUZZ_ASSERT(o.len == 0 || (o.len >= 2 && o.p[o.len - 1] == '\n'));
		stuffed = malloc(2 * o.len + 1);
		if (stuffed == NULL)
			abort();
		n = msg_stuff(&st, o.p, o.len, stuffed);
		FUZZ_ASSERT(!(n >= 3 && memcmp(stuffed, ".\r\n", 3) == 0));
		for (i = 0; i + 5 <= n; i++)
			FUZZ_ASSERT(memcmp(stuffed + i, "\r\n.\r\n", 5) != 0);
		free(stuffed);
		(void)msg_reader_rcpts(r);
		(void)msg_reader_from(r);
	}
	msg_reader_free(r);
	free(o.p);
	return 0;
}
