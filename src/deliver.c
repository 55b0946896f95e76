/* deliver.c: the account's secret and session, the session itself, the
 * fallback accounts and the log line of each attempt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "account.h"
#include "deliver.h"
#include "facts.h"
#include "log.h"
#include "secret.h"
#include "tls-cache.h"

/* The secret for account A when its AUTH mode needs one. */
static enum outcome deliver_secret(const struct cfg_account *a, char **secret)
{
	char err[KURIER_ERRLEN], where[4200], netrc[4096];
	struct secret_sources src = {
		.password = a->val[CFG_PASSWORD], .passwordeval = a->val[CFG_PASSWORDEVAL],
		.where_eval = account_where(a, CFG_PASSWORDEVAL, where, sizeof where), .netrc = netrc,
		.host = a->val[CFG_HOST], .user = a->val[CFG_USER], .account = a->name, .config = a->path,
	};

	*secret = NULL;
	if (account_auth_mode(a) == NULL || !account_auth_needs_user(a))
		return OUTCOME_OK;
	snprintf(netrc, sizeof netrc, "%s/.netrc", facts_home_dir());
	if (secret_lookup(&src, secret, err, sizeof err) != 0) {
		diag_error("%s", err);
		return OUTCOME_CONFIG;
	}
	return OUTCOME_OK;
}

/* Where and how to connect, with the TLS session cache file. */
static enum outcome deliver_session(const struct cfg_account *a, struct account_session *s, char **cache)
{
	char err[KURIER_ERRLEN], hostname[256] = "";
	enum outcome o;
	int i;

	if (gethostname(hostname, sizeof hostname) != 0)
		hostname[0] = '\0';
	hostname[sizeof hostname - 1] = '\0';
	if ((o = account_session(a, hostname, s, err, sizeof err)) != OUTCOME_OK) {
		diag_error("%s", err);
		return o;
	}
	for (i = 0; i < s->nwarn; i++)
		diag_warn("%s", s->warn[i]);
	if (s->sc.tls != SESSION_TLS_OFF)
		s->tls.cache_file = *cache = tls_cache_path(a->name, s->host, s->port);
	return OUTCOME_OK;
}

enum outcome deliver_serverinfo(const struct cfg_account *a, struct diag *d)
{
	struct account_session as = { 0 };
	struct spool sp;
	char *cache = NULL;
	enum outcome o;

	spool_init(&sp);
	if ((o = deliver_session(a, &as, &cache)) == OUTCOME_OK) {
		as.sc.serverinfo = true;
		o = session_run(&as.sc, NULL, &sp, d, NULL);
	}
	account_session_free(&as);
	free(cache);
	spool_free(&sp);
	return o;
}

/* Finish item I with outcome O. */
static void deliver_final(struct deliver_item *items, size_t i, enum outcome o, deliver_done_fn *done, void *ctx)
{
	items[i].outcome = o;
	items[i].final = true;
	if (done != NULL)
		done(ctx, &items[i], i);
}

/* One account's session over the items not final yet. */
struct deliver_run {
	const struct cfg_account *a;
	const struct session_conf *sc;
	struct deliver_item *items;
	const size_t *map;              /* session item -> index in ITEMS */
	bool last;
	deliver_done_fn *done;
	void *ctx;
};

/* A message's outcome in the session: its log line, and final when the
 * server took it, refused it for good, or no other account follows. */
static void deliver_item_done(void *ctx, struct session_item *si, size_t k)
{
	struct deliver_run *r = ctx;
	size_t i = r->map[k];
	struct deliver_item *it = &r->items[i];

	it->facts = si->facts;
	it->outcome = si->outcome;
	snprintf(it->account, sizeof it->account, "%s", r->a->name);
	log_submission(&(struct log_entry){ .account = r->a, .session = r->sc, .env = it->env, .facts = &it->facts,
					    .outcome = it->outcome, .size = it->msg->size, .after_dot = it->after_dot,
					    .note = it->log_note });
	if (it->outcome == OUTCOME_OK || !outcome_is_temporary(it->outcome) || r->last)
		deliver_final(r->items, i, it->outcome, r->done, r->ctx);
}

/* One account's attempt at every item not final yet. LAST: no account
 * follows, so a temporary failure is final too. An account that cannot be
 * used at all (no host, a secret that cannot be found) ends its items
 * with that outcome when it is the PRIMARY one; a fallback account's
 * problem is reported and leaves them as they were. */
