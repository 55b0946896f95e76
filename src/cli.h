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
	CLI_QUEUE_LIST,  /* -bp, or called as mailq: there is no queue to list */
	CLI_QUEUE_RUN,   /* -q[...]: there is no queue to run */
	CLI_NEWALIASES,  /* -bi, or called as newaliases: nothing to build */
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
	char *const *rcpt_args;       /* the recipient arguments, as given */
	size_t nrcpt_args;
};

/* Parse ARGV into REQ (pointers into ARGV or into static strings; REQ does
 * not own them except the two noted). Returns 0, or -1 with ERR set to a
 * usage message ("unknown option -x"). */
int cli_parse(int argc, char *const *argv, struct request *req, char *err, size_t errlen);
/* Free what cli_parse allocated (the upper-cased DSN strings). */
void cli_free(struct request *req);

/* --help text and the list of every option, for tests and completions. */
extern const char cli_help_text[];

#endif
