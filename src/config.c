/* config.c: owns the msmtprc-compatible account file: keywords, value checks, inheritance, loading. */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define CFG_VALUE_BYTES_MAX (16u * 1024 * 1024) /* all stored values together */
#define CFG_SHOW_MAX 64                          /* bytes of a bad value quoted back */
#define CFG_TIMEOUT_MAX 86400                    /* seconds: one day; the deadline arithmetic stays in range */

/* How a keyword's value is checked and normalised. */
enum cfg_type {
	CFG_T_STRING,      /* anything */
	CFG_T_REQUIRED,    /* anything but empty */
	CFG_T_BOOL,        /* on | off | "" (= on) */
	CFG_T_PORT,        /* 1..65535 */
	CFG_T_TIMEOUT,     /* off | 1..CFG_TIMEOUT_MAX */
	CFG_T_BITS,        /* 1..INT_MAX | "" */
	CFG_T_AUTO_ON_OFF, /* auto | on | off | "" (= on) */
	CFG_T_AUTH,        /* on | off | "" (= on) | mechanism */
	CFG_T_PROTOCOL,    /* smtp | lmtp */
	CFG_T_DSN_NOTIFY,  /* off | never | list of failure, delay, success */
	CFG_T_DSN_RETURN,  /* off | headers | full */
	CFG_T_SYSLOG,      /* on | off | "" (= on) | LOG_facility */
	CFG_T_FINGERPRINT, /* "" | 16, 20 or 32 hex bytes joined by ':' */
	CFG_T_ADDRESS,     /* anything without control characters */
	CFG_T_TO_HEADER,   /* anything: off | on | "" (= on) | a To field body */
	CFG_T_QUEUE,       /* off | fallback | always */
	CFG_T_DURATION,    /* N[s|m|h|d|w], 1 second .. CFG_LIFETIME_MAX */
	CFG_T_NAMES,       /* account names separated by ',' and blanks */
};

/* How an old spelling maps onto its modern key. */
enum cfg_alias {
	CFG_A_SAME,       /* same value, same checks */
	CFG_A_OFF,        /* takes no value; means "KEY off" */
	CFG_A_INVERT,     /* boolean, stored inverted */
	CFG_A_AUTO_OFF,   /* boolean; on means auto */
	CFG_A_UNSUPPORTED /* recognised but refused */
};

/* What kurier does with a keyword. CFG_USED: some module outside this file
 * reads its value. CFG_NO_EFFECT: accepted so that msmtp files parse, and
 * listed in man/kurierrc.5 as having no effect. tests/docs.test holds both
 * marks to the code and the page. */
enum cfg_effect {
	CFG_USED,
	CFG_NO_EFFECT,
};

struct cfg_keyword {
	const char *name;
	enum cfg_type type;
	enum cfg_effect effect;
};

struct cfg_old_keyword {
	const char *name;
	enum cfg_key key;
	enum cfg_alias alias;
};

/* The modern keywords, indexed by key. */
static const struct cfg_keyword cfg_keywords[CFG_KEY_COUNT] = {
	[CFG_HOST] = { "host", CFG_T_REQUIRED, CFG_USED },
	[CFG_PORT] = { "port", CFG_T_PORT, CFG_USED },
	[CFG_SOURCE_IP] = { "source_ip", CFG_T_STRING, CFG_NO_EFFECT },
	[CFG_PROXY_HOST] = { "proxy_host", CFG_T_STRING, CFG_USED },
	[CFG_PROXY_PORT] = { "proxy_port", CFG_T_PORT, CFG_USED },
	[CFG_SOCKET] = { "socket", CFG_T_STRING, CFG_NO_EFFECT },
	[CFG_TIMEOUT] = { "timeout", CFG_T_TIMEOUT, CFG_USED },
	[CFG_PROTOCOL] = { "protocol", CFG_T_PROTOCOL, CFG_NO_EFFECT },
	[CFG_DOMAIN] = { "domain", CFG_T_STRING, CFG_USED },
	[CFG_AUTH] = { "auth", CFG_T_AUTH, CFG_USED },
	[CFG_USER] = { "user", CFG_T_STRING, CFG_USED },
	[CFG_PASSWORD] = { "password", CFG_T_STRING, CFG_USED },
	[CFG_PASSWORDEVAL] = { "passwordeval", CFG_T_STRING, CFG_USED },
	[CFG_NTLMDOMAIN] = { "ntlmdomain", CFG_T_STRING, CFG_NO_EFFECT },
	[CFG_TLS] = { "tls", CFG_T_BOOL, CFG_USED },
	[CFG_TLS_STARTTLS] = { "tls_starttls", CFG_T_BOOL, CFG_USED },
	[CFG_TLS_TRUST_FILE] = { "tls_trust_file", CFG_T_STRING, CFG_USED },
	[CFG_TLS_CRL_FILE] = { "tls_crl_file", CFG_T_STRING, CFG_USED },
	[CFG_TLS_FINGERPRINT] = { "tls_fingerprint", CFG_T_FINGERPRINT, CFG_USED },
	[CFG_TLS_KEY_FILE] = { "tls_key_file", CFG_T_STRING, CFG_USED },
	[CFG_TLS_CERT_FILE] = { "tls_cert_file", CFG_T_STRING, CFG_USED },
	[CFG_TLS_CERTCHECK] = { "tls_certcheck", CFG_T_BOOL, CFG_USED },
	[CFG_TLS_MIN_DH_PRIME_BITS] = { "tls_min_dh_prime_bits", CFG_T_BITS, CFG_USED },
	[CFG_TLS_PRIORITIES] = { "tls_priorities", CFG_T_STRING, CFG_USED },
	[CFG_TLS_HOST_OVERRIDE] = { "tls_host_override", CFG_T_STRING, CFG_USED },
	[CFG_FROM] = { "from", CFG_T_ADDRESS, CFG_USED },
	[CFG_FROM_FULL_NAME] = { "from_full_name", CFG_T_STRING, CFG_USED },
	[CFG_ALLOW_FROM_OVERRIDE] = { "allow_from_override", CFG_T_BOOL, CFG_USED },
	[CFG_MAILDOMAIN] = { "maildomain", CFG_T_STRING, CFG_USED },
	[CFG_DSN_NOTIFY] = { "dsn_notify", CFG_T_DSN_NOTIFY, CFG_USED },
	[CFG_DSN_RETURN] = { "dsn_return", CFG_T_DSN_RETURN, CFG_USED },
	[CFG_DSN_REQUIRED] = { "dsn_required", CFG_T_BOOL, CFG_USED },
	[CFG_SET_FROM_HEADER] = { "set_from_header", CFG_T_AUTO_ON_OFF, CFG_USED },
	[CFG_SET_DATE_HEADER] = { "set_date_header", CFG_T_AUTO_ON_OFF, CFG_USED },
	[CFG_SET_MSGID_HEADER] = { "set_msgid_header", CFG_T_AUTO_ON_OFF, CFG_USED },
	[CFG_SET_TO_HEADER] = { "set_to_header", CFG_T_TO_HEADER, CFG_USED },
	[CFG_REMOVE_BCC_HEADERS] = { "remove_bcc_headers", CFG_T_BOOL, CFG_USED },
	[CFG_UNDISCLOSED_RECIPIENTS] = { "undisclosed_recipients", CFG_T_BOOL, CFG_USED },
	[CFG_LOGFILE] = { "logfile", CFG_T_STRING, CFG_USED },
	[CFG_LOGFILE_TIME_FORMAT] = { "logfile_time_format", CFG_T_STRING, CFG_USED },
	[CFG_SYSLOG] = { "syslog", CFG_T_SYSLOG, CFG_USED },
	[CFG_ALIASES] = { "aliases", CFG_T_STRING, CFG_USED },
	[CFG_AUTO_FROM] = { "auto_from", CFG_T_BOOL, CFG_NO_EFFECT },
	[CFG_TLS_FORCE_SSLV3] = { "tls_force_sslv3", CFG_T_BOOL, CFG_NO_EFFECT },
	[CFG_QUEUE] = { "queue", CFG_T_QUEUE, CFG_USED },
	[CFG_QUEUE_DIR] = { "queue_dir", CFG_T_STRING, CFG_USED },
	[CFG_QUEUE_LIFETIME] = { "queue_lifetime", CFG_T_DURATION, CFG_USED },
	[CFG_QUEUE_NOTIFY] = { "queue_notify", CFG_T_ADDRESS, CFG_USED },
	[CFG_FALLBACK_ACCOUNT] = { "fallback_account", CFG_T_NAMES, CFG_USED },
};

