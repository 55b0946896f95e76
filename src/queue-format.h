/* queue-format.h: the pure part of the queue (queue.h): the envelope
 * file's format, version 1, its formatter and strict parser, queue ids and
 * the retry schedule. No I/O and no clock: every time is a parameter
 * (seconds since the epoch). The format is described in doc/queue-format.md. */
#ifndef KURIER_QUEUE_FORMAT_H
#define KURIER_QUEUE_FORMAT_H

#include "common.h"
#include "smtp.h"

#define QUEUE_FORMAT_VERSION 1
#define QUEUE_LINE_MAX 4096          /* longest envelope line, without its LF */
#define QUEUE_ENV_MAX (16 * 1024 * 1024) /* largest envelope file */
#define QUEUE_RCPT_MAX 100000        /* most recipients in one entry */
#define QUEUE_ID_MAX 48              /* longest id, without its NUL */

/* Retry schedule (queue_next_attempt): the first retry QUEUE_RETRY_FIRST
 * seconds after a failed attempt, each further one twice as long after
 * the last, never more than QUEUE_RETRY_MAX: 5, 10, 20, 40, 80, 160
 * minutes, then every 4 hours. QUEUE_LIFETIME_DEFAULT is queue_lifetime's
 * default (5 days, as Postfix's maximal_queue_lifetime). */
#define QUEUE_RETRY_FIRST (5 * 60)
#define QUEUE_RETRY_MAX (4 * 60 * 60)
#define QUEUE_LIFETIME_DEFAULT (5 * 24 * 60 * 60)

/* One recipient: its forward-path without <> and its RFC 3461 4.1 NOTIFY
 * value, or NULL for none. */
struct queue_rcpt {
	const char *addr;
	const char *notify;
};

/* The envelope file of one entry. Strings are never NULL unless said so;
 * from is "" for the null sender. A parsed envelope owns its strings (one
 * block, freed by queue_env_free); one handed to queue_env_format is only
 * read. */
struct queue_env {
	const char *id;                /* the entry's id (queue_id_valid) */
	const char *account;           /* the account to send it with */
	const char *from;              /* reverse-path without <>; "" is the null sender */
	struct queue_rcpt *rcpt;       /* at least one, at most QUEUE_RCPT_MAX */
	size_t nrcpt;
	uint64_t size;                 /* octets in the .msg file */
	enum smtp_body body;           /* BODY= as the submission asked (smtp.h) */
	bool eightbit;                 /* the message has octets >= 0x80 */
	bool smtputf8;                 /* the envelope or headers need SMTPUTF8 */
	const char *dsn_ret;           /* RET= (FULL or HDRS), or NULL */
	const char *dsn_envid;         /* ENVID= (raw, not xtext), or NULL */
	bool dsn_required;             /* refuse rather than drop DSN */
	int64_t queued;                /* first queued, seconds since the epoch */
	unsigned attempts;             /* delivery attempts made so far */
	int64_t next_attempt;          /* not to be tried before this time */
	const char *last_error;        /* what the last attempt said, or NULL */
	const char *failed;            /* why it failed for good (failed/ only), or NULL */
	char *block_;                  /* parser's storage: the strings above */
};

/* The envelope as file text: a malloc'd *OUT of *OUTLEN bytes (also
 * NUL-terminated), which queue_env_parse turns back into an equal
 * envelope (queue_env_equal). Returns 0, or -1 with *OUT NULL and ERR when
 * ENV cannot be written: no recipient or more than QUEUE_RCPT_MAX, an
 * invalid id, a NUL-free string whose escaped line would pass
 * QUEUE_LINE_MAX, or a time below zero. */
int queue_env_format(const struct queue_env *env, char **out, size_t *outlen, char *err,
		     size_t errlen);

/* Parse LEN bytes of an envelope file into *ENV (free it with
 * queue_env_free). Strict: the first line must be "kurier-queue 1" (any
 * other version is refused, naming it), every line ends with LF, no line
 * is longer than QUEUE_LINE_MAX, no CR, NUL or other control octet
 * appears raw, each key but rcpt at most once, an unknown key is refused
 * (a newer kurier bumps the version instead), the required keys are there
 * and the last line is "end". Returns 0, or -1 with *ENV zeroed and ERR
 * ("line N: what is wrong"). */
int queue_env_parse(const char *buf, size_t len, struct queue_env *env, char *err,
		    size_t errlen);

void queue_env_free(struct queue_env *env);

/* Whether A and B say the same (every field but block_). */
bool queue_env_equal(const struct queue_env *a, const struct queue_env *b);

/* Whether ID is one that queue_id_make makes: decimal time, '.', decimal
 * pid, '.', 16 lower-case hex digits; safe as a file name. */
bool queue_id_valid(const char *id);

/* A new id into BUF (at least QUEUE_ID_MAX + 1 bytes) from the time NOW,
 * the process id PID and RANDOM (64 random bits): unique without any
 * coordination between processes, as maildir names are. */
void queue_id_make(char *buf, size_t len, int64_t now, long pid, uint64_t random);

/* When an entry first queued at QUEUED and tried ATTEMPTS times, the last
 * time failing at NOW, is to be tried next: QUEUED itself when it was
 * never tried, else NOW plus the schedule's delay for that attempt. */
int64_t queue_next_attempt(int64_t queued, unsigned attempts, int64_t now);

/* Whether an entry first queued at QUEUED has outlived LIFETIME seconds
 * at NOW, and so fails for good. */
bool queue_expired(int64_t queued, int64_t now, int64_t lifetime);

#endif
