/* test_tls.c: the TLS client transport against tiny GnuTLS (and not-TLS)
 * servers forked on loopback sockets, with throw-away certificates from
 * tests/gen-certs.sh: verification outcomes and messages, pinning,
 * timeouts, plain-SMTP detection, channel binding and session resumption. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "common.h"
#include "tls.h"
#include "transport.h"

#define CERT_DIR "tests/unit/test_tls.certs"

static char cache_dir[] = "/tmp/kurier-test-tls.XXXXXX";

enum srv_mode {
	SRV_TLS,      /* TLS: greet "220 sni=NAME cn=CLIENT-CN", echo lines as "250 LINE" */
	SRV_PLAIN,    /* plain SMTP greeting on the TLS port */
	SRV_SILENT,   /* accept, read, never answer */
	SRV_DROP,     /* read the ClientHello, then close */
	SRV_RESET     /* read the ClientHello, then reset the connection */
};

struct srv {
	enum srv_mode mode;
	const char *cert;       /* file name in CERT_DIR */
	const char *prio;       /* NULL: NORMAL */
	int conns;              /* connections to serve; 0 = 1 */
	bool want_client_cert;
	pid_t pid;
	char port[16];
	bool raw_echo;          /* after the greeting, echo bytes as they are */
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *certpath(const char *name)
{
	static char buf[8][512];
	static int i;
	char *p = buf[i++ % 8];
	snprintf(p, 512, "%s/%s", CERT_DIR, name);
	return p;
}

static void key_of(const char *cert, char *out, size_t len)
{
	size_t n = strlen(cert) - 4; /* ".pem" */
	snprintf(out, len, "%s/%.*s-key.pem", CERT_DIR, (int)n, cert);
}

/* ---- the servers (child processes) ------------------------------------ */

static void srv_drain(int fd)
{
	char buf[4096];
	while (recv(fd, buf, sizeof buf, 0) > 0)
		;
}

static void srv_tls_conn(const struct srv *sv, int fd, gnutls_certificate_credentials_t cred,
			 const gnutls_datum_t *ticket_key)
{
	gnutls_session_t s;
	char buf[4096], sni[256] = "-", cn[256] = "-";
	size_t size = sizeof sni - 1;
	unsigned type, n = 0;
	int r;

	gnutls_init(&s, GNUTLS_SERVER);
	if (gnutls_priority_set_direct(s, sv->prio != NULL ? sv->prio : "NORMAL", NULL) < 0)
		_exit(3);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_session_ticket_enable_server(s, ticket_key);
	if (sv->want_client_cert)
		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	gnutls_transport_set_int(s, fd);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		gnutls_alert_send_appropriate(s, r);
		goto out;
	}
	if (gnutls_server_name_get(s, sni, &size, &type, 0) < 0)
		snprintf(sni, sizeof sni, "-");
	if (sv->want_client_cert) {
		const gnutls_datum_t *peers = gnutls_certificate_get_peers(s, &n);
		gnutls_x509_crt_t crt;
		size_t cl = sizeof cn;
		unsigned status = 1;
		if (peers != NULL && n > 0 && gnutls_certificate_verify_peers2(s, &status) == 0 && status == 0 &&
		    gnutls_x509_crt_init(&crt) == 0) {
			if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == 0)
				gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cl);
			gnutls_x509_crt_deinit(crt);
		}
	}
	{
		/* The server's view of the channel binding, for the client to
		 * compare with its own. */
		gnutls_datum_t cb = { NULL, 0 };
		char hex[200] = "-";
		size_t i;
		if (gnutls_session_channel_binding(s, gnutls_protocol_get_version(s) == GNUTLS_TLS1_3
						      ? GNUTLS_CB_TLS_EXPORTER : GNUTLS_CB_TLS_UNIQUE, &cb) == 0) {
			for (i = 0; i < cb.size && 2 * i + 2 < sizeof hex; i++)
				snprintf(hex + 2 * i, 3, "%02x", cb.data[i]);
			gnutls_free(cb.data);
		}
		snprintf(buf, sizeof buf, "220 sni=%s cn=%s cb=%s\r\n", sni, cn, hex);
	}
	if (gnutls_record_send(s, buf, strlen(buf)) < 0)
		goto out;
	for (;;) {
		char line[4200];
		ssize_t k = gnutls_record_recv(s, buf, sizeof buf);
		if (k == GNUTLS_E_AGAIN || k == GNUTLS_E_INTERRUPTED)
			continue;
		if (k <= 0)
			break;
		if (sv->raw_echo) {
			if (gnutls_record_send(s, buf, (size_t)k) < 0)
				break;
			continue;
		}
		snprintf(line, sizeof line, "250 %.*s", (int)k, buf);
		if (gnutls_record_send(s, line, strlen(line)) < 0)
			break;
	}
	gnutls_bye(s, GNUTLS_SHUT_WR);
