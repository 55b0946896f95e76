/* msa-tls.c: GnuTLS for the test MSA: credentials, the server handshake
 * with a deadline, record I/O with recv/send semantics, session tickets
 * so clients can resume, and the facts tests assert on. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msa-tls.h"

struct msa_tls_creds {
	gnutls_certificate_credentials_t x509;
	gnutls_datum_t ticket_key;
	bool want_client;
	const char *priorities;
};

struct msa_tls {
	gnutls_session_t s;
	int fd;
};

struct msa_tls_creds *msa_tls_creds_new(const struct msa_tls_conf *c)
{
	struct msa_tls_creds *cr = calloc(1, sizeof *cr);
	int r;

	if (cr == NULL)
		return NULL;
	cr->priorities = c->priorities;
	if ((r = gnutls_certificate_allocate_credentials(&cr->x509)) < 0 ||
	    (r = gnutls_certificate_set_x509_key_file(cr->x509, c->cert, c->key, GNUTLS_X509_FMT_PEM)) < 0) {
		fprintf(stderr, "msa: TLS credentials %s / %s: %s\n", c->cert, c->key, gnutls_strerror(r));
		msa_tls_creds_free(cr);
		return NULL;
	}
	if (c->client_ca != NULL) {
		r = gnutls_certificate_set_x509_trust_file(cr->x509, c->client_ca, GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			fprintf(stderr, "msa: client CA %s: %s\n", c->client_ca, r < 0 ? gnutls_strerror(r) : "no certificates");
			msa_tls_creds_free(cr);
			return NULL;
		}
		cr->want_client = true;
	}
	if ((r = gnutls_session_ticket_key_generate(&cr->ticket_key)) < 0) {
		fprintf(stderr, "msa: session ticket key: %s\n", gnutls_strerror(r));
		msa_tls_creds_free(cr);
		return NULL;
	}
	return cr;
}

void msa_tls_creds_free(struct msa_tls_creds *cr)
{
	if (cr == NULL)
		return;
	if (cr->x509 != NULL)
		gnutls_certificate_free_credentials(cr->x509);
	if (cr->ticket_key.data != NULL)
		gnutls_free(cr->ticket_key.data);
	free(cr);
}

static long msa_tls_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

struct msa_tls *msa_tls_accept(struct msa_tls_creds *cr, int fd, int timeout_ms, char *err, size_t errlen)
{
	struct msa_tls *t = calloc(1, sizeof *t);
	long until = msa_tls_now() + timeout_ms;
	const char *epos = NULL;
	int r;

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->fd = fd;
	if ((r = gnutls_init(&t->s, GNUTLS_SERVER | GNUTLS_NONBLOCK)) < 0)
		goto fail;
	if ((r = gnutls_priority_set_direct(t->s, cr->priorities != NULL ? cr->priorities : "NORMAL", &epos)) < 0)
		goto fail;
	if ((r = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, cr->x509)) < 0)
		goto fail;
	if ((r = gnutls_session_ticket_enable_server(t->s, &cr->ticket_key)) < 0)
		goto fail;
	if (cr->want_client)
		gnutls_certificate_server_set_request(t->s, GNUTLS_CERT_REQUIRE);
	gnutls_transport_set_int(t->s, fd);
	for (;;) {
		struct pollfd pfd = { fd, 0, 0 };
		long left;

		r = gnutls_handshake(t->s);
		if (r == 0)
			break;
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal(r))
			goto fail;
		left = until - msa_tls_now();
		if (left <= 0) {
			snprintf(err, errlen, "TLS handshake timed out");
			msa_tls_free(t);
			return NULL;
		}
		pfd.events = gnutls_record_get_direction(t->s) ? POLLOUT : POLLIN;
		poll(&pfd, 1, (int)left);
	}
	if (cr->want_client) {
		unsigned status = 0;
		if (gnutls_certificate_verify_peers2(t->s, &status) < 0 || status != 0) {
			snprintf(err, errlen, "client certificate not trusted (status 0x%x)", status);
			msa_tls_free(t);
			return NULL;
		}
	}
	return t;
fail:
	snprintf(err, errlen, "TLS handshake: %s", gnutls_strerror(r));
	msa_tls_free(t);
	return NULL;
}

ssize_t msa_tls_read(struct msa_tls *t, void *p, size_t n)
{
	ssize_t r = gnutls_record_recv(t->s, p, n);

	if (r >= 0)
		return r;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		errno = EAGAIN;
		return -1;
	}
	if (r == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	errno = EPROTO;
	return -1;
}

ssize_t msa_tls_write(struct msa_tls *t, const void *p, size_t n)
{
	ssize_t r = gnutls_record_send(t->s, p, n);

	if (r >= 0)
		return r;
	errno = (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) ? EAGAIN : EPIPE;
	return -1;
}

size_t msa_tls_pending(struct msa_tls *t)
{
	return gnutls_record_check_pending(t->s);
}

void msa_tls_bye(struct msa_tls *t)
{
	gnutls_bye(t->s, GNUTLS_SHUT_WR);
}

void msa_tls_free(struct msa_tls *t)
{
	if (t == NULL)
		return;
	if (t->s != NULL)
		gnutls_deinit(t->s);
	free(t);
}

void msa_tls_describe(struct msa_tls *t, char *buf, size_t len)
{
	char cn[256] = "-";
	const gnutls_datum_t *certs;
	unsigned int ncerts = 0;
	char *desc = gnutls_session_get_desc(t->s);

	certs = gnutls_certificate_get_peers(t->s, &ncerts);
	if (certs != NULL && ncerts > 0) {
		gnutls_x509_crt_t crt;
		size_t cnlen = sizeof cn;
		if (gnutls_x509_crt_init(&crt) == 0) {
			if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) != 0 ||
			    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cnlen) != 0)
				snprintf(cn, sizeof cn, "?");
			gnutls_x509_crt_deinit(crt);
		}
	}
	snprintf(buf, len, "%s %s resumed=%s client=%s",
		 gnutls_protocol_get_name(gnutls_protocol_get_version(t->s)),
		 desc != NULL ? desc : "?", gnutls_session_is_resumed(t->s) ? "yes" : "no", cn);
	gnutls_free(desc);
}

int msa_tls_channel_binding(struct msa_tls *t, const char *type, unsigned char *out, size_t *len)
{
	gnutls_datum_t cb = { NULL, 0 };
	gnutls_channel_binding_t kind;

	if (strcmp(type, "tls-unique") == 0)
		kind = GNUTLS_CB_TLS_UNIQUE;
	else if (strcmp(type, "tls-exporter") == 0)
		kind = GNUTLS_CB_TLS_EXPORTER;
	else
		return -1;
	if (gnutls_session_channel_binding(t->s, kind, &cb) != 0 || cb.size > *len) {
		gnutls_free(cb.data);
		return -1;
	}
	memcpy(out, cb.data, cb.size);
	*len = cb.size;
	gnutls_free(cb.data);
	return 0;
}

bool msa_tls_has_client_cert(struct msa_tls *t)
{
	unsigned int n = 0;
	return gnutls_certificate_get_peers(t->s, &n) != NULL && n > 0;
}
