/* fuzz_smtpd.c: a hostile -bs client. Its bytes go into the server engine
 * in pieces the first byte sizes; the second picks the SIZE limit, the
 * recipient limit and the verdicts. The engine must end within a bounded
 * number of steps after the input ends; every reply line is a 3-digit
 * reply ending in CRLF within 512 octets; the message data is what a
 * separate reading of the dot-stuffing rule makes of a stretch of the
 * input (so no stuffed dot survives and nothing is made up), and its
 * total is bounded by the input;
 * no envelope address holds CR or LF or fails addr_check; with one_notify
 * (a bit of the second byte) every recipient asks for the first one's NOTIFY. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "fuzz.h"
#include "smtpd.h"

/* Each reply line: "DDD" then ' ' or '-', CRLF at its end and nowhere
 * else, at most 512 octets; the lines of one reply share its code. */
static void check_replies(const char *b, size_t n)
{
	const char *l = b;
	char code[3] = { 0 };
	bool more = false;

	while (l < b + n) {
		const char *e = memchr(l, '\n', (size_t)(b + n - l));
		size_t len;
		FUZZ_ASSERT(e != NULL);
		len = (size_t)(e - l) + 1;
		FUZZ_ASSERT(len >= 6 && len <= 512 && e[-1] == '\r');
		FUZZ_ASSERT(memchr(l, '\r', len - 2) == NULL && memchr(l, '\0', len) == NULL);
		FUZZ_ASSERT(l[0] >= '2' && l[0] <= '5' && l[1] >= '0' && l[1] <= '5' && l[2] >= '0' &&
			    l[2] <= '9');
		FUZZ_ASSERT(l[3] == ' ' || l[3] == '-');
		if (more)
			FUZZ_ASSERT(memcmp(code, l, 3) == 0);
		memcpy(code, l, 3);
		more = l[3] == '-';
		l = e + 1;
	}
	FUZZ_ASSERT(!more);
}

static void check_address(const char *a, bool allow_empty)
{
	FUZZ_ASSERT(a != NULL);
	FUZZ_ASSERT(strchr(a, '\r') == NULL && strchr(a, '\n') == NULL);
	FUZZ_ASSERT(addr_check(a, allow_empty, NULL, 0) == 0);
}

/* An independent reading of RFC 5321 4.5.2 over the input from START:
 * lines end in CRLF; a line ".\r\n" ends the data; any other line that
 * starts with '.' loses it. true when that gives exactly MSG. */
static bool unstuffs_to(const uint8_t *in, size_t inlen, size_t start, const char *msg, size_t len)
{
	size_t i = start, j = 0;

	for (;;) {
		/* at the start of a line */
		if (i + 3 <= inlen && memcmp(in + i, ".\r\n", 3) == 0)
			return j == len;
		if (i < inlen && in[i] == '.')
			i++;
		for (;;) {
			if (i >= inlen || j >= len || msg[j] != (char)in[i])
				return false;
			i++;
			j++;
			if (in[i - 1] == '\n' && i - 1 > start && in[i - 2] == '\r')
				break;
		}
	}
}

/* The message must be what some stretch of the input, after a line end,
 * unstuffs to: nothing made up, nothing lost, the dots right. */
