/* tls.c: the TLS client transport: GnuTLS credentials and priorities from
 * the account's settings, the non-blocking handshake under the caller's
 * deadline, verification or pinning of the server certificate with
 * messages a user can act on, the session resumption cache file, and TLS
 * reads and writes behind the transport interface. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common.h"
#include "tls.h"

#define TLS_CACHE_MAX 65536                  /* larger cache files are not ours */
#define TLS_CACHE_MAGIC "kurier-tls-session 1 "
#define TLS_FIRST 16                         /* server bytes kept to recognise plain SMTP */
#define TLS_DEFAULT_PRIO_SYSTEM "@SYSTEM:-VERS-TLS1.0:-VERS-TLS1.1"
#define TLS_DEFAULT_PRIO "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1"

struct tls_state {
	gnutls_session_t s;
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;
	int fd;
	const struct tls_conf *c;            /* the caller's settings, during tls_start only */
	char *cache_file;                    /* NULL: no session cache */
	char cache_key[65];                  /* hex SHA-256 of the settings the cache is valid for */
	bool vfailed;                        /* the certificate check refused; verr says why */
	char verr[KURIER_ERRLEN];
	unsigned char first[TLS_FIRST];      /* the first bytes the server sent */
	size_t nfirst;
	int net_errno;                       /* errno of the last failed recv/send, or 0 */
	short read_wait, write_wait;         /* poll events a blocked read/write waits for, or 0 */
	bool broken;                         /* a fatal error ended the session: do not cache it */
};

static const struct transport_ops tls_ops;

static long tls_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* GnuTLS's message for CODE, to go after a colon: "the request is
 * invalid", without the capital and the full stop. */
struct tls_text {
	char s[160];
};

static struct tls_text tls_strerror(int code)
{
	struct tls_text m;
	size_t n;

	snprintf(m.s, sizeof m.s, "%s", gnutls_strerror(code));
	n = strlen(m.s);
	while (n > 0 && (m.s[n - 1] == '.' || m.s[n - 1] == ' '))
		m.s[--n] = '\0';
	if (m.s[0] >= 'A' && m.s[0] <= 'Z' && (m.s[1] == ' ' || (m.s[1] >= 'a' && m.s[1] <= 'z')))
		m.s[0] = (char)(m.s[0] - 'A' + 'a');
	return m;
}

/* ---- the socket under GnuTLS ---------------------------------------- */

static ssize_t tls_pull(gnutls_transport_ptr_t p, void *buf, size_t len)
{
	struct tls_state *st = p;
	ssize_t n;

	do
		n = recv(st->fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0 && st->nfirst < sizeof st->first) {
		size_t k = sizeof st->first - st->nfirst;
		if (k > (size_t)n)
			k = (size_t)n;
		memcpy(st->first + st->nfirst, buf, k);
		st->nfirst += k;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			st->net_errno = errno;
		gnutls_transport_set_errno(st->s, errno);
	}
	return n;
}

static ssize_t tls_push(gnutls_transport_ptr_t p, const giovec_t *iov, int iovcnt)
{
	struct tls_state *st = p;
	struct msghdr m;
	ssize_t n;

	memset(&m, 0, sizeof m);
	m.msg_iov = (struct iovec *)(uintptr_t)iov;
	m.msg_iovlen = (size_t)iovcnt;
	do
		n = sendmsg(st->fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			st->net_errno = errno;
		gnutls_transport_set_errno(st->s, errno);
	}
	return n;
}

static int tls_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
	struct tls_state *st = p;
	struct pollfd pfd = { st->fd, POLLIN, 0 };
	int r;

	do
		r = poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* ---- fingerprints, names and dates ------------------------------------ */

/* Write N bytes of B as "AB:CD:..." into OUT. */
static void tls_hex(const unsigned char *b, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < n && o + 4 <= outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, i > 0 ? ":%02X" : "%02X", b[i]);
}

static int tls_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Parse "AB:CD:..." of 16, 20 or 32 bytes into PIN. Returns the number of
 * bytes, or 0 when FP is not such a fingerprint. */
static size_t tls_parse_pin(const char *fp, unsigned char pin[32])
{
	size_t n = strlen(fp), i, bytes = (n + 1) / 3;

	if ((n + 1) % 3 != 0 || (bytes != 16 && bytes != 20 && bytes != 32))
		return 0;
	for (i = 0; i < bytes; i++) {
		int hi = tls_hexval(fp[3 * i]), lo = tls_hexval(fp[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i + 1 < bytes && fp[3 * i + 2] != ':'))
			return 0;
		pin[i] = (unsigned char)(hi << 4 | lo);
	}
	return bytes;
}

bool tls_fingerprint_is_weak(const char *fp)
{
	unsigned char pin[32];
	size_t n = fp != NULL ? tls_parse_pin(fp, pin) : 0;
	return n == 16 || n == 20;
}

static const char *tls_digest_label(size_t bytes)
{
	return bytes == 32 ? "SHA-256" : bytes == 20 ? "SHA-1" : "MD5";
}