/* Old spellings that real files still use. */
static const struct cfg_old_keyword cfg_old_keywords[] = {
	{ "connect_timeout", CFG_TIMEOUT, CFG_A_SAME },
	{ "tls_nocertcheck", CFG_TLS_CERTCHECK, CFG_A_OFF },
	{ "tls_nostarttls", CFG_TLS_STARTTLS, CFG_A_OFF },
	{ "keepbcc", CFG_REMOVE_BCC_HEADERS, CFG_A_INVERT },
	{ "add_missing_from_header", CFG_SET_FROM_HEADER, CFG_A_AUTO_OFF },
	{ "add_missing_date_header", CFG_SET_DATE_HEADER, CFG_A_AUTO_OFF },
	{ "eval", CFG_KEY_COUNT, CFG_A_UNSUPPORTED },
};

/* In the order of enum cfg_auth_mode from CFG_AUTH_PLAIN on. */
static const char *const cfg_auth_methods[] = {
	"plain", "login", "cram-md5", "digest-md5", "scram-sha-1", "scram-sha-1-plus",
	"scram-sha-256", "scram-sha-256-plus", "gssapi", "external", "oauthbearer", "xoauth2",
	"ntlm",
};
_Static_assert(sizeof cfg_auth_methods / sizeof cfg_auth_methods[0] == CFG_AUTH_NTLM - CFG_AUTH_PLAIN + 1,
	       "cfg_auth_methods[] and enum cfg_auth_mode differ");

/* In the order of enum cfg_syslog from CFG_SYSLOG_USER on. */
static const char *const cfg_syslog_facilities[] = {
	"LOG_USER", "LOG_MAIL", "LOG_LOCAL0", "LOG_LOCAL1", "LOG_LOCAL2", "LOG_LOCAL3",
	"LOG_LOCAL4", "LOG_LOCAL5", "LOG_LOCAL6", "LOG_LOCAL7",
};
_Static_assert(sizeof cfg_syslog_facilities / sizeof cfg_syslog_facilities[0] ==
	       CFG_SYSLOG_LOCAL0 + 8 - CFG_SYSLOG_USER, "cfg_syslog_facilities[] and enum cfg_syslog differ");

/* Everything one cfg_parse call works on. */
struct cfg_state {
	const char *path;
	struct cfg_file *cf;
	struct cfg_account defaults;  /* the accumulated defaults section */
	struct cfg_account *cur;      /* account being defined, NULL = defaults */
	bool sectioned;               /* a defaults or account line was seen */
	unsigned own;                 /* setting lines seen for cur */
	bool alias_pending;           /* cur came from "account default : NAME" */
	unsigned alias_line;          /* line of that account command */
	unsigned naccounts;
	size_t value_bytes;           /* budget for all stored values */
	unsigned lineno;
	char *err;
	size_t errlen;
};

/* Buffers for one line; kept together so they can be wiped (passwords). */
struct cfg_line_bufs {
	char kw[CFG_LINE_MAX + 1];
	char val[CFG_LINE_MAX + 1];
	char norm[CFG_LINE_MAX + 1];
};

