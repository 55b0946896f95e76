/* cli.c: turns a sendmail command line into a struct request; knows which
 * sendmail options are meaningful here and which callers pass for nothing. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "address.h"
#include "cli.h"

const char cli_help_text[] =
	"Usage: kurier [OPTION...] [--] RECIPIENT...\n"
	"       kurier [OPTION...] -t [--] [RECIPIENT...]\n"
	"       kurier --host=HOST [SETTING...] [--] RECIPIENT...   (no config file)\n"
	"Read a message on standard input and submit it to the account's server.\n"
	"\n"
	"Envelope and message:\n"
	"  -t, --read-recipients   take recipients from To/Cc/Bcc (or Resent-*)\n"
	"  -f, -r, --from=ADDR     envelope sender ('<>' for the null sender)\n"
	"      --read-envelope-from  envelope sender from the From header\n"
	"  -F NAME                 full name of the sender\n"
	"  -i, -oi                 a line with a single '.' does not end the input\n"
	"  -N NOTIFY               DSN: never, or failure,delay,success\n"
	"  -R RET                  DSN: hdrs or full\n"
	"  -V ENVID                DSN envelope identifier\n"
	"  -B8BITMIME, -B7BIT      declare the body type\n"
	"Account:\n"
	"  -a, --account=NAME      use account NAME\n"
	"  -C, --file=FILE         read the configuration from FILE\n"
	"Account settings: each overrides the kurierrc(5) keyword of its name ('_' for\n"
	"'-'); an empty value unsets it; an on|off option alone means on; --host\n"
	"without -a uses no configuration file (then TLS is still the default):\n"
	"  --host=HOST, --port=PORT, --protocol=smtp|lmtp, --domain=EHLO-NAME,\n"
	"  --timeout=SECS, --connect-timeout=SECS, --source-ip=ADDR, --socket=PATH,\n"
	"  --proxy-host=HOST, --proxy-port=PORT, --auth=on|off|MECH, --user=NAME,\n"
	"  --passwordeval=COMMAND, --tls=on|off, --tls-starttls=on|off,\n"
	"  --tls-certcheck=on|off, --tls-trust-file=FILE, --tls-crl-file=FILE,\n"
	"  --tls-fingerprint=HEX, --tls-key-file=FILE, --tls-cert-file=FILE,\n"
	"  --tls-priorities=STRING, --tls-host-override=NAME, --tls-min-dh-prime-bits=N,\n"
	"  --maildomain=DOMAIN, --dsn-notify=CONDITIONS, --dsn-return=headers|full,\n"
	"  --set-from-header=auto|on|off, --set-date-header=auto|off,\n"
	"  --set-msgid-header=auto|off, --set-to-header=on|off|VALUE,\n"
	"  --remove-bcc-headers=on|off, --undisclosed-recipients=on|off,\n"
	"  --keepbcc=on|off, --add-missing-from-header=on|off,\n"
	"  --add-missing-date-header=on|off, --auto-from=on|off, --logfile=FILE,\n"
	"  --logfile-time-format=FORMAT, --syslog=on|off|FACILITY, --aliases=FILE\n"
	"Output:\n"
	"  -v                      verbose (repeat for more)\n"
	"  -X FILE                 write a protocol transcript to FILE\n"
	"  -d, --debug             protocol transcript on standard error\n"
	"Modes:\n"
	"  -bm                     deliver a message (the default)\n"
	"  -bp                     list the queue (also as mailq)\n"
	"      --queue-json        list the queue as JSON lines\n"
	"  -q, --queue-run         deliver the queue's due entries, then exit\n"
	"  -qI ID, -qR ADDR, -qS ADDR  only entries whose id, a recipient or the\n"
	"                          sender contains the text (tried even when not due)\n"
	"      --queue-delete=ID   remove an entry from the queue\n"
	"  -odi, -odb, -odq        submit now; queue and deliver in the background;\n"
	"                          queue only (overrides the account's queue keyword)\n"
	"  -bs                     speak SMTP on standard input and output\n"
	"  -bi                     rebuild aliases: nothing to do (read as text)\n"
	"  -P, --pretend           print the resolved account and exit\n"
	"  -S, --serverinfo        print the server's greeting and capabilities\n"
	"      --help              print this help\n"
	"      --version           print the version and the libraries in use\n"
	"Ignored for compatibility: -oem -oep -o* -em -ep -U -G -n -L TAG\n"
	"  -h N -O OPT=VAL\n"
	"Exit status follows sysexits(3): 0 sent, 75 try again later; see kurier(1).\n";

/* Long options. has_arg: 0 none; 1 required, as --opt=V or --opt V; 2
 * optional, only as --opt=V (msmtp's [=on|off] options; bare means "on").
 * KEYWORD: the option sets that configuration keyword (msmtp's spelling with
 * '_' for '-'; the old keywords keepbcc, add_missing_*_header, auto_from and
 * connect_timeout are mapped by config.c). */