out:
	gnutls_deinit(s);
}

static void srv_run(const struct srv *sv, int lfd)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_datum_t ticket_key = { NULL, 0 };
	int i, conns = sv->conns > 0 ? sv->conns : 1;

	signal(SIGPIPE, SIG_IGN);
	alarm(10);
	if (sv->mode == SRV_TLS) {
		char key[512];
		key_of(sv->cert, key, sizeof key);
		gnutls_certificate_allocate_credentials(&cred);
		if (gnutls_certificate_set_x509_key_file(cred, certpath(sv->cert), key, GNUTLS_X509_FMT_PEM) < 0)
			_exit(2);
		if (sv->want_client_cert)
			gnutls_certificate_set_x509_trust_file(cred, certpath("ca.pem"), GNUTLS_X509_FMT_PEM);
		gnutls_session_ticket_key_generate(&ticket_key);
	}
	for (i = 0; i < conns; i++) {
		int fd = accept(lfd, NULL, NULL);
		char buf[4096];
		struct linger lg = { 1, 0 };

		if (fd < 0)
			_exit(1);
		switch (sv->mode) {
		case SRV_TLS:
			srv_tls_conn(sv, fd, cred, &ticket_key);
			/* Unread bytes at close would reset the connection and
			 * hide the alert from the client. */
			shutdown(fd, SHUT_WR);
			srv_drain(fd);
			break;
		case SRV_PLAIN:
			if (write(fd, "220 hello\r\n", 11) != 11)
				_exit(1);
			srv_drain(fd);
			break;
		case SRV_SILENT:
			srv_drain(fd);
			break;
		case SRV_DROP:
			if (recv(fd, buf, sizeof buf, 0) < 0)
				_exit(1);
			shutdown(fd, SHUT_WR);
			srv_drain(fd);
			break;
		case SRV_RESET:
			if (recv(fd, buf, sizeof buf, 0) < 0)
				_exit(1);
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			break;
		}
		close(fd);
	}
	_exit(0);
}

static void srv_start(struct srv *sv)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(lfd >= 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(sv->port, sizeof sv->port, "%u", ntohs(sa.sin_port));
	sv->pid = fork();
	assert_true(sv->pid >= 0);
	if (sv->pid == 0)
		srv_run(sv, lfd);
	close(lfd);
}

