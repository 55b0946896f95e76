/* fuzz_header.c: the From field body kurier builds from a full name
 * (msg_name_addr). The first byte is the room on the first line, the rest
 * the name. Any name is either refused (and then it is not UTF-8, holds a
 * control character or is too long, by a check written apart from the
 * encoder's) or gives printable ASCII folded with CRLF SP, encoded-words
 * of at most 75 characters, lines of at most 76, and the name again when
 * it is read back. */
#include <gsasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "message.h"

#define ADDR "<a@x.example>"

/* RFC 3629 4, the UTF8-octets rule as its byte ranges. */
static int utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xbf;
		size_t k, tail;

		if (c <= 0x7f) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			tail = 1;
		else if (c >= 0xe0 && c <= 0xef)
			tail = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			tail = 3;
		else
			return 0;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (i + tail >= n)
			return 0;
		for (k = 1; k <= tail; k++) {
			unsigned char t = s[i + k];
			if (t < (k == 1 ? lo : 0x80) || t > (k == 1 ? hi : 0xbf))
				return 0;
		}
		i += tail + 1;
	}
	return 1;
}

static int acceptable(const char *name, size_t n)
{
	size_t i;

	if (n > MSG_NAME_MAX || !utf8_ok((const unsigned char *)name, n))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

/* The phrase P (LEN) read back: encoded-words decoded, or folding removed
 * and a quoted-string unquoted. Returns a new string. */
static char *read_back(const char *p, size_t len)
{
	char *out = malloc(len + 1), *b;
	size_t o = 0, i = 0;

	if (out == NULL)
		abort();
	if (len >= 3 && memcmp(p, "\r\n ", 3) == 0) {
		p += 3;
		len -= 3;
	}
	if (len >= 10 && memcmp(p, "=?UTF-8?B?", 10) == 0) {
		while (i < len) {
			const char *w = p + i, *end;
			size_t wl, bl;

			end = memchr(w, '\r', len - i);
			wl = end != NULL ? (size_t)(end - w) : len - i;
			FUZZ_ASSERT(wl <= 75);
			FUZZ_ASSERT(wl >= 12 && memcmp(w, "=?UTF-8?B?", 10) == 0 && memcmp(w + wl - 2, "?=", 2) == 0);
			FUZZ_ASSERT(gsasl_base64_from(w + 10, wl - 12, &b, &bl) == GSASL_OK);
			/* RFC 2047 5: each word holds whole characters */
			FUZZ_ASSERT(bl > 0 && ((unsigned char)b[0] & 0xc0) != 0x80);
			FUZZ_ASSERT(utf8_ok((unsigned char *)b, bl));
			memcpy(out + o, b, bl);
			o += bl;
			free(b);
			i += wl;
			if (i < len) {
				FUZZ_ASSERT(len - i > 3 && memcmp(p + i, "\r\n ", 3) == 0);
				i += 3;
			}
		}
		out[o] = '\0';
		return out;
	}
	for (i = 0; i < len; i++)
		if (p[i] != '\r' && p[i] != '\n')
			out[o++] = p[i];
	out[o] = '\0';
	if (o >= 2 && out[0] == '"') {
		size_t r = 0;
		FUZZ_ASSERT(out[o - 1] == '"');
		for (i = 1; i + 1 < o; i++) {
			if (out[i] == '\\')
				i++;
			else
				FUZZ_ASSERT(out[i] != '"');
			out[r++] = out[i];
		}
		out[r] = '\0';
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *name, *got, *back;
	size_t room, n, i, len, line = 0, first = 1;

	if (size < 1)
		return 0;
	/* The Date and Message-ID bodies from whatever clock and bytes: never
	 * past their tables or buffers, always printable ASCII. */
	if (size >= 1 + sizeof(struct msg_time)) {
		struct msg_time t;
		char date[64], msgid[40];

		memcpy(&t, data + 1, sizeof t);
		msg_format_date(&t, date, sizeof date);
		msg_format_msgid_left(data + 1, size - 1, t.now, msgid, sizeof msgid);
		for (i = 0; date[i] != '\0'; i++)
			FUZZ_ASSERT(date[i] >= 0x20 && date[i] < 0x7f);
		for (i = 0; msgid[i] != '\0'; i++)
			FUZZ_ASSERT((msgid[i] >= '0' && msgid[i] <= '9') || (msgid[i] >= 'a' && msgid[i] <= 'f') ||
				    msgid[i] == '.' || msgid[i] == '-');
	}
	room = data[0] % 80;
	name = malloc(size);
	if (name == NULL)
		abort();
	memcpy(name, data + 1, size - 1);
	name[size - 1] = '\0';
	n = strlen(name);
	got = msg_name_addr(name, "a@x.example", room, err, sizeof err);
	FUZZ_ASSERT((got != NULL) == acceptable(name, n));
	if (got == NULL) {
		free(name);
		return 0;
	}
	len = strlen(got);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)got[i];
		if (c == '\r') {
			FUZZ_ASSERT(i + 2 < len && got[i + 1] == '\n' && got[i + 2] == ' ');
			FUZZ_ASSERT(line <= (first ? room : 76));
			first = 0;
			line = 0;
			i++;
			continue;
		}
		FUZZ_ASSERT(c >= 0x20 && c < 0x7f);
		line++;
	}
	FUZZ_ASSERT(line <= (first ? room : 76) || n == 0);
	if (n == 0) {
		FUZZ_ASSERT(strcmp(got, "a@x.example") == 0);
	} else {
		size_t tail = strlen(ADDR) + 1;
		FUZZ_ASSERT(len > tail && strcmp(got + len - strlen(ADDR), ADDR) == 0 && got[len - tail] == ' ');
		if (len > tail + 1 && got[len - tail - 1] == '\n')
			tail += 2;
		back = read_back(got, len - tail);
		FUZZ_ASSERT(strcmp(back, name) == 0);
		free(back);
	}
	free(got);
	free(name);
	return 0;
}
