/* config.h: msmtprc-compatible account files. cfg_parse() works on a buffer
 * and is pure; cfg_load() reads a file and applies the permission rule. */
#ifndef KURIER_CONFIG_H
#define KURIER_CONFIG_H

#include "common.h"

#define CFG_LINE_MAX 4096           /* longest line, without its LF or CRLF */
#define CFG_FILE_MAX (1024 * 1024)  /* largest file cfg_load reads */
#define CFG_ACCOUNTS_MAX 1000       /* most accounts in one file */

/* Every keyword kurier knows, old msmtp spellings included (those are mapped
 * onto their modern key when parsed; see config.c's keyword table). */
enum cfg_key {
	CFG_HOST,
	CFG_PORT,
	CFG_SOURCE_IP,
	CFG_PROXY_HOST,
	CFG_PROXY_PORT,
	CFG_SOCKET,
	CFG_TIMEOUT,
	CFG_PROTOCOL,
	CFG_DOMAIN,
	CFG_AUTH,
	CFG_USER,
	CFG_PASSWORD,
	CFG_PASSWORDEVAL,
	CFG_NTLMDOMAIN,
	CFG_TLS,
	CFG_TLS_STARTTLS,
	CFG_TLS_TRUST_FILE,
	CFG_TLS_CRL_FILE,
	CFG_TLS_FINGERPRINT,
	CFG_TLS_KEY_FILE,
	CFG_TLS_CERT_FILE,
	CFG_TLS_CERTCHECK,
	CFG_TLS_MIN_DH_PRIME_BITS,
	CFG_TLS_PRIORITIES,
	CFG_TLS_HOST_OVERRIDE,
	CFG_FROM,
	CFG_FROM_FULL_NAME,
	CFG_ALLOW_FROM_OVERRIDE,
	CFG_MAILDOMAIN,
	CFG_DSN_NOTIFY,
	CFG_DSN_RETURN,
	CFG_DSN_REQUIRED,
	CFG_SET_FROM_HEADER,
	CFG_SET_DATE_HEADER,
	CFG_SET_MSGID_HEADER,
	CFG_SET_TO_HEADER,
	CFG_REMOVE_BCC_HEADERS,
	CFG_UNDISCLOSED_RECIPIENTS,
	CFG_LOGFILE,
	CFG_LOGFILE_TIME_FORMAT,
	CFG_SYSLOG,
	CFG_ALIASES,
	CFG_AUTO_FROM,
	CFG_TLS_FORCE_SSLV3,
	CFG_QUEUE,
	CFG_QUEUE_DIR,
	CFG_QUEUE_LIFETIME,
	CFG_QUEUE_NOTIFY,
	CFG_FALLBACK_ACCOUNT,
	CFG_KEY_COUNT
};

/* Values as stored: booleans "on"/"off"; auth "on", "off" or the mechanism
 * upper-cased (PLAIN); syslog "on", "off" or LOG_USER/LOG_MAIL/LOG_LOCALn;
 * dsn_notify "off", "NEVER" or e.g. "FAILURE,DELAY"; dsn_return "off",
 * "headers" or "full"; set_*_header "auto", "on" or "off"; protocol "smtp"
 * or "lmtp"; numbers in plain decimal; tls_fingerprint upper-case hex. An
 * empty string is a value the file set to empty ("user" with no argument),
 * which overrides an inherited one; NULL means never set. */
/* The typed form of each value, fixed when the value is stored (from a file
 * line, cfg_account_override or inheritance) so that no reader parses a
 * string again: booleans 0 or 1; port, proxy_port, timeout and
 * tls_min_dh_prime_bits the number, 0 for "off" or empty; the enumerated
 * keys one of the enums below. */
