/* cli.h: the sendmail option grammar, parsed into one immutable request.
 * Pure: argv in, struct request out; nothing is opened or printed. */
#ifndef KURIER_CLI_H
#define KURIER_CLI_H

#include "common.h"
#include "smtp.h"

enum cli_mode {
	CLI_SEND,        /* -bm, the default: read a message and submit it */
	CLI_PRETEND,     /* --pretend: print the resolved account */
	CLI_SERVERINFO,  /* --serverinfo: EHLO and print the capabilities */
	CLI_HELP,
	CLI_VERSION,
	CLI_QUEUE_LIST,  /* -bp, or called as mailq: list the queue */
	CLI_QUEUE_JSON,  /* --queue-json: the same as JSON lines */
	CLI_QUEUE_RUN,   /* -q, --queue-run: deliver the due entries */
	CLI_QUEUE_DELETE,/* --queue-delete=ID */
	CLI_SMTP_STDIO,  /* -bs: SMTP on standard input and output */
	CLI_NEWALIASES,  /* -bi, or called as newaliases: nothing to build */
};

/* -od: when a message is delivered (sendmail's delivery modes); they
 * override the account's queue keyword. */
enum cli_delivery {
	CLI_DELIVER_DEFAULT,     /* as the account's queue keyword says */
	CLI_DELIVER_INTERACTIVE, /* -odi: submit now, never queue */
	CLI_DELIVER_BACKGROUND,  /* -odb: queue, then deliver in the background */
	CLI_DELIVER_QUEUE,       /* -odq, -odd: queue only; a queue run delivers */
};

/* One account setting from the command line (msmtp's long options that set a
 * configuration keyword): --port=2525 is { "port", "port", "2525" }. The
 * value is not checked here; config.c checks it as it checks a file line. */
struct cli_setting {
	const char *option;           /* the long option without its dashes, for messages */
	const char *keyword;          /* the kurierrc(5) keyword, old spellings included */
	const char *value;            /* as given ("" may unset); "on" for a bare --tls */
};

struct request {
	enum cli_mode mode;
	const char *account;          /* -a, --account */
	const char *config_file;      /* -C, --file */
	char *from;                   /* -f, -r, --from: the address (owned); "" is the null sender */
	const char *full_name;        /* -F */
	bool read_recipients;         /* -t */
	bool read_envelope_from;      /* --read-envelope-from */
	bool ignore_dots;             /* -i, -oi */
	int verbose;                  /* -v (repeatable) */
	bool debug;                   /* --debug */
	const char *transcript_file;  /* -X */
	bool as_sendmail;             /* called by the name sendmail (PHP, cron, mail clients) */
	const char *dsn_notify;       /* -N, upper-cased comma list, or NULL */
	const char *dsn_return;       /* -R: FULL or HDRS, or NULL */
	const char *dsn_envid;        /* -V */
	enum smtp_body body;          /* -B */
	struct cli_setting *settings; /* account settings, in command-line order (owned array) */
	size_t nsettings;
	bool has_host;                /* --host was given: with no -a, no file is read */
	enum cli_delivery delivery;   /* -od */
	const char *queue_id;         /* -qI: entries whose id contains it; --queue-delete: the id */
	const char *queue_rcpt;       /* -qR: entries with a recipient containing it (any case) */
	const char *queue_sender;     /* -qS: entries whose sender contains it (any case) */
	char *const *rcpt_args;       /* the recipient arguments, as given */
	size_t nrcpt_args;
};

/* Parse ARGV into REQ (pointers into ARGV or into static strings; REQ does
 * not own them except the two noted). Returns 0, or -1 with ERR set to a
 * usage message ("unknown option -x"). */
int cli_parse(int argc, char *const *argv, struct request *req, char *err, size_t errlen);
/* Free what cli_parse allocated (the upper-cased DSN strings, the settings
 * array, the sender). */
void cli_free(struct request *req);

/* --help text and the list of every option, for tests and completions. */
extern const char cli_help_text[];

#endif
