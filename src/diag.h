/* diag.h: everything kurier says: "kurier: " messages on stderr, verbose
 * notes, and the protocol transcript (--debug, -X) with secrets redacted
 * by whoever builds the lines. */
#ifndef KURIER_DIAG_H
#define KURIER_DIAG_H

#include <stdio.h>

#include "common.h"

struct diag {
	int verbose;          /* -v count */
	bool debug;           /* transcript on stderr */
	FILE *transcript;     /* -X file, or NULL */
	/* Where the server's last chunk ended: inside a line, and whether that
	 * line is being redacted (diag_trace's own state; start zeroed). */
	bool server_mid_line;
	bool server_redacting;
};

void diag_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Hold the lines diag_error, diag_warn and diag_note write from now on
 * (up to DIAG_HOLD_MAX bytes; more go out at once), until diag_release
 * prints them (PRINT) or drops them: a message that queue fallback then
 * queues reports one line, not the attempt's errors. */
#define DIAG_HOLD_MAX (256 * 1024)
void diag_hold(void);
void diag_release(bool print);
void diag_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void diag_note(const struct diag *d, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Transcript of LEN bytes in direction DIR ('C' client, 'S' server): one
 * timestamped line per protocol line. Client text comes redacted by the
 * caller; of the server's, each 334 line (a SASL challenge, RFC 4954) is
 * shown as "334 <redacted: N bytes>", also when it arrives in pieces:
 * SCRAM's server messages would allow an offline password guess. */
void diag_trace(struct diag *d, char dir, const char *buf, size_t len);
/* A free-form transcript line (e.g. "[message body: 1234 bytes]"). */
void diag_trace_note(const struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool diag_tracing(const struct diag *d);

/* S made printable for a message: control octets become \\xNN, and at
 * most LEN - 1 bytes of BUF are used. Returns BUF. */
const char *diag_printable(const char *s, char *buf, size_t len);

#endif