static void srv_wait(struct srv *sv)
{
	int status = 0;
	assert_int_equal(waitpid(sv->pid, &status, 0), sv->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the client side ------------------------------------------------- */

static struct tls_conf conf_for(const char *host)
{
	struct tls_conf c;
	memset(&c, 0, sizeof c);
	c.host = host;
	c.trust_file = certpath("ca.pem");
	c.certcheck = true;
	return c;
}

static void dial(const struct srv *sv, struct transport *t)
{
	enum outcome fail = OUTCOME_OK;
	char err[KURIER_ERRLEN];

	if (net_connect(&(struct net_target){ "127.0.0.1", sv->port, NULL, NULL, 2000 }, t, &fail, err, sizeof err) != 0)
		fail_msg("net_connect: %s", err);
}

/* Connect to SV and run tls_start with C. Returns its result. */
static int start(const struct srv *sv, const struct tls_conf *c, long timeout_ms, struct transport *t,
		 enum outcome *fail, char *err)
{
	dial(sv, t);
	err[0] = '\0';
	*fail = OUTCOME_OK;
	return tls_start(t, c, now_ms() + timeout_ms, fail, err, KURIER_ERRLEN);
}

static void wait_for(struct transport *t, short want)
{
	struct pollfd pfd = { t->fd, transport_events(t, want), 0 };
	assert_true(poll(&pfd, 1, 3000) > 0);
}

static void read_line(struct transport *t, char *buf, size_t len)
{
	size_t have = 0;

	while (have == 0 || buf[have - 1] != '\n') {
		ssize_t n;
		assert_true(have + 1 < len);
		if (!transport_pending(t))
			wait_for(t, POLLIN);
		n = transport_read(t, buf + have, len - 1 - have);
		if (n == TR_AGAIN)
			continue;
		if (n <= 0)
			fail_msg("read: %zd %s", n, n < 0 ? t->err : "EOF");
		have += (size_t)n;
	}
	buf[have] = '\0';
}

static void write_str(struct transport *t, const char *s)
{
	size_t off = 0, len = strlen(s);

	while (off < len) {
		ssize_t n = transport_write(t, s + off, len - off);
		if (n == TR_AGAIN) {
			wait_for(t, POLLOUT);
			continue;
		}
		if (n <= 0)
			fail_msg("write: %s", t->err);
		off += (size_t)n;
	}
}

static void expect_in(const char *msg, const char *part)
{
	if (strstr(msg, part) == NULL)
		fail_msg("'%s' is not in the message '%s'", part, msg);
}

/* The greeting's "sni=... cn=..." part is WANT. */
static void expect_greeting(const char *greet, const char *want)
{
	const char *cb = strstr(greet, " cb=");
	size_t n = strlen(want);

	if (strncmp(greet, "220 ", 4) != 0 || cb == NULL || (size_t)(cb - greet - 4) != n ||
	    strncmp(greet + 4, want, n) != 0)
		fail_msg("greeting '%s', expected '220 %s cb=...'", greet, want);
}

/* The greeting says the server's channel binding is CB (LEN bytes). */
static void expect_same_binding(const char *greet, const unsigned char *cb, size_t len)
{
	char hex[200] = "";
	size_t i;

	for (i = 0; i < len && 2 * i + 2 < sizeof hex; i++)
		snprintf(hex + 2 * i, 3, "%02x", cb[i]);
	expect_in(greet, hex);
	assert_true(strlen(hex) == 2 * len);
}

/* Greeting, one line each way. Returns the greeting in GREET. */
static void converse(struct transport *t, char *greet, size_t len)
{
	char line[512];

	read_line(t, greet, len);
	assert_true(strncmp(greet, "220 sni=", 8) == 0);
	write_str(t, "EHLO client.example\r\n");
	read_line(t, line, sizeof line);
	assert_string_equal(line, "250 EHLO client.example\r\n");
}

static void fingerprint_of(const char *cert, gnutls_digest_algorithm_t alg, char *out, size_t len)
{
	gnutls_datum_t d = { NULL, 0 };
	gnutls_x509_crt_t crt;
	unsigned char raw[64];
	size_t size = sizeof raw, i, o = 0;

	assert_int_equal(gnutls_load_file(certpath(cert), &d), 0);
	assert_int_equal(gnutls_x509_crt_init(&crt), 0);
	assert_int_equal(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM), 0);
	assert_int_equal(gnutls_x509_crt_get_fingerprint(crt, alg, raw, &size), 0);
	for (i = 0; i < size; i++)
		o += (size_t)snprintf(out + o, len - o, i ? ":%02X" : "%02X", raw[i]);
	gnutls_x509_crt_deinit(crt);
	gnutls_free(d.data);
}

/* Run a server with CERT and expect tls_start with C to fail with WANT. */
static void expect_refusal(enum srv_mode mode, const char *cert, const struct tls_conf *c,
			   long timeout_ms, enum outcome want, char *err)
{
	struct srv sv = { .mode = mode, .cert = cert };
	struct transport t;
	enum outcome fail;

	srv_start(&sv);
	if (start(&sv, c, timeout_ms, &t, &fail, err) == 0)
		fail_msg("tls_start succeeded");
	if (fail != want)
		fail_msg("outcome %d, expected %d: %s", (int)fail, (int)want, err);
	print_message("    outcome %d: %s\n", (int)fail, err);
	assert_false(tls_active(&t));
	assert_true(t.fd >= 0);
	transport_close(&t);
	srv_wait(&sv);
}

/* A handshake with a server like TMPL that must succeed; the server's
 * greeting then says WANT (unless NULL). */
static void expect_handshake(const struct srv *tmpl, const struct tls_conf *c, const char *want)
{
	struct srv sv = *tmpl;
	struct transport t;
	enum outcome fail;
	char err[KURIER_ERRLEN], greet[512];

	srv_start(&sv);
	if (start(&sv, c, 5000, &t, &fail, err) != 0)
		fail_msg("tls_start: %s", err);
	converse(&t, greet, sizeof greet);
	if (want != NULL)
		expect_greeting(greet, want);
	transport_close(&t);
	srv_wait(&sv);
}

/* ---- the cases ------------------------------------------------------- */

static void test_good_certificate(void **state)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "good.pem" };
	struct tls_conf c = conf_for("localhost");
	struct transport t;
	struct tls_info info;
	enum outcome fail;
	char err[KURIER_ERRLEN], greet[512], fp[100];
	unsigned char *cb = NULL;
	size_t cblen = 0;

	srv_start(&sv);
	if (start(&sv, &c, 5000, &t, &fail, err) != 0)
		fail_msg("tls_start: %s", err);
	assert_true(tls_active(&t));
	assert_int_equal(tls_get_info(&t, &info), 0);
	assert_string_equal(info.version, "TLS1.3");
	assert_true(info.cipher[0] != '\0');
	assert_string_equal(info.subject, "CN=localhost");
	expect_in(info.issuer, "CN=kurier test CA");
	assert_string_equal(info.san, "localhost");
	fingerprint_of("good.pem", GNUTLS_DIG_SHA256, fp, sizeof fp);
	assert_string_equal(info.sha256, fp);
	assert_int_equal(strlen(info.not_after), strlen("2035-01-01 00:00:00 UTC"));
	expect_in(info.not_after, " UTC");
	assert_false(info.resumed);
	converse(&t, greet, sizeof greet);
	expect_greeting(greet, "sni=localhost cn=-");

	/* TLS 1.3: tls-exporter, 32 bytes, as the server sees it; no tls-unique. */
	assert_string_equal(tls_channel_binding_type(&t), "tls-exporter");
	assert_int_equal(tls_channel_binding(&t, "tls-exporter", &cb, &cblen), 0);
	assert_int_equal(cblen, 32);
	expect_same_binding(greet, cb, cblen);
	free(cb);
	assert_int_equal(tls_channel_binding(&t, "tls-unique", &cb, &cblen), -1);
	assert_null(cb);
	transport_close(&t);
	assert_int_equal(t.fd, -1);
	srv_wait(&sv);
}