static void deliver_with(const struct cfg_account *a, struct deliver_item *items, size_t n, bool primary,
			 bool last, deliver_done_fn *done, void *ctx, struct diag *d)
{
	struct account_session as = { 0 };
	char *secret = NULL, *cache = NULL, err[KURIER_ERRLEN];
	struct session_item *si = NULL;
	size_t *map = NULL, i, ns = 0;
	enum outcome o;
	bool used = false;

	err[0] = '\0';
	if ((o = account_check_sendable(a, err, sizeof err)) != OUTCOME_OK) {
		diag_error("%s", err);
		goto out;
	}
	if ((o = deliver_secret(a, &secret)) != OUTCOME_OK || (o = deliver_session(a, &as, &cache)) != OUTCOME_OK)
		goto out;
	used = true;
	as.sc.auth = account_auth_mode(a);
	as.sc.user = a->val[CFG_USER];
	as.sc.secret = secret;
	/* every item not final yet, over one connection */
	si = xcalloc(n, sizeof *si);
	map = xcalloc(n, sizeof *map);
	for (i = 0; i < n; i++) {
		if (items[i].final)
			continue;
		si[ns].env = items[i].env;
		si[ns].msg = items[i].msg;
		si[ns].longest_body_line = items[i].longest_body_line;
		map[ns++] = i;
	}
	if (ns > 0) {
		struct deliver_run run = { a, &as.sc, items, map, last, done, ctx };
		session_run_batch(&as.sc, si, ns, deliver_item_done, &run, d);
	}
out:
	if (!used && primary)
		for (i = 0; i < n; i++) {
			snprintf(items[i].account, sizeof items[i].account, "%s", a->name);
			snprintf(items[i].facts.reply, sizeof items[i].facts.reply, "%s",
				 err[0] != '\0' ? err : "the account cannot be used");
			deliver_final(items, i, o, done, ctx);
		}
	account_session_free(&as);
	free(cache);
	free(si);
	free(map);
	xfree_secret(secret);
}

#define DELIVER_FALLBACKS_MAX 16

/* The accounts A's fallback_account names ("a, b c"), in order, at most
 * DELIVER_FALLBACKS_MAX into OUT; a name that is no account is left out,
 * and ERR names the line and the first such name (else it is ""). Returns
 * how many are in OUT. */
static int deliver_fallbacks(const struct cfg_file *cf, const struct cfg_account *a,
			     const struct cfg_account **out, char *err, size_t errlen)
{
	const char *p = a->val[CFG_FALLBACK_ACCOUNT] != NULL ? a->val[CFG_FALLBACK_ACCOUNT] : "";
	char name[256], where[4200], e[KURIER_ERRLEN];
	int k = 0;
	size_t len;

	err[0] = '\0';
	while (k < DELIVER_FALLBACKS_MAX) {
		p += strspn(p, ", \t");
		if ((len = strcspn(p, ", \t")) == 0)
			break;
		snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name - 1 ? len : sizeof name - 1), p);
		p += len;
		if (cf != NULL && (out[k] = cfg_choose(cf, name, NULL, e, sizeof e)) != NULL)
			k++;
		else if (err[0] == '\0')
			snprintf(err, errlen, "%s: fallback_account: no account '%s'; check the name",
				 account_where(a, CFG_FALLBACK_ACCOUNT, where, sizeof where), name);
	}
	return k;
}

int deliver_check_fallbacks(const struct cfg_file *cf, const struct cfg_account *a, char *err, size_t errlen)
{
	const struct cfg_account *f[DELIVER_FALLBACKS_MAX];

	deliver_fallbacks(cf, a, f, err, errlen);
	return err[0] != '\0' ? -1 : 0;
}

enum outcome deliver_items(const struct cfg_file *cf, const struct cfg_account *a, struct deliver_item *items,
			   size_t n, deliver_done_fn *done, void *ctx, struct diag *d)
{
	const struct cfg_account *f[DELIVER_FALLBACKS_MAX];
	char err[KURIER_ERRLEN];
	enum outcome worst = OUTCOME_OK;
	int nf = deliver_fallbacks(cf, a, f, err, sizeof err), k;
	size_t i, left;

	/* a queue run may meet a configuration that changed since the
	 * entry was queued: the accounts that are there, and why not all */
	if (err[0] != '\0')
		diag_error("%s", err);
	for (i = 0; i < n; i++) {
		items[i].final = false;
		items[i].outcome = OUTCOME_TEMPFAIL;
	}
	deliver_with(a, items, n, true, nf == 0, done, ctx, d);
	for (k = 0; k < nf; k++) {
		for (left = 0, i = 0; i < n; i++)
			left += !items[i].final;
		if (left == 0)
			break;
		diag_warn("account '%s' failed temporarily; trying the fallback account '%s'", a->name, f[k]->name);
		deliver_with(f[k], items, n, false, k + 1 == nf, done, ctx, d);
	}
	/* every account failed temporarily: the last outcome is final */
	for (i = 0; i < n; i++)
		if (!items[i].final)
			deliver_final(items, i, items[i].outcome, done, ctx);
	for (i = 0; i < n; i++)
		worst = outcome_worse(worst, items[i].outcome);
	return worst;
}
