/* main.c: request from the command line, account from the config, message
 * from stdin, then one session; exits only through the outcome table. */
#include <errno.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "address.h"
#include "aliases.h"
#include "auth.h"
#include "cli.h"
#include "config.h"
#include "diag.h"
#include "facts.h"
#include "log.h"
#include "message.h"
#include "outcome.h"
#include "secret.h"
#include "session.h"
#include "spool.h"
#include "tls.h"
#include "tls-cache.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* msmtp's last resort when no configuration file exists: SMTPSERVER is the
 * host and EMAIL the envelope sender of an account "(environment)". Returns
 * 0 without SMTPSERVER, 1 when CF holds that account, -1 on a bad value
 * (reported). */
static int env_account(struct cfg_file *cf)
{
	const char *host = getenv("SMTPSERVER"), *email = getenv("EMAIL");
	struct cfg_account *a;
	char err[KURIER_ERRLEN];

	if (host == NULL || *host == '\0')
		return 0;
	memset(cf, 0, sizeof *cf);
	cf->path = xstrdup("environment");
	a = cfg_account_new("(environment)", "environment");
	if (cfg_account_override(a, "host", host, "SMTPSERVER", err, sizeof err) != 0 ||
	    (email != NULL && *email != '\0' && cfg_account_override(a, "from", email, "EMAIL", err, sizeof err) != 0)) {
		diag_error("environment: %s", err);
		cfg_account_free(a);
		return -1;
	}
	cf->accounts = a;
	return 1;
}

/* The configuration: the user's file (-C FILE, or the first of kurier's
 * own names and ~/.msmtprc) and the system file, merged as msmtp does:
 * the user's accounts first, then the system accounts the user file does
 * not define. Returns OUTCOME_OK and fills CF, or prints why not. */
static enum outcome load_config(const struct request *req, const struct diag *d, struct cfg_file *cf)
{
	char err[KURIER_ERRLEN], path[4][4096];
	const char *xdg = getenv("XDG_CONFIG_HOME");
	struct cfg_file sys;
	size_t i, n = 0;
	int r = -2, rs;

	/* msmtp: --host without -a takes every setting from the command line
	 * and reads no file (cli.c refuses -C with it). */
	if (req->has_host && req->account == NULL) {
		memset(cf, 0, sizeof *cf);
		cf->path = xstrdup("command line");
		cf->accounts = cfg_account_new("(command line)", "command line");
		return OUTCOME_OK;
	}
	if (xdg != NULL && *xdg != '\0')
		snprintf(path[n++], sizeof path[0], "%s/kurier/config", xdg);
	else
		snprintf(path[n++], sizeof path[0], "%s/.config/kurier/config", facts_home_dir());
	snprintf(path[n++], sizeof path[0], "%s/.kurierrc", facts_home_dir());
	snprintf(path[n++], sizeof path[0], "%s/.msmtprc", facts_home_dir());
	if (req->config_file != NULL) {
		r = cfg_load(req->config_file, cf, err, sizeof err);
		if (r != 0) {
			diag_error("%s", err);
			return OUTCOME_CONFIG;
		}
	}
	for (i = 0; req->config_file == NULL && i < n; i++) {
		r = cfg_load(path[i], cf, err, sizeof err);
		if (r == 0) {
			diag_note(d, 1, "using configuration file %s%s", path[i],
				  i == 2 ? " (an msmtp configuration file)" : "");
			break;
		}
		if (r != -2) {
			diag_error("%s", err);
			return OUTCOME_CONFIG;
		}
	}
	snprintf(path[3], sizeof path[3], "%s/kurierrc", SYSCONFDIR);
	rs = cfg_load(path[3], &sys, err, sizeof err);
	if (rs == 0) {
		diag_note(d, 1, "using system configuration file %s", path[3]);
		if (r != 0) {
			*cf = sys;
			return OUTCOME_OK;
		}
		cfg_merge(cf, &sys);
		cfg_free(&sys);
		return OUTCOME_OK;
	}
	if (r == 0) {
		/* The user's own file serves; a system file this user may not
		 * read (root's, mode 0600) is no error, a broken one a warning. */
		if (rs != -2 && !(access(path[3], R_OK) != 0 && errno == EACCES))
			diag_warn("system configuration file skipped: %s", err);
		return OUTCOME_OK;
	}
	if (rs != -2) {
		diag_error("%s", err);
		return OUTCOME_CONFIG;
	}
	if ((r = env_account(cf)) != 0)
		return r > 0 ? OUTCOME_OK : OUTCOME_CONFIG;
	diag_error("no configuration file found (looked for %s, %s, %s and %s); "
		   "create one as described in kurierrc(5), or give one with -C FILE",
		   path[0], path[1], path[2], path[3]);
	return OUTCOME_CONFIG;
}

static int discard_sink(void *ctx, const char *buf, size_t len, char *err, size_t errlen)
{
	(void)ctx, (void)buf, (void)len, (void)err, (void)errlen;
	return 0;
}