static void test_ip_literal(void **state)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "good.pem" };
	struct tls_conf c = conf_for("127.0.0.1");

	/* The certificate's IP address matches; no SNI for an address. */
	expect_handshake(&sv, &c, "sni=- cn=-");
}

static void test_wrong_name(void **state)
{
	struct tls_conf c = conf_for("localhost");
	char err[KURIER_ERRLEN];

	expect_refusal(SRV_TLS, "wrongname.pem", &c, 5000, OUTCOME_UNAVAILABLE, err);
	expect_in(err, "wrong.example");
	expect_in(err, "not localhost");
	expect_in(err, "tls_host_override");
}

static void test_host_override(void **state)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "wrongname.pem" };
	struct tls_conf c = conf_for("localhost");

	c.verify_name = "wrong.example";
	expect_handshake(&sv, &c, "sni=localhost cn=-");
}

static void test_expired(void **state)
{
	struct tls_conf c = conf_for("localhost");
	char err[KURIER_ERRLEN];

	expect_refusal(SRV_TLS, "expired.pem", &c, 5000, OUTCOME_UNAVAILABLE, err);
	expect_in(err, "expired on 2001-01-01 00:00:00 UTC");
	expect_in(err, "localhost");
}

static void test_self_signed(void **state)
{
	struct tls_conf c = conf_for("localhost");
	char err[KURIER_ERRLEN], fp[100];

	expect_refusal(SRV_TLS, "selfsigned.pem", &c, 5000, OUTCOME_UNAVAILABLE, err);
	expect_in(err, "self-signed");
	expect_in(err, "tls_trust_file");
	fingerprint_of("selfsigned.pem", GNUTLS_DIG_SHA256, fp, sizeof fp);
	expect_in(err, fp);
}

static void test_unknown_authority(void **state)
{
	struct tls_conf c = conf_for("localhost");
	char err[KURIER_ERRLEN];

	/* Trusting only another certificate: the CA is unknown. */
	c.trust_file = certpath("selfsigned.pem");
	expect_refusal(SRV_TLS, "good.pem", &c, 5000, OUTCOME_UNAVAILABLE, err);
	expect_in(err, "unknown authority (CN=kurier test CA");
	expect_in(err, "tls_fingerprint");
}

