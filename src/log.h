/* log.h: the record of a submission (logfile and syslog, one line each),
 * and the files kurier writes for the user (logfile, -X transcript). */
#ifndef KURIER_LOG_H
#define KURIER_LOG_H

#include <stdint.h>

#include "common.h"
#include "config.h"
#include "outcome.h"
#include "session.h"
#include "smtp.h"

/* One submission as the log tells it; all pointers borrowed. */
struct log_entry {
	const struct cfg_account *account;   /* logfile, logfile_time_format, syslog, name */
	const struct session_conf *session;  /* host and proxy as connected */
	const struct smtp_envelope *env;     /* sender and recipients */
	const struct session_facts *facts;   /* TLS, AUTH and the deciding reply */
	enum outcome outcome;
	uint64_t size;                       /* message size in octets */
	uint64_t after_dot;                  /* octets of input ignored after a lone dot */
	const char *note;                    /* appended as it is (" queue-id=ID"), or NULL */
};

/* The line without a time stamp, into LINE (at most LEN - 1 bytes):
 * account, host, proxy, TLS, AUTH, envelope, size, the deciding reply,
 * the exit code's name, and the input ignored after a lone dot when there
 * was any. The recipients are cut with "..." after about 500 bytes. Never
 * a secret. Pure. */
void log_format(const struct log_entry *e, char *line, size_t len);

/* Write the line to the account's logfile ("-": standard output), with
 * logfile_time_format's (or "%b %d %H:%M:%S") time stamp, and to syslog
 * when syslog is on. A log that cannot be written is a warning on stderr,
 * never a failed submission. Nothing happens when neither is set. */
void log_submission(const struct log_entry *e);

/* A line about A's queue that is not an attempt (an entry given up
 * without one): to A's logfile and syslog, as log_submission writes. OK
 * says whether it is good news (syslog priority). */
void log_event(const struct cfg_account *a, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* One warning to syslog (facility mail, ident kurier), for what an
 * administrator should hear of even when no account logs. */
void log_syslog_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open a file kurier writes for the user (logfile, -X transcript): never
 * through a symbolic link, created 0600. APPEND keeps what is there (a
 * log); otherwise the file is emptied, and only when it is a regular file
 * of this user's (a transcript never overwrites anything else). Returns
 * the descriptor, or -1 with ERR ("PATH: what is wrong"). */
int log_open_private(const char *path, bool append, char *err, size_t errlen);

#endif
