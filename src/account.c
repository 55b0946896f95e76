/* account.c: resolves the request and the chosen account into one
 * submission (sender, added header fields, envelope, session settings).
 * Pure: the facts are parameters; it never prints, reads or looks up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "account.h"
#include "diag.h"

const char *account_where(const struct cfg_account *a, enum cfg_key k, char *buf, size_t len)
{
	if (a->line[k] > 0)
		snprintf(buf, len, "%s:%u", a->path, a->line[k]);
	else
		snprintf(buf, len, "%s", strcmp(a->path, "environment") == 0 ? "environment" : "command line");
	return buf;
}

struct cfg_account *account_override(const struct cfg_account *a, const struct request *req,
				     enum outcome *o, char *err, size_t errlen)
{
	struct cfg_account *own = cfg_account_dup(a);
	char msg[KURIER_ERRLEN], opt[64];
	size_t i;

	*o = OUTCOME_OK;
	for (i = 0; i < req->nsettings; i++) {
		const struct cli_setting *s = &req->settings[i];

		snprintf(opt, sizeof opt, "--%s", s->option);
		if (cfg_account_override(own, s->keyword, s->value, opt, msg, sizeof msg) != 0) {
			errf(err, errlen, "command line: %s", msg);
			cfg_account_free(own);
			*o = OUTCOME_USAGE;
			return NULL;
		}
	}
	return own;
}

const char *account_auth_mode(const struct cfg_account *a)
{
	const char *user = a->val[CFG_USER];
	/* A configured user means the credentials are meant to be used. */
	int mode = cfg_enum(a, CFG_AUTH, user != NULL && *user != '\0' ? CFG_AUTH_ON : CFG_AUTH_OFF);

	if (mode == CFG_AUTH_ON)
		return "ON";
	if (mode != CFG_AUTH_OFF)
		return a->val[CFG_AUTH]; /* the mechanism, upper-cased */
	return NULL;
}

bool account_auth_needs_user(const struct cfg_account *a)
{
	int mode = cfg_enum(a, CFG_AUTH, CFG_AUTH_ON);

	return account_auth_mode(a) != NULL && mode != CFG_AUTH_EXTERNAL && mode != CFG_AUTH_GSSAPI;
}

enum outcome account_check_sendable(const struct cfg_account *a, char *err, size_t errlen)
{
	char where[4200];

	if (a->val[CFG_HOST] == NULL || *a->val[CFG_HOST] == '\0') {
		errf(err, errlen, "%s: account '%s' has no host; add 'host NAME'", a->path, a->name);
		return OUTCOME_CONFIG;
	}
	if (account_auth_needs_user(a) && (a->val[CFG_USER] == NULL || *a->val[CFG_USER] == '\0')) {
		errf(err, errlen, "%s: account '%s' has auth %s but no user; add 'user NAME'",
			     account_where(a, CFG_AUTH, where, sizeof where), a->name, a->val[CFG_AUTH]);
		return OUTCOME_CONFIG;
	}
	return OUTCOME_OK;
}

enum outcome account_qualify(const struct cfg_account *a, const char *what, bool allow_empty, char **addr,
			     char *err, size_t errlen)
{
	char msg[KURIER_ERRLEN], safe[400];
	const char *dom;

	if (**addr != '\0' && addr_domain(*addr) == NULL && a->val[CFG_MAILDOMAIN] != NULL) {
		size_t n = strlen(*addr) + strlen(a->val[CFG_MAILDOMAIN]) + 2;
		char *q = xmalloc(n);
		snprintf(q, n, "%s@%s", *addr, a->val[CFG_MAILDOMAIN]);
		free(*addr);
		*addr = q;
	}
	if (addr_check(*addr, allow_empty, msg, sizeof msg) != 0) {
		errf(err, errlen, "bad %s '%s': %s", what, diag_printable(*addr, safe, sizeof safe), msg);
		return OUTCOME_DATAERR;
	}
	if (**addr == '\0')
		return OUTCOME_OK;
	if ((dom = addr_domain(*addr)) == NULL) {
		errf(err, errlen, "%s '%s' has no domain; write it as user@domain or set maildomain in the account",
			     what, *addr);
		return OUTCOME_DATAERR;
	}
	/* RFC 5890: a non-ASCII domain goes out as A-labels, which every server
	 * takes; only a non-ASCII local part needs SMTPUTF8. */
	if (!addr_domain_is_ascii(*addr)) {
		size_t local = (size_t)(dom - 1 - *addr), n;
		char *alabel = NULL, *q;

		if (addr_host_to_ascii(dom, &alabel, msg, sizeof msg) != 0) {
			errf(err, errlen, "bad %s '%s': %s", what, diag_printable(*addr, safe, sizeof safe),
				     msg);
			return OUTCOME_DATAERR;
		}
		n = local + strlen(alabel) + 2;
		q = xmalloc(n);
		snprintf(q, n, "%.*s@%s", (int)local, *addr, alabel);
		free(alabel);
		free(*addr);
		*addr = q;
	}
	return OUTCOME_OK;
}