static gnutls_digest_algorithm_t tls_digest(size_t bytes)
{
	return bytes == 32 ? GNUTLS_DIG_SHA256 : bytes == 20 ? GNUTLS_DIG_SHA1 : GNUTLS_DIG_MD5;
}

/* The fingerprint of DER with the digest of BYTES bytes, as hex into OUT.
 * Returns 0, or -1 (OUT empty). */
static int tls_der_fingerprint(const gnutls_datum_t *der, size_t bytes, unsigned char raw[32],
			       char *out, size_t outlen)
{
	size_t size = 32;

	out[0] = '\0';
	if (gnutls_fingerprint(tls_digest(bytes), der, raw, &size) < 0 || size != bytes)
		return -1;
	tls_hex(raw, size, out, outlen);
	return 0;
}

static void tls_date(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outlen, "an unknown date");
}

/* The subject (ISSUER false) or issuer DN of CRT into OUT. */
static void tls_dn(gnutls_x509_crt_t crt, bool issuer, char *out, size_t outlen)
{
	gnutls_datum_t d = { NULL, 0 };
	int r = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &d, 0) : gnutls_x509_crt_get_dn3(crt, &d, 0);

	if (r < 0 || d.data == NULL)
		snprintf(out, outlen, "(unknown)");
	else
		snprintf(out, outlen, "%.*s", (int)d.size, (const char *)d.data);
	gnutls_free(d.data);
}

/* The names CRT is for, comma separated into OUT: its DNS names, with
 * WITH_IP also its IP addresses and, when it has neither, its CN. */
static void tls_names(gnutls_x509_crt_t crt, bool with_ip, char *out, size_t outlen)
{
	size_t o = 0;
	unsigned i;

	out[0] = '\0';
	for (i = 0; o + 1 < outlen; i++) {
		char name[256], ip[INET6_ADDRSTRLEN];
		size_t size = sizeof name - 1;
		const char *show = NULL;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &size, NULL);

		if (type < 0 && type != GNUTLS_E_SHORT_MEMORY_BUFFER)
			break;
		if (type == GNUTLS_SAN_DNSNAME) {
			name[size < sizeof name ? size : sizeof name - 1] = '\0';
			show = name;
		} else if (type == GNUTLS_SAN_IPADDRESS && with_ip && (size == 4 || size == 16)) {
			if (inet_ntop(size == 4 ? AF_INET : AF_INET6, name, ip, sizeof ip) != NULL)
				show = ip;
		}
		if (show != NULL) {
			int w = snprintf(out + o, outlen - o, "%s%s", o > 0 ? ", " : "", show);
			o = w > 0 && (size_t)w < outlen - o ? o + (size_t)w : outlen - 1;
		}
	}
	if (o == 0 && with_ip) {
		size_t size = outlen;
		if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, out, &size) < 0)
			snprintf(out, outlen, "(no name)");
	}
}

/* The server's certificate as sent (DER) and imported, or -1. */
static int tls_leaf(gnutls_session_t s, const gnutls_datum_t **der, gnutls_x509_crt_t *crt)
{
	unsigned n = 0;
	const gnutls_datum_t *list = gnutls_certificate_get_peers(s, &n);

	*crt = NULL;
	if (list == NULL || n == 0 || gnutls_certificate_type_get(s) != GNUTLS_CRT_X509)
		return -1;
	if (gnutls_x509_crt_init(crt) < 0) {
		*crt = NULL;
		return -1;
	}
	if (gnutls_x509_crt_import(*crt, &list[0], GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(*crt);
		*crt = NULL;
		return -1;
	}
	*der = &list[0];
	return 0;
}

/* ---- certificate verification --------------------------------------- */

static bool tls_is_ip(const char *h)
{
	unsigned char a[16];
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(h);

	if (n > 2 && h[0] == '[' && h[n - 1] == ']' && n - 2 < sizeof tmp) {
		memcpy(tmp, h + 1, n - 2);
		tmp[n - 2] = '\0';
		h = tmp;
	}
	return inet_pton(AF_INET, h, a) == 1 || inet_pton(AF_INET6, h, a) == 1;
}

static const char *tls_verify_name(const struct tls_conf *c)
{
	return c->verify_name != NULL && c->verify_name[0] != '\0' ? c->verify_name : c->host;
}

/* Put into st->verr why the CA verification refused CRT with STATUS. */
static void tls_explain(struct tls_state *st, gnutls_x509_crt_t crt, unsigned status,
			const char *sha256)
{
	const char *h = st->c->host, *vname = tls_verify_name(st->c);
	char *e = st->verr;
	size_t el = sizeof st->verr;
	char a[300], b[300], date[40];
	bool owner_told = false;

	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
		tls_dn(crt, true, a, sizeof a);
		tls_dn(crt, false, b, sizeof b);
		if (strcmp(a, b) == 0)
			snprintf(e, el, "the server certificate for %s is self-signed (%.120s); set tls_trust_file "
				 "to it, or pin it with tls_fingerprint %s", h, a, sha256);
		else
			snprintf(e, el, "the server certificate for %s is signed by an unknown authority (%.120s); "
				 "set tls_trust_file to its CA, or pin it with tls_fingerprint %s", h, a, sha256);
	} else if (status & GNUTLS_CERT_SIGNER_NOT_CA) {
		tls_dn(crt, true, a, sizeof a);
		snprintf(e, el, "the server certificate for %s is signed by %.200s, which is not a certificate "
			 "authority", h, a);
	} else if (status & GNUTLS_CERT_EXPIRED) {
		time_t t = gnutls_x509_crt_get_expiration_time(crt);
		tls_date(t, date, sizeof date);
		if (t != (time_t)-1 && t < time(NULL))
			snprintf(e, el, "the server certificate for %s expired on %s", h, date);
		else
			snprintf(e, el, "a CA certificate in the chain of the server certificate for %s has "
				 "expired", h);
	} else if (status & GNUTLS_CERT_NOT_ACTIVATED) {
		tls_date(gnutls_x509_crt_get_activation_time(crt), date, sizeof date);
		snprintf(e, el, "the server certificate for %s is not valid before %s; check this "
			 "computer's clock", h, date);
	} else if (status & GNUTLS_CERT_REVOKED) {
		snprintf(e, el, "the server certificate for %s has been revoked", h);
	} else if (status & GNUTLS_CERT_INSECURE_ALGORITHM) {
		snprintf(e, el, "the server certificate for %s is signed with an insecure algorithm", h);
	} else if (status & GNUTLS_CERT_UNEXPECTED_OWNER) {
		tls_names(crt, true, a, sizeof a);
		snprintf(e, el, "the server certificate is for %.250s, not %s; set tls_host_override if you "
			 "connect by address", a, vname);
		owner_told = true;
	} else {
		gnutls_datum_t out = { NULL, 0 };
		if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0 &&
		    out.data != NULL)
			snprintf(e, el, "the server certificate for %s was refused: %s", h, (char *)out.data);
		else
			snprintf(e, el, "the server certificate for %s was refused (status 0x%x)", h, status);
		gnutls_free(out.data);
	}
	if ((status & GNUTLS_CERT_UNEXPECTED_OWNER) && !owner_told) {
		size_t o = strlen(e);
		tls_names(crt, true, a, sizeof a);
		snprintf(e + o, el - o, "; also, it is for %.200s, not %s", a, vname);
	}
}