/* true when BUF holds the empty line that ends a header block */
static bool header_block_ends(const char *buf, size_t len)
{
	size_t i;

	if ((len >= 1 && buf[0] == '\n') || (len >= 2 && buf[0] == '\r' && buf[1] == '\n'))
		return true;
	for (i = 0; i + 1 < len; i++)
		if (buf[i] == '\n' && (buf[i + 1] == '\n' || (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')))
			return true;
	return false;
}

/* --read-envelope-from without -f: the account follows the From header,
 * and that account's header rules apply to this very message, so the
 * header block is read first. HEAD keeps those bytes (at most the header
 * block limit and one read more) to be fed to the real reader; FROM is the
 * From (or Resent-From) address, or NULL. */
static enum outcome peek_header(const struct request *req, char **head, size_t *headlen, char **from)
{
	struct msg_opts mo = { .ignore_dots = req->ignore_dots, .set_from = MSG_FROM_OFF };
	struct msg_reader *probe;
	char err[KURIER_ERRLEN];
	size_t cap = 65536, len = 0;
	char *buf = xmalloc(cap);

	*from = NULL;
	while (!header_block_ends(buf, len) && len <= MSG_HEADER_BLOCK_MAX) {
		ssize_t n;

		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(0, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_error("cannot read the message from standard input: %s; nothing was sent",
				   strerror(errno));
			free(buf);
			return OUTCOME_IOERR;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* A header the probe refuses is refused again, with its message, by
	 * the real reader; here it only means no From to go by. */
	probe = msg_reader_new(&mo, discard_sink, NULL);
	if (msg_reader_feed(probe, buf, len, err, sizeof err) != MSG_ERROR &&
	    msg_reader_finish(probe, err, sizeof err) != MSG_ERROR && msg_reader_from(probe) != NULL)
		*from = xstrdup(msg_reader_from(probe));
	msg_reader_free(probe);
	*head = buf;
	*headlen = len;
	return OUTCOME_OK;
}

/* Read the message (HEAD, HEADLEN bytes already read, then standard input)
 * into SPOOL through the reader. */
static enum outcome read_message(struct msg_reader *rd, struct spool *sp, const char *head, size_t headlen)
{
	char err[KURIER_ERRLEN];
	char *buf = xmalloc(65536);
	enum outcome o = OUTCOME_OK;
	enum msg_status st = MSG_OK;

	if (headlen > 0)
		st = msg_reader_feed(rd, head, headlen, err, sizeof err);
	/* After the lone dot, read on to count what is not sent; but a
	 * terminal user who typed the dot wants the message to go now. */
	while (st == MSG_OK || (st == MSG_END && !isatty(0))) {
		ssize_t n = read(0, buf, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_error("cannot read the message from standard input: %s; nothing was sent",
				   strerror(errno));
			o = OUTCOME_IOERR;
			goto out;
		}
		if (n == 0)
			break;
		st = msg_reader_feed(rd, buf, (size_t)n, err, sizeof err);
	}
	if (st == MSG_OK)
		st = msg_reader_finish(rd, err, sizeof err);
	if (st == MSG_ERROR) {
		diag_error("message: %s; nothing was sent", err);
		/* a spool failure is the system's fault, a bad header the input's */
		o = strncmp(err, "cannot ", 7) == 0 ? OUTCOME_OSERR : OUTCOME_DATAERR;
		goto out;
	}
	{
		unsigned line;
		uint64_t after = msg_reader_after_dot(rd, &line);
		if (after > 0)
			diag_warn("input line %u is a lone '.', which ends the message without -i; the %llu bytes "
				  "after it were not sent; give -i (or -oi) to send them", line,
				  (unsigned long long)after);
	}
	if (spool_seal(sp, err, sizeof err) != 0) {
		diag_error("%s", err);
		o = OUTCOME_OSERR;
	}
out:
	free(buf);
	return o;
}

static const struct cfg_account *choose_account(const struct request *req, const struct cfg_file *cf,
						const char *sender, enum outcome *o)
{
	const struct cfg_account *a = NULL;

	*o = OUTCOME_OK;
	if (req->account != NULL) {
		a = cfg_find(cf, req->account);
		if (a == NULL) {
			diag_error("%s: no account named '%s'; check -a or the account lines", cf->path,
				   req->account);
			*o = OUTCOME_CONFIG;
		}
		return a;
	}
	if (sender != NULL && *sender != '\0' && (a = cfg_find_by_from(cf, sender)) != NULL)
		return a;
	if ((a = cfg_find(cf, "default")) != NULL)
		return a;
	if (cf->accounts != NULL && cf->accounts->next == NULL)
		return cf->accounts;
	diag_error("%s: no account 'default' and more than one account; "
		   "add 'account default : NAME' or choose one with -a NAME", cf->path);
	*o = OUTCOME_CONFIG;
	return NULL;
}

/* The account CHOOSE_ACCOUNT picks, as a private copy (*OWN, the caller
 * frees it) with the command line's settings applied in order: msmtp's
 * options override the account. A bad value is the command line's fault
 * (64), as a bad -N is. */
static const struct cfg_account *choose_account_overridden(const struct request *req,
							   const struct cfg_file *cf, const char *sender,
							   struct cfg_account **own, enum outcome *o)
{
	const struct cfg_account *a = choose_account(req, cf, sender, o);
	char err[KURIER_ERRLEN], opt[64];
	size_t i;

	if (a == NULL)
		return NULL;
	*own = cfg_account_dup(a);
	for (i = 0; i < req->nsettings; i++) {
		const struct cli_setting *s = &req->settings[i];

		snprintf(opt, sizeof opt, "--%s", s->option);
		if (cfg_account_override(*own, s->keyword, s->value, opt, err, sizeof err) != 0) {
			diag_error("command line: %s", err);
			*o = OUTCOME_USAGE;
			return NULL;
		}
	}
	return *own;
}

static void print_pretend(const struct cfg_file *cf, const struct cfg_account *a)
{
	int k;

	printf("account %s (from %s)\n", a->name, a->path);
	for (k = 0; k < CFG_KEY_COUNT; k++) {
		if (a->val[k] == NULL)
			continue;
		printf("%s = %s\n", cfg_key_name((enum cfg_key)k),
		       cfg_key_is_secret((enum cfg_key)k) ? "(hidden)" : a->val[k]);
	}
	if (a->val[CFG_TLS] == NULL)
		printf("tls = on (default: TLS unless the account says 'tls off')\n");
	if (a->val[CFG_PROXY_HOST] != NULL && a->val[CFG_PROXY_HOST][0] != '\0' && a->val[CFG_PROXY_PORT] == NULL)
		printf("proxy_port = 1080 (default)\n");
}

static void print_version(void)
{
	printf("kurier %s\n", PACKAGE_VERSION);
	printf("TLS library: GnuTLS %s\n", tls_library_version());
	printf("SASL library: libgsasl %s\n", auth_library_version());
	printf("IDN library: libidn2 %s\n", addr_library_version());
	printf("System configuration file: %s/kurierrc\n", SYSCONFDIR);
	printf("License: GPL-3.0-or-later. This is free software; there is NO WARRANTY.\n");
}

/* Qualify a bare local part with maildomain, check the result. */
static int check_address(const struct cfg_account *a, const char *what, bool allow_empty, char **addr)
{
	char err[KURIER_ERRLEN];

	if (**addr != '\0' && addr_domain(*addr) == NULL && a->val[CFG_MAILDOMAIN] != NULL) {
		size_t n = strlen(*addr) + strlen(a->val[CFG_MAILDOMAIN]) + 2;
		char *q = xmalloc(n);
		snprintf(q, n, "%s@%s", *addr, a->val[CFG_MAILDOMAIN]);
		free(*addr);
		*addr = q;
	}
	if (addr_check(*addr, allow_empty, err, sizeof err) != 0) {
		char safe[400];
		diag_error("bad %s '%s': %s", what, diag_printable(*addr, safe, sizeof safe), err);
		return -1;
	}
	if (**addr != '\0' && addr_domain(*addr) == NULL) {
		diag_error("%s '%s' has no domain; write it as user@domain or set maildomain in the account",
			   what, *addr);
		return -1;
	}
	/* RFC 5890: a non-ASCII domain goes out as A-labels, which every server
	 * takes; only a non-ASCII local part needs SMTPUTF8. */
	if (!addr_domain_is_ascii(*addr)) {
		const char *at = addr_domain(*addr) - 1;
		char *alabel = NULL, *q;
		size_t n;
		if (addr_host_to_ascii(at + 1, &alabel, err, sizeof err) != 0) {
			char safe[400];
			diag_error("bad %s '%s': %s", what, diag_printable(*addr, safe, sizeof safe), err);
			return -1;
		}
		n = (size_t)(at - *addr) + strlen(alabel) + 2;
		q = xmalloc(n);
		snprintf(q, n, "%.*s@%s", (int)(at - *addr), *addr, alabel);
		free(alabel);
		free(*addr);
		*addr = q;
	}
	return 0;
}

static void ehlo_default(char *buf, size_t len)
{
	if (gethostname(buf, len) != 0 || strchr(buf, '.') == NULL)
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
}

/* Where and how to connect, from the account. RFC 8314: implicit TLS on
 * 465 (or with tls_starttls off), else STARTTLS; the port follows. */
static void session_conf_fill(struct session_conf *sc, const struct cfg_file *cf,
			      const struct cfg_account *a, char *ehlo, size_t ehlolen, char *port,
			      size_t portlen)
{
	bool tls = cfg_bool(a, CFG_TLS, true);
	bool starttls = cfg_bool(a, CFG_TLS_STARTTLS, true);
	long dflt = !tls ? 25 : starttls ? 587 : 465;
	long p = cfg_long(a, CFG_PORT, dflt);

	if (a->val[CFG_DOMAIN] != NULL)
		snprintf(ehlo, ehlolen, "%s", a->val[CFG_DOMAIN]);
	else
		ehlo_default(ehlo, ehlolen);
	snprintf(port, portlen, "%ld", p);
	memset(sc, 0, sizeof *sc);
	sc->tls = !tls ? SESSION_TLS_OFF
		: (!starttls || (p == 465 && a->val[CFG_TLS_STARTTLS] == NULL)) ? SESSION_TLS_IMPLICIT
		: SESSION_TLS_STARTTLS;
	sc->account = a->name;
	sc->config_path = a->path;
	sc->host = a->val[CFG_HOST];
	sc->port = port;
	sc->ehlo_name = ehlo;
	sc->timeout_s = (int)cfg_long(a, CFG_TIMEOUT, 0);
	/* msmtp: SOCKS5, port 1080 unless proxy_port says; empty: no proxy */
	if (a->val[CFG_PROXY_HOST] != NULL && a->val[CFG_PROXY_HOST][0] != '\0') {
		sc->proxy_host = a->val[CFG_PROXY_HOST];
		sc->proxy_port = a->val[CFG_PROXY_PORT] != NULL ? a->val[CFG_PROXY_PORT] : "1080";
	}
}

struct tls_setup {
	struct tls_conf conf;
	char *host;      /* A-label form of host */
	char *verify;    /* A-label form of tls_host_override */
	char *cache;
};

/* Fill TS and SC's TLS part from account A; warn about weak settings. */
static enum outcome tls_setup(const struct cfg_file *cf, const struct cfg_account *a,
			      struct session_conf *sc, struct tls_setup *ts)
{
	char err[KURIER_ERRLEN];
	const char *fp = a->val[CFG_TLS_FINGERPRINT];

	if (addr_host_to_ascii(a->val[CFG_HOST], &ts->host, err, sizeof err) != 0) {
		diag_error("%s:%u: %s", a->path, a->line[CFG_HOST], err);
		return OUTCOME_CONFIG;
	}
	sc->host = ts->host;
	if (sc->tls == SESSION_TLS_OFF)
		return OUTCOME_OK;
	if (a->val[CFG_TLS_HOST_OVERRIDE] != NULL &&
	    addr_host_to_ascii(a->val[CFG_TLS_HOST_OVERRIDE], &ts->verify, err, sizeof err) != 0) {
		diag_error("%s:%u: %s", a->path, a->line[CFG_TLS_HOST_OVERRIDE], err);
		return OUTCOME_CONFIG;
	}
	ts->cache = tls_cache_path(a->name, ts->host, sc->port);
	ts->conf.host = ts->host;
	ts->conf.verify_name = ts->verify != NULL ? ts->verify : ts->host;
	ts->conf.trust_file = a->val[CFG_TLS_TRUST_FILE];
	ts->conf.crl_file = a->val[CFG_TLS_CRL_FILE];
	ts->conf.fingerprint = fp;
	ts->conf.certcheck = cfg_bool(a, CFG_TLS_CERTCHECK, true);
	ts->conf.cert_file = a->val[CFG_TLS_CERT_FILE];
	ts->conf.key_file = a->val[CFG_TLS_KEY_FILE];
	ts->conf.priorities = a->val[CFG_TLS_PRIORITIES];
	ts->conf.min_dh_prime_bits = (int)cfg_long(a, CFG_TLS_MIN_DH_PRIME_BITS, 0);
	ts->conf.cache_file = ts->cache;
	sc->tls_conf = &ts->conf;
	if (!ts->conf.certcheck)
		diag_warn("%s:%u: tls_certcheck off: the server's certificate is not checked, so anyone on "
			  "the network path can read and change this session; pin it with tls_fingerprint instead",
			  a->path, a->line[CFG_TLS_CERTCHECK]);
	else if (fp != NULL && tls_fingerprint_is_weak(fp))
		diag_warn("%s:%u: tls_fingerprint is an %s fingerprint, which is weak; use the SHA-256 one "
			  "(kurier --serverinfo shows it)", a->path, a->line[CFG_TLS_FINGERPRINT],
			  strlen(fp) == 47 ? "MD5" : "SHA-1");
	return OUTCOME_OK;
}

static void tls_setup_free(struct tls_setup *ts)
{
	free(ts->host);
	free(ts->verify);
	free(ts->cache);
}

/* The AUTH mode the account asks for: "ON", a mechanism, or NULL. */
static const char *auth_mode_of(const struct cfg_account *a)
{
	const char *v = a->val[CFG_AUTH], *user = a->val[CFG_USER];

	/* A configured user means the credentials are meant to be used. */
	if ((v == NULL && user != NULL && *user != '\0') || (v != NULL && strcasecmp(v, "on") == 0))
		return "ON";
	if (v != NULL && strcasecmp(v, "off") != 0)
		return v;
	return NULL;
}

/* The certificate or the Kerberos ticket is the credential, and it names
 * the user: EXTERNAL and GSSAPI need no user line and no password. */
static bool auth_needs_user(const struct cfg_account *a)
{
	const char *mode = auth_mode_of(a);

	return mode != NULL && strcasecmp(mode, "EXTERNAL") != 0 && strcasecmp(mode, "GSSAPI") != 0;
}

/* Whether and how to authenticate, and the secret: password, then
 * passwordeval, then ~/.netrc, then a prompt on the terminal. */
static enum outcome auth_setup(const struct cfg_file *cf, const struct cfg_account *a,
			       const char **mode, char **secret)
{
	const char *v = a->val[CFG_AUTH], *user = a->val[CFG_USER], *host = a->val[CFG_HOST];
	char err[KURIER_ERRLEN], path[4096];
	int r;

	*mode = auth_mode_of(a);
	if (*mode == NULL || !auth_needs_user(a))
		return OUTCOME_OK;
	if (user == NULL || *user == '\0') {
		diag_error("%s:%u: account '%s' has auth %s but no user; add 'user NAME'", a->path,
			   a->line[CFG_AUTH], a->name, v);
		return OUTCOME_CONFIG;
	}
	if (a->val[CFG_PASSWORD] != NULL) {
		*secret = xstrdup(a->val[CFG_PASSWORD]);
		return OUTCOME_OK;
	}
	if (a->val[CFG_PASSWORDEVAL] != NULL) {
		if (secret_eval(a->val[CFG_PASSWORDEVAL], secret, err, sizeof err) != 0) {
			diag_error("%s:%u: %s; fix the command or the passwordeval line", a->path,
				   a->line[CFG_PASSWORDEVAL], err);
			return OUTCOME_CONFIG;
		}
		return OUTCOME_OK;
	}
	snprintf(path, sizeof path, "%s/.netrc", facts_home_dir());
	r = secret_netrc(path, host, user, secret, err, sizeof err);
	if (r < 0) {
		diag_error("%s", err);
		return OUTCOME_CONFIG;
	}
	if (r == 0)
		return OUTCOME_OK;
	{
		char prompt[600];
		snprintf(prompt, sizeof prompt, "password for %s at %s: ", user, host);
		if (secret_prompt(prompt, secret) == 0)
			return OUTCOME_OK;
	}
	diag_error("%s: account '%s' has no password for %s: add password or passwordeval, "
		   "a line in ~/.netrc, or run kurier from a terminal to be asked", a->path, a->name, user);
	return OUTCOME_CONFIG;
}

/* The account's from with %U (user), %H (host name), %C (canonical host
 * name), %M (/etc/mailname) and %% expanded; NULL when it has none or it
 * is a pattern (wildcards) rather than an address. Only the facts the
 * pattern names are looked up, each once. */
static char *account_sender(const struct cfg_account *a)
{
	const char *f = a != NULL ? a->val[CFG_FROM] : NULL;
	struct host_facts hf;

	facts_gather(&hf, addr_from_pattern_needs(f));
	return addr_expand_from_pattern(f, &hf);
}

/* The header fields kurier adds when the message lacks them (account
 * keywords set_from_header, set_date_header, set_msgid_header, set_to_header). A is NULL
 * when the account is chosen by the From header, which then exists. A full
 * name that cannot be put in From is refused: -F with 64 (the command
 * line), from_full_name with 78 (the configuration). RND, RNDLEN
 * unpredictable bytes from the caller, make the Message-ID unique; without
 * them (NULL) none is added. */
static enum outcome header_fixups(const struct cfg_file *cf, const struct request *req,
				  const struct cfg_account *a, const char *addr, struct msg_opts *mo,
				  char *date, size_t datelen, char *msgid, size_t msgidlen,
				  char **from_value, char *msgid_domain, size_t msgid_domain_len,
				  const unsigned char *rnd, size_t rndlen)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const char *sf = a != NULL ? a->val[CFG_SET_FROM_HEADER] : "off";
	const char *sd = a != NULL ? a->val[CFG_SET_DATE_HEADER] : NULL;
	const char *sm = a != NULL ? a->val[CFG_SET_MSGID_HEADER] : NULL;
	const char *st;
	const char *name = req->full_name;
	time_t now = time(NULL);
	struct tm tm;

	/* set_to_header is undisclosed_recipients by another name; a value
	 * other than on or off is the To field body to put in their place. */
	mo->undisclosed = a != NULL && cfg_bool(a, CFG_UNDISCLOSED_RECIPIENTS, false);
	st = a != NULL ? a->val[CFG_SET_TO_HEADER] : NULL;
	if (st != NULL && strcmp(st, "off") != 0) {
		mo->undisclosed = true;
		if (*st != '\0' && strcmp(st, "on") != 0)
			mo->to_value = st;
	}
	mo->set_from = sf == NULL || strcmp(sf, "auto") == 0 ? MSG_FROM_AUTO
		     : strcmp(sf, "on") == 0 ? MSG_FROM_ON : MSG_FROM_OFF;
	if (name == NULL && a != NULL)
		name = a->val[CFG_FROM_FULL_NAME];
	if (addr != NULL && *addr != '\0' && addr_domain(addr) != NULL) {
		char err[KURIER_ERRLEN];
		*from_value = msg_name_addr(name != NULL ? name : "", addr, MSG_FROM_FIRST_ROOM, err, sizeof err);
		if (*from_value == NULL) {
			if (name == req->full_name) {
				diag_error("-F: %s; give the full name in UTF-8", err);
				return OUTCOME_USAGE;
			}
			diag_error("%s:%u: from_full_name: %s; write the name in UTF-8", cf->path,
				   a->line[CFG_FROM_FULL_NAME], err);
			return OUTCOME_CONFIG;
		}
		mo->from_value = *from_value;
		snprintf(msgid_domain, msgid_domain_len, "%s", addr_domain(addr));
		mo->msgid_domain = msgid_domain;
	}
	/* RFC 5322 3.3, with English names whatever the locale. */
	if (sd == NULL || strcmp(sd, "off") != 0) {
		long off;
		localtime_r(&now, &tm);
		off = tm.tm_gmtoff / 60;
		snprintf(date, datelen, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday],
			 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
		mo->date = date;
	}
	if ((sm == NULL || strcmp(sm, "off") != 0) && rnd != NULL) {
		size_t i, o = 0;
		for (i = 0; i < rndlen && o + 3 < msgidlen; i++)
			o += (size_t)snprintf(msgid + o, msgidlen - o, "%02x", rnd[i]);
		snprintf(msgid + o, msgidlen - o, ".%lld", (long long)now);
		mo->msgid_left = msgid;
	}
	return OUTCOME_OK;
}

/* Local recipients (no '@') through the account's aliases file. */
static enum outcome expand_aliases(const struct cfg_file *cf, const struct cfg_account *a,
				   struct addr_list *rcpts)
{
	char err[KURIER_ERRLEN];
	struct aliases *al = aliases_load(a->val[CFG_ALIASES], err, sizeof err);
	struct addr_list out = { 0 };

	if (al == NULL) {
		diag_error("%s:%u: aliases: %s", a->path, a->line[CFG_ALIASES], err);
		return OUTCOME_CONFIG;
	}
	if (aliases_expand(al, rcpts, &out, err, sizeof err) != 0) {
		diag_error("%s: %s", a->val[CFG_ALIASES], err);
		aliases_free(al);
		addr_list_free(&out);
		return OUTCOME_CONFIG;
	}
	aliases_free(al);
	addr_list_free(rcpts);
	*rcpts = out;
	return OUTCOME_OK;
}

int main(int argc, char **argv)
{
	struct request req;
	struct cfg_file cf;
	struct spool sp;
	struct msg_reader *rd = NULL;
	struct addr_list rcpts = { 0 };
	const struct cfg_account *acct = NULL;
	struct cfg_account *own = NULL;        /* acct with the command line's settings */
	struct diag d = { 0 };
	struct tls_setup ts;
	struct session_facts facts;
	char err[KURIER_ERRLEN], ehlo[256];
	char *from = NULL, *sender = NULL, *secret = NULL, *from_value = NULL, *head = NULL, *peek_from = NULL;
	size_t headlen = 0;
	char date[64], msgid[128], msgid_domain[256];
	const char *auth_mode = NULL;
	const char *sender_hint = NULL;
	enum outcome o = OUTCOME_OK;
	size_t i;
	bool have_cf = false;

	/* before any config or secret is read: nothing of it in a core dump */
	if (secret_protect_process() != 0)
		diag_warn("cannot turn off core dumps: %s", strerror(errno));
	memset(&cf, 0, sizeof cf);
	memset(&ts, 0, sizeof ts);
	spool_init(&sp);
	if (cli_parse(argc, argv, &req, err, sizeof err) != 0) {
		diag_error("%s", err);
		o = OUTCOME_USAGE;
		goto out;
	}
	d.verbose = req.verbose;
	d.debug = req.debug;
	if (req.mode == CLI_HELP) {
		fputs(cli_help_text, stdout);
		goto out;
	}
	if (req.mode == CLI_VERSION) {
		print_version();
		goto out;
	}
	/* The modes of a queueing sendmail. kurier submits at once and keeps
	 * no queue, and reads aliases files as text on every message. */
	if (req.mode == CLI_QUEUE_LIST) {
		puts("Mail queue is empty");
		goto out;
	}
	if (req.mode == CLI_QUEUE_RUN || req.mode == CLI_NEWALIASES) {
		diag_note(&d, 1, "%s", req.mode == CLI_QUEUE_RUN ? "no queue to run: messages are submitted at once"
								 : "nothing to rebuild: aliases files are read as they are");
		goto out;
	}
	/* CVE-2016-10033 (PHPMailer): a web application that passes an
	 * attacker's sender to sendmail can be made to add -X and write a
	 * file. Under the name sendmail -X is ignored, as Postfix does. */
	if (req.transcript_file != NULL && req.as_sendmail) {
		diag_warn("-X %s ignored: kurier writes no transcript when called as sendmail; "
			  "run it as kurier to get one", req.transcript_file);
		log_syslog_warning("-X option ignored when called as sendmail (uid %ld)", (long)getuid());
	} else if (req.transcript_file != NULL) {
		int fd = log_open_private(req.transcript_file, false, err, sizeof err);
		d.transcript = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (d.transcript == NULL) {
			if (fd >= 0)
				close(fd);
			diag_error("cannot open transcript file %s", err);
			o = OUTCOME_CONFIG;
			goto out;
		}
	}
	if ((o = load_config(&req, &d, &cf)) != OUTCOME_OK)
		goto out;
	have_cf = true;

	/* RFC 5321 envelope sender: -f, then the From header when asked, then
	 * the account's from. Only the From header needs the message first. */
	sender_hint = req.from;
	if (!req.read_envelope_from || req.from != NULL) {
		if ((acct = choose_account_overridden(&req, &cf, sender_hint, &own, &o)) == NULL)
			goto out;
	}
	if (req.mode == CLI_SEND && acct == NULL) {
		if ((o = peek_header(&req, &head, &headlen, &peek_from)) != OUTCOME_OK)
			goto out;
		if ((acct = choose_account_overridden(&req, &cf, peek_from, &own, &o)) == NULL)
			goto out;
	}
	if (req.mode == CLI_SEND) {
		struct msg_opts mo = { .ignore_dots = req.ignore_dots,
				       .collect_rcpts = req.read_recipients,
				       .remove_bcc = acct == NULL || cfg_bool(acct, CFG_REMOVE_BCC_HEADERS, true) };
		unsigned char rnd[9];
		bool have_rnd;
		/* The sender, worked out once: -f (unless allow_from_override is
		 * off), else the account's from; qualified with maildomain, its
		 * domain in A-labels. It is the address of an added From and
		 * the envelope sender (with --read-envelope-from and no -f, the
		 * message's From is, below). */
		sender = cfg_bool(acct, CFG_ALLOW_FROM_OVERRIDE, true) && req.from != NULL ? xstrdup(req.from)
											 : account_sender(acct);
		if (sender != NULL && check_address(acct, "envelope sender", true, &sender) != 0) {
			o = OUTCOME_DATAERR;
			goto out;
		}
		/* the Message-ID's uniqueness, from the TLS library's generator */
		have_rnd = tls_random(rnd, sizeof rnd) == 0;
		if ((o = header_fixups(&cf, &req, acct, sender, &mo, date, sizeof date, msgid, sizeof msgid,
				       &from_value, msgid_domain, sizeof msgid_domain, have_rnd ? rnd : NULL,
				       sizeof rnd)) != OUTCOME_OK)
			goto out;
		rd = msg_reader_new(&mo, spool_write, &sp);
		if ((o = read_message(rd, &sp, head, headlen)) != OUTCOME_OK)
			goto out;
	}
	if (req.read_envelope_from && req.from == NULL)
		sender_hint = rd != NULL ? msg_reader_from(rd) : NULL;
	if (acct == NULL) {
		if ((acct = choose_account_overridden(&req, &cf, sender_hint, &own, &o)) == NULL)
			goto out;
	}
	if (req.mode == CLI_PRETEND)
		print_pretend(&cf, acct);
	/* --pretend too: an account that cannot send is reported as a send
	 * would report it, exit code included. */
	if (acct->val[CFG_HOST] == NULL || *acct->val[CFG_HOST] == '\0') {
		diag_error("%s: account '%s' has no host; add 'host NAME'", acct->path, acct->name);
		o = OUTCOME_CONFIG;
		goto out;
	}
	if (req.mode == CLI_PRETEND) {
		if (auth_needs_user(acct) && (acct->val[CFG_USER] == NULL || *acct->val[CFG_USER] == '\0')) {
			diag_error("%s:%u: account '%s' has auth %s but no user; add 'user NAME'", acct->path,
				   acct->line[CFG_AUTH], acct->name, acct->val[CFG_AUTH]);
			o = OUTCOME_CONFIG;
		}
		goto out;
	}
	if ((o = auth_setup(&cf, acct, &auth_mode, &secret)) != OUTCOME_OK)
		goto out;

	if (req.mode == CLI_SEND) {
		struct smtp_envelope env;
		struct session_conf sc;
		const struct addr_list *hdr = msg_reader_rcpts(rd);
		char port[16];

		/* allow_from_override off: the account's sender, whatever -f or
		 * the From header says */
		if (req.read_envelope_from && req.from == NULL && sender_hint != NULL &&
		    cfg_bool(acct, CFG_ALLOW_FROM_OVERRIDE, true)) {
			from = xstrdup(sender_hint);
			if (check_address(acct, "envelope sender", true, &from) != 0) {
				o = OUTCOME_DATAERR;
				goto out;
			}
		} else if (sender != NULL) {
			from = xstrdup(sender);
		}
		if (from == NULL) {
			diag_error("no envelope sender: give -f ADDR, or set from in account '%s' of %s",
				   acct->name, acct->path);
			o = req.read_envelope_from ? OUTCOME_DATAERR : OUTCOME_CONFIG;
			goto out;
		}
		for (i = 0; i < req.nrcpt_args; i++) {
			const char *arg = req.rcpt_args[i];
			if (addr_list_parse(arg, strlen(arg), &rcpts, err, sizeof err) != 0) {
				char safe[400];
				diag_error("bad recipient '%s': %s", diag_printable(arg, safe, sizeof safe), err);
				o = OUTCOME_DATAERR;
				goto out;
			}
		}
		for (i = 0; i < hdr->n; i++)
			addr_list_add(&rcpts, hdr->v[i]);
		if (acct->val[CFG_ALIASES] != NULL && (o = expand_aliases(&cf, acct, &rcpts)) != OUTCOME_OK)
			goto out;
		if (rcpts.n == 0) {
			diag_error("no recipients; give them as arguments, or use -t to read them from the headers");
			o = OUTCOME_DATAERR;
			goto out;
		}
		memset(&env, 0, sizeof env);
		for (i = 0; i < rcpts.n; i++)
			if (check_address(acct, "recipient", false, &rcpts.v[i]) != 0) {
				o = OUTCOME_DATAERR;
				goto out;
			}
		/* To and Cc naming one address, an alias reached twice: one RCPT. */
		addr_list_dedupe(&rcpts);
		/* RFC 6531: SMTPUTF8 only for what A-labels cannot carry. */
		for (i = 0; i < rcpts.n; i++)
			if (!addr_local_is_ascii(rcpts.v[i]))
				env.smtputf8 = true;
		if (!addr_local_is_ascii(from) || msg_reader_needs_smtputf8(rd))
			env.smtputf8 = true;
		env.from = from;
		env.rcpt = (const char *const *)rcpts.v;
		env.nrcpt = rcpts.n;
		env.size = sp.size;
		env.eightbit = msg_reader_eightbit(rd);
		env.body = req.body;
		/* -N and -R win over the account's dsn_notify and dsn_return. */
		env.dsn_notify = req.dsn_notify;
		if (env.dsn_notify == NULL && acct->val[CFG_DSN_NOTIFY] != NULL &&
		    strcasecmp(acct->val[CFG_DSN_NOTIFY], "off") != 0)
			env.dsn_notify = acct->val[CFG_DSN_NOTIFY];
		env.dsn_ret = req.dsn_return;
		if (env.dsn_ret == NULL && acct->val[CFG_DSN_RETURN] != NULL &&
		    strcasecmp(acct->val[CFG_DSN_RETURN], "off") != 0)
			env.dsn_ret = strcasecmp(acct->val[CFG_DSN_RETURN], "full") == 0 ? "FULL" : "HDRS";
		env.dsn_envid = req.dsn_envid;
		env.dsn_required = cfg_bool(acct, CFG_DSN_REQUIRED, false);

		session_conf_fill(&sc, &cf, acct, ehlo, sizeof ehlo, port, sizeof port);
		if ((o = tls_setup(&cf, acct, &sc, &ts)) != OUTCOME_OK)
			goto out;
		sc.auth = auth_mode;
		sc.user = acct->val[CFG_USER];
		sc.secret = secret;
		sc.longest_body_line = msg_reader_max_body_line(rd);
		o = session_run(&sc, &env, &sp, &d, &facts);
		log_submission(&(struct log_entry){ .account = acct, .session = &sc, .env = &env,
						    .facts = &facts, .outcome = o, .size = sp.size,
						    .after_dot = msg_reader_after_dot(rd, NULL) });
	} else {
		struct session_conf sc;
		char port[16];

		session_conf_fill(&sc, &cf, acct, ehlo, sizeof ehlo, port, sizeof port);
		if ((o = tls_setup(&cf, acct, &sc, &ts)) != OUTCOME_OK)
			goto out;
		sc.serverinfo = true;
		o = session_run(&sc, NULL, &sp, &d, NULL);
	}
out:
	cfg_account_free(own);
	free(sender);
	free(head);
	free(peek_from);
	tls_setup_free(&ts);
	free(from_value);
	xfree_secret(secret);
	free(from);
	addr_list_free(&rcpts);
	msg_reader_free(rd);
	spool_free(&sp);
	if (have_cf)
		cfg_free(&cf);
	cli_free(&req);
	if (d.transcript != NULL)
		fclose(d.transcript);
	/* What kurier prints on standard output (--help, --pretend, -bp, the
	 * logfile -) must arrive; a submission's own log has already warned,
	 * and its outcome stands. */
	if (fflush(stdout) != 0 && req.mode != CLI_SEND) {
		diag_error("cannot write to standard output: %s", strerror(errno));
		if (o == OUTCOME_OK)
			o = OUTCOME_IOERR;
	}
	return outcome_exit_code(o);
}