struct cli_long {
	const char *name;
	int has_arg;
	int id;
	const char *keyword;
};

enum {
	OPT_HELP = 256, OPT_VERSION, OPT_ACCOUNT, OPT_FILE, OPT_FROM, OPT_READ_ENVELOPE_FROM,
	OPT_PRETEND, OPT_SERVERINFO, OPT_DEBUG, OPT_READ_RECIPIENTS, OPT_SETTING, OPT_QUEUE_RUN,
	OPT_QUEUE_JSON, OPT_QUEUE_DELETE,
};

static const struct cli_long cli_longs[] = {
	{ "help", 0, OPT_HELP, NULL },
	{ "version", 0, OPT_VERSION, NULL },
	{ "account", 1, OPT_ACCOUNT, NULL },
	{ "file", 1, OPT_FILE, NULL },
	{ "from", 1, OPT_FROM, NULL },
	{ "read-envelope-from", 0, OPT_READ_ENVELOPE_FROM, NULL },
	{ "read-recipients", 0, OPT_READ_RECIPIENTS, NULL },
	{ "pretend", 0, OPT_PRETEND, NULL },
	{ "serverinfo", 0, OPT_SERVERINFO, NULL },
	{ "debug", 0, OPT_DEBUG, NULL },
	{ "queue-run", 0, OPT_QUEUE_RUN, NULL },
	{ "queue-json", 0, OPT_QUEUE_JSON, NULL },
	{ "queue-delete", 1, OPT_QUEUE_DELETE, NULL },
	{ "host", 1, OPT_SETTING, "host" },
	{ "port", 1, OPT_SETTING, "port" },
	{ "timeout", 1, OPT_SETTING, "timeout" },
	{ "connect-timeout", 1, OPT_SETTING, "connect_timeout" },
	{ "protocol", 1, OPT_SETTING, "protocol" },
	{ "domain", 1, OPT_SETTING, "domain" },
	{ "auth", 2, OPT_SETTING, "auth" },
	{ "user", 1, OPT_SETTING, "user" },
	{ "passwordeval", 1, OPT_SETTING, "passwordeval" },
	{ "tls", 2, OPT_SETTING, "tls" },
	{ "tls-starttls", 2, OPT_SETTING, "tls_starttls" },
	{ "tls-trust-file", 1, OPT_SETTING, "tls_trust_file" },
	{ "tls-crl-file", 1, OPT_SETTING, "tls_crl_file" },
	{ "tls-fingerprint", 1, OPT_SETTING, "tls_fingerprint" },
	{ "tls-certcheck", 2, OPT_SETTING, "tls_certcheck" },
	{ "tls-key-file", 1, OPT_SETTING, "tls_key_file" },
	{ "tls-cert-file", 1, OPT_SETTING, "tls_cert_file" },
	{ "tls-priorities", 1, OPT_SETTING, "tls_priorities" },
	{ "tls-host-override", 1, OPT_SETTING, "tls_host_override" },
	{ "tls-min-dh-prime-bits", 1, OPT_SETTING, "tls_min_dh_prime_bits" },
	{ "maildomain", 1, OPT_SETTING, "maildomain" },
	{ "dsn-notify", 1, OPT_SETTING, "dsn_notify" },
	{ "dsn-return", 1, OPT_SETTING, "dsn_return" },
	{ "set-from-header", 2, OPT_SETTING, "set_from_header" },
	{ "set-date-header", 2, OPT_SETTING, "set_date_header" },
	{ "set-msgid-header", 2, OPT_SETTING, "set_msgid_header" },
	{ "set-to-header", 2, OPT_SETTING, "set_to_header" },
	{ "remove-bcc-headers", 2, OPT_SETTING, "remove_bcc_headers" },
	{ "undisclosed-recipients", 2, OPT_SETTING, "undisclosed_recipients" },
	{ "add-missing-from-header", 2, OPT_SETTING, "add_missing_from_header" },
	{ "add-missing-date-header", 2, OPT_SETTING, "add_missing_date_header" },
	{ "keepbcc", 2, OPT_SETTING, "keepbcc" },
	{ "auto-from", 2, OPT_SETTING, "auto_from" },
	{ "logfile", 1, OPT_SETTING, "logfile" },
	{ "logfile-time-format", 1, OPT_SETTING, "logfile_time_format" },
	{ "syslog", 2, OPT_SETTING, "syslog" },
	{ "aliases", 1, OPT_SETTING, "aliases" },
	{ "source-ip", 1, OPT_SETTING, "source_ip" },
	{ "proxy-host", 1, OPT_SETTING, "proxy_host" },
	{ "proxy-port", 1, OPT_SETTING, "proxy_port" },
	{ "socket", 1, OPT_SETTING, "socket" },
};