/* Check the server certificate as the settings say. Returns 0, or -1 with
 * st->vfailed and st->verr set. */
static int tls_check_peer(struct tls_state *st)
{
	const struct tls_conf *c = st->c;
	const gnutls_datum_t *der = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char raw[32], pin[32];
	char fp[100], want[100];
	unsigned status = 0;
	size_t n;
	int r = -1, e;

	if (!c->certcheck)
		return 0;
	if (tls_leaf(st->s, &der, &crt) != 0) {
		snprintf(st->verr, sizeof st->verr, "the server at %s sent no usable certificate", c->host);
		goto out;
	}
	if (c->fingerprint != NULL) {
		/* A pin replaces the CA check: it names this very certificate. */
		n = tls_parse_pin(c->fingerprint, pin);
		if (tls_der_fingerprint(der, n, raw, fp, sizeof fp) != 0) {
			snprintf(st->verr, sizeof st->verr, "cannot compute the %s fingerprint of the server "
				 "certificate for %s", tls_digest_label(n), c->host);
			goto out;
		}
		if (memcmp(raw, pin, n) != 0) {
			tls_hex(pin, n, want, sizeof want);
			snprintf(st->verr, sizeof st->verr, "the server certificate's %s fingerprint is %s, but "
				 "tls_fingerprint says %s", tls_digest_label(n), fp, want);
			goto out;
		}
		r = 0;
		goto out;
	}
	tls_der_fingerprint(der, 32, raw, fp, sizeof fp);
	if ((e = gnutls_certificate_verify_peers3(st->s, tls_verify_name(c), &status)) < 0) {
		snprintf(st->verr, sizeof st->verr, "cannot verify the server certificate for %s: %s",
			 c->host, tls_strerror(e).s);
		goto out;
	}
	if (status != 0) {
		tls_explain(st, crt, status, fp);
		goto out;
	}
	r = 0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (r != 0)
		st->vfailed = true;
	return r;
}

/* GnuTLS calls this when the server's certificate has arrived; non-zero
 * ends the handshake. */
static int tls_verify_cb(gnutls_session_t s)
{
	struct tls_state *st = gnutls_session_get_ptr(s);
	return tls_check_peer(st) == 0 ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
}

/* ---- session resumption cache ------------------------------------------ */

/* Bind the cache to everything that decided whether the original session
 * was trusted: a session cached under other settings is never resumed. */
