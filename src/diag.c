/* diag.c: the only place that writes human-readable output to stderr and
 * the transcript file. The engine hands it redacted client lines; of the
 * server's lines it hides the SASL challenges itself. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"
#include "diag.h"

/* Lines held back by diag_hold (one process writes stderr; this is its
 * one piece of state). */
static struct {
	bool on;
	char *buf;
	size_t len;
} diag_held;

static void diag_vprint(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096], line[4200];
	int n;

	vsnprintf(buf, sizeof buf, fmt, ap);
	n = snprintf(line, sizeof line, "kurier: %s%s\n", prefix, buf);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = (int)sizeof line - 1;
	if (diag_held.on && diag_held.len < DIAG_HOLD_MAX) {
		diag_held.buf = xrealloc(diag_held.buf, diag_held.len + (size_t)n + 1);
		memcpy(diag_held.buf + diag_held.len, line, (size_t)n + 1);
		diag_held.len += (size_t)n;
		return;
	}
	fputs(line, stderr);
}

void diag_hold(void)
{
	diag_held.on = true;
}

void diag_release(bool print)
{
	if (print && diag_held.len > 0)
		fwrite(diag_held.buf, 1, diag_held.len, stderr);
	free(diag_held.buf);
	diag_held.buf = NULL;
	diag_held.len = 0;
	diag_held.on = false;
}

void diag_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vprint("", fmt, ap);
	va_end(ap);
}

void diag_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vprint("warning: ", fmt, ap);
	va_end(ap);
}

void diag_note(const struct diag *d, int level, const char *fmt, ...)
{
	va_list ap;

	if (d == NULL || d->verbose < level)
		return;
	va_start(ap, fmt);
	diag_vprint("", fmt, ap);
	va_end(ap);
}

bool diag_tracing(const struct diag *d)
{
	return d != NULL && (d->debug || d->transcript != NULL);
}

static void diag_stamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(tv.tv_usec / 1000));
}

static void diag_put(const struct diag *d, const char *line)
{
	if (d->debug)
		fprintf(stderr, "%s\n", line);
	if (d->transcript != NULL)
		fprintf(d->transcript, "%s\n", line);
}

/* Whether a server line starting with S[0..N) is a SASL challenge (RFC
 * 4954 334): its text is the mechanism's data. SCRAM's server-first and
 * server-final messages with the client's first allow an offline guess of
 * the password, so no challenge is shown. An incomplete start that could
 * still become "334" counts as one. */
static bool diag_sasl_line(const char *s, size_t n, bool complete)
{
	if (n < 3)
		return !complete && memcmp(s, "334", n) == 0;
	return memcmp(s, "334", 3) == 0 && (n == 3 || s[3] == ' ' || s[3] == '-');
}

void diag_trace(struct diag *d, char dir, const char *buf, size_t len)
{
	char stamp[32];
	size_t i = 0;

	if (!diag_tracing(d))
		return;
	diag_stamp(stamp, sizeof stamp);
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (buf + i)) : len - i;
		size_t show = n > 0 && buf[i + n - 1] == '\r' ? n - 1 : n;
		size_t keep = show;
		bool redact = false, cont = false;
		char line[1100];
		size_t k, o;

		if (dir == 'S') {
			cont = d->server_mid_line;
			redact = cont ? d->server_redacting : diag_sasl_line(buf + i, show, nl != NULL);
			d->server_mid_line = nl == NULL;
			d->server_redacting = redact && nl == NULL;
			if (redact)
				keep = cont || show < 3 ? 0 : show < 4 ? show : 4; /* "334 " stays */
		}
		/* Control characters from a hostile server are shown, not obeyed. */
		o = (size_t)snprintf(line, sizeof line, "%s %s ", stamp, dir == 'C' ? "-->" : "<--");
		for (k = 0; k < keep && o + 5 < sizeof line; k++) {
			unsigned char c = (unsigned char)buf[i + k];
			if (c < 0x20 || c == 0x7f)
				o += (size_t)snprintf(line + o, sizeof line - o, "\\x%02x", c);
			else
				line[o++] = (char)c;
		}
		line[o] = '\0';
		if (show > keep)
			snprintf(line + o, sizeof line - o, "<redacted: %zu %sbytes>", show - keep,
				 cont ? "more " : "");
		diag_put(d, line);
		i += n + (nl != NULL ? 1 : 0);
	}
}

void diag_trace_note(const struct diag *d, const char *fmt, ...)
{
	char stamp[32], body[1024], line[1100];
	va_list ap;

	if (!diag_tracing(d))
		return;
	diag_stamp(stamp, sizeof stamp);
	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	snprintf(line, sizeof line, "%s --- %s", stamp, body);
	diag_put(d, line);
}

const char *diag_printable(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}