enum outcome account_sender(const struct request *req, const struct cfg_account *a,
			    const struct host_facts *facts, char **sender, char *err, size_t errlen)
{
	enum outcome o;

	*sender = cfg_bool(a, CFG_ALLOW_FROM_OVERRIDE, true) && req->from != NULL
			  ? xstrdup(req->from)
			  : addr_expand_from_pattern(a->val[CFG_FROM], facts);
	if (*sender != NULL && (o = account_qualify(a, "envelope sender", true, sender, err, errlen)) != OUTCOME_OK) {
		free(*sender);
		*sender = NULL;
		return o;
	}
	return OUTCOME_OK;
}

enum outcome account_headers(const struct request *req, const struct cfg_account *a, const char *sender,
			     const struct msg_time *clock, const unsigned char *rnd, size_t rndlen,
			     struct account_headers *h, char *err, size_t errlen)
{
	int sf = cfg_enum(a, CFG_SET_FROM_HEADER, CFG_HDR_AUTO), sd = cfg_enum(a, CFG_SET_DATE_HEADER, CFG_HDR_AUTO);
	int sm = cfg_enum(a, CFG_SET_MSGID_HEADER, CFG_HDR_AUTO), st = cfg_enum(a, CFG_SET_TO_HEADER, -1);
	const char *name = req->full_name != NULL ? req->full_name : a->val[CFG_FROM_FULL_NAME];
	char msg[KURIER_ERRLEN], where[4200];

	memset(h, 0, sizeof *h);
	h->mo.remove_bcc = cfg_bool(a, CFG_REMOVE_BCC_HEADERS, true);
	/* set_to_header is undisclosed_recipients by another name; a value
	 * other than on or off is the To field body to put in their place. */
	h->mo.undisclosed = cfg_bool(a, CFG_UNDISCLOSED_RECIPIENTS, false);
	if (st == CFG_TO_ON || st == CFG_TO_VALUE)
		h->mo.undisclosed = true;
	if (st == CFG_TO_VALUE)
		h->mo.to_value = a->val[CFG_SET_TO_HEADER];
	h->mo.set_from = sf == CFG_HDR_AUTO ? MSG_FROM_AUTO : sf == CFG_HDR_ON ? MSG_FROM_ON : MSG_FROM_OFF;
	if (sender != NULL && *sender != '\0' && addr_domain(sender) != NULL) {
		h->from_value = msg_name_addr(name != NULL ? name : "", sender, MSG_FROM_FIRST_ROOM, msg, sizeof msg);
		if (h->from_value == NULL) {
			if (req->full_name != NULL) {
				errf(err, errlen, "-F: %s; give the full name in UTF-8", msg);
				return OUTCOME_USAGE;
			}
			errf(err, errlen, "%s: from_full_name: %s; write the name in UTF-8",
				     account_where(a, CFG_FROM_FULL_NAME, where, sizeof where), msg);
			return OUTCOME_CONFIG;
		}
		h->mo.from_value = h->from_value;
		snprintf(h->msgid_domain, sizeof h->msgid_domain, "%s", addr_domain(sender));
		h->mo.msgid_domain = h->msgid_domain;
	}
	if (sd != CFG_HDR_OFF) {
		msg_format_date(clock, h->date, sizeof h->date);
		h->mo.date = h->date;
	}
	if (sm != CFG_HDR_OFF && rnd != NULL) {
		msg_format_msgid_left(rnd, rndlen, clock->now, h->msgid, sizeof h->msgid);
		h->mo.msgid_left = h->msgid;
	}
	return OUTCOME_OK;
}

void account_headers_free(struct account_headers *h)
{
	free(h->from_value);
	h->from_value = NULL;
}

enum outcome account_recipients(const struct request *req, const struct cfg_account *a,
				const struct addr_list *header, const struct aliases *aliases,
				struct addr_list *out, char *err, size_t errlen)
{
	struct addr_list in = { 0 };
	char msg[KURIER_ERRLEN], safe[400];
	enum outcome o = OUTCOME_OK;
	size_t i;

