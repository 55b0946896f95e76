/* msa-sasl.h: the test MSA's SMTP AUTH (RFC 4954) server side, kept apart
 * from the script logic in msa.c. PLAIN, LOGIN, CRAM-MD5 and SCRAM (with
 * -PLUS channel binding from msa-tls.c) run on libgsasl in server mode;
 * XOAUTH2 and OAUTHBEARER are done here. msa.c hands over the AUTH line and
 * then every exchange line; this file answers with reply lines and, when an
 * exchange ends, the line for the session's N.auth record. */
#ifndef KURIER_MSA_SASL_H
#define KURIER_MSA_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "msa-tls.h"

#define MSA_SASL_LINE_MAX 12288 /* longest AUTH or exchange line, CRLF not counted */

struct msa_sasl_conf {
	const char *user;     /* --auth-user: the one valid user */
	const char *password; /* --auth-password, or NULL: no password is valid */
	const char *token;    /* --auth-token, or NULL: no bearer token is valid */
	const char *mechs;    /* --auth-mechs, or NULL for the default list */
	const char *scram_iter; /* --auth-scram-iterations: SCRAM's count, or NULL for libgsasl's 4096 */
	const char *scram_mext; /* --auth-scram-extension: a mandatory "m=..." put first in the
				 * server-first message, or NULL */
};

struct msa_sasl;      /* the configuration and the libgsasl context */
struct msa_sasl_exch; /* one AUTH exchange in progress */

/* What to do after the AUTH line or an exchange line. */
struct msa_sasl_step {
	char *reply;  /* the reply, CRLF-terminated (malloc'd) */
	bool more;    /* a 334 challenge: the next client line goes to msa_sasl_next() */
	bool ok;      /* the exchange ended with 235 */
	char *record; /* the exchange ended: its N.auth line, no LF (malloc'd), or NULL */
	char *notes;  /* transcript notes, LF-separated (malloc'd), or NULL */
};

/* Load the configuration; NULL and a message on stderr when it is bad. */
struct msa_sasl *msa_sasl_new(const struct msa_sasl_conf *c);
void msa_sasl_free(struct msa_sasl *sa);

/* The mechanisms EHLO advertises after "AUTH " (TLS: TLS is active). */
const char *msa_sasl_mechs(const struct msa_sasl *sa, bool tls);

/* Start the exchange for the AUTH command's argument ARG[0..N) (mechanism
 * and optional initial response). TLS is the connection's TLS session or
 * NULL; BAD_SIGNATURE is the script's auth-bad-signature. Fills ST; returns
 * the exchange when ST->more, else NULL. */
struct msa_sasl_exch *msa_sasl_begin(struct msa_sasl *sa, struct msa_tls *tls, bool bad_signature,
				     const char *arg, size_t n, struct msa_sasl_step *st);
/* The client's next line LINE[0..N) (base64, empty or "*"). Fills ST; when
 * !ST->more the exchange is over: free it. */
void msa_sasl_next(struct msa_sasl_exch *ex, const char *line, size_t n, struct msa_sasl_step *st);
/* The N.auth line for an exchange cut short with WHY ("fail" when a line
 * was too long, "incomplete" when the session ended); malloc'd. */
char *msa_sasl_abort_record(struct msa_sasl_exch *ex, const char *why);
void msa_sasl_exch_free(struct msa_sasl_exch *ex);
void msa_sasl_step_clear(struct msa_sasl_step *st);

#endif