static void pinned(const char *cert, const char *pin)
{
	struct srv sv = { .mode = SRV_TLS, .cert = cert };
	struct tls_conf c = conf_for("localhost");

	c.fingerprint = pin;
	c.trust_file = "/nonexistent/ca.pem"; /* not used with a pin */
	expect_handshake(&sv, &c, NULL);
}

static void test_pin_sha256(void **state)
{
	char fp[100];

	fingerprint_of("selfsigned.pem", GNUTLS_DIG_SHA256, fp, sizeof fp);
	assert_false(tls_fingerprint_is_weak(fp));
	pinned("selfsigned.pem", fp);
}

static void test_pin_weak(void **state)
{
	char fp[100];

	fingerprint_of("selfsigned.pem", GNUTLS_DIG_SHA1, fp, sizeof fp);
	assert_true(tls_fingerprint_is_weak(fp));
	pinned("selfsigned.pem", fp);
	fingerprint_of("selfsigned.pem", GNUTLS_DIG_MD5, fp, sizeof fp);
	assert_true(tls_fingerprint_is_weak(fp));
	pinned("selfsigned.pem", fp);
	assert_false(tls_fingerprint_is_weak("AB:CD"));
	assert_false(tls_fingerprint_is_weak(NULL));
}

static void test_pin_mismatch(void **state)
{
	struct tls_conf c = conf_for("localhost");
	char err[KURIER_ERRLEN], have[100], want[100];

	fingerprint_of("good.pem", GNUTLS_DIG_SHA256, want, sizeof want);
	fingerprint_of("selfsigned.pem", GNUTLS_DIG_SHA256, have, sizeof have);
	c.fingerprint = want;
	expect_refusal(SRV_TLS, "selfsigned.pem", &c, 5000, OUTCOME_UNAVAILABLE, err);
	expect_in(err, "SHA-256 fingerprint is");
	expect_in(err, have);
	expect_in(err, want);
}

static void test_certcheck_off(void **state)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "selfsigned.pem" };
	struct tls_conf c = conf_for("wrong.example");

	c.certcheck = false;
	c.trust_file = "/nonexistent/ca.pem"; /* not used without checks */
	expect_handshake(&sv, &c, NULL);
}

static void test_plain_smtp_server(void **state)
{
	struct tls_conf c = conf_for("localhost");
	char err[KURIER_ERRLEN];

	expect_refusal(SRV_PLAIN, NULL, &c, 5000, OUTCOME_PROTOCOL, err);
	expect_in(err, "plain SMTP");
	expect_in(err, "tls_starttls on");
}

static void test_silent_server_times_out(void **state)
{
	struct tls_conf c = conf_for("localhost");
	char err[KURIER_ERRLEN];
	long t0 = now_ms(), took;

	expect_refusal(SRV_SILENT, NULL, &c, 1000, OUTCOME_TEMPFAIL, err);
	took = now_ms() - t0;
	assert_true(took >= 950 && took < 2500);
	expect_in(err, "timed out after 1 second during the TLS handshake");
}

static void test_server_closes_mid_handshake(void **state)
{
	struct tls_conf c = conf_for("localhost");
	char err[KURIER_ERRLEN];

	expect_refusal(SRV_DROP, NULL, &c, 5000, OUTCOME_TEMPFAIL, err);
	expect_in(err, "closed the connection during the TLS handshake");
}

static void test_server_resets_mid_handshake(void **state)
{
	struct tls_conf c = conf_for("localhost");
	char err[KURIER_ERRLEN];

	expect_refusal(SRV_RESET, NULL, &c, 5000, OUTCOME_TEMPFAIL, err);
	expect_in(err, "during the TLS handshake");
	expect_in(err, strerror(ECONNRESET));
}

static void test_tls12_channel_binding(void **state)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "good.pem", .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.2" };
	struct tls_conf c = conf_for("localhost");
	struct transport t;
	struct tls_info info;
	enum outcome fail;
	char err[KURIER_ERRLEN], greet[512];
	unsigned char *cb = NULL;
	size_t cblen = 0;

	srv_start(&sv);
	if (start(&sv, &c, 5000, &t, &fail, err) != 0)
		fail_msg("tls_start: %s", err);
	assert_int_equal(tls_get_info(&t, &info), 0);
	assert_string_equal(info.version, "TLS1.2");
	converse(&t, greet, sizeof greet);
	assert_string_equal(tls_channel_binding_type(&t), "tls-unique");
	assert_int_equal(tls_channel_binding(&t, "tls-unique", &cb, &cblen), 0);
	assert_int_equal(cblen, 12); /* the client's Finished verify_data */
	expect_same_binding(greet, cb, cblen);
	free(cb);
	cb = NULL;
	assert_int_equal(tls_channel_binding(&t, "tls-exporter", &cb, &cblen), -1);
	assert_null(cb);
	assert_int_equal(tls_channel_binding(&t, "tls-server-end-point", &cb, &cblen), -1);
	transport_close(&t);
	srv_wait(&sv);
}