	for (i = 0; i < req->nrcpt_args; i++) {
		const char *arg = req->rcpt_args[i];

		if (addr_list_parse(arg, strlen(arg), &in, msg, sizeof msg) != 0) {
			errf(err, errlen, "bad recipient '%s': %s", diag_printable(arg, safe, sizeof safe), msg);
			o = OUTCOME_DATAERR;
			goto out;
		}
	}
	for (i = 0; header != NULL && i < header->n; i++)
		addr_list_add(&in, header->v[i]);
	/* local recipients (no domain) through the account's aliases file */
	if (aliases != NULL) {
		struct addr_list expanded = { 0 };

		if (aliases_expand(aliases, &in, &expanded, msg, sizeof msg) != 0) {
			errf(err, errlen, "%s: %s", a->val[CFG_ALIASES], msg);
			addr_list_free(&expanded);
			o = OUTCOME_CONFIG;
			goto out;
		}
		addr_list_free(&in);
		in = expanded;
	}
	if (in.n == 0) {
		errf(err, errlen, "no recipients; give them as arguments, or use -t to read them from the headers");
		o = OUTCOME_DATAERR;
		goto out;
	}
	for (i = 0; i < in.n; i++)
		if ((o = account_qualify(a, "recipient", false, &in.v[i], err, errlen)) != OUTCOME_OK)
			goto out;
	/* To and Cc naming one address, an alias reached twice: one RCPT. */
	addr_list_dedupe(&in);
	for (i = 0; i < in.n; i++)
		addr_list_add(out, in.v[i]);
out:
	addr_list_free(&in);
	return o;
}

void account_envelope(const struct request *req, const struct cfg_account *a, const char *from,
		      const struct addr_list *rcpts, uint64_t size, bool eightbit, bool header_needs_smtputf8,
		      struct smtp_envelope *env)
{
	int ret = cfg_enum(a, CFG_DSN_RETURN, CFG_RET_OFF);
	size_t i;

	memset(env, 0, sizeof *env);
	/* RFC 6531: SMTPUTF8 only for what A-labels cannot carry. */
	env->smtputf8 = !addr_local_is_ascii(from) || header_needs_smtputf8;
	for (i = 0; i < rcpts->n; i++)
		if (!addr_local_is_ascii(rcpts->v[i]))
			env->smtputf8 = true;
	env->from = from;
	env->rcpt = (const char *const *)rcpts->v;
	env->nrcpt = rcpts->n;
	env->size = size;
	env->eightbit = eightbit;
	env->body = req->body;
	/* -N and -R win over the account's dsn_notify and dsn_return. */
	env->dsn_notify = req->dsn_notify;
	if (env->dsn_notify == NULL && cfg_enum(a, CFG_DSN_NOTIFY, CFG_NOTIFY_OFF) != CFG_NOTIFY_OFF)
		env->dsn_notify = a->val[CFG_DSN_NOTIFY]; /* "NEVER" or the list, as RFC 3461 spells it */
	env->dsn_ret = req->dsn_return;
	if (env->dsn_ret == NULL && ret != CFG_RET_OFF)
		env->dsn_ret = ret == CFG_RET_FULL ? "FULL" : "HDRS";
	env->dsn_envid = req->dsn_envid;
	env->dsn_required = cfg_bool(a, CFG_DSN_REQUIRED, false);
}

