/* fuzz_smtp.c: a hostile server. The first byte picks how many messages
 * the session carries (1 to 3, smtp_begin_message); the server's bytes go
 * into the engine in pieces the second byte sizes; the engine is driven
 * as session.c drives it (the third byte picks STARTTLS, AUTH and the
 * envelope; bit 6 of the second lets the server answer while a write is
 * still under way, as replies are read during a long pipelined write).
 * The engine must end (done or abort) within a bounded number of steps,
 * never change the bytes being written, never ask for a message's body
 * after its refusal, never ask for more messages than there are, never
 * QUIT before the last message unless the session failed, never end
 * before the last message without a session failure; a success must come
 * with an answered end of data, and a message whose recipients all got a
 * 250 end of data stays a success whatever follows. The next message goes
 * out behind an end of data when the engine takes it
 * (smtp_body_done_next): every message is settled exactly once and in
 * order (a finishing one by smtp_take_finished(), which hands out nothing
 * else), a finishing message is settled before the session's end is
 * reported, and one settled as delivered is never touched again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "smtp.h"

static const char *rcpts[3003];

/* Does the group BUF[0..LEN) carry a QUIT command line? */
static bool has_quit(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 6 <= len; i++)
		if ((i == 0 || buf[i - 1] == '\n') && memcmp(buf + i, "QUIT\r\n", 6) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_params p = { "client.example", false, false, false };
	struct smtp_envelope e[3];
	struct smtp *s;
	size_t off = 3, step, steps = 0, i, nmsg, begun = 0, bodies[3] = { 0, 0, 0 };
	size_t settled = 0;      /* messages settled, in order */
	size_t fin = 3;          /* the finishing message; 3: none */
	bool running = true, eof = false, early, delivered = false;
	const struct smtp_result *taken = NULL;
	bool taken_ok = false;

	if (size < 3)
		return 0;
	nmsg = (size_t)data[0] % 3 + 1;
	data++;
	size--;
	off--;
	step = (size_t)data[0] % 64 + 1;
	early = data[0] & 64;
	p.starttls = data[1] & 1;
	p.auth = data[1] & 2;
	memset(&e[0], 0, sizeof e[0]);
	e[0].from = data[1] & 4 ? "" : "alice@example.org";
	e[0].rcpt = rcpts;
	e[0].nrcpt = (size_t)(data[1] >> 3) % 4;
	if (data[0] & 128)
		e[0].nrcpt += 3000; /* a group longer than SMTP_GROUP_MAX */
	e[0].size = 1000;
	e[0].eightbit = data[1] & 32;
	e[0].dsn_notify = data[1] & 64 ? "FAILURE" : NULL;
	e[0].dsn_required = data[1] & 128;
	/* the middle message differs: 8-bit the other way, and bigger */
	e[1] = e[0];
	e[1].eightbit = !e[0].eightbit;
	e[1].size = 200000;
	e[2] = e[0];
	for (i = 0; i < sizeof rcpts / sizeof rcpts[0]; i++)
		rcpts[i] = i % 3 == 0 ? "bob@example.org" : i % 3 == 1 ? "carol@example.org" : "dave@example.org";
	s = smtp_new(&p);
	while (running && steps++ < 100000) {
		const char *buf;
		size_t len;
		const struct smtp_result *r;

		/* the finishing message, settled as the driver settles it */
		r = smtp_take_finished(s);
		if (r != NULL) {
			FUZZ_ASSERT(fin < 3 && settled == fin);
			if (r->outcome == OUTCOME_OK)
				FUZZ_ASSERT(bodies[fin] > 0 && r->final_reply != NULL && r->transactions > 0);
			if (e[fin].nrcpt > 0 && r->delivered == e[fin].nrcpt)
				FUZZ_ASSERT(r->outcome == OUTCOME_OK);
			settled++;
			fin = 3;
			taken = r;
			taken_ok = r->outcome == OUTCOME_OK;
			FUZZ_ASSERT(smtp_take_finished(s) == NULL);
		}
		/* what was handed out stays as it was */
		if (taken != NULL)
			FUZZ_ASSERT((taken->outcome == OUTCOME_OK) == taken_ok);
		switch (smtp_next(s)) {
		case SMTP_WRITE: {
			char *copy;
			const char *log;
			size_t loglen;

			smtp_output(s, &buf, &len);
			smtp_output_log(s, &log, &loglen);
			/* QUIT goes with the last message, or after a failure
			 * of the session */
			if (has_quit(buf, len) && begun < nmsg)
				FUZZ_ASSERT(smtp_session_result(s)->outcome != OUTCOME_OK);
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
			FUZZ_ASSERT(begun < nmsg);
			/* the message before is settled here, after any finishing one */
			FUZZ_ASSERT(fin == 3 && settled + 1 == begun + (begun == 0));
			if (begun > 0 && smtp_result(s)->outcome == OUTCOME_OK)
				FUZZ_ASSERT(bodies[begun - 1] > 0 && smtp_result(s)->final_reply != NULL);
			if (begun > 0)
				settled++;
			smtp_begin_message(s, &e[begun], begun + 1 == nmsg);
			begun++;
			delivered = false;
			FUZZ_ASSERT(smtp_result(s)->transactions == 0);
			break;
		case SMTP_START_TLS:
			smtp_tls_started(s);
			break;
		case SMTP_SEND_BODY:
			FUZZ_ASSERT(smtp_result(s)->outcome == OUTCOME_OK);
			bodies[begun - 1]++;
			if (smtp_body_done_next(s, begun < nmsg ? &e[begun] : NULL, begun + 1 == nmsg)) {
				/* one finishing message at a time */
				FUZZ_ASSERT(fin == 3 && begun < nmsg && smtp_pipelining(s));
				fin = begun - 1;
				begun++;
				delivered = false;
				FUZZ_ASSERT(smtp_result(s)->transactions == 0);
				FUZZ_ASSERT(smtp_result(s)->outcome == OUTCOME_OK);
			}
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
		/* RFC 5321 4.1.1.10: every recipient of the message got it */
		if (begun > 0 && e[begun - 1].nrcpt > 0 && smtp_result(s)->delivered == e[begun - 1].nrcpt)
			delivered = true;
		if (delivered)
			FUZZ_ASSERT(smtp_result(s)->outcome == OUTCOME_OK);
	}
	FUZZ_ASSERT(!running);
	/* a finishing message is settled once the session is over */
	if (fin < 3) {
		const struct smtp_result *r = smtp_take_finished(s);
		FUZZ_ASSERT(r != NULL && settled == fin);
		if (r->outcome == OUTCOME_OK)
			FUZZ_ASSERT(r->final_reply != NULL && r->transactions > 0);
		settled++;
	}
	FUZZ_ASSERT(smtp_take_finished(s) == NULL);
	if (begun > 0)
		FUZZ_ASSERT(settled + 1 == begun);
	if (begun > 0 && smtp_result(s)->outcome == OUTCOME_OK && !p.serverinfo)
		FUZZ_ASSERT(bodies[begun - 1] > 0 && smtp_result(s)->final_reply != NULL);
	/* the session ended before its last message: it failed */
	if (begun < nmsg)
		FUZZ_ASSERT(smtp_session_result(s)->outcome != OUTCOME_OK);
	smtp_free(s);
	return 0;
}
