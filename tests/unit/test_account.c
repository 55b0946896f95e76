/* test_account.c: config text + command line + facts -> the submission
 * (account, sender, added header values, envelope, session), as a table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "account.h"

/* Expectations, one string each, "KEY|VALUE":
 *   account|NAME        the chosen account
 *   sender|ADDR         the worked-out sender ("(null)": none)
 *   from|BODY           the From field body to add ("(null)": none)
 *   msgid|DOMAIN        the Message-ID's domain ("(null)": no Message-ID)
 *   date|TEXT           the Date field body ("(null)": none)
 *   undisclosed|0/1     To/Cc/Bcc replaced
 *   rcpts|A,B           the envelope recipients, in order
 *   smtputf8|0/1
 *   dsn|NOTIFY,RET      the DSN parameters ("-" for none)
 *   host|H, port|P, tls|off/starttls/implicit, ehlo|NAME, proxy|HOST:PORT
 *   warn|TEXT           the first warning of the session settings
 *   fail|CODE|TEXT      the first step that fails: its exit code and ERR */
struct row {
	const char *what;
	const char *config;
	const char *argv[10];
	const char *header_rcpts;  /* what -t found, comma separated, or NULL */
	const char *expect[10];
};

static const struct row rows[] = {
	{ "the default account, its from, STARTTLS on 587",
	  "account default\nhost mail.example.org\nfrom alice@example.org\n",
	  { "bob@example.org" }, NULL,
	  { "account|default", "sender|alice@example.org", "from|alice@example.org", "msgid|example.org",
	    "rcpts|bob@example.org", "host|mail.example.org", "port|587", "tls|starttls", "ehlo|box.example" } },
	{ "-f picks the account by its from pattern",
	  "account a\nhost a.example\nfrom *@a.example\naccount b\nhost b.example\nfrom *@b.example\n"
	  "account default : a\n",
	  { "-f", "me@b.example", "x@example.org" }, NULL,
	  { "account|b", "sender|me@b.example", "host|b.example" } },
	{ "-a wins over the sender",
	  "account a\nhost a.example\nfrom *@a.example\naccount b\nhost b.example\nfrom *@b.example\n",
	  { "-a", "a", "-f", "me@b.example", "x@example.org" }, NULL, { "account|a", "sender|me@b.example" } },
	{ "no default and two accounts",
	  "account a\nhost a.example\naccount b\nhost b.example\n", { "x@example.org" }, NULL,
	  { "fail|78|rc: no account 'default' and more than one account; add 'account default : NAME' or "
	    "choose one with -a NAME" } },
	{ "an unknown -a", "account a\nhost a.example\n", { "-a", "zz", "x@example.org" }, NULL,
	  { "fail|78|rc: no account named 'zz'; check -a or the account lines" } },
	{ "from placeholders come from the facts",
	  "account default\nhost h.example\nfrom %U@%C\n", { "x@example.org" }, NULL,
	  { "sender|alice@box.example.org", "from|alice@box.example.org" } },
	{ "allow_from_override off keeps the account's sender",
	  "account default\nhost h.example\nfrom me@example.org\nallow_from_override off\n",
	  { "-f", "other@example.org", "x@example.org" }, NULL, { "sender|me@example.org" } },
	{ "maildomain qualifies -f and the recipients",
	  "account default\nhost h.example\nmaildomain example.net\n", { "-f", "alice", "bob", "\"a@b\"" }, NULL,
	  { "sender|alice@example.net", "from|alice@example.net", "msgid|example.net",
	    "rcpts|bob@example.net,\"a@b\"@example.net" } },
	{ "a non-ASCII sender domain becomes A-labels everywhere",
	  "account default\nhost h.example\n", { "-f", "info@bücher.example", "x@example.org" }, NULL,
	  { "sender|info@xn--bcher-kva.example", "from|info@xn--bcher-kva.example",
	    "msgid|xn--bcher-kva.example", "smtputf8|0" } },
	{ "a non-ASCII local part needs SMTPUTF8", "account default\nhost h.example\nfrom a@example.org\n",
	  { "jörg@example.org" }, NULL, { "smtputf8|1", "rcpts|jörg@example.org" } },
	{ "-F with a name in UTF-8 becomes an encoded-word",
	  "account default\nhost h.example\nfrom a@example.org\n", { "-F", "Jörg", "x@example.org" }, NULL,
	  { "from|=?UTF-8?B?SsO2cmc=?= <a@example.org>" } },
	{ "-F that is not UTF-8 is the command line's fault",
	  "account default\nhost h.example\nfrom a@example.org\n", { "-F", "J\xf6rg", "x@example.org" }, NULL,
	  { "fail|64|-F: " } },
	{ "from_full_name that is not UTF-8 is the file's fault",
	  "account default\nhost h.example\nfrom a@example.org\nfrom_full_name J\xf6rg\n", { "x@example.org" },
	  NULL, { "fail|78|rc:4: from_full_name: " } },
	{ "Date at the clock, Message-ID from the random bytes",
	  "account default\nhost h.example\nfrom a@example.org\n", { "x@example.org" }, NULL,
	  { "date|Tue, 01 Dec 2026 10:00:00 +0100", "msgid|example.org" } },
	{ "set_date_header off and set_msgid_header off",
	  "account default\nhost h.example\nfrom a@example.org\nset_date_header off\nset_msgid_header off\n",
	  { "x@example.org" }, NULL, { "date|(null)", "msgid|(null)" } },
	{ "undisclosed_recipients", "account default\nhost h.example\nundisclosed_recipients on\n",
	  { "x@example.org" }, NULL, { "undisclosed|1" } },
	{ "-t recipients follow the arguments, duplicates dropped",
	  "account default\nhost h.example\nfrom a@example.org\n", { "-t", "x@example.org" },
	  "y@example.org,X@EXAMPLE.ORG,x@example.org", { "rcpts|x@example.org,y@example.org,X@EXAMPLE.ORG" } },
	{ "no recipients", "account default\nhost h.example\nfrom a@example.org\n", { "-t" }, NULL,
	  { "fail|65|no recipients; give them as arguments, or use -t to read them from the headers" } },
	{ "a recipient without a domain and no maildomain",
	  "account default\nhost h.example\nfrom a@example.org\n", { "bob" }, NULL,
	  { "fail|65|recipient 'bob' has no domain; write it as user@domain or set maildomain in the account" } },
	{ "DSN from the account, -N wins",
	  "account default\nhost h.example\nfrom a@example.org\ndsn_notify failure\ndsn_return headers\n",
	  { "-N", "delay", "x@example.org" }, NULL, { "dsn|DELAY,HDRS" } },
	{ "tls off: port 25, no TLS", "account default\nhost h.example\ntls off\n", { "x@example.org" }, NULL,
	  { "port|25", "tls|off" } },
	{ "tls_starttls off: implicit TLS on 465",
	  "account default\nhost h.example\ntls_starttls off\n", { "x@example.org" }, NULL,
	  { "port|465", "tls|implicit" } },
	{ "port 465 alone means implicit TLS", "account default\nhost h.example\nport 465\n", { "x@example.org" },
	  NULL, { "tls|implicit" } },
	{ "domain is the EHLO name, proxy_port defaults to 1080",
	  "account default\nhost h.example\ndomain client.example\nproxy_host 127.0.0.1\n", { "x@example.org" },
	  NULL, { "ehlo|client.example", "proxy|127.0.0.1:1080" } },
	{ "an IDN host goes out in A-labels", "account default\nhost smtp.bücher.example\n", { "x@example.org" },
	  NULL, { "host|smtp.xn--bcher-kva.example" } },
	{ "tls_certcheck off warns with its line", "account default\nhost h.example\ntls_certcheck off\n",
	  { "x@example.org" }, NULL, { "warn|rc:3: tls_certcheck off: the server's certificate is not checked" } },
	{ "the command line overrides the account, and says so in warnings",
	  "account default\nhost h.example\nport 587\n", { "--port=2525", "--tls-certcheck=off", "x@example.org" },
	  NULL, { "port|2525", "warn|command line: tls_certcheck off" } },
	{ "a bad command-line value is a usage error", "account default\nhost h.example\n",
	  { "--port=x", "x@example.org" }, NULL, { "fail|64|command line: --port: " } },
	{ "no host", "account default\nfrom a@example.org\n", { "x@example.org" }, NULL,
	  { "fail|78|rc: account 'default' has no host; add 'host NAME'" } },
	{ "auth without user", "account default\nhost h.example\nauth plain\n", { "x@example.org" }, NULL,
	  { "fail|78|rc:3: account 'default' has auth PLAIN but no user; add 'user NAME'" } },
};