enum outcome account_session(const struct cfg_account *a, const char *hostname, struct account_session *s,
			     char *err, size_t errlen)
{
	bool tls = cfg_bool(a, CFG_TLS, true), starttls = cfg_bool(a, CFG_TLS_STARTTLS, true);
	long p = cfg_long(a, CFG_PORT, !tls ? 25 : starttls ? 587 : 465);
	const char *fp = a->val[CFG_TLS_FINGERPRINT];
	struct session_conf *sc = &s->sc;
	struct tls_conf *tc = &s->tls;
	char msg[KURIER_ERRLEN], where[4200];

	memset(s, 0, sizeof *s);
	snprintf(s->ehlo, sizeof s->ehlo, "%s",
		 a->val[CFG_DOMAIN] != NULL ? a->val[CFG_DOMAIN]
		 : hostname != NULL && strchr(hostname, '.') != NULL ? hostname : "localhost");
	snprintf(s->port, sizeof s->port, "%ld", p);
	sc->tls = !tls ? SESSION_TLS_OFF
		  : (!starttls || (p == 465 && a->val[CFG_TLS_STARTTLS] == NULL)) ? SESSION_TLS_IMPLICIT
		  : SESSION_TLS_STARTTLS;
	sc->account = a->name;
	sc->config_path = a->path;
	sc->port = s->port;
	sc->ehlo_name = s->ehlo;
	sc->timeout_s = (int)cfg_long(a, CFG_TIMEOUT, 0);
	/* msmtp: SOCKS5, port 1080 unless proxy_port says; empty: no proxy */
	if (a->val[CFG_PROXY_HOST] != NULL && a->val[CFG_PROXY_HOST][0] != '\0') {
		sc->proxy_host = a->val[CFG_PROXY_HOST];
		sc->proxy_port = a->val[CFG_PROXY_PORT] != NULL ? a->val[CFG_PROXY_PORT] : "1080";
	}
	if (addr_host_to_ascii(a->val[CFG_HOST], &s->host, msg, sizeof msg) != 0) {
		errf(err, errlen, "%s: %s", account_where(a, CFG_HOST, where, sizeof where), msg);
		return OUTCOME_CONFIG;
	}
	sc->host = s->host;
	if (sc->tls == SESSION_TLS_OFF)
		return OUTCOME_OK;
	if (a->val[CFG_TLS_HOST_OVERRIDE] != NULL &&
	    addr_host_to_ascii(a->val[CFG_TLS_HOST_OVERRIDE], &s->verify, msg, sizeof msg) != 0) {
		errf(err, errlen, "%s: %s", account_where(a, CFG_TLS_HOST_OVERRIDE, where, sizeof where), msg);
		return OUTCOME_CONFIG;
	}
	tc->host = s->host;
	tc->verify_name = s->verify != NULL ? s->verify : s->host;
	tc->trust_file = a->val[CFG_TLS_TRUST_FILE];
	tc->crl_file = a->val[CFG_TLS_CRL_FILE];
	tc->fingerprint = fp;
	tc->certcheck = cfg_bool(a, CFG_TLS_CERTCHECK, true);
	tc->cert_file = a->val[CFG_TLS_CERT_FILE];
	tc->key_file = a->val[CFG_TLS_KEY_FILE];
	tc->priorities = a->val[CFG_TLS_PRIORITIES];
	tc->min_dh_prime_bits = (int)cfg_long(a, CFG_TLS_MIN_DH_PRIME_BITS, 0);
	sc->tls_conf = tc;
	if (!tc->certcheck)
		snprintf(s->warn[s->nwarn++], sizeof s->warn[0],
			 "%s: tls_certcheck off: the server's certificate is not checked, so anyone on "
			 "the network path can read and change this session; pin it with tls_fingerprint instead",
			 account_where(a, CFG_TLS_CERTCHECK, where, sizeof where));
	else if (fp != NULL && tls_fingerprint_is_weak(fp))
		snprintf(s->warn[s->nwarn++], sizeof s->warn[0],
			 "%s: tls_fingerprint is an %s fingerprint, which is weak; use the SHA-256 one "
			 "(kurier --serverinfo shows it)", account_where(a, CFG_TLS_FINGERPRINT, where, sizeof where),
			 strlen(fp) == 47 ? "MD5" : "SHA-1");
	return OUTCOME_OK;
}

void account_session_free(struct account_session *s)
{
	free(s->host);
	free(s->verify);
	s->host = s->verify = NULL;
}

const char *account_queue_dir(const struct cfg_account *a, const struct account_places *p, char *buf,
			      size_t len, char *err, size_t errlen)
{
	const char *qd = a->val[CFG_QUEUE_DIR];
	char where[4200];
	int n;

	if (qd != NULL && *qd != '\0') {
		if (strncmp(qd, "~/", 2) == 0) {
			if (p->home == NULL || *p->home == '\0') {
				snprintf(err, errlen, "%s: queue_dir %s: no home directory to put for '~'",
					 account_where(a, CFG_QUEUE_DIR, where, sizeof where), qd);
				return NULL;
			}
			n = snprintf(buf, len, "%s/%s", p->home, qd + 2);
		} else if (qd[0] != '/') {
			snprintf(err, errlen, "%s: queue_dir %s: give an absolute path (or one starting with ~/)",
				 account_where(a, CFG_QUEUE_DIR, where, sizeof where), qd);
			return NULL;
		} else {
			n = snprintf(buf, len, "%s", qd);
		}
	} else if (p->root && p->system_config != NULL && a->path != NULL && strcmp(a->path, p->system_config) == 0) {
		n = snprintf(buf, len, "%s", ACCOUNT_SYSTEM_QUEUE);
	} else if (p->xdg_state_home != NULL && p->xdg_state_home[0] == '/') {
		/* XDG Base Directory: a relative value is invalid and ignored */
		n = snprintf(buf, len, "%s/kurier/queue", p->xdg_state_home);
	} else if (p->home != NULL && *p->home != '\0') {
		n = snprintf(buf, len, "%s/.local/state/kurier/queue", p->home);
	} else {
		snprintf(err, errlen, "no queue directory: HOME is not set; set queue_dir in account '%s' of %s",
			 a->name, a->path);
		return NULL;
	}
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "the queue directory's path is too long");
		return NULL;
	}
	return buf;
}
