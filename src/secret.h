/* secret.h: where passwords and tokens come from (password, passwordeval)
 * and how they are disposed of. A secret never goes into argv or the
 * environment of a child. */
#ifndef KURIER_SECRET_H
#define KURIER_SECRET_H

#include "common.h"

/* Before any secret is read: no core dump of this process (RLIMIT_CORE 0)
 * and not dumpable (PR_SET_DUMPABLE 0: no core, no ptrace attach by other
 * processes of the user, /proc/PID/mem closed). Returns 0, or -1 when
 * either could not be set (a warning, not a failure). */
int secret_protect_process(void);

/* Run COMMAND through /bin/sh -c with stdin from /dev/null (stderr and
 * the terminal stay available so gpg or pass can prompt) and return the
 * first line of its output in *OUT (free with xfree_secret). Returns 0, or
 * -1 with ERR naming the command's exit status or signal. */
int secret_eval(const char *command, char **out, char *err, size_t errlen);

/* The password for USER at HOST from the netrc file PATH ("machine HOST
 * login USER password P", or a "default" entry; '#' comments). 0 and *OUT,
 * 1 when the file has no such entry or does not exist, -1 with ERR on a
 * file that others may read or that is not a regular file of at most 1 MiB
 * (a FIFO is refused, never waited on). */
int secret_netrc(const char *path, const char *host, const char *user, char **out,
		 char *err, size_t errlen);

/* Ask on the controlling terminal (never on stdin, which carries the
 * message), without echo. 0 and *OUT, 1 when there is no terminal. */
int secret_prompt(const char *prompt, char **out);

/* Where an account's secret may come from, in the order they are tried. */
struct secret_sources {
	const char *password;      /* the account's password, or NULL */
	const char *passwordeval;  /* a command printing it, or NULL */
	const char *where_eval;    /* "FILE:LINE" of the passwordeval line, for messages */
	const char *netrc;         /* the netrc file to look in */
	const char *host, *user;   /* what netrc and the prompt look for */
	const char *account;       /* names in messages: the account ... */
	const char *config;        /* ... and its file */
};

/* The secret: the password, else passwordeval's output, else the netrc
 * entry, else a prompt on the terminal. 0 and *OUT (free with
 * xfree_secret), or -1 with ERR saying what is wrong and what to set. */
int secret_lookup(const struct secret_sources *src, char **out, char *err, size_t errlen);

#endif