static void test_bulk_both_ways(void **state)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "good.pem", .raw_echo = true };
	struct tls_conf c = conf_for("localhost");
	struct transport t;
	enum outcome fail;
	char err[KURIER_ERRLEN], greet[512];
	size_t total = 4 << 20, sent = 0, got = 0, i;
	unsigned char *out = malloc(total), *in = malloc(total);

	/* More than the socket buffers hold: the echo must be read while the
	 * writes block, as the session does with pipelined commands. */
	assert_non_null(out);
	assert_non_null(in);
	for (i = 0; i < total; i++)
		out[i] = (unsigned char)(i * 7 + i / 4093);
	srv_start(&sv);
	if (start(&sv, &c, 5000, &t, &fail, err) != 0)
		fail_msg("tls_start: %s", err);
	read_line(&t, greet, sizeof greet);
	while (got < total) {
		struct pollfd pfd = { t.fd, transport_events(&t, POLLIN), 0 };
		ssize_t n;

		if (sent < total) {
			n = transport_write(&t, out + sent, total - sent > 100000 ? 100000 : total - sent);
			if (n > 0)
				sent += (size_t)n;
			else if (n != TR_AGAIN)
				fail_msg("write: %s", t.err);
			else
				pfd.events |= transport_events(&t, POLLOUT);
		}
		if (!transport_pending(&t))
			assert_true(poll(&pfd, 1, 3000) > 0);
		n = transport_read(&t, in + got, total - got);
		if (n > 0)
			got += (size_t)n;
		else if (n != TR_AGAIN)
			fail_msg("read: %zd %s", n, t.err);
	}
	assert_int_equal(sent, total);
	assert_memory_equal(in, out, total);
	transport_close(&t);
	srv_wait(&sv);
	free(in);
	free(out);
}

static void test_tls12_refused_by_default_priorities(void **state)
{
	struct tls_conf c = conf_for("localhost");
	char err[KURIER_ERRLEN];

	/* A server that only speaks TLS 1.1: kurier's minimum is 1.2. */
	struct srv sv = { .mode = SRV_TLS, .cert = "good.pem", .prio = "NORMAL:-VERS-ALL:+VERS-TLS1.1" };
	struct transport t;
	enum outcome fail;

	srv_start(&sv);
	assert_int_equal(start(&sv, &c, 5000, &t, &fail, err), -1);
	assert_int_equal(fail, OUTCOME_PROTOCOL);
	print_message("    outcome %d: %s\n", (int)fail, err);
	expect_in(err, "tls_priorities");
	transport_close(&t);
	srv_wait(&sv);
}

/* One connection with cache file CF; returns whether it resumed. */
static bool cached_conn(const struct srv *sv, const struct tls_conf *c0, const char *cf)
{
	struct tls_conf c = *c0;
	struct transport t;
	struct tls_info info;
	enum outcome fail;
	char err[KURIER_ERRLEN], greet[512];

	c.cache_file = cf;
	if (start(sv, &c, 5000, &t, &fail, err) != 0)
		fail_msg("tls_start: %s", err);
	assert_int_equal(tls_get_info(&t, &info), 0);
	print_message("    %s resumed=%d subject=%s\n", info.version, info.resumed, info.subject);
	converse(&t, greet, sizeof greet);
	transport_close(&t);
	return info.resumed;
}