enum cfg_header_mode {                   /* set_from/date/msgid_header */
	CFG_HDR_AUTO,
	CFG_HDR_ON,
	CFG_HDR_OFF,
};
enum cfg_to_header {                     /* set_to_header */
	CFG_TO_OFF,
	CFG_TO_ON,                           /* "on" or empty */
	CFG_TO_VALUE,                        /* val[] is the To field body */
};
enum cfg_auth_mode {                     /* auth; val[] keeps the mechanism name */
	CFG_AUTH_OFF,
	CFG_AUTH_ON,
	CFG_AUTH_PLAIN,                      /* the mechanisms, in config.c's table order */
	CFG_AUTH_LOGIN,
	CFG_AUTH_CRAM_MD5,
	CFG_AUTH_DIGEST_MD5,
	CFG_AUTH_SCRAM_SHA_1,
	CFG_AUTH_SCRAM_SHA_1_PLUS,
	CFG_AUTH_SCRAM_SHA_256,
	CFG_AUTH_SCRAM_SHA_256_PLUS,
	CFG_AUTH_GSSAPI,
	CFG_AUTH_EXTERNAL,
	CFG_AUTH_OAUTHBEARER,
	CFG_AUTH_XOAUTH2,
	CFG_AUTH_NTLM,
};
enum cfg_dsn_notify {                    /* dsn_notify; val[] keeps "NEVER" or the list */
	CFG_NOTIFY_OFF,
	CFG_NOTIFY_NEVER,
	CFG_NOTIFY_LIST,
};
enum cfg_dsn_return {                    /* dsn_return (RFC 3461 RET) */
	CFG_RET_OFF,
	CFG_RET_HEADERS,
	CFG_RET_FULL,
};
enum cfg_syslog {                        /* syslog: off, on (= mail) or a facility */
	CFG_SYSLOG_OFF,
	CFG_SYSLOG_ON,
	CFG_SYSLOG_USER,
	CFG_SYSLOG_MAIL,
	CFG_SYSLOG_LOCAL0,                   /* ... up to CFG_SYSLOG_LOCAL0 + 7 */
};
enum cfg_protocol {                      /* protocol */
	CFG_PROTO_SMTP,
	CFG_PROTO_LMTP,
};

enum cfg_queue_mode {                    /* queue */
	CFG_QUEUE_OFF,                       /* submit now; a failure is the caller's */
	CFG_QUEUE_FALLBACK,                  /* submit now; a temporary failure is queued */
	CFG_QUEUE_ALWAYS,                    /* queue, then deliver in the background */
};

/* queue_lifetime: at most this many seconds (one year). */
#define CFG_LIFETIME_MAX (366L * 24 * 60 * 60)

struct cfg_account {
	char *name;                          /* account name; "defaults" never appears here */
	char *path;                          /* the file that defined it, for messages */
	char *val[CFG_KEY_COUNT];            /* NULL = unset; booleans normalised to "on"/"off" */
	long typed[CFG_KEY_COUNT];           /* val[k]'s typed form (above), 0 while unset */
	unsigned line[CFG_KEY_COUNT];        /* line that set val[k] (inherited: the parent's line) */
	unsigned decl_line;                  /* line of the "account" command */
	struct cfg_account *next;            /* file order */
};

/* default_alias is set only when "account default : NAME" has no lines of
 * its own; then no account called "default" is in the list and cfg_find
 * resolves "default" to NAME. With lines of its own it is a real account. */
struct cfg_file {
	char *path;                          /* as given to cfg_parse, for messages */
	struct cfg_account *accounts;        /* inheritance and defaults already applied */
	char *default_alias;                 /* NAME from "account default : NAME", or NULL */
	bool has_password;                   /* some line sets password (permission rule) */
};

/* Parse LEN bytes of BUF (need not be NUL-terminated). PATH is only used in
 * messages. On error returns -1 and writes "PATH:LINE: what is wrong" to ERR.
 * Unknown keywords, bad values, unknown parents, duplicate account names and
 * lines over 4096 bytes are errors. Returns 0 on success; free with cfg_free. */
int cfg_parse(const char *path, const char *buf, size_t len, struct cfg_file *out,
	      char *err, size_t errlen);

/* Read PATH and cfg_parse it. Returns 0, -1 on a parse or permission error
 * (ERR says what and how to fix it: a file with a password that group or
 * others can read is refused, "chmod 600 PATH"), or -2 if the file does
 * not exist (ERR set too). */
int cfg_load(const char *path, struct cfg_file *out, char *err, size_t errlen);

void cfg_free(struct cfg_file *cf);

/* msmtp's two files: USER's accounts first, then those of SYS that USER
 * does not define (by name); SYS's "account default : NAME" applies when
 * USER has neither an account default nor such a line. SYS is emptied
 * (cfg_free it as usual); USER keeps its path. */