static void tls_cache_key(const struct tls_conf *c, char out[65])
{
	char buf[4096];
	unsigned char d[32];
	int n = snprintf(buf, sizeof buf, "%s\n%s\n%s\n%s\n%s\n%d\n%s\n%s\n", c->host, tls_verify_name(c),
			 c->trust_file != NULL ? c->trust_file : "system",
			 c->crl_file != NULL ? c->crl_file : "",
			 c->fingerprint != NULL ? c->fingerprint : "", c->certcheck ? 1 : 0,
			 c->cert_file != NULL ? c->cert_file : "", c->key_file != NULL ? c->key_file : "");
	size_t i;

	out[0] = '\0';
	if (n < 0 || (size_t)n >= sizeof buf ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, (size_t)n, d) < 0)
		return;
	for (i = 0; i < sizeof d; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Offer the cached session, if there is a usable one. Never fails. */
static void tls_cache_load(struct tls_state *st)
{
	size_t ml = strlen(TLS_CACHE_MAGIC), hl = ml + 64 + 1, have = 0;
	unsigned char *buf = NULL;
	struct stat sb;
	int fd;

	if (st->cache_file == NULL || st->cache_key[0] == '\0')
		return;
	if ((fd = open(st->cache_file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return;
	/* Session data hold the keys of the session: only our own private
	 * file may hand them to us. */
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 077) != 0 || sb.st_size <= (off_t)hl || sb.st_size > TLS_CACHE_MAX)
		goto out;
	buf = xmalloc((size_t)sb.st_size);
	while (have < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + have, (size_t)sb.st_size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		have += (size_t)n;
	}
	if (memcmp(buf, TLS_CACHE_MAGIC, ml) != 0 || memcmp(buf + ml, st->cache_key, 64) != 0 ||
	    buf[ml + 64] != '\n')
		goto out;
	/* Corrupt or stale data: GnuTLS refuses it, or the server does, and
	 * the handshake is a full one. */
	(void)gnutls_session_set_data(st->s, buf + hl, have - hl);
out:
	if (buf != NULL) {
		explicit_bzero(buf, have);
		free(buf);
	}
	close(fd);
}

/* Save the session for the next connection: a new private file renamed
 * over the old one. Best effort and silent. */
static void tls_cache_save(struct tls_state *st)
{
	gnutls_datum_t d = { NULL, 0 };
	char hdr[sizeof TLS_CACHE_MAGIC + 66];
	char *tmp = NULL;
	size_t tl;
	bool ok;
	int fd;

	if (st->cache_file == NULL || st->cache_key[0] == '\0')
		return;
	/* Under TLS 1.3 the ticket comes after the handshake; without one
	 * GnuTLS would wait for it and then hand out useless data. */
	if (gnutls_protocol_get_version(st->s) == GNUTLS_TLS1_3 &&
	    !(gnutls_session_get_flags(st->s) & GNUTLS_SFLAGS_SESSION_TICKET))
		return;
	if (gnutls_session_get_data2(st->s, &d) < 0 || d.data == NULL || d.size == 0 ||
	    d.size > TLS_CACHE_MAX - sizeof hdr)
		goto out;
	tl = strlen(st->cache_file) + 8;
	tmp = xmalloc(tl);
	snprintf(tmp, tl, "%s.XXXXXX", st->cache_file);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		goto out;
	snprintf(hdr, sizeof hdr, "%s%s\n", TLS_CACHE_MAGIC, st->cache_key);
	ok = fchmod(fd, 0600) == 0 && write_whole_fd(fd, hdr, strlen(hdr)) == 0 &&
	     write_whole_fd(fd, d.data, d.size) == 0;
	if (close(fd) != 0)
		ok = false;
	if (!ok || rename(tmp, st->cache_file) != 0)
		unlink(tmp);
out:
	free(tmp);
	if (d.data != NULL) {
		explicit_bzero(d.data, d.size);
		gnutls_free(d.data);
	}
}

/* ---- the transport operations ---------------------------------------- */

static void tls_free(struct tls_state *st)
{
	if (st == NULL)
		return;
	if (st->s != NULL)
		gnutls_deinit(st->s);
	if (st->cred != NULL)
		gnutls_certificate_free_credentials(st->cred);
	if (st->prio != NULL)
		gnutls_priority_deinit(st->prio);
	free(st->cache_file);
	free(st);
}

/* The hint for a fatal alert the server sent. */
static const char *tls_alert_hint(gnutls_alert_description_t a)
{
	switch (a) {
	case GNUTLS_A_CERTIFICATE_REQUIRED:
	case GNUTLS_A_BAD_CERTIFICATE:
	case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
	case GNUTLS_A_CERTIFICATE_REVOKED:
	case GNUTLS_A_CERTIFICATE_EXPIRED:
	case GNUTLS_A_CERTIFICATE_UNKNOWN:
	case GNUTLS_A_UNKNOWN_CA:
	case GNUTLS_A_ACCESS_DENIED:
		return "; the server did not accept a client certificate: check tls_cert_file and tls_key_file";
	case GNUTLS_A_HANDSHAKE_FAILURE:
	case GNUTLS_A_PROTOCOL_VERSION:
	case GNUTLS_A_INSUFFICIENT_SECURITY:
		return "; the server and kurier have no TLS version or cipher in common: check tls_priorities";
	case GNUTLS_A_UNRECOGNIZED_NAME:
		return "; the server does not know the name kurier asked for: check host";
	default:
		return "";
	}
}

/* Set T's error for the failed GnuTLS call CODE (reading when READING). */
static ssize_t tls_io_error(struct transport *t, struct tls_state *st, ssize_t code, bool reading)
{
	int e = (int)code;

	st->broken = true;
	if (e == GNUTLS_E_PREMATURE_TERMINATION) {
		t->fail = OUTCOME_TEMPFAIL;
		snprintf(t->err, sizeof t->err, "the server at %s closed the connection without ending "
			 "the TLS session", t->peer);
	} else if (e == GNUTLS_E_PULL_ERROR || e == GNUTLS_E_PUSH_ERROR) {
		t->fail = OUTCOME_TEMPFAIL;
		snprintf(t->err, sizeof t->err, "cannot %s %s: %s", e == GNUTLS_E_PULL_ERROR ? "read from"
			 : "write to", t->peer, strerror(st->net_errno != 0 ? st->net_errno : EIO));
	} else if (e == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		gnutls_alert_description_t a = gnutls_alert_get(st->s);
		const char *name = gnutls_alert_get_name(a);
		t->fail = OUTCOME_PROTOCOL;
		snprintf(t->err, sizeof t->err, "the server at %s ended the TLS session with the alert "
			 "'%s'%s", t->peer, name != NULL ? name : "unknown", tls_alert_hint(a));
	} else {
		t->fail = OUTCOME_PROTOCOL;
		snprintf(t->err, sizeof t->err, "TLS error %s %s: %s", reading ? "reading from" : "writing to",
			 t->peer, tls_strerror(e).s);
	}
	return -1;
}

static ssize_t tls_read(struct transport *t, void *buf, size_t len)
{
	struct tls_state *st = t->impl;
	int tries;

	for (tries = 0; tries < 16; tries++) {
		ssize_t n = gnutls_record_recv(st->s, buf, len);
		if (n >= 0) {
			st->read_wait = 0;
			return n;
		}
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			st->read_wait = gnutls_record_get_direction(st->s) ? POLLOUT : POLLIN;
			return TR_AGAIN;
		}
		/* Warning alerts and a TLS 1.2 renegotiation request (which a
		 * client may ignore): read on. */
		if (gnutls_error_is_fatal((int)n))
			return tls_io_error(t, st, n, true);
	}
	st->read_wait = POLLIN;
	return TR_AGAIN;
}

static ssize_t tls_write(struct transport *t, const void *buf, size_t len)
{
	struct tls_state *st = t->impl;
	ssize_t n = gnutls_record_send(st->s, buf, len);

	if (n >= 0) {
		st->write_wait = 0;
		return n;
	}
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		/* The caller repeats the call with the same data, as GnuTLS
		 * requires. */
		st->write_wait = gnutls_record_get_direction(st->s) ? POLLOUT : POLLIN;
		return TR_AGAIN;
	}
	return tls_io_error(t, st, n, false);
}