static void resumption(const char *prio, const char *file)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "good.pem", .prio = prio, .conns = 4 };
	struct tls_conf c = conf_for("localhost"), other = conf_for("localhost");
	char cf[256];
	struct stat sb;

	snprintf(cf, sizeof cf, "%s/%s", cache_dir, file);
	srv_start(&sv);
	assert_false(cached_conn(&sv, &c, cf));
	assert_int_equal(stat(cf, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_true(cached_conn(&sv, &c, cf));
	assert_true(cached_conn(&sv, &c, cf));
	/* Settings that would have judged the server differently: never resume
	 * a session they did not verify. */
	other.certcheck = false;
	assert_false(cached_conn(&sv, &other, cf));
	srv_wait(&sv);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	fchmod(fd, mode);
	close(fd);
}

static void copy_file(const char *from, const char *to)
{
	gnutls_datum_t d = { NULL, 0 };
	assert_int_equal(gnutls_load_file(from, &d), 0);
	write_file(to, d.data, d.size, 0644);
	gnutls_free(d.data);
}

static void test_resumed_session_is_verified_again(void **state)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "good.pem", .conns = 2 };
	struct tls_conf c = conf_for("localhost");
	struct transport t;
	enum outcome fail;
	char cf[256], trust[256], err[KURIER_ERRLEN];
	struct stat sb;

	snprintf(cf, sizeof cf, "%s/reverify.cache", cache_dir);
	snprintf(trust, sizeof trust, "%s/trust.pem", cache_dir);
	copy_file(certpath("ca.pem"), trust);
	c.trust_file = trust;
	srv_start(&sv);
	assert_false(cached_conn(&sv, &c, cf));
	/* The same settings, but the CA is no longer trusted: the resumed
	 * session's certificate is refused and the cache dropped. */
	copy_file(certpath("selfsigned.pem"), trust);
	c.cache_file = cf;
	assert_int_equal(start(&sv, &c, 5000, &t, &fail, err), -1);
	assert_int_equal(fail, OUTCOME_UNAVAILABLE);
	print_message("    outcome %d: %s\n", (int)fail, err);
	expect_in(err, "unknown authority");
	assert_int_equal(stat(cf, &sb), -1);
	transport_close(&t);
	srv_wait(&sv);
}

static void test_resumption_tls13(void **state)
{
	resumption(NULL, "tls13.cache");
}

static void test_resumption_tls12(void **state)
{
	resumption("NORMAL:-VERS-ALL:+VERS-TLS1.2", "tls12.cache");
}


static void test_corrupt_cache(void **state)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "good.pem", .conns = 4 };
	struct tls_conf c = conf_for("localhost");
	char cf[256], buf[8192];
	struct stat sb;
	ssize_t n;
	int fd;

	snprintf(cf, sizeof cf, "%s/corrupt.cache", cache_dir);
	srv_start(&sv);
	write_file(cf, "garbage\n", 8, 0600);
	assert_false(cached_conn(&sv, &c, cf));
	/* Now a good one; spoil its session data but keep the header. */
	assert_int_equal(stat(cf, &sb), 0);
	fd = open(cf, O_RDONLY);
	n = read(fd, buf, sizeof buf);
	close(fd);
	assert_true(n > 100);
	memset(buf + 90, 0xA5, (size_t)n - 90);
	write_file(cf, buf, (size_t)n, 0600);
	assert_false(cached_conn(&sv, &c, cf));
	/* A good one again, but readable by others: not trusted. */
	assert_int_equal(chmod(cf, 0644), 0);
	assert_false(cached_conn(&sv, &c, cf));
	/* The cache is a directory: no cache, still connects. */
	snprintf(cf, sizeof cf, "%s", cache_dir);
	assert_false(cached_conn(&sv, &c, cf));
	srv_wait(&sv);
}

static void test_client_certificate(void **state)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "good.pem", .want_client_cert = true };
	struct tls_conf c = conf_for("localhost");

	c.cert_file = certpath("client.pem");
	c.key_file = certpath("client-key.pem");
	expect_handshake(&sv, &c, "sni=localhost cn=alice");
}

static void test_missing_client_certificate(void **state)
{
	struct srv sv = { .mode = SRV_TLS, .cert = "good.pem", .want_client_cert = true };
	struct tls_conf c = conf_for("localhost");
	struct transport t;
	enum outcome fail;
	char err[KURIER_ERRLEN], buf[512];
	ssize_t n;

	/* TLS 1.3: the server's refusal arrives after the client's handshake
	 * is done, as an alert on the first read. */
	srv_start(&sv);
	if (start(&sv, &c, 5000, &t, &fail, err) != 0) {
		assert_int_equal(fail, OUTCOME_PROTOCOL);
		expect_in(err, "tls_cert_file");
	} else {
		for (;;) {
			wait_for(&t, POLLIN);
			n = transport_read(&t, buf, sizeof buf);
			if (n != TR_AGAIN)
				break;
		}
		assert_int_equal(n, -1);
		if (t.fail != OUTCOME_PROTOCOL)
			fail_msg("outcome %d: %s", (int)t.fail, t.err);
		print_message("    outcome %d: %s\n", (int)t.fail, t.err);
		expect_in(t.err, "tls_cert_file");
	}
	transport_close(&t);
	srv_wait(&sv);
}

