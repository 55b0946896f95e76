/* fuzz_smtp.c: a hostile server. Its bytes go into the engine in pieces
 * the first byte sizes; the engine is driven as session.c drives it (the
 * second byte picks STARTTLS, AUTH and the envelope; bit 6 of the first
 * lets the server answer while a write is still under way, as replies are
 * read during a long pipelined write). The engine must end (done or abort)
 * within a bounded number of steps, never change the bytes being written,
 * never ask for the body after a refusal, and a success must come with an
 * answered end of data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "smtp.h"

static const char *rcpts[3003];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_params p = { "client.example", false, false, false };
	struct smtp_envelope e;
	struct smtp *s;
	size_t off = 2, step, steps = 0, i;
	bool body_sent = false, running = true, eof = false, early;

	if (size < 2)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	early = data[0] & 64;
	p.starttls = data[1] & 1;
	p.auth = data[1] & 2;
	memset(&e, 0, sizeof e);
	e.from = data[1] & 4 ? "" : "alice@example.org";
	e.rcpt = rcpts;
	e.nrcpt = (size_t)(data[1] >> 3) % 4;
	if (data[0] & 128)
		e.nrcpt += 3000; /* a group longer than SMTP_GROUP_MAX */
	e.size = 1000;
	e.eightbit = data[1] & 32;
	e.dsn_notify = data[1] & 64 ? "FAILURE" : NULL;
	e.dsn_required = data[1] & 128;
	for (i = 0; i < sizeof rcpts / sizeof rcpts[0]; i++)
		rcpts[i] = i % 3 == 0 ? "bob@example.org" : i % 3 == 1 ? "carol@example.org" : "dave@example.org";
	s = smtp_new(&p);
	while (running && steps++ < 100000) {
		const char *buf;
		size_t len;

		switch (smtp_next(s)) {
		case SMTP_WRITE: {
			char *copy;
			const char *log;
			size_t loglen;

			smtp_output(s, &buf, &len);
			smtp_output_log(s, &log, &loglen);
			copy = malloc(len + 1);
			FUZZ_ASSERT(copy != NULL);
			memcpy(copy, buf, len);
			if (early && off < size) {
				/* replies arrive while the bytes are being written */
				size_t n = size - off < step ? size - off : step;
				smtp_feed(s, (const char *)data + off, n);
				off += n;
			}
			FUZZ_ASSERT(memcmp(buf, copy, len) == 0);
			free(copy);
			/* the driver stops writing when the engine aborts */
			if (smtp_next(s) != SMTP_ABORT)
				smtp_output_sent(s);
			break;
		}
		case SMTP_READ:
			if (off < size) {
				len = size - off < step ? size - off : step;
				smtp_feed(s, (const char *)data + off, len);
				off += len;
			} else if (!eof) {
				smtp_eof(s);
				eof = true;
			} else {
				FUZZ_ASSERT(!"READ after EOF was reported");
			}
			break;
		case SMTP_NEED_ENVELOPE:
			smtp_begin(s, &e);
			break;
		case SMTP_START_TLS:
			smtp_tls_started(s);
			break;
		case SMTP_SEND_BODY:
			FUZZ_ASSERT(!body_sent);
			FUZZ_ASSERT(smtp_result(s)->outcome == OUTCOME_OK);
			body_sent = true;
			smtp_body_done(s);
			break;
		case SMTP_AUTH_BEGIN:
			smtp_auth_begin(s, "PLAIN", "AGFsaWNlAHNlY3JldA==", true);
			break;
		case SMTP_AUTH_STEP:
			smtp_auth_respond(s, "", true);
			break;
		case SMTP_DONE:
		case SMTP_ABORT:
			running = false;
			break;
		}
	}
	FUZZ_ASSERT(!running);
	if (smtp_result(s)->outcome == OUTCOME_OK)
		FUZZ_ASSERT(body_sent && smtp_result(s)->final_reply != NULL);
	smtp_free(s);
	return 0;
}
