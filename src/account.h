/* account.h: request + account + facts -> one submission: the sender, the
 * header fields to add, the envelope, where and how to connect. Pure: the
 * facts (host names, the time, random bytes, what the message reader
 * found) are handed in; nothing is read, printed or looked up here. Each
 * function that can fail returns an outcome and writes what is wrong, and
 * what to do, to ERR (the caller prints it after "kurier: "). */
#ifndef KURIER_ACCOUNT_H
#define KURIER_ACCOUNT_H

#include "common.h"
#include "address.h"
#include "aliases.h"
#include "cli.h"
#include "config.h"
#include "message.h"
#include "outcome.h"
#include "session.h"
#include "smtp.h"
#include "tls.h"

/* Header values the account adds (RFC 5322), and the buffers they live in. */
struct account_headers {
	struct msg_opts mo;       /* ready for msg_reader_new, but for ignore_dots and collect_rcpts */
	char *from_value;         /* owned; the From field body, or NULL */
	char date[64];
	char msgid[128];
	char msgid_domain[256];
};

/* Where and how to connect: the session configuration with the buffers
 * it points into. */
struct account_session {
	struct session_conf sc;
	struct tls_conf tls;
	char port[16];
	char ehlo[256];
	char *host;               /* owned: the host in A-labels */
	char *verify;             /* owned: tls_host_override in A-labels, or NULL */
	char warn[2][KURIER_ERRLEN]; /* weak TLS settings to warn about */
	int nwarn;
};

/* "FILE:LINE" of the line that set K in A, or "command line" /
 * "environment" for a value that came from there. Returns BUF. */
const char *account_where(const struct cfg_account *a, enum cfg_key k, char *buf, size_t len);

/* A copy of A (the caller frees it with cfg_account_free) with the command
 * line's settings (msmtp's long options) applied in order. A bad value is
 * the command line's fault: NULL and 64. */
struct cfg_account *account_override(const struct cfg_account *a, const struct request *req,
				     enum outcome *o, char *err, size_t errlen);

/* The AUTH mode A asks for: "ON", a mechanism, or NULL for none; and
 * whether that mode needs a user (EXTERNAL and GSSAPI do not: the
 * certificate or the ticket names the user). */
const char *account_auth_mode(const struct cfg_account *a);
bool account_auth_needs_user(const struct cfg_account *a);

/* Whether A can send at all (a host; a user when AUTH needs one), as
 * --pretend and a submission both report it: OUTCOME_OK or 78. */
enum outcome account_check_sendable(const struct cfg_account *a, char *err, size_t errlen);

/* *ADDR (owned, replaced) as it goes into the envelope: a bare local part
 * (also a quoted one holding '@') qualified with maildomain, checked, its
 * domain in A-labels (RFC 5890). WHAT names it in ERR. OUTCOME_OK or 65. */
enum outcome account_qualify(const struct cfg_account *a, const char *what, bool allow_empty, char **addr,
			     char *err, size_t errlen);

/* The sender, worked out once: -f (unless allow_from_override is off),
 * else A's from expanded with FACTS; qualified. *SENDER is NULL when there
 * is none (a from pattern, no from). It is the address of an added From
 * and the envelope sender unless the message's From is taken. */
enum outcome account_sender(const struct request *req, const struct cfg_account *a,
			    const struct host_facts *facts, char **sender, char *err, size_t errlen);

/* The header fields A adds when the message lacks them: From (with -F or
 * from_full_name, RFC 2047 when needed), Date at CLOCK, Message-ID from
 * RND (RNDLEN unpredictable bytes; NULL: none added), the undisclosed-
 * recipients rule. A full name that cannot go in From is refused: -F with
 * 64 (the command line), from_full_name with 78 (the configuration). H is
 * filled; free it with account_headers_free. */
enum outcome account_headers(const struct request *req, const struct cfg_account *a, const char *sender,
			     const struct msg_time *clock, const unsigned char *rnd, size_t rndlen,
			     struct account_headers *h, char *err, size_t errlen);
void account_headers_free(struct account_headers *h);

/* The recipients: the command line's arguments, then HEADER's (-t), local
 * names through ALIASES (NULL: none), each qualified, duplicates dropped.
 * OUTCOME_OK, 65 (bad or no recipient) or 78 (an alias loop). OUT is
 * appended to. */
enum outcome account_recipients(const struct request *req, const struct cfg_account *a,
				const struct addr_list *header, const struct aliases *aliases,
				struct addr_list *out, char *err, size_t errlen);

/* The envelope for FROM and RCPTS (both stay the caller's): SMTPUTF8 only
 * for what A-labels cannot carry (RFC 6531), the message's size and 8-bit
 * state, DSN from -N/-R/-V or the account. */
void account_envelope(const struct request *req, const struct cfg_account *a, const char *from,
		      const struct addr_list *rcpts, uint64_t size, bool eightbit, bool header_needs_smtputf8,
		      struct smtp_envelope *env);

/* Where and how to connect (RFC 8314: implicit TLS on 465 or with
 * tls_starttls off, else STARTTLS; the port follows), with HOSTNAME the
 * EHLO name unless the account sets domain. The TLS session cache file is
 * the driver's to add (s->tls.cache_file). OUTCOME_OK or 78 (a host name
 * that is not a valid IDN). Free with account_session_free. */
enum outcome account_session(const struct cfg_account *a, const char *hostname, struct account_session *s,
			     char *err, size_t errlen);
void account_session_free(struct account_session *s);

/* What the default queue directory depends on. */
struct account_places {
	const char *home;            /* $HOME (or the password entry's), or NULL */
	const char *xdg_state_home;  /* $XDG_STATE_HOME, or NULL */
	const char *system_config;   /* the system-wide configuration file */
	bool root;                   /* running as root */
};

/* The system-wide queue: for the accounts of the system configuration
 * file when root sends (cron mail, daemons). */
#define ACCOUNT_SYSTEM_QUEUE "/var/spool/kurier"

/* A's queue directory into BUF: queue_dir ("~/" is the home directory);
 * else ACCOUNT_SYSTEM_QUEUE for an account of the system file when root
 * sends; else $XDG_STATE_HOME/kurier/queue, else ~/.local/state/kurier/queue.
 * Returns BUF, or NULL with ERR when no directory can be named. */
const char *account_queue_dir(const struct cfg_account *a, const struct account_places *p, char *buf,
			      size_t len, char *err, size_t errlen);

#endif