static int cfg_fail(struct cfg_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cfg_fail(struct cfg_state *st, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (st->err == NULL || st->errlen == 0)
		return -1;
	/* without a path (a value from the command line) the message names
	 * the setting itself */
	n = st->path != NULL ? snprintf(st->err, st->errlen, "%s:%u: ", st->path, st->lineno) : 0;
	if (n >= 0 && (size_t)n < st->errlen) {
		va_start(ap, fmt);
		vsnprintf(st->err + n, st->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A printable, bounded copy of S for quoting it back in a message. */
static const char *cfg_show(char *dst, size_t dstlen, const char *s)
{
	size_t i, n = strlen(s), lim = n < CFG_SHOW_MAX ? n : CFG_SHOW_MAX, o = 0;

	for (i = 0; i < lim && o + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (lim < n && o + 4 < dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

static bool cfg_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void cfg_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void cfg_upper(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)toupper((unsigned char)*s);
}

static void cfg_put(char *dst, const char *s)
{
	size_t n = strlen(s);

	if (n > CFG_LINE_MAX)
		n = CFG_LINE_MAX;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* Decimal digits only, 1..MAX. */
static int cfg_number(const char *s, long max, long *out)
{
	const char *p;
	char *end;
	long v;

	if (*s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

static void cfg_free_value(enum cfg_key k, char *v)
{
	if (k == CFG_PASSWORD)
		xfree_secret(v);
	else
		free(v);
}

static void cfg_account_clear(struct cfg_account *a)
{
	int k;

	for (k = 0; k < CFG_KEY_COUNT; k++) {
		cfg_free_value((enum cfg_key)k, a->val[k]);
		a->val[k] = NULL;
		a->typed[k] = 0;
		a->line[k] = 0;
	}
	free(a->name);
	a->name = NULL;
	free(a->path);
	a->path = NULL;
}

void cfg_account_free(struct cfg_account *a)
{
	if (a == NULL)
		return;
	cfg_account_clear(a);
	free(a);
}

/* Store V, with its typed form TYPED, as A's value of K. */
static int cfg_set(struct cfg_state *st, struct cfg_account *a, enum cfg_key k, const char *v, long typed,
		   unsigned line)
{
	size_t n = strlen(v) + 1;

	if (n > CFG_VALUE_BYTES_MAX - st->value_bytes)
		return cfg_fail(st, "the settings take more than %u MiB once inherited; "
			       "use fewer or shorter values", CFG_VALUE_BYTES_MAX / (1024 * 1024));
	st->value_bytes += n;
	cfg_free_value(k, a->val[k]);
	a->val[k] = xstrndup(v, n - 1);
	a->typed[k] = typed;
	a->line[k] = line;
	return 0;
}

/* Copy every setting SRC has onto DST. */
static int cfg_overlay(struct cfg_state *st, struct cfg_account *dst, const struct cfg_account *src)
{
	int k, r;

	for (k = 0; k < CFG_KEY_COUNT; k++)
		if (src->val[k] != NULL &&
		    (r = cfg_set(st, dst, (enum cfg_key)k, src->val[k], src->typed[k], src->line[k])) != 0)
			return r;
	return 0;
}

/* Remove the quoting of a raw value: "..." segments anywhere lose their
 * quotes, and inside them \" and \\ stand for " and \. */
static int cfg_unquote(struct cfg_state *st, const char *s, size_t n, char *out)
{
	bool quoted = false;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!quoted) {
			if (c == '"')
				quoted = true;
			else
				out[o++] = c;
		} else if (c == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\')) {
			out[o++] = s[++i];
		} else if (c == '"') {
			quoted = false;
		} else {
			out[o++] = c;
		}
	}
	out[o] = '\0';
	if (quoted)
		return cfg_fail(st, "unterminated quote: a value that opens '\"' must close it");
	return 0;
}

static int cfg_check_bool(struct cfg_state *st, const char *name, const char *v, char *norm, long *typed)
{
	char show[CFG_SHOW_MAX + 8];

	*typed = *v == '\0' || strcmp(v, "on") == 0;
	if (*typed)
		cfg_put(norm, "on");
	else if (strcmp(v, "off") == 0)
		cfg_put(norm, "off");
	else
		return cfg_fail(st, "%s: expected on or off, not '%s'", name,
				cfg_show(show, sizeof show, v));
	return 0;
}

static int cfg_check_auth(struct cfg_state *st, const char *name, const char *v, char *norm, long *typed)
{
	char show[CFG_SHOW_MAX + 8], list[256];
	size_t i, o = 0;

	if (*v == '\0' || strcmp(v, "on") == 0) {
		cfg_put(norm, "on");
		*typed = CFG_AUTH_ON;
		return 0;
	}
	if (strcmp(v, "off") == 0) {
		cfg_put(norm, "off");
		*typed = CFG_AUTH_OFF;
		return 0;
	}
	for (i = 0; i < sizeof cfg_auth_methods / sizeof cfg_auth_methods[0]; i++)
		if (strcasecmp(v, cfg_auth_methods[i]) == 0) {
			cfg_put(norm, cfg_auth_methods[i]);
			cfg_upper(norm);
			*typed = CFG_AUTH_PLAIN + (long)i;
			return 0;
		}
	list[0] = '\0';
	for (i = 0; i < sizeof cfg_auth_methods / sizeof cfg_auth_methods[0]; i++) {
		int n = snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", cfg_auth_methods[i]);
		if (n < 0 || (size_t)n >= sizeof list - o)
			break;
		o += (size_t)n;
	}
	return cfg_fail(st, "%s: unknown method '%s'; expected on, off or one of %s", name,
			cfg_show(show, sizeof show, v), list);
}

static int cfg_check_dsn_notify(struct cfg_state *st, const char *name, const char *v, char *norm,
				long *typed)
{
	static const char *const conds[] = { "failure", "delay", "success" };
	char show[CFG_SHOW_MAX + 8];
	bool seen[3] = { false, false, false };
	const char *p = v;
	size_t o = 0, i;

	if (strcmp(v, "off") == 0) {
		cfg_put(norm, "off");
		*typed = CFG_NOTIFY_OFF;
		return 0;
	}
	if (strcasecmp(v, "never") == 0) {
		cfg_put(norm, "NEVER");
		*typed = CFG_NOTIFY_NEVER;
		return 0;
	}
	*typed = CFG_NOTIFY_LIST;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

		for (i = 0; i < 3; i++)
			if (n == strlen(conds[i]) && strncasecmp(p, conds[i], n) == 0)
				break;
		if (i == 3 || seen[i])
			return cfg_fail(st, "%s: expected off, never, or a comma-separated "
				       "list of failure, delay and success, not '%s'", name,
				       cfg_show(show, sizeof show, v));
		seen[i] = true;
		if (o != 0)
			norm[o++] = ',';
		memcpy(norm + o, conds[i], n);
		o += n;
		norm[o] = '\0';
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	cfg_upper(norm);
	return 0;
}

static int cfg_check_syslog(struct cfg_state *st, const char *name, const char *v, char *norm, long *typed)
{
	char show[CFG_SHOW_MAX + 8];
	size_t i;

	if (*v == '\0' || strcmp(v, "on") == 0) {
		cfg_put(norm, "on");
		*typed = CFG_SYSLOG_ON;
		return 0;
	}
	if (strcmp(v, "off") == 0) {
		cfg_put(norm, "off");
		*typed = CFG_SYSLOG_OFF;
		return 0;
	}
	for (i = 0; i < sizeof cfg_syslog_facilities / sizeof cfg_syslog_facilities[0]; i++)
		if (strcasecmp(v, cfg_syslog_facilities[i]) == 0) {
			cfg_put(norm, cfg_syslog_facilities[i]);
			*typed = CFG_SYSLOG_USER + (long)i;
			return 0;
		}
	return cfg_fail(st, "%s: expected on, off, LOG_USER, LOG_MAIL or LOG_LOCAL0 to "
		       "LOG_LOCAL7, not '%s'", name, cfg_show(show, sizeof show, v));
}

static int cfg_check_fingerprint(struct cfg_state *st, const char *name, const char *v, char *norm)
{
	char show[CFG_SHOW_MAX + 8];
	size_t n = strlen(v), i, bytes;

	if (n == 0) {
		norm[0] = '\0';
		return 0;
	}
	/* "XX" then ":XX" repeated: 3 * bytes - 1 characters. */
	bytes = (n + 1) / 3;
	if ((n + 1) % 3 != 0 || (bytes != 16 && bytes != 20 && bytes != 32))
		goto bad;
	for (i = 0; i < n; i++) {
		if (i % 3 == 2) {
			if (v[i] != ':')
				goto bad;
		} else if (!isxdigit((unsigned char)v[i])) {
			goto bad;
		}
	}
	cfg_put(norm, v);
	cfg_upper(norm);
	return 0;
bad:
	return cfg_fail(st, "%s: expected 16, 20 or 32 hex bytes separated by ':' "
		       "(MD5, SHA-1 or SHA-256), not '%s'", name, cfg_show(show, sizeof show, v));
}

/* queue_lifetime: a number of seconds, or with one unit s, m, h, d or w
 * (as Postfix's time values: 5d). */
static int cfg_check_duration(struct cfg_state *st, const char *name, const char *v, char *norm, long *typed)
{
	char show[CFG_SHOW_MAX + 8], digits[32];
	size_t n = strspn(v, "0123456789");
	long num, unit = 1;

	if (n == 0 || n >= sizeof digits || (v[n] != '\0' && (strchr("smhdw", v[n]) == NULL || v[n + 1] != '\0')))
		goto bad;
	memcpy(digits, v, n);
	digits[n] = '\0';
	switch (v[n]) {
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'w': unit = 7 * 86400; break;
	default: break;
	}
	if (cfg_number(digits, INT_MAX, &num) != 0 || num > CFG_LIFETIME_MAX / unit)
		goto bad;
	*typed = num * unit;
	snprintf(norm, CFG_LINE_MAX + 1, "%ld", *typed);
	return 0;
bad:
	return cfg_fail(st, "%s: expected a time from 1 second to 366 days, as seconds or with a unit "
		       "(30m, 12h, 5d, 1w), not '%s'", name, cfg_show(show, sizeof show, v));
}

/* Check V for key K (spelled NAME in the file) and write the value to store
 * into NORM and its typed form into *TYPED. */
static int cfg_check(struct cfg_state *st, enum cfg_key k, const char *name, const char *v, char *norm,
		     long *typed)
{
	char show[CFG_SHOW_MAX + 8];
	const char *p;
	long num;

	*typed = 0;
	switch (cfg_keywords[k].type) {
	case CFG_T_STRING:
		cfg_put(norm, v);
		return 0;
	case CFG_T_REQUIRED:
		if (*v == '\0')
			return cfg_fail(st, "%s: a value is required", name);
		cfg_put(norm, v);
		return 0;
	case CFG_T_BOOL:
		return cfg_check_bool(st, name, v, norm, typed);
	case CFG_T_PORT:
		if (cfg_number(v, 65535, &num) != 0)
			return cfg_fail(st, "%s: expected a port number from 1 to 65535, not '%s'", name,
					cfg_show(show, sizeof show, v));
		snprintf(norm, CFG_LINE_MAX + 1, "%ld", num);
		*typed = num;
		return 0;
	case CFG_T_TIMEOUT:
		if (strcmp(v, "off") == 0) {
			cfg_put(norm, "off");
			return 0;
		}
		if (cfg_number(v, INT_MAX, &num) != 0)
			return cfg_fail(st, "%s: expected off or a positive number of seconds, not '%s'",
					name, cfg_show(show, sizeof show, v));
		if (num > CFG_TIMEOUT_MAX)
			return cfg_fail(st, "%s must be at most %d seconds (one day), not '%s'", name,
					CFG_TIMEOUT_MAX, cfg_show(show, sizeof show, v));
		snprintf(norm, CFG_LINE_MAX + 1, "%ld", num);
		*typed = num;
		return 0;
	case CFG_T_BITS:
		if (*v == '\0') {
			norm[0] = '\0';
			return 0;
		}
		if (cfg_number(v, INT_MAX, &num) != 0)
			return cfg_fail(st, "%s: expected a positive number of bits or nothing, not '%s'",
					name, cfg_show(show, sizeof show, v));
		snprintf(norm, CFG_LINE_MAX + 1, "%ld", num);
		*typed = num;
		return 0;
	case CFG_T_AUTO_ON_OFF:
		if (*v == '\0' || strcmp(v, "on") == 0) {
			cfg_put(norm, "on");
			*typed = CFG_HDR_ON;
		} else if (strcmp(v, "off") == 0 || strcmp(v, "auto") == 0) {
			cfg_put(norm, v);
			*typed = strcmp(v, "off") == 0 ? CFG_HDR_OFF : CFG_HDR_AUTO;
		} else {
			return cfg_fail(st, "%s: expected auto, on or off, not '%s'", name,
					cfg_show(show, sizeof show, v));
		}
		return 0;
	case CFG_T_AUTH:
		return cfg_check_auth(st, name, v, norm, typed);
	case CFG_T_PROTOCOL:
		if (strcasecmp(v, "smtp") != 0 && strcasecmp(v, "lmtp") != 0)
			return cfg_fail(st, "%s: expected smtp or lmtp, not '%s'", name,
					cfg_show(show, sizeof show, v));
		cfg_put(norm, v);
		cfg_lower(norm);
		*typed = strcmp(norm, "lmtp") == 0 ? CFG_PROTO_LMTP : CFG_PROTO_SMTP;
		return 0;
	case CFG_T_DSN_NOTIFY:
		return cfg_check_dsn_notify(st, name, v, norm, typed);
	case CFG_T_DSN_RETURN:
		if (strcmp(v, "off") != 0 && strcasecmp(v, "headers") != 0 && strcasecmp(v, "full") != 0)
			return cfg_fail(st, "%s: expected off, headers or full, not '%s'", name,
					cfg_show(show, sizeof show, v));
		cfg_put(norm, v);
		cfg_lower(norm);
		*typed = strcmp(norm, "off") == 0 ? CFG_RET_OFF : strcmp(norm, "full") == 0 ? CFG_RET_FULL
			 : CFG_RET_HEADERS;
		return 0;
	case CFG_T_SYSLOG:
		return cfg_check_syslog(st, name, v, norm, typed);
	case CFG_T_FINGERPRINT:
		return cfg_check_fingerprint(st, name, v, norm);
	case CFG_T_ADDRESS:
		for (p = v; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return cfg_fail(st, "%s: control characters are not allowed in an address",
						name);
		cfg_put(norm, v);
		return 0;
	case CFG_T_QUEUE:
		if (strcmp(v, "off") != 0 && strcmp(v, "fallback") != 0 && strcmp(v, "always") != 0)
			return cfg_fail(st, "%s: expected off, fallback or always, not '%s'", name,
					cfg_show(show, sizeof show, v));
		cfg_put(norm, v);
		*typed = v[0] == 'o' ? CFG_QUEUE_OFF : v[0] == 'f' ? CFG_QUEUE_FALLBACK : CFG_QUEUE_ALWAYS;
		return 0;
	case CFG_T_DURATION:
		return cfg_check_duration(st, name, v, norm, typed);
	case CFG_T_NAMES:
		for (p = v; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ':' || *p == '"')
				return cfg_fail(st, "%s: expected account names separated by commas, not '%s'",
						name, cfg_show(show, sizeof show, v));
		cfg_put(norm, v);
		return 0;
	case CFG_T_TO_HEADER:
		/* as msmtp: off, on (or nothing), or the To field body itself */
		cfg_put(norm, v);
		*typed = strcmp(v, "off") == 0 ? CFG_TO_OFF
			 : *v == '\0' || strcmp(v, "on") == 0 ? CFG_TO_ON : CFG_TO_VALUE;
		return 0;
	}
	return cfg_fail(st, "%s: internal error: no check for this keyword", name);
}

/* Levenshtein distance, ASCII case folded; B is a known keyword (short). */
static size_t cfg_distance(const char *a, size_t na, const char *b)
{
	size_t prev[48], cur[48], nb = strlen(b), i, j;

	if (nb >= sizeof prev / sizeof prev[0])
		return SIZE_MAX;
	for (j = 0; j <= nb; j++)
		prev[j] = j;
	for (i = 1; i <= na; i++) {
		cur[0] = i;
		for (j = 1; j <= nb; j++) {
			size_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) !=
						    tolower((unsigned char)b[j - 1]));
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			size_t m = sub < del ? sub : del;
			cur[j] = m < ins ? m : ins;
		}
		memcpy(prev, cur, (nb + 1) * sizeof prev[0]);
	}
	return prev[nb];
}

static void cfg_consider(const char *kw, size_t n, const char *cand, const char **best, size_t *bestd)
{
	size_t nc = strlen(cand), d;

	if (n > nc + 2 || nc > n + 2)
		return;
	d = cfg_distance(kw, n, cand);
	if (d < *bestd) {
		*bestd = d;
		*best = cand;
	}
}

/* The known keyword closest to KW within edit distance 2, or NULL. */
static const char *cfg_suggest(const char *kw)
{
	const char *best = NULL;
	size_t bestd = 3, n = strlen(kw), i;

	cfg_consider(kw, n, "defaults", &best, &bestd);
	cfg_consider(kw, n, "account", &best, &bestd);
	for (i = 0; i < CFG_KEY_COUNT; i++)
		if (cfg_keywords[i].name != NULL)
			cfg_consider(kw, n, cfg_keywords[i].name, &best, &bestd);
	for (i = 0; i < sizeof cfg_old_keywords / sizeof cfg_old_keywords[0]; i++)
		if (cfg_old_keywords[i].alias != CFG_A_UNSUPPORTED)
			cfg_consider(kw, n, cfg_old_keywords[i].name, &best, &bestd);
	return best;
}

/* Ends the account being defined: an "account default : NAME" without
 * settings of its own stays a mere alias and is dropped from the list. */
static void cfg_end_section(struct cfg_state *st)
{
	struct cfg_file *cf = st->cf;

	if (st->cur != NULL && st->alias_pending) {
		if (st->own == 0) {
			struct cfg_account **pp = &cf->accounts;

			while (*pp != NULL && *pp != st->cur)
				pp = &(*pp)->next;
			if (*pp != NULL)
				*pp = st->cur->next;
			cfg_account_free(st->cur);
			st->naccounts--;
		} else {
			free(cf->default_alias);
			cf->default_alias = NULL;
		}
	}
	st->cur = NULL;
	st->own = 0;
	st->alias_pending = false;
}

static void cfg_trim(const char **s, const char **e)
{
	while (*s < *e && cfg_blank(**s))
		(*s)++;
	while (*e > *s && cfg_blank((*e)[-1]))
		(*e)--;
}

/* "account NAME [: PARENT[, PARENT...]]" */
static int cfg_account_cmd(struct cfg_state *st, const char *v)
{
	struct cfg_file *cf = st->cf;
	char show[CFG_SHOW_MAX + 8], show2[CFG_SHOW_MAX + 8];
	char name[CFG_LINE_MAX + 1], parent[CFG_LINE_MAX + 1];
	const char *colon = strchr(v, ':'), *s = v, *e = colon != NULL ? colon : v + strlen(v);
	const struct cfg_account *found;
	struct cfg_account *a = NULL, **tail;
	unsigned nparents = 0;
	int r = -1;

	cfg_end_section(st);
	cfg_trim(&s, &e);
	if (s == e) {
		r = cfg_fail(st, "account: a name is required (account NAME [: PARENT, ...])");
		goto out;
	}
	memcpy(name, s, (size_t)(e - s));
	name[e - s] = '\0';
	if (strcmp(name, "defaults") == 0) {
		r = cfg_fail(st, "account: 'defaults' cannot be an account name");
		goto out;
	}
	if (strcmp(name, "default") == 0 && cf->default_alias != NULL) {
		r = cfg_fail(st, "account 'default' is already defined on line %u", st->alias_line);
		goto out;
	}
	if ((found = cfg_find(cf, name)) != NULL) {
		r = cfg_fail(st, "account '%s' is already defined on line %u",
			     cfg_show(show, sizeof show, name), found->decl_line);
		goto out;
	}
	if (st->naccounts >= CFG_ACCOUNTS_MAX) {
		r = cfg_fail(st, "too many accounts (the limit is %d)", CFG_ACCOUNTS_MAX);
		goto out;
	}
	a = xcalloc(1, sizeof *a);
	a->name = xstrdup(name);
	a->path = xstrdup(st->path);
	a->decl_line = st->lineno;
	if ((r = cfg_overlay(st, a, &st->defaults)) != 0)
		goto out;
	while (colon != NULL) {
		const char *comma;

		s = colon + 1;
		comma = strchr(s, ',');
		e = comma != NULL ? comma : s + strlen(s);
		colon = comma;
		cfg_trim(&s, &e);
		if (s == e) {
			r = cfg_fail(st, "account '%s': a parent account name is missing after '%c'",
				     cfg_show(show, sizeof show, name), nparents == 0 ? ':' : ',');
			goto out;
		}
		memcpy(parent, s, (size_t)(e - s));
		parent[e - s] = '\0';
		if ((found = cfg_find(cf, parent)) == NULL) {
			r = cfg_fail(st, "account '%s': parent account '%s' is not defined above this line",
				     cfg_show(show, sizeof show, name), cfg_show(show2, sizeof show2, parent));
			goto out;
		}
		if ((r = cfg_overlay(st, a, found)) != 0)
			goto out;
		nparents++;
	}
	st->alias_pending = nparents == 1 && strcmp(name, "default") == 0;
	if (st->alias_pending) {
		cf->default_alias = xstrdup(parent);
		st->alias_line = st->lineno;
	}
	for (tail = &cf->accounts; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = a;
	st->cur = a;
	st->naccounts++;
	a = NULL;
	r = 0;
out:
	cfg_account_free(a);
	return r;
}

/* The key keyword KW sets, and how: CFG_A_SAME for a modern keyword or an
 * alias of it. Returns 0, or -1 when KW is unknown. */
static int cfg_keyword_find(const char *kw, enum cfg_key *k, enum cfg_alias *alias)
{
	size_t i;

	for (i = 0; i < CFG_KEY_COUNT; i++)
		if (cfg_keywords[i].name != NULL && strcmp(kw, cfg_keywords[i].name) == 0) {
			*k = (enum cfg_key)i;
			*alias = CFG_A_SAME;
			return 0;
		}
	for (i = 0; i < sizeof cfg_old_keywords / sizeof cfg_old_keywords[0]; i++)
		if (strcmp(kw, cfg_old_keywords[i].name) == 0) {
			*k = cfg_old_keywords[i].key;
			*alias = cfg_old_keywords[i].alias;
			return 0;
		}
	return -1;
}

/* Check V, the value of keyword KW (spelled NAME in messages), and write the
 * value to store into NORM; *KEY is the key it sets. */
static int cfg_normalise(struct cfg_state *st, const char *kw, const char *name, const char *v, char *norm,
			 long *typed, enum cfg_key *key)
{
	char show[CFG_SHOW_MAX + 8];
	const char *suggest;
	enum cfg_alias alias;
	enum cfg_key k;
	int r;

	if (cfg_keyword_find(kw, &k, &alias) != 0) {
		suggest = cfg_suggest(kw);
		if (suggest != NULL)
			return cfg_fail(st, "unknown keyword '%s'; did you mean '%s'?",
					cfg_show(show, sizeof show, kw), suggest);
		return cfg_fail(st, "unknown keyword '%s'", cfg_show(show, sizeof show, kw));
	}
	switch (alias) {
	case CFG_A_UNSUPPORTED:
		return cfg_fail(st, "%s is not supported: kurier runs no commands from its "
			       "configuration file except passwordeval; write the command's "
			       "output into the file instead", name);
	case CFG_A_SAME:
		if ((r = cfg_check(st, k, name, v, norm, typed)) != 0)
			return r;
		break;
	case CFG_A_OFF:
		if (*v != '\0')
			return cfg_fail(st, "%s takes no value (it means %s off)", name, cfg_keywords[k].name);
		cfg_put(norm, "off");
		*typed = false;
		break;
	case CFG_A_INVERT:
		if ((r = cfg_check_bool(st, name, v, norm, typed)) != 0)
			return r;
		*typed = !*typed;
		cfg_put(norm, *typed ? "on" : "off");
		break;
	case CFG_A_AUTO_OFF:
		if ((r = cfg_check_bool(st, name, v, norm, typed)) != 0)
			return r;
		*typed = *typed ? CFG_HDR_AUTO : CFG_HDR_OFF;
		if (*typed == CFG_HDR_AUTO)
			cfg_put(norm, "auto");
		break;
	}
	*key = k;
	return 0;
}

/* A keyword line other than defaults/account. */
static int cfg_setting(struct cfg_state *st, const char *kw, const char *v, struct cfg_line_bufs *b)
{
	struct cfg_account *target = st->cur != NULL ? st->cur : &st->defaults;
	enum cfg_key k = CFG_KEY_COUNT;
	long typed = 0;
	int r;

	if ((r = cfg_normalise(st, kw, kw, v, b->norm, &typed, &k)) != 0)
		return r;
	if ((r = cfg_set(st, target, k, b->norm, typed, st->lineno)) != 0)
		return r;
	if (k == CFG_PASSWORD && b->norm[0] != '\0')
		st->cf->has_password = true;
	if (st->cur != NULL)
		st->own++;
	return 0;
}

/* One line, without its line ending. */
static int cfg_line(struct cfg_state *st, const char *line, size_t n, struct cfg_line_bufs *b)
{
	const char *p = line, *end = line + n, *kw, *vs, *ve;
	size_t kwlen;
	int r;

	if (n > CFG_LINE_MAX)
		return cfg_fail(st, "line too long (more than %d bytes)", CFG_LINE_MAX);
	if (memchr(line, '\0', n) != NULL)
		return cfg_fail(st, "line contains a NUL byte");
	if (memchr(line, '\r', n) != NULL)
		return cfg_fail(st, "line contains a carriage return that does not end it");
	while (p < end && cfg_blank(*p))
		p++;
	if (p == end || *p == '#')
		return 0;
	kw = p;
	while (p < end && !cfg_blank(*p))
		p++;
	kwlen = (size_t)(p - kw);
	memcpy(b->kw, kw, kwlen);
	b->kw[kwlen] = '\0';
	vs = p;
	ve = end;
	cfg_trim(&vs, &ve);
	if ((r = cfg_unquote(st, vs, (size_t)(ve - vs), b->val)) != 0)
		return r;
	if (strcmp(b->kw, "defaults") == 0) {
		if (b->val[0] != '\0')
			return cfg_fail(st, "defaults takes no value");
		st->sectioned = true;
		cfg_end_section(st);
		return 0;
	}
	if (strcmp(b->kw, "account") == 0) {
		st->sectioned = true;
		return cfg_account_cmd(st, b->val);
	}
	/* As msmtp (since its 1.2 files): settings above the first defaults
	 * or account line are the account "default". System-wide files for
	 * cron mail are often written that way, with no account line. */
	if (!st->sectioned) {
		st->sectioned = true;
		if ((r = cfg_account_cmd(st, "default")) != 0)
			return r;
	}
	return cfg_setting(st, b->kw, b->val, b);
}

int cfg_parse(const char *path, const char *buf, size_t len, struct cfg_file *out,
	      char *err, size_t errlen)
{
	struct cfg_state st;
	struct cfg_line_bufs *b = NULL;
	size_t off = 0;
	int r = 0;

	memset(out, 0, sizeof *out);
	memset(&st, 0, sizeof st);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	st.path = path != NULL ? path : "(buffer)";
	st.cf = out;
	st.err = err;
	st.errlen = errlen;
	out->path = xstrdup(st.path);
	b = xmalloc(sizeof *b);
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		off = 3; /* a UTF-8 byte order mark, as some editors write */
	while (off < len) {
		const char *line = buf + off, *nl = memchr(line, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - off;

		off += n + (nl != NULL);
		st.lineno++;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if ((r = cfg_line(&st, line, n, b)) != 0)
			goto out;
	}
	cfg_end_section(&st);
out:
	explicit_bzero(b, sizeof *b);
	free(b);
	cfg_account_clear(&st.defaults);
	if (r != 0)
		cfg_free(out);
	return r;
}

int cfg_load(const char *path, struct cfg_file *out, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	size_t cap = 0, len = 0;
	int fd = -1, r = -1;

	memset(out, 0, sizeof *out);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = (errno == ENOENT || errno == ENOTDIR) ? -2 : -1;
		errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		errf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (sb.st_size > CFG_FILE_MAX) {
		errf(err, errlen, "%s: file too large (more than %d bytes)", path, CFG_FILE_MAX);
		goto out;
	}
	/* One byte more than the limit, to notice a file that grew. */
	cap = (size_t)sb.st_size + 1;
	buf = xmalloc(cap);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap * 2 > (size_t)CFG_FILE_MAX + 1 ? (size_t)CFG_FILE_MAX + 1 : cap * 2;
			char *nbuf;

			if (ncap <= cap) {
				errf(err, errlen, "%s: file too large (more than %d bytes)", path,
					 CFG_FILE_MAX);
				goto out;
			}
			nbuf = xmalloc(ncap);
			memcpy(nbuf, buf, len);
			explicit_bzero(buf, cap);
			free(buf);
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			errf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CFG_FILE_MAX) {
		errf(err, errlen, "%s: file too large (more than %d bytes)", path, CFG_FILE_MAX);
		goto out;
	}
	if ((r = cfg_parse(path, buf, len, out, err, errlen)) != 0)
		goto out;
	if (out->has_password && (sb.st_mode & 077) != 0) {
		cfg_free(out);
		errf(err, errlen, "%s: contains a password but is readable by group or others; "
			 "run 'chmod 600 %s'", path, path);
		r = -1;
		goto out;
	}
	r = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, cap);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	return r;
}

void cfg_free(struct cfg_file *cf)
{
	struct cfg_account *a, *next;

	if (cf == NULL)
		return;
	for (a = cf->accounts; a != NULL; a = next) {
		next = a->next;
		cfg_account_free(a);
	}
	free(cf->path);
	free(cf->default_alias);
	memset(cf, 0, sizeof *cf);
}

void cfg_merge(struct cfg_file *user, struct cfg_file *sys)
{
	struct cfg_account **tail, *a, *next;

	for (tail = &user->accounts; *tail != NULL; tail = &(*tail)->next)
		;
	for (a = sys->accounts; a != NULL; a = next) {
		next = a->next;
		a->next = NULL;
		if (cfg_find(user, a->name) != NULL) {
			cfg_account_free(a);
			continue;
		}
		*tail = a;
		tail = &a->next;
	}
	sys->accounts = NULL;
	if (user->default_alias == NULL && cfg_find(user, "default") == NULL) {
		user->default_alias = sys->default_alias;
		sys->default_alias = NULL;
	}
	user->has_password = user->has_password || sys->has_password;
}

const struct cfg_account *cfg_find(const struct cfg_file *cf, const char *name)
{
	const struct cfg_account *a;

	if (cf == NULL || name == NULL)
		return NULL;
	for (a = cf->accounts; a != NULL; a = a->next)
		if (strcmp(a->name, name) == 0)
			return a;
	if (strcmp(name, "default") == 0 && cf->default_alias != NULL)
		for (a = cf->accounts; a != NULL; a = a->next)
			if (strcmp(a->name, cf->default_alias) == 0)
				return a;
	return NULL;
}

const struct cfg_account *cfg_find_by_from(const struct cfg_file *cf, const char *addr)
{
	const struct cfg_account *a;

	if (cf == NULL || addr == NULL)
		return NULL;
	for (a = cf->accounts; a != NULL; a = a->next) {
		const char *pat = a->val[CFG_FROM];

		if (pat != NULL && *pat != '\0' && fnmatch(pat, addr, FNM_CASEFOLD) == 0)
			return a;
	}
	return NULL;
}

const char *cfg_key_name(enum cfg_key k)
{
	if ((int)k < 0 || k >= CFG_KEY_COUNT || cfg_keywords[k].name == NULL)
		return "(unknown)";
	return cfg_keywords[k].name;
}

int cfg_key_lookup(const char *name)
{
	int k;

	if (name == NULL)
		return -1;
	for (k = 0; k < CFG_KEY_COUNT; k++)
		if (cfg_keywords[k].name != NULL && strcmp(name, cfg_keywords[k].name) == 0)
			return k;
	return -1;
}

/* What a typed read of key K gets. */
enum cfg_kind {
	CFG_K_STRING,  /* nothing: val[k] is the value */
	CFG_K_BOOL,
	CFG_K_NUMBER,  /* 0 for off or empty */
	CFG_K_ENUM
};

static enum cfg_kind cfg_kind(enum cfg_key k)
{
	switch (cfg_keywords[k].type) {
	case CFG_T_BOOL:
		return CFG_K_BOOL;
	case CFG_T_PORT:
	case CFG_T_TIMEOUT:
	case CFG_T_BITS:
	case CFG_T_DURATION:
		return CFG_K_NUMBER;
	case CFG_T_AUTO_ON_OFF:
	case CFG_T_AUTH:
	case CFG_T_PROTOCOL:
	case CFG_T_DSN_NOTIFY:
	case CFG_T_DSN_RETURN:
	case CFG_T_SYSLOG:
	case CFG_T_TO_HEADER:
	case CFG_T_QUEUE:
		return CFG_K_ENUM;
	case CFG_T_NAMES:
	case CFG_T_STRING:
	case CFG_T_REQUIRED:
	case CFG_T_FINGERPRINT:
	case CFG_T_ADDRESS:
		break;
	}
	return CFG_K_STRING;
}

/* Whether A has a value of K, which is a key of kind KIND. */
static bool cfg_has(const struct cfg_account *a, enum cfg_key k, enum cfg_kind kind)
{
	return a != NULL && (int)k >= 0 && k < CFG_KEY_COUNT && a->val[k] != NULL && cfg_kind(k) == kind;
}

bool cfg_bool(const struct cfg_account *a, enum cfg_key k, bool dflt)
{
	return cfg_has(a, k, CFG_K_BOOL) ? a->typed[k] != 0 : dflt;
}

long cfg_long(const struct cfg_account *a, enum cfg_key k, long dflt)
{
	return cfg_has(a, k, CFG_K_NUMBER) && a->typed[k] != 0 ? a->typed[k] : dflt;
}

int cfg_enum(const struct cfg_account *a, enum cfg_key k, int dflt)
{
	return cfg_has(a, k, CFG_K_ENUM) ? (int)a->typed[k] : dflt;
}

bool cfg_key_is_secret(enum cfg_key k)
{
	return k == CFG_PASSWORD;
}

struct cfg_account *cfg_account_new(const char *name, const char *path)
{
	struct cfg_account *a = xcalloc(1, sizeof *a);

	a->name = xstrdup(name);
	a->path = xstrdup(path);
	return a;
}

struct cfg_account *cfg_account_dup(const struct cfg_account *src)
{
	struct cfg_account *a = cfg_account_new(src->name, src->path);
	int k;

	for (k = 0; k < CFG_KEY_COUNT; k++) {
		a->val[k] = src->val[k] != NULL ? xstrdup(src->val[k]) : NULL;
		a->typed[k] = src->typed[k];
		a->line[k] = src->line[k];
	}
	a->decl_line = src->decl_line;
	return a;
}

/* An empty value unsets a key, except where the file gives "" a meaning of
 * its own: the on/off keys, auth, syslog, set_*_header and set_to_header
 * (all "on"), and the old spellings that stand for a boolean. */
static bool cfg_empty_unsets(enum cfg_key k, enum cfg_alias alias)
{
	if (alias != CFG_A_SAME)
		return false;
	switch (cfg_keywords[k].type) {
	case CFG_T_BOOL:
	case CFG_T_AUTO_ON_OFF:
	case CFG_T_AUTH:
	case CFG_T_SYSLOG:
		return false;
	case CFG_T_TO_HEADER:
		return false;
	default:
		return true;
	}
}

int cfg_account_override(struct cfg_account *a, const char *keyword, const char *value, const char *origin,
			 char *err, size_t errlen)
{
	struct cfg_state st;
	struct cfg_line_bufs *b = NULL;
	const char *name = origin != NULL ? origin : keyword;
	enum cfg_alias alias;
	enum cfg_key k;
	long typed = 0;
	int r;

	memset(&st, 0, sizeof st);
	st.err = err;
	st.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* A file line can hold neither, and a value with a line break would
	 * end up inside an SMTP command (EHLO, the envelope) or a header. */
	if (strpbrk(value, "\r\n") != NULL) {
		r = cfg_fail(&st, "%s: a value cannot contain a line break", name);
		goto out;
	}
	if (strlen(value) > CFG_LINE_MAX) {
		r = cfg_fail(&st, "%s: value too long (more than %d bytes)", name, CFG_LINE_MAX);
		goto out;
	}
	if (*value == '\0' && cfg_keyword_find(keyword, &k, &alias) == 0 && cfg_empty_unsets(k, alias)) {
		cfg_free_value(k, a->val[k]);
		a->val[k] = NULL;
		a->typed[k] = 0;
		a->line[k] = 0;
		r = 0;
		goto out;
	}
	b = xmalloc(sizeof *b);
	if ((r = cfg_normalise(&st, keyword, name, value, b->norm, &typed, &k)) != 0)
		goto out;
	r = cfg_set(&st, a, k, b->norm, typed, 0);
out:
	if (b != NULL) {
		explicit_bzero(b, sizeof *b);
		free(b);
	}
	return r;
}

const struct cfg_account *cfg_choose(const struct cfg_file *cf, const char *name, const char *sender,
					 char *err, size_t errlen)
{
	const struct cfg_account *a;

	if (name != NULL) {
		if ((a = cfg_find(cf, name)) == NULL)
			errf(err, errlen, "%s: no account named '%s'; check -a or the account lines",
				     cf->path, name);
		return a;
	}
	if (sender != NULL && *sender != '\0' && (a = cfg_find_by_from(cf, sender)) != NULL)
		return a;
	if ((a = cfg_find(cf, "default")) != NULL)
		return a;
	if (cf->accounts != NULL && cf->accounts->next == NULL)
		return cf->accounts;
	errf(err, errlen, "%s: no account 'default' and more than one account; "
		     "add 'account default : NAME' or choose one with -a NAME", cf->path);
	return NULL;
}

int cfg_load_files(const struct cfg_places *p, struct cfg_file *cf, struct cfg_loaded *l, char *err,
		   size_t errlen)
{
	char path[3][4096], serr[512];
	struct cfg_file sys;
	size_t i;
	int r = -2, rs;

	memset(l, 0, sizeof *l);
	memset(cf, 0, sizeof *cf);
	if (p->xdg_config_home != NULL && *p->xdg_config_home != '\0')
		snprintf(path[0], sizeof path[0], "%s/kurier/config", p->xdg_config_home);
	else
		snprintf(path[0], sizeof path[0], "%s/.config/kurier/config", p->home);
	snprintf(path[1], sizeof path[1], "%s/.kurierrc", p->home);
	snprintf(path[2], sizeof path[2], "%s/.msmtprc", p->home);
	if (p->user_file != NULL) {
		if ((r = cfg_load(p->user_file, cf, err, errlen)) != 0)
			return -1;
		snprintf(l->user, sizeof l->user, "%s", p->user_file);
	}
	for (i = 0; p->user_file == NULL && i < 3; i++) {
		r = cfg_load(path[i], cf, err, errlen);
		if (r == 0) {
			snprintf(l->user, sizeof l->user, "%s", path[i]);
			l->user_is_msmtp = i == 2;
			break;
		}
		if (r != -2)
			return -1;
	}
	rs = cfg_load(p->system_file, &sys, serr, sizeof serr);
	if (rs == 0) {
		l->system = true;
		if (r != 0) {
			*cf = sys;
			return 0;
		}
		cfg_merge(cf, &sys);
		cfg_free(&sys);
		return 0;
	}
	if (r == 0) {
		/* The user's own file serves; a system file this user may not
		 * read (root's, mode 0600) is no error, a broken one a warning. */
		if (rs != -2 && !(access(p->system_file, R_OK) != 0 && errno == EACCES))
			snprintf(l->warning, sizeof l->warning, "system configuration file skipped: %s", serr);
		return 0;
	}
	if (rs != -2) {
		errf(err, errlen, "%s", serr);
		return -1;
	}
	errf(err, errlen, "no configuration file found (looked for %s, %s, %s and %s); "
		 "create one as described in kurierrc(5), or give one with -C FILE",
		 path[0], path[1], path[2], p->system_file);
	return 1;
}