static void check_message(const char *msg, size_t len, const uint8_t *in, size_t inlen)
{
	size_t start;

	/* data ends at a line start: the message is empty or ends in CRLF */
	FUZZ_ASSERT(len == 0 || (len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n'));
	for (start = 1; start <= inlen; start++)
		if (in[start - 1] == '\n' && unstuffs_to(in, inlen, start, msg, len))
			return;
	FUZZ_ASSERT(!"the message is not the unstuffed input");
}

/* A NOTIFY value as a set of its words (NULL: none). */
static unsigned notify_words(const char *v)
{
	unsigned set = 0;

	if (v == NULL)
		return 0;
	set |= strstr(v, "NEVER") != NULL ? 1u : 0u;
	set |= strstr(v, "SUCCESS") != NULL ? 2u : 0u;
	set |= strstr(v, "FAILURE") != NULL ? 4u : 0u;
	set |= strstr(v, "DELAY") != NULL ? 8u : 0u;
	return set;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int codes[] = { 250, 451, 554, 421, 399, 199, 700, 552 };
	struct smtpd_params p = { "mx.test", 0, 0, 0, false };
	struct smtpd *s;
	const uint8_t *in;
	size_t inlen, off = 0, step, steps = 0, msglen = 0, msgcap = 0, total = 0;
	char *msg = NULL;
	unsigned verdicts = 0;
	bool running = true, eof = false;

	if (size < 2)
		return 0;
	step = (size_t)data[0] % 64 + 1;
	if (data[0] & 64)
		step = SMTPD_READ_MAX;
	p.size_max = data[1] & 1 ? 0 : data[1] & 2 ? 50 : 100000;
	p.rcpts_max = data[1] & 4 ? 1 : 0;
	p.one_notify = (data[1] & 8) != 0;
	in = data + 2;
	inlen = size - 2;
	s = smtpd_new(&p);
	while (running) {
		const char *b;
		size_t n;

		FUZZ_ASSERT(steps++ < 20 * size + 1000);
		switch (smtpd_next(s)) {
		case SMTPD_WRITE:
			smtpd_output(s, &b, &n);
			FUZZ_ASSERT(n > 0);
			check_replies(b, n);
			smtpd_output_sent(s);
			break;
		case SMTPD_READ:
			FUZZ_ASSERT(!eof);
			if (off < inlen) {
				n = inlen - off < step ? inlen - off : step;
				FUZZ_ASSERT(smtpd_feed(s, (const char *)in + off, n) == n);
				off += n;
			} else {
				smtpd_eof(s);
				eof = true;
			}
			break;
		case SMTPD_MESSAGE_DATA:
			smtpd_message_data(s, &b, &n);
			FUZZ_ASSERT(n > 0 && n <= SMTPD_DATA_CHUNK);
			total += n;
			FUZZ_ASSERT(total <= off);
			if (msglen + n > msgcap) {
				msgcap = (msglen + n) * 2;
				msg = realloc(msg, msgcap);
				FUZZ_ASSERT(msg != NULL);
			}
			memcpy(msg + msglen, b, n);
			msglen += n;
			smtpd_message_taken(s);
			break;
		case SMTPD_MESSAGE_END: {
			const struct smtpd_envelope *e = smtpd_envelope(s);
			size_t i;
			check_address(e->from, true);
			FUZZ_ASSERT(e->nrcpt > 0);
			FUZZ_ASSERT(e->nrcpt <= (p.rcpts_max ? p.rcpts_max : SMTPD_RCPTS_MAX));
			for (i = 0; i < e->nrcpt; i++) {
				check_address(e->rcpt[i].addr, false);
				FUZZ_ASSERT(!p.one_notify ||
					    notify_words(e->rcpt[i].notify) == notify_words(e->rcpt[0].notify));
			}
			FUZZ_ASSERT(p.size_max == 0 || msglen <= p.size_max);
			check_message(msg != NULL ? msg : "", msglen, in, inlen);
			msglen = 0;
			smtpd_verdict(s, codes[((data[1] >> 3) + verdicts++) & 7], "5.1.1", "upstream\nsays\r\x01no");
			break;
		}
		case SMTPD_MESSAGE_DROP:
			FUZZ_ASSERT(p.size_max > 0);
			msglen = 0;
			break;
		case SMTPD_DONE:
			running = false;
			break;
		}
	}
	/* an aborted message was cut off inside its data */
	if (smtpd_aborted(s))
		FUZZ_ASSERT(eof);
	free(msg);
	smtpd_free(s);
	return 0;
}
