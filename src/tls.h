/* tls.h: the TLS client transport. tls_start runs a non-blocking GnuTLS
 * handshake over a connected plain transport (net.c) and, on success,
 * replaces its operations, so the session reads and writes through TLS. */
#ifndef KURIER_TLS_H
#define KURIER_TLS_H

#include <stddef.h>

#include "common.h"
#include "outcome.h"
#include "transport.h"

struct tls_conf {
	const char *host;          /* server name as configured (A-label form); SNI is sent unless it is an IP literal */
	const char *verify_name;   /* name the certificate must match (tls_host_override, else host); NULL = host */
	const char *trust_file;    /* NULL or "system": the system trust store; else a PEM CA file */
	const char *fingerprint;   /* NULL or "", or hex bytes with ':' of SHA-256 (32 bytes), SHA-1 (20) or MD5 (16): pins the leaf certificate and replaces CA verification */
	bool certcheck;            /* false = tls_certcheck off: no verification at all (caller warns) */
	const char *cert_file;     /* client certificate (PEM) or NULL */
	const char *key_file;      /* its key or NULL */
	const char *priorities;    /* GnuTLS priority string, used as given; NULL: "@SYSTEM" if the system has one, else "NORMAL", with TLS 1.0/1.1 disabled (TLS 1.2 minimum) */
	int min_dh_prime_bits;     /* 0 = GnuTLS default */
	const char *cache_file;    /* session resumption cache file (mode 0600), or NULL: loaded before the handshake, saved by close; corrupt, stale or foreign data is silently ignored */
	const char *crl_file;      /* NULL or "", or a PEM CRL file (tls_crl_file) checked with the CA verification; unreadable: OUTCOME_CONFIG */
};

/* Run the TLS handshake over the connected plain transport T, non-blocking,
 * polling T->fd until DEADLINE_MS (CLOCK_MONOTONIC milliseconds). On success
 * T's ops/impl are replaced by the TLS ones (reads and writes now go through
 * GnuTLS; close saves the session cache, sends close_notify best-effort and
 * closes the fd) and 0 is returned. On failure returns -1, sets *FAIL and
 * writes into ERR a message in words a user understands, and T is left
 * closable (still the plain transport):
 *   OUTCOME_UNAVAILABLE  the server certificate was refused
 *   OUTCOME_TEMPFAIL     the network failed or DEADLINE_MS passed
 *   OUTCOME_PROTOCOL     a TLS protocol error, or a plain SMTP server
 *   OUTCOME_CONFIG       unusable tls_trust_file, tls_crl_file, tls_cert_file, tls_key_file,
 *                        tls_fingerprint or tls_priorities
 * C need not outlive the call. */
int tls_start(struct transport *t, const struct tls_conf *conf, long deadline_ms,
	      enum outcome *fail, char *err, size_t errlen);

/* true when T's operations are the TLS ones (tls_start succeeded on it). */
bool tls_active(const struct transport *t);

struct tls_info {
	char version[32];       /* "TLS1.3" */
	char cipher[128];       /* GnuTLS's name of the suite, e.g. "TLS_AES_256_GCM_SHA384" */
	char subject[512], issuer[512];
	char not_before[32], not_after[32];   /* "2026-12-01 10:00:00 UTC" */
	char san[1024];         /* DNS names, comma separated */
	char sha256[100];       /* "AB:CD:..." */
	char sha1[64];          /* "AB:CD:..." */
	bool resumed;           /* the handshake resumed a cached session */
};
/* Describe the session and the server certificate. Returns 0, or -1 when T
 * is not a TLS transport. Certificate fields are empty when the server sent
 * none (a resumed session may not carry it). */
int tls_get_info(struct transport *t, struct tls_info *out);

/* Channel binding for SCRAM-PLUS: "tls-exporter" (RFC 9266; TLS 1.3) or
 * "tls-unique" (RFC 5929; TLS 1.2). Returns 0 and a malloc'd buffer, or -1
 * when that type is not available on this session. */
int tls_channel_binding(struct transport *t, const char *type, unsigned char **data, size_t *len);
/* The binding type that fits the negotiated version, or NULL when T is not
 * a TLS transport. */
const char *tls_channel_binding_type(struct transport *t);

/* true when FP is an MD5 or SHA-1 pin (16 or 20 bytes), for the caller's
 * weak-pin warning. */
bool tls_fingerprint_is_weak(const char *fp);

/* LEN unpredictable bytes into BUF from GnuTLS's nonce generator (unique,
 * not secret: a Message-ID). Returns 0, or -1 when there are none. */
int tls_random(void *buf, size_t len);

/* The version of GnuTLS in use, for --version. */
const char *tls_library_version(void);

#endif