void cfg_merge(struct cfg_file *user, struct cfg_file *sys);

/* The account called NAME ("default" also resolves "account default : X"). */
const struct cfg_account *cfg_find(const struct cfg_file *cf, const char *name);
/* The first account whose from pattern (shell wildcards, fnmatch, case-
 * insensitive) matches ADDR, or NULL. */
const struct cfg_account *cfg_find_by_from(const struct cfg_file *cf, const char *addr);

/* Keyword name for messages and --pretend. */
const char *cfg_key_name(enum cfg_key k);
/* Typed reads: the value stored when K was set, DFLT when K is unset (or A
 * is NULL). cfg_bool: an on/off key (DFLT for any other key); cfg_long: a
 * number key, DFLT for its "off" or empty value; cfg_enum: an enumerated
 * key (auth, dsn_notify, dsn_return, syslog, protocol, set_*_header), as
 * one of the enums above. No value string is parsed again. */
bool cfg_bool(const struct cfg_account *a, enum cfg_key k, bool dflt);
long cfg_long(const struct cfg_account *a, enum cfg_key k, long dflt);
int cfg_enum(const struct cfg_account *a, enum cfg_key k, int dflt);
/* true for keys whose values are secrets (printed "(hidden)"). */
bool cfg_key_is_secret(enum cfg_key k);
/* The key whose modern keyword is NAME (old spellings are not looked up),
 * or -1. */
int cfg_key_lookup(const char *name);

/* A new empty account NAME (no settings), for one built from the command
 * line or the environment; PATH is what messages name as its origin. */
struct cfg_account *cfg_account_new(const char *name, const char *path);
/* A private copy of SRC (not linked into any list), to apply overrides to. */
struct cfg_account *cfg_account_dup(const struct cfg_account *src);
/* Free an account made by cfg_account_new or cfg_account_dup (NULL is fine). */
void cfg_account_free(struct cfg_account *a);

/* Set KEYWORD (a modern keyword or an old spelling, as in a file) to VALUE
 * in A, with exactly the checks and normalisation of a file line; line[k]
 * becomes 0. An empty VALUE unsets the key (val NULL), except for the keys
 * where an empty value means "on" in a file (on/off keys, auth, syslog,
 * set_*_header, set_to_header). A value with CR or LF, or longer than
 * CFG_LINE_MAX, is refused. ORIGIN names the setting in messages ("--port";
 * NULL: KEYWORD): ERR reads "--port: expected a port number from 1 to
 * 65535, not 'x'". Returns 0 or -1. */
int cfg_account_override(struct cfg_account *a, const char *keyword, const char *value, const char *origin,
			 char *err, size_t errlen);


/* The account: -a NAME, else the first whose from pattern matches SENDER,
 * else "default", else the only one. NULL with ERR (78) when there is none. */
const struct cfg_account *cfg_choose(const struct cfg_file *cf, const char *name, const char *sender,
					 char *err, size_t errlen);

/* Where the configuration files are: facts the caller gathers. */
struct cfg_places {
	const char *user_file;        /* -C FILE, or NULL to look for the user's own */
	const char *home;             /* $HOME */
	const char *xdg_config_home;  /* $XDG_CONFIG_HOME, or NULL */
	const char *system_file;      /* SYSCONFDIR/kurierrc */
};

/* What cfg_load_files read, for -v and for a warning. */
struct cfg_loaded {
	char user[4096];              /* the user's file, or "" */
	bool user_is_msmtp;           /* ... found as ~/.msmtprc */
	bool system;                  /* the system file was read too */
	char warning[600];            /* a broken system file that was skipped, or "" */
};

/* The configuration as msmtp reads it: the user's file (P->user_file, or
 * the first of $XDG_CONFIG_HOME/kurier/config (else ~/.config/kurier/config),
 * ~/.kurierrc and ~/.msmtprc) merged over the system file (cfg_merge). A
 * system file this user may not read is no error, and a broken one only
 * a warning while the user has a file of their own. Returns 0 with CF
 * filled, 1 when no file exists at all (ERR names every place looked at),
 * or -1 with ERR. */
int cfg_load_files(const struct cfg_places *p, struct cfg_file *cf, struct cfg_loaded *l, char *err,
		   size_t errlen);

#endif
