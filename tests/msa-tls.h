/* msa-tls.h: the test MSA's GnuTLS server side, kept apart from the
 * script logic in msa.c. Blocking-with-deadline handshake on a
 * non-blocking fd; reads and writes follow recv/send's contract. */
#ifndef KURIER_MSA_TLS_H
#define KURIER_MSA_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct msa_tls_conf {
	const char *cert;       /* PEM certificate chain */
	const char *key;        /* its key */
	const char *client_ca;  /* ask for and verify a client certificate, or NULL */
	const char *priorities; /* GnuTLS priority string, or NULL for NORMAL */
};

struct msa_tls;

/* Load the credentials once; NULL and a message on stderr on failure. */
struct msa_tls_creds *msa_tls_creds_new(const struct msa_tls_conf *c);
void msa_tls_creds_free(struct msa_tls_creds *cr);

/* Server handshake on FD, done by TIMEOUT_MS. NULL on failure, with what
 * went wrong in ERR. */
struct msa_tls *msa_tls_accept(struct msa_tls_creds *cr, int fd, int timeout_ms, char *err, size_t errlen);
ssize_t msa_tls_read(struct msa_tls *t, void *p, size_t n);
ssize_t msa_tls_write(struct msa_tls *t, const void *p, size_t n);
size_t msa_tls_pending(struct msa_tls *t);
void msa_tls_bye(struct msa_tls *t);
void msa_tls_free(struct msa_tls *t);
/* "TLS1.3 cipher=... resumed=no client=CN" for the session's .tls record. */
void msa_tls_describe(struct msa_tls *t, char *buf, size_t len);
/* true when the client presented a certificate (verified by the handshake:
 * with --tls-client-ca one is required and checked). */
bool msa_tls_has_client_cert(struct msa_tls *t);
/* Channel binding data of this session ("tls-exporter" / "tls-unique"). */
int msa_tls_channel_binding(struct msa_tls *t, const char *type, unsigned char *out, size_t *len);

#endif