static short tls_events(struct transport *t, short want)
{
	struct tls_state *st = t->impl;
	short w = want == POLLIN ? st->read_wait : st->write_wait;
	return w != 0 ? w : want;
}

static bool tls_pending(struct transport *t)
{
	struct tls_state *st = t->impl;
	return gnutls_record_check_pending(st->s) > 0;
}

static void tls_close(struct transport *t)
{
	struct tls_state *st = t->impl;

	if (st != NULL) {
		if (!st->broken) {
			tls_cache_save(st);
			/* Best effort: one non-blocking try at close_notify. */
			(void)gnutls_bye(st->s, GNUTLS_SHUT_WR);
		}
		tls_free(st);
	}
	t->impl = NULL;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

static const struct transport_ops tls_ops = {
	"tls", tls_read, tls_write, tls_events, tls_pending, tls_close,
};

bool tls_active(const struct transport *t)
{
	return t != NULL && t->ops == &tls_ops && t->impl != NULL;
}

/* ---- setting up and the handshake ------------------------------------- */

static int tls_setup_cred(struct tls_state *st, const struct tls_conf *c, enum outcome *fail,
			  char *err, size_t errlen)
{
	int r;

	*fail = OUTCOME_CONFIG;
	if ((r = gnutls_certificate_allocate_credentials(&st->cred)) < 0) {
		st->cred = NULL;
		*fail = OUTCOME_OSERR;
		snprintf(err, errlen, "cannot set up TLS: %s", tls_strerror(r).s);
		return -1;
	}
	if (c->certcheck && c->fingerprint != NULL && tls_parse_pin(c->fingerprint, (unsigned char[32]){ 0 }) == 0) {
		snprintf(err, errlen, "tls_fingerprint '%s' is not 16, 20 or 32 hex bytes separated by ':'",
			 c->fingerprint);
		return -1;
	}
	if (c->certcheck && c->fingerprint == NULL) {
		if (c->trust_file == NULL || strcmp(c->trust_file, "system") == 0) {
			r = gnutls_certificate_set_x509_system_trust(st->cred);
			if (r <= 0) {
				snprintf(err, errlen, "cannot load the system's trusted CA certificates%s%s; "
					 "install ca-certificates, or set tls_trust_file",
					 r < 0 ? ": " : " (there are none)", r < 0 ? tls_strerror(r).s : "");
				return -1;
			}
		} else {
			if (access(c->trust_file, R_OK) != 0) {
				snprintf(err, errlen, "cannot read tls_trust_file %s: %s", c->trust_file,
					 strerror(errno));
				return -1;
			}
			r = gnutls_certificate_set_x509_trust_file(st->cred, c->trust_file, GNUTLS_X509_FMT_PEM);
			if (r <= 0) {
				snprintf(err, errlen, "tls_trust_file %s: %s", c->trust_file,
					 r < 0 ? tls_strerror(r).s : "no PEM certificates in it");
				return -1;
			}
		}
		if (c->crl_file != NULL) {
			if (access(c->crl_file, R_OK) != 0) {
				snprintf(err, errlen, "cannot read tls_crl_file %s: %s", c->crl_file, strerror(errno));
				return -1;
			}
			r = gnutls_certificate_set_x509_crl_file(st->cred, c->crl_file, GNUTLS_X509_FMT_PEM);
			if (r < 0) {
				snprintf(err, errlen, "tls_crl_file %s: %s", c->crl_file, tls_strerror(r).s);
				return -1;
			}
		}
	}
	if (c->cert_file != NULL || c->key_file != NULL) {
		if (c->cert_file == NULL || c->key_file == NULL) {
			snprintf(err, errlen, "%s is set but %s is not; a client certificate needs both",
				 c->cert_file != NULL ? "tls_cert_file" : "tls_key_file",
				 c->cert_file != NULL ? "tls_key_file" : "tls_cert_file");
			return -1;
		}
		if (access(c->cert_file, R_OK) != 0 || access(c->key_file, R_OK) != 0) {
			int e = errno;
			bool cert = access(c->cert_file, R_OK) != 0;
			snprintf(err, errlen, "cannot read %s %s: %s", cert ? "tls_cert_file" : "tls_key_file",
				 cert ? c->cert_file : c->key_file, strerror(e));
			return -1;
		}
		r = gnutls_certificate_set_x509_key_file(st->cred, c->cert_file, c->key_file,
							 GNUTLS_X509_FMT_PEM);
		if (r < 0) {
			snprintf(err, errlen, "cannot use tls_cert_file %s with tls_key_file %s: %s",
				 c->cert_file, c->key_file,
				 r == GNUTLS_E_CERTIFICATE_KEY_MISMATCH ? "the key does not belong to the certificate"
				 : tls_strerror(r).s);
			return -1;
		}
	}
	gnutls_certificate_set_verify_function(st->cred, tls_verify_cb);
	return 0;
}

static int tls_setup_session(struct tls_state *st, const struct tls_conf *c, enum outcome *fail,
			     char *err, size_t errlen)
{
	const char *epos = NULL;
	int r;

	*fail = OUTCOME_SOFTWARE;
	if ((r = gnutls_init(&st->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL)) < 0) {
		st->s = NULL;
		snprintf(err, errlen, "cannot set up TLS: %s", tls_strerror(r).s);
		return -1;
	}
	gnutls_session_set_ptr(st->s, st);
	if (c->priorities != NULL && c->priorities[0] != '\0') {
		r = gnutls_priority_init(&st->prio, c->priorities, &epos);
		if (r < 0) {
			st->prio = NULL;
			*fail = OUTCOME_CONFIG;
			if (epos != NULL && r == GNUTLS_E_INVALID_REQUEST)
				snprintf(err, errlen, "tls_priorities '%s' is not a valid GnuTLS priority string: "
					 "error at '%s'", c->priorities, epos);
			else
				snprintf(err, errlen, "tls_priorities '%s': %s", c->priorities, tls_strerror(r).s);
			return -1;
		}
	} else if (gnutls_priority_init(&st->prio, TLS_DEFAULT_PRIO_SYSTEM, &epos) < 0) {
		/* No system-wide TLS policy on this machine. */
		if ((r = gnutls_priority_init(&st->prio, TLS_DEFAULT_PRIO, &epos)) < 0) {
			st->prio = NULL;
			snprintf(err, errlen, "cannot set up TLS: %s", tls_strerror(r).s);
			return -1;
		}
	}
	if ((r = gnutls_priority_set(st->s, st->prio)) < 0 ||
	    (r = gnutls_credentials_set(st->s, GNUTLS_CRD_CERTIFICATE, st->cred)) < 0) {
		snprintf(err, errlen, "cannot set up TLS: %s", tls_strerror(r).s);
		return -1;
	}
	/* RFC 6066 3: no SNI for address literals. */
	if (!tls_is_ip(c->host) &&
	    (r = gnutls_server_name_set(st->s, GNUTLS_NAME_DNS, c->host, strlen(c->host))) < 0) {
		snprintf(err, errlen, "cannot set up TLS for %s: %s", c->host, tls_strerror(r).s);
		return -1;
	}
	if (c->min_dh_prime_bits > 0)
		gnutls_dh_set_prime_bits(st->s, (unsigned)c->min_dh_prime_bits);
	/* The caller's deadline governs, not a GnuTLS timer. */
	gnutls_handshake_set_timeout(st->s, 0);
	gnutls_transport_set_ptr(st->s, st);
	gnutls_transport_set_pull_function(st->s, tls_pull);
	gnutls_transport_set_vec_push_function(st->s, tls_push);
	gnutls_transport_set_pull_timeout_function(st->s, tls_pull_timeout);
	return 0;
}

/* The first bytes the server sent look like an SMTP reply ("220 ..."),
 * which no TLS record starts with. */
static bool tls_plain_smtp(const struct tls_state *st)
{
	return st->nfirst >= 3 && st->first[0] >= '1' && st->first[0] <= '5' &&
	       st->first[1] >= '0' && st->first[1] <= '9' && st->first[2] >= '0' && st->first[2] <= '9';
}

/* Classify and describe the handshake failure CODE. */
static void tls_handshake_error(struct tls_state *st, const struct tls_conf *c, int code,
				enum outcome *fail, char *err, size_t errlen)
{
	if (st->vfailed) {
		*fail = OUTCOME_UNAVAILABLE;
		snprintf(err, errlen, "%s", st->verr);
	} else if (tls_plain_smtp(st)) {
		*fail = OUTCOME_PROTOCOL;
		snprintf(err, errlen, "the server at %s speaks plain SMTP on this port, not TLS; use "
			 "tls_starttls on (port 587) instead", c->host);
	} else if (code == GNUTLS_E_PULL_ERROR || code == GNUTLS_E_PUSH_ERROR ||
		   (code == GNUTLS_E_PREMATURE_TERMINATION && st->net_errno != 0)) {
		*fail = OUTCOME_TEMPFAIL;
		snprintf(err, errlen, "the connection to %s failed during the TLS handshake: %s", c->host,
			 strerror(st->net_errno != 0 ? st->net_errno : EIO));
	} else if (code == GNUTLS_E_PREMATURE_TERMINATION ||
		   (code == GNUTLS_E_UNEXPECTED_PACKET_LENGTH && st->nfirst == 0)) {
		*fail = OUTCOME_TEMPFAIL;
		snprintf(err, errlen, "the server at %s closed the connection during the TLS handshake",
			 c->host);
	} else if (code == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		gnutls_alert_description_t a = gnutls_alert_get(st->s);
		const char *name = gnutls_alert_get_name(a);
		*fail = OUTCOME_PROTOCOL;
		snprintf(err, errlen, "the server at %s refused the TLS handshake with the alert '%s'%s",
			 c->host, name != NULL ? name : "unknown", tls_alert_hint(a));
	} else if (code == GNUTLS_E_CERTIFICATE_ERROR || code == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		*fail = OUTCOME_UNAVAILABLE;
		snprintf(err, errlen, "the server certificate for %s was refused: %s", c->host,
			 tls_strerror(code).s);
	} else {
		const char *hint = "";
		switch (code) {
		case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
		case GNUTLS_E_NO_CIPHER_SUITES:
		case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
		case GNUTLS_E_INSUFFICIENT_SECURITY:
		case GNUTLS_E_NO_COMMON_KEY_SHARE:
			hint = "; check tls_priorities";
			break;
		case GNUTLS_E_DH_PRIME_UNACCEPTABLE:
			hint = "; the server's Diffie-Hellman group is smaller than tls_min_dh_prime_bits";
			break;
		default:
			break;
		}
		*fail = OUTCOME_PROTOCOL;
		snprintf(err, errlen, "the TLS handshake with %s failed: %s%s", c->host, tls_strerror(code).s,
			 hint);
	}
}

static int tls_handshake(struct tls_state *st, const struct tls_conf *c, long start_ms,
			 long deadline_ms, enum outcome *fail, char *err, size_t errlen)
{
	for (;;) {
		struct pollfd pfd;
		long left;
		int r = gnutls_handshake(st->s), pr;

		if (r == GNUTLS_E_SUCCESS)
			return 0;
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal(r)) {
			tls_handshake_error(st, c, r, fail, err, errlen);
			return -1;
		}
		left = deadline_ms - tls_now_ms();
		if (left > 0 && r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
			continue; /* a warning alert: go on */
		pfd.fd = st->fd;
		pfd.events = gnutls_record_get_direction(st->s) ? POLLOUT : POLLIN;
		pfd.revents = 0;
		pr = left > 0 ? poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			*fail = OUTCOME_OSERR;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (pr == 0 && tls_now_ms() >= deadline_ms) {
			long s = (deadline_ms - start_ms + 500) / 1000;
			if (s < 1)
				s = 1;
			*fail = OUTCOME_TEMPFAIL;
			snprintf(err, errlen, "timed out after %ld second%s during the TLS handshake with %s",
				 s, s == 1 ? "" : "s", c->host);
			return -1;
		}
	}
}

int tls_start(struct transport *t, const struct tls_conf *conf, long deadline_ms,
	      enum outcome *fail, char *err, size_t errlen)
{
	struct tls_state *st = xcalloc(1, sizeof *st);
	struct tls_conf settings = *conf;
	const struct tls_conf *c = &settings;
	long start = tls_now_ms();
	int r, rc = -1, fl;

	/* An empty value cancels an inherited one ("tls_fingerprint" with
	 * nothing after it in an account under a defaults pin): no pin. */
	if (settings.fingerprint != NULL && settings.fingerprint[0] == '\0')
		settings.fingerprint = NULL;
	if (settings.crl_file != NULL && settings.crl_file[0] == '\0')
		settings.crl_file = NULL;
	st->fd = t->fd;
	st->c = c;
	/* GnuTLS's calls must never block: the deadline is ours. */
	if ((fl = fcntl(t->fd, F_GETFL)) >= 0 && !(fl & O_NONBLOCK))
		fcntl(t->fd, F_SETFL, fl | O_NONBLOCK);
	if ((r = tls_setup_cred(st, c, fail, err, errlen)) != 0)
		goto out;
	if ((r = tls_setup_session(st, c, fail, err, errlen)) != 0)
		goto out;
	if (c->cache_file != NULL && c->cache_file[0] != '\0') {
		st->cache_file = xstrdup(c->cache_file);
		tls_cache_key(c, st->cache_key);
		tls_cache_load(st);
	}
	if ((r = tls_handshake(st, c, start, deadline_ms, fail, err, errlen)) != 0)
		goto out;
	/* A resumed session skipped the certificate exchange: check again what
	 * the session remembers of it, so expiry since then is noticed. */
	if (gnutls_session_is_resumed(st->s) && c->certcheck &&
	    gnutls_certificate_get_peers(st->s, (unsigned[]){ 0 }) != NULL &&
	    (r = tls_check_peer(st)) != 0) {
		*fail = OUTCOME_UNAVAILABLE;
		snprintf(err, errlen, "%s", st->verr);
		if (st->cache_file != NULL)
			unlink(st->cache_file);
		goto out;
	}
	st->c = NULL;
	t->impl = st;
	t->ops = &tls_ops;
	rc = 0;
out:
	if (rc != 0)
		tls_free(st);
	return rc;
}

/* ---- what the caller may ask ----------------------------------------- */

int tls_get_info(struct transport *t, struct tls_info *out)
{
	struct tls_state *st;
	const gnutls_datum_t *der = NULL;
	gnutls_x509_crt_t crt = NULL;
	const char *v, *cs;
	unsigned char raw[32];

	memset(out, 0, sizeof *out);
	if (!tls_active(t))
		return -1;
	st = t->impl;
	v = gnutls_protocol_get_name(gnutls_protocol_get_version(st->s));
	cs = gnutls_ciphersuite_get(st->s);
	snprintf(out->version, sizeof out->version, "%s", v != NULL ? v : "unknown");
	snprintf(out->cipher, sizeof out->cipher, "%s", cs != NULL ? cs : "unknown");
	out->resumed = gnutls_session_is_resumed(st->s) != 0;
	if (tls_leaf(st->s, &der, &crt) != 0)
		return 0;
	tls_dn(crt, false, out->subject, sizeof out->subject);
	tls_dn(crt, true, out->issuer, sizeof out->issuer);
	tls_date(gnutls_x509_crt_get_activation_time(crt), out->not_before, sizeof out->not_before);
	tls_date(gnutls_x509_crt_get_expiration_time(crt), out->not_after, sizeof out->not_after);
	tls_names(crt, false, out->san, sizeof out->san);
	tls_der_fingerprint(der, 32, raw, out->sha256, sizeof out->sha256);
	tls_der_fingerprint(der, 20, raw, out->sha1, sizeof out->sha1);
	gnutls_x509_crt_deinit(crt);
	return 0;
}

int tls_channel_binding(struct transport *t, const char *type, unsigned char **data, size_t *len)
{
	struct tls_state *st;
	gnutls_channel_binding_t which;
	gnutls_datum_t cb = { NULL, 0 };
	bool v13;

	*data = NULL;
	*len = 0;
	if (!tls_active(t))
		return -1;
	st = t->impl;
	v13 = gnutls_protocol_get_version(st->s) == GNUTLS_TLS1_3;
	if (strcmp(type, "tls-exporter") == 0 && v13) {
		which = GNUTLS_CB_TLS_EXPORTER;
	} else if (strcmp(type, "tls-unique") == 0 && !v13) {
		/* RFC 7627: after resumption tls-unique is only unique with the
		 * extended master secret. */
		if (gnutls_session_is_resumed(st->s) && !gnutls_session_ext_master_secret_status(st->s))
			return -1;
		which = GNUTLS_CB_TLS_UNIQUE;
	} else {
		return -1;
	}
	if (gnutls_session_channel_binding(st->s, which, &cb) < 0 || cb.data == NULL || cb.size == 0) {
		gnutls_free(cb.data);
		return -1;
	}
	*data = xmalloc(cb.size);
	memcpy(*data, cb.data, cb.size);
	*len = cb.size;
	gnutls_free(cb.data);
	return 0;
}

const char *tls_channel_binding_type(struct transport *t)
{
	struct tls_state *st;

	if (!tls_active(t))
		return NULL;
	st = t->impl;
	return gnutls_protocol_get_version(st->s) == GNUTLS_TLS1_3 ? "tls-exporter" : "tls-unique";
}

int tls_random(void *buf, size_t len)
{
	return gnutls_rnd(GNUTLS_RND_NONCE, buf, len) == 0 ? 0 : -1;
}

const char *tls_library_version(void)
{
	return gnutls_check_version(NULL);
}