static void config_error(const struct tls_conf *c, const char *part)
{
	struct transport t;
	enum outcome fail;
	char err[KURIER_ERRLEN];
	int sv[2];

	/* Settings are checked before anything is sent. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	memset(&t, 0, sizeof t);
	t.fd = sv[0];
	assert_int_equal(tls_start(&t, c, now_ms() + 1000, &fail, err, sizeof err), -1);
	assert_int_equal(fail, OUTCOME_CONFIG);
	print_message("    config: %s\n", err);
	expect_in(err, part);
	close(sv[0]);
	close(sv[1]);
}

static void test_config_errors(void **state)
{
	struct tls_conf c = conf_for("localhost");

	c.trust_file = "/nonexistent/ca.pem";
	config_error(&c, "tls_trust_file /nonexistent/ca.pem");
	c.trust_file = certpath("ca-key.pem");
	config_error(&c, "tls_trust_file");
	c = conf_for("localhost");
	c.cert_file = certpath("client.pem");
	c.key_file = certpath("good-key.pem");
	config_error(&c, "does not belong");
	c.key_file = "/nonexistent/key.pem";
	config_error(&c, "tls_key_file /nonexistent/key.pem");
	c.key_file = NULL;
	config_error(&c, "tls_key_file");
	c = conf_for("localhost");
	c.priorities = "NORMAL:+NONSENSE";
	config_error(&c, "tls_priorities");
	c = conf_for("localhost");
	c.fingerprint = "AB:CD";
	config_error(&c, "tls_fingerprint");
}

/* Make the certificates; returns the script's exit status. */
static int make_certs(void)
{
	const char *top = getenv("top_srcdir");
	char script[1024];
	pid_t pid;
	int status = 0;

	snprintf(script, sizeof script, "%s/tests/gen-certs.sh", top != NULL && top[0] ? top : ".");
	pid = fork();
	if (pid == 0) {
		execlp("sh", "sh", script, CERT_DIR, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}

static int setup(void **state)
{
	return mkdtemp(cache_dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		execlp("rm", "rm", "-rf", cache_dir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	return 0;
}

/* --version names the library in use; the Message-ID's bytes differ. */
static void test_library_facts(void **state)
{
	unsigned char a[9], b[9];
	(void)state;

	assert_string_equal(tls_library_version(), gnutls_check_version(NULL));
	assert_int_equal(tls_random(a, sizeof a), 0);
	assert_int_equal(tls_random(b, sizeof b), 0);
	assert_memory_not_equal(a, b, sizeof a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_facts),
		cmocka_unit_test(test_good_certificate),
		cmocka_unit_test(test_ip_literal),
		cmocka_unit_test(test_wrong_name),
		cmocka_unit_test(test_host_override),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_self_signed),
		cmocka_unit_test(test_unknown_authority),
		cmocka_unit_test(test_pin_sha256),
		cmocka_unit_test(test_pin_weak),
		cmocka_unit_test(test_pin_mismatch),
		cmocka_unit_test(test_certcheck_off),
		cmocka_unit_test(test_plain_smtp_server),
		cmocka_unit_test(test_silent_server_times_out),
		cmocka_unit_test(test_server_closes_mid_handshake),
		cmocka_unit_test(test_server_resets_mid_handshake),
		cmocka_unit_test(test_tls12_channel_binding),
		cmocka_unit_test(test_tls12_refused_by_default_priorities),
		cmocka_unit_test(test_bulk_both_ways),
		cmocka_unit_test(test_resumption_tls13),
		cmocka_unit_test(test_resumption_tls12),
		cmocka_unit_test(test_corrupt_cache),
		cmocka_unit_test(test_resumed_session_is_verified_again),
		cmocka_unit_test(test_client_certificate),
		cmocka_unit_test(test_missing_client_certificate),
		cmocka_unit_test(test_config_errors),
	};

	int r = make_certs();

	if (r == 77) {
		fprintf(stderr, "test_tls: skipped: certtool is not installed\n");
		return 77;
	}
	if (r != 0) {
		fprintf(stderr, "test_tls: cannot make the test certificates (tests/gen-certs.sh: %d)\n", r);
		return 99;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