static const struct host_facts facts = {
	.user = "alice", .host = "box", .canonical = "box.example.org", .mailname = "example.org",
};

static const struct msg_time clock = {
	.now = 1796115600, .year = 2026, .mon = 11, .mday = 1, .wday = 2, .hour = 10, .gmtoff_s = 3600,
};

static const unsigned char rnd[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

/* What a row's run produced, as KEY|VALUE strings. */
struct got {
	char v[24][600];
	size_t n;
};

static void put(struct got *g, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(struct got *g, const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t o;

	if (g->n >= sizeof g->v / sizeof g->v[0])
		return;
	o = (size_t)snprintf(g->v[g->n], sizeof g->v[0], "%s|", key);
	va_start(ap, fmt);
	vsnprintf(g->v[g->n] + o, sizeof g->v[0] - o, fmt, ap);
	va_end(ap);
	g->n++;
}

static void list_put(struct got *g, const char *key, const struct addr_list *l)
{
	char buf[600] = "";
	size_t i, o = 0;

	for (i = 0; i < l->n && o < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i > 0 ? "," : "", l->v[i]);
	put(g, key, "%s", buf);
}

/* Run one row through every step, recording what each produced, and the
 * first failure as fail|CODE|ERR. */
static void run(const struct row *r, struct got *g)
{
	struct cfg_file cf;
	struct request req;
	struct cfg_account *acct = NULL;
	struct account_headers h = { 0 };
	struct account_session s = { 0 };
	struct addr_list hdr = { 0 }, rcpts = { 0 };
	struct smtp_envelope env;
	char *argv[12] = { (char *)"kurier" }, err[KURIER_ERRLEN] = "", *sender = NULL;
	const struct cfg_account *a;
	enum outcome o = OUTCOME_OK;
	int argc = 1;
	static const char *const tlsname[] = { "off", "starttls", "implicit" };

	memset(g, 0, sizeof *g);
	while (argc < 11 && r->argv[argc - 1] != NULL) {
		argv[argc] = (char *)r->argv[argc - 1];
		argc++;
	}
	assert_int_equal(cfg_parse("rc", r->config, strlen(r->config), &cf, err, sizeof err), 0);
	assert_int_equal(cli_parse(argc, argv, &req, err, sizeof err), 0);
	if (r->header_rcpts != NULL)
		assert_int_equal(addr_list_parse(r->header_rcpts, strlen(r->header_rcpts), &hdr, err, sizeof err), 0);
	if ((a = cfg_choose(&cf, req.account, req.from, err, sizeof err)) == NULL) {
		o = OUTCOME_CONFIG;
		goto out;
	}
	if ((acct = account_override(a, &req, &o, err, sizeof err)) == NULL)
		goto out;
	put(g, "account", "%s", acct->name);
	if ((o = account_sender(&req, acct, &facts, &sender, err, sizeof err)) != OUTCOME_OK)
		goto out;
	put(g, "sender", "%s", sender != NULL ? sender : "(null)");
	if ((o = account_headers(&req, acct, sender, &clock, rnd, sizeof rnd, &h, err, sizeof err)) != OUTCOME_OK)
		goto out;
	put(g, "from", "%s", h.mo.from_value != NULL ? h.mo.from_value : "(null)");
	put(g, "msgid", "%s", h.mo.msgid_left == NULL ? "(null)" : h.mo.msgid_domain != NULL ? h.mo.msgid_domain : "");
	put(g, "date", "%s", h.mo.date != NULL ? h.mo.date : "(null)");
	put(g, "undisclosed", "%d", h.mo.undisclosed);
	if ((o = account_check_sendable(acct, err, sizeof err)) != OUTCOME_OK)
		goto out;
	if ((o = account_recipients(&req, acct, &hdr, NULL, &rcpts, err, sizeof err)) != OUTCOME_OK)
		goto out;
	list_put(g, "rcpts", &rcpts);
	account_envelope(&req, acct, sender != NULL ? sender : "", &rcpts, 100, false, false, &env);
	put(g, "smtputf8", "%d", env.smtputf8);
	put(g, "dsn", "%s,%s", env.dsn_notify != NULL ? env.dsn_notify : "-", env.dsn_ret != NULL ? env.dsn_ret : "-");
	if ((o = account_session(acct, "box.example", &s, err, sizeof err)) != OUTCOME_OK)
		goto out;
	put(g, "host", "%s", s.sc.host);
	put(g, "port", "%s", s.sc.port);
	put(g, "tls", "%s", tlsname[s.sc.tls]);
	put(g, "ehlo", "%s", s.sc.ehlo_name);
	if (s.sc.proxy_host != NULL)
		put(g, "proxy", "%s:%s", s.sc.proxy_host, s.sc.proxy_port);
	if (s.nwarn > 0)
		put(g, "warn", "%s", s.warn[0]);
out:
	if (o != OUTCOME_OK)
		put(g, "fail", "%d|%s", outcome_exit_code(o), err);
	account_session_free(&s);
	account_headers_free(&h);
	addr_list_free(&rcpts);
	addr_list_free(&hdr);
	free(sender);
	cfg_account_free(acct);
	cli_free(&req);
	cfg_free(&cf);
}

/* An expectation holds when a recorded value with the same key equals it,
 * or, for fail and warn, starts with it. */
static bool holds(const struct got *g, const char *want)
{
	size_t i, keylen = strcspn(want, "|");
	bool prefix = strncmp(want, "fail|", 5) == 0 || strncmp(want, "warn|", 5) == 0;

	for (i = 0; i < g->n; i++) {
		if (strncmp(g->v[i], want, keylen + 1) != 0)
			continue;
		return prefix ? strncmp(g->v[i], want, strlen(want)) == 0 : strcmp(g->v[i], want) == 0;
	}
	return false;
}

static void test_account_table(void **state)
{
	size_t i, k, j;
	int bad = 0;
	struct got g;

	(void)state;
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		run(&rows[i], &g);
		for (k = 0; k < 10 && rows[i].expect[k] != NULL; k++) {
			if (holds(&g, rows[i].expect[k]))
				continue;
			print_error("%s: expected %s; got:\n", rows[i].what, rows[i].expect[k]);
			for (j = 0; j < g.n; j++)
				print_error("    %s\n", g.v[j]);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* account_where names the file and line, or where else a value came from. */
static void test_account_where(void **state)
{
	struct cfg_account *a = cfg_account_new("x", "/home/a/.kurierrc");
	struct cfg_account *e = cfg_account_new("(environment)", "environment");
	char buf[256], err[256];

	(void)state;
	a->line[CFG_HOST] = 7;
	assert_string_equal(account_where(a, CFG_HOST, buf, sizeof buf), "/home/a/.kurierrc:7");
	assert_string_equal(account_where(a, CFG_PORT, buf, sizeof buf), "command line");
	assert_int_equal(cfg_account_override(e, "host", "relay", "SMTPSERVER", err, sizeof err), 0);
	assert_string_equal(account_where(e, CFG_HOST, buf, sizeof buf), "environment");
	cfg_account_free(a);
	cfg_account_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account_table),
		cmocka_unit_test(test_account_where),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