static int cli_usage(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cli_usage(char *err, size_t errlen, const char *fmt, ...)
{
	char m[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s; see 'kurier --help'", m);
	return -1;
}

/* -f as Postfix's sendmail takes it: "<>" and "" are the null sender;
 * "Name <addr>", "<addr>" and "addr (comment)" give the address inside.
 * Anything that is not one mailbox stays as it is, for the envelope check
 * to refuse. REQ owns the result. */
static void cli_sender(const char *a, struct request *req)
{
	struct addr_list l = { 0 };

	free(req->from);
	if (strcmp(a, "<>") == 0)
		req->from = xstrdup("");
	else if (strpbrk(a, "<( \t") != NULL && addr_list_parse(a, strlen(a), &l, NULL, 0) == 0 && l.n == 1)
		req->from = xstrdup(l.v[0]);
	else
		req->from = xstrdup(a);
	addr_list_free(&l);
}

/* -N: "never" alone, or a comma list of failure, delay, success (RFC 3461 4.1). */
static int cli_dsn_notify(const char *v, struct request *req, char *err, size_t errlen)
{
	char buf[64], *p;
	size_t n = strlen(v), i, start = 0;
	bool never = false, other = false;

	if (n == 0 || n >= sizeof buf)
		return cli_usage(err, errlen, "bad -N value '%s' (never, or failure,delay,success)", v);
	for (i = 0; i <= n; i++)
		buf[i] = (char)toupper((unsigned char)v[i]);
	for (i = 0; i <= n; i++) {
		if (buf[i] != ',' && buf[i] != '\0')
			continue;
		p = buf + start;
		if (i - start == 5 && memcmp(p, "NEVER", 5) == 0)
			never = true;
		else if ((i - start == 7 && memcmp(p, "FAILURE", 7) == 0) ||
			 (i - start == 5 && memcmp(p, "DELAY", 5) == 0) ||
			 (i - start == 7 && memcmp(p, "SUCCESS", 7) == 0))
			other = true;
		else
			return cli_usage(err, errlen, "bad -N value '%s' (never, or failure,delay,success)", v);
		start = i + 1;
	}
	if (never && other)
		return cli_usage(err, errlen, "bad -N value '%s': never cannot be combined", v);
	free((char *)req->dsn_notify);
	req->dsn_notify = xstrdup(buf);
	return 0;
}

/* -od and its letter: sendmail's delivery modes. */
static int cli_delivery(const char *v, struct request *req, char *err, size_t errlen)
{
	if (strcmp(v, "i") == 0)
		req->delivery = CLI_DELIVER_INTERACTIVE;
	else if (strcmp(v, "b") == 0)
		req->delivery = CLI_DELIVER_BACKGROUND;
	else if (strcmp(v, "q") == 0 || strcmp(v, "d") == 0)
		req->delivery = CLI_DELIVER_QUEUE;
	else
		return cli_usage(err, errlen, "unknown delivery mode -od%s (-odi, -odb or -odq)", v);
	return 0;
}

/* -q and what follows it in the same word: nothing, f (foreground; a
 * queue run is always in the foreground), an interval (sendmail's daemon:
 * kurier runs once; a timer repeats it), or I, R, S with the text (here or
 * in the next argument). Returns 0, 1 when the next argument was taken, or
 * -1. */
static int cli_queue_run(const char *v, const char *next, struct request *req, char *err, size_t errlen)
{
	const char **sel = NULL;
	int used = 0;

	req->mode = CLI_QUEUE_RUN;
	if (*v == '\0' || strcmp(v, "f") == 0)
		return 0;
	if (isdigit((unsigned char)*v)) {
		while (isdigit((unsigned char)*v))
			v++;
		if (*v != '\0' && strchr("smhdw", *v) != NULL)
			v++;
		if (*v == '\0')
			return 0;
		return cli_usage(err, errlen, "bad -q interval");
	}
	switch (*v) {
	case 'I': sel = &req->queue_id; break;
	case 'R': sel = &req->queue_rcpt; break;
	case 'S': sel = &req->queue_sender; break;
	default:
		return cli_usage(err, errlen, "unknown queue selection -q%s (-qI ID, -qR ADDR or -qS ADDR)", v);
	}
	if (v[1] == '\0') {
		if (next == NULL)
			return cli_usage(err, errlen, "option -q%c needs a value", *v);
		*sel = next;
		used = 1;
	} else {
		*sel = v + 1;
	}
	return used;
}

static int cli_option(int id, const char *val, struct request *req, char *err, size_t errlen)
{
	switch (id) {
	case 'f':
	case 'r':
	case OPT_FROM:
		cli_sender(val, req);
		return 0;
	case 'F': req->full_name = val; return 0;
	case 'a':
	case OPT_ACCOUNT: req->account = val; return 0;
	case 'C':
	case OPT_FILE: req->config_file = val; return 0;
	case 'X': req->transcript_file = val; return 0;
	case 'N': return cli_dsn_notify(val, req, err, errlen);
	case 'R':
		if (strcasecmp(val, "hdrs") == 0)
			req->dsn_return = "HDRS";
		else if (strcasecmp(val, "full") == 0)
			req->dsn_return = "FULL";
		else
			return cli_usage(err, errlen, "bad -R value '%s' (hdrs or full)", val);
		return 0;
	case 'V':
		if (strlen(val) > 100)
			return cli_usage(err, errlen, "-V envelope id longer than 100 characters");
		for (const char *p = val; *p != '\0'; p++)
			if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
				return cli_usage(err, errlen, "-V envelope id must be printable ASCII");
		req->dsn_envid = val;
		return 0;
	case 'B':
		if (strcasecmp(val, "8BITMIME") == 0)
			req->body = SMTP_BODY_8BITMIME;
		else if (strcasecmp(val, "7BIT") == 0)
			req->body = SMTP_BODY_7BIT;
		else
			return cli_usage(err, errlen, "bad -B value '%s' (8BITMIME or 7BIT)", val);
		return 0;
	case 'b':
		if (strcmp(val, "m") == 0)
			return 0;
		if (strcmp(val, "p") == 0) {
			req->mode = CLI_QUEUE_LIST;
			return 0;
		}
		if (strcmp(val, "i") == 0) {
			req->mode = CLI_NEWALIASES;
			return 0;
		}
		if (strcmp(val, "s") == 0) {
			req->mode = CLI_SMTP_STDIO;
			return 0;
		}
		return cli_usage(err, errlen, "mode -b%s is not supported (only -bm, -bp, -bs and -bi)", val);
	case 'o':
		/* -oi and -od have meaning here; sendmail's others (-oem,
		 * -oep, -oX...) are ignored. */
		if (strcmp(val, "i") == 0)
			req->ignore_dots = true;
		if (val[0] == 'd')
			return cli_delivery(val + 1, req, err, errlen);
		return 0;
	case 'e':
	case 'L':
	case 'h':
	case 'O':
		return 0;
	case OPT_HELP: req->mode = CLI_HELP; return 0;
	case OPT_VERSION: req->mode = CLI_VERSION; return 0;
	case OPT_READ_ENVELOPE_FROM: req->read_envelope_from = true; return 0;
	case 'P':
	case OPT_PRETEND: req->mode = CLI_PRETEND; return 0;
	case 'S':
	case OPT_SERVERINFO: req->mode = CLI_SERVERINFO; return 0;
	case 'd':
	case OPT_DEBUG: req->debug = true; return 0;
	case OPT_READ_RECIPIENTS: req->read_recipients = true; return 0;
	case OPT_QUEUE_RUN: req->mode = CLI_QUEUE_RUN; return 0;
	case OPT_QUEUE_JSON: req->mode = CLI_QUEUE_JSON; return 0;
	case OPT_QUEUE_DELETE:
		req->mode = CLI_QUEUE_DELETE;
		req->queue_id = val;
		return 0;
	}
	return cli_usage(err, errlen, "internal: unhandled option %d", id);
}

/* Record "--NAME[=VALUE]" of L as an account setting; the array has room
 * for one per argument. */
static void cli_setting_add(struct request *req, const struct cli_long *l, const char *val, int argc)
{
	struct cli_setting *s;

	if (req->settings == NULL)
		req->settings = xcalloc((size_t)argc, sizeof *req->settings);
	s = &req->settings[req->nsettings++];
	s->option = l->name;
	s->keyword = l->keyword;
	s->value = val;
	if (strcmp(l->keyword, "host") == 0)
		req->has_host = true;
}

static int cli_long(int argc, char *const *argv, int *i, struct request *req, char *err, size_t errlen)
{
	const char *a = argv[*i] + 2;
	const char *eq = strchr(a, '=');
	size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);
	const char *val;
	size_t k;

	for (k = 0; k < sizeof cli_longs / sizeof cli_longs[0]; k++) {
		const struct cli_long *l = &cli_longs[k];
		if (strlen(l->name) != n || strncmp(l->name, a, n) != 0)
			continue;
		if (l->has_arg == 0) {
			if (eq != NULL)
				return cli_usage(err, errlen, "option --%s takes no value", l->name);
			return cli_option(l->id, NULL, req, err, errlen);
		}
		if (eq != NULL) {
			val = eq + 1;
		} else if (l->has_arg == 2) {
			/* As msmtp (getopt's optional argument): a bare --tls is
			 * "on", and a value must be joined with '='. "--tls off"
			 * would make "off" a recipient, so that is refused. */
			if (*i + 1 < argc && (strcmp(argv[*i + 1], "on") == 0 || strcmp(argv[*i + 1], "off") == 0))
				return cli_usage(err, errlen, "write --%s=%s: the value of --%s must be joined with '='",
						 l->name, argv[*i + 1], l->name);
			val = "on";
		} else if (*i + 1 < argc) {
			val = argv[++*i];
		} else {
			return cli_usage(err, errlen, "option --%s needs a value", l->name);
		}
		if (l->id == OPT_SETTING) {
			cli_setting_add(req, l, val, argc);
			return 0;
		}
		return cli_option(l->id, val, req, err, errlen);
	}
	return cli_usage(err, errlen, "unknown option '%s'", argv[*i]);
}

int cli_parse(int argc, char *const *argv, struct request *req, char *err, size_t errlen)
{
	int i;

	memset(req, 0, sizeof *req);
	req->mode = CLI_SEND;
	req->body = SMTP_BODY_AUTO;
	/* Called by a sendmail's other names (links to kurier). */
	if (argc > 0 && argv[0] != NULL) {
		const char *name = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
		if (strcmp(name, "mailq") == 0)
			req->mode = CLI_QUEUE_LIST;
		else if (strcmp(name, "newaliases") == 0)
			req->mode = CLI_NEWALIASES;
		req->as_sendmail = strcmp(name, "sendmail") == 0;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t j;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break; /* the first recipient ends the options */
		if (a[1] == '-') {
			if (cli_long(argc, argv, &i, req, err, errlen) != 0)
				return -1;
			continue;
		}
		for (j = 1; a[j] != '\0'; j++) {
			char c = a[j];
			const char *val;

			switch (c) {
			case 't': req->read_recipients = true; continue;
			case 'i': req->ignore_dots = true; continue;
			case 'v': req->verbose++; continue;
			case 'd':
			case 'P':
			case 'S':
				if (cli_option(c, NULL, req, err, errlen) != 0)
					return -1;
				continue;
			case 'U':
			case 'G':
			case 'n':
				continue;
			case 'f': case 'r': case 'F': case 'a': case 'C': case 'X': case 'N':
			case 'R': case 'V': case 'B': case 'L': case 'h': case 'O':
				if (a[j + 1] != '\0') {
					val = a + j + 1;
				} else if (i + 1 < argc) {
					val = argv[++i];
				} else {
					char o[3] = { '-', c, '\0' };
					return cli_usage(err, errlen, "option %s needs a value", o);
				}
				if (cli_option(c, val, req, err, errlen) != 0)
					return -1;
				break;
			case 'q': {
				int r = cli_queue_run(a + j + 1, i + 1 < argc ? argv[i + 1] : NULL, req, err, errlen);
				if (r < 0)
					return -1;
				i += r;
				break;
			}
			case 'b':
			case 'o':
			case 'e':
				/* The rest of the word is the sub-option: -bm, -oi, -oem. */
				if (a[j + 1] == '\0') {
					char o[3] = { '-', c, '\0' };
					return cli_usage(err, errlen, "option %s needs a letter after it", o);
				}
				if (cli_option(c, a + j + 1, req, err, errlen) != 0)
					return -1;
				break;
			default: {
				char o[3] = { '-', c, '\0' };
				return cli_usage(err, errlen, "unknown option '%s'", o);
			}
			}
			break; /* the option took the rest of this word */
		}
	}
	req->rcpt_args = argv + i;
	req->nrcpt_args = (size_t)(argc - i);
	/* msmtp: --host means "settings from the command line, no file"; a
	 * file named as well would be silently unused. */
	if (req->has_host && req->account == NULL && req->config_file != NULL)
		return cli_usage(err, errlen, "--host without -a reads no configuration file; "
				 "drop -C, or name the account to change with -a");
	return 0;
}

void cli_free(struct request *req)
{
	free(req->settings);
	req->settings = NULL;
	req->nsettings = 0;
	free((char *)req->dsn_notify);
	req->dsn_notify = NULL;
	free(req->from);
	req->from = NULL;
}
