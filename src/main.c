/* main.c: the front end: the request from the command line, the
 * configuration, one submission (submit.c), and the exit through the
 * outcome table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "address.h"
#include "auth.h"
#include "cli.h"
#include "config.h"
#include "diag.h"
#include "facts.h"
#include "log.h"
#include "outcome.h"
#include "queue-run.h"
#include "secret.h"
#include "submit.h"
#include "tls.h"

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

static bool queue_mode(enum cli_mode m)
{
	return m == CLI_QUEUE_LIST || m == CLI_QUEUE_JSON || m == CLI_QUEUE_RUN || m == CLI_QUEUE_DELETE;
}

/* The configuration: --host without -a builds the account from the
 * command line alone; else the files (cfg_load_files); with none, msmtp's
 * last resort from the environment. Returns OUTCOME_OK or prints why not. */
static enum outcome load_config(const struct request *req, const struct diag *d, struct cfg_file *cf)
{
	char err[KURIER_ERRLEN];
	struct cfg_places places = {
		.user_file = req->config_file, .home = facts_home_dir(),
		.xdg_config_home = getenv("XDG_CONFIG_HOME"), .system_file = SYSCONFDIR "/kurierrc",
	};
	struct cfg_loaded loaded;
	int r, e;

	/* msmtp: --host without -a takes every setting from the command line
	 * and reads no file (cli.c refuses -C with it). */
	if (req->has_host && req->account == NULL) {
		memset(cf, 0, sizeof *cf);
		cf->path = xstrdup("command line");
		cf->accounts = cfg_account_new("(command line)", "command line");
		return OUTCOME_OK;
	}
	r = cfg_load_files(&places, cf, &loaded, err, sizeof err);
	if (r == 0) {
		if (loaded.user[0] != '\0' && req->config_file == NULL)
			diag_note(d, 1, "using configuration file %s%s", loaded.user,
				  loaded.user_is_msmtp ? " (an msmtp configuration file)" : "");
		if (loaded.system)
			diag_note(d, 1, "using system configuration file %s", places.system_file);
		if (loaded.warning[0] != '\0')
			diag_warn("%s", loaded.warning);
		return OUTCOME_OK;
	}
	if (r == 1 && (e = env_account(cf)) != 0)
		return e > 0 ? OUTCOME_OK : OUTCOME_CONFIG;
	/* The queue's modes without any configuration: the default queue of
	 * this user (empty, unless a configuration has gone since). */
	if (r == 1 && queue_mode(req->mode)) {
		memset(cf, 0, sizeof *cf);
		cf->path = xstrdup("no configuration");
		cf->accounts = cfg_account_new("(none)", "no configuration");
		return OUTCOME_OK;
	}
	diag_error("%s", err);
	return OUTCOME_CONFIG;
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

/* The transcript file of -X, or none. Returns OUTCOME_OK or 78. */
static enum outcome open_transcript(const struct request *req, struct diag *d)
{
	char err[KURIER_ERRLEN];
	int fd;

	if (req->transcript_file == NULL)
		return OUTCOME_OK;
	/* CVE-2016-10033 (PHPMailer): a web application that passes an
	 * attacker's sender to sendmail can be made to add -X and write a
	 * file. Under the name sendmail -X is ignored, as Postfix does. */
	if (req->as_sendmail) {
		diag_warn("-X %s ignored: kurier writes no transcript when called as sendmail; "
			  "run it as kurier to get one", req->transcript_file);
		log_syslog_warning("-X option ignored when called as sendmail (uid %ld)", (long)getuid());
		return OUTCOME_OK;
	}
	fd = log_open_private(req->transcript_file, false, err, sizeof err);
	d->transcript = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (d->transcript == NULL) {
		if (fd >= 0)
			close(fd);
		diag_error("cannot open transcript file %s", err);
		return OUTCOME_CONFIG;
	}
	return OUTCOME_OK;
}

int main(int argc, char **argv)
{
	struct request req;
	struct cfg_file cf;
	struct diag d = { 0 };
	char err[KURIER_ERRLEN];
	enum outcome o = OUTCOME_OK;
	bool have_cf = false;

	/* before any config or secret is read: nothing of it in a core dump */
	if (secret_protect_process() != 0)
		diag_warn("cannot turn off core dumps: %s", strerror(errno));
	memset(&cf, 0, sizeof cf);
	if (cli_parse(argc, argv, &req, err, sizeof err) != 0) {
		diag_error("%s", err);
		o = OUTCOME_USAGE;
		goto out;
	}
	d.verbose = req.verbose;
	d.debug = req.debug;
	switch (req.mode) {
	case CLI_HELP:
		fputs(cli_help_text, stdout);
		goto out;
	case CLI_VERSION:
		print_version();
		goto out;
	/* kurier reads aliases files as text on every message. */
	case CLI_NEWALIASES:
		diag_note(&d, 1, "nothing to rebuild: aliases files are read as they are");
		goto out;
	default:
		break;
	}
	if ((o = open_transcript(&req, &d)) != OUTCOME_OK || (o = load_config(&req, &d, &cf)) != OUTCOME_OK)
		goto out;
	have_cf = true;

	switch (req.mode) {
	case CLI_QUEUE_LIST:
	case CLI_QUEUE_JSON:
		o = qrun_list(&req, &cf, req.mode == CLI_QUEUE_JSON);
		break;
	case CLI_QUEUE_RUN:
		o = qrun_run(&req, &cf, NULL, &d);
		break;
	case CLI_QUEUE_DELETE:
		o = qrun_delete(&req, &cf);
		break;
	case CLI_SMTP_STDIO:
		o = submit_smtp_stdio(&req, &cf, &d);
		break;
	default:
		o = submit_run(&req, &cf, &d);
		break;
	}
out:
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
