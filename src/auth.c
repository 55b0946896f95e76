/* auth.c: the mechanisms behind AUTH: choice by policy, libgsasl for the
 * classic ones, SCRAM and OAuth 2 on GnuTLS primitives. It never prints a
 * secret and wipes each buffer that held one. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gsasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "auth.h"

enum auth_kind { K_GSASL, K_PLAIN, K_LOGIN, K_SCRAM, K_XOAUTH2, K_OAUTHBEARER };

#define AUTH_SCRAM_ITER_MIN 4096    /* RFC 7677 4 */
#define AUTH_SCRAM_ITER_MAX 1000000 /* more only burns our CPU for a hostile server */

struct auth {
	enum auth_kind kind;
	char *mech;
	char *user, *secret, *host, *port;
	char *cb_type;
	unsigned char *cb_data;
	size_t cb_len;
	bool verified;
	char *server_error;
	const char *failure_hint; /* set with AUTH_CANCEL */
	/* libgsasl */
	Gsasl *ctx;
	Gsasl_session *sess;
	/* SCRAM */
	gnutls_mac_algorithm_t mac;
	gnutls_digest_algorithm_t dig;
	size_t hlen;
	bool plus;
	bool server_plus;
	int scram_state;        /* 0 first sent, 1 final sent, 2 done */
	int login_state;        /* LOGIN: 0 user next, 1 password next, 2 done */
	char *gs2;              /* "n,,", "y,," or "p=tls-exporter,," */
	char *fixed_nonce;
	char *client_first_bare;
	char *nonce;
	unsigned char server_sig[64];
};

static const char *const auth_order[] = {
	"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN",
};

static bool auth_offered(const char *offered, const char *mech)
{
	size_t n = strlen(mech);
	const char *p = offered;

	while ((p = strstr(p, mech)) != NULL) {
		if ((p == offered || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return true;
		p += n;
	}
	return false;
}

/* A mechanism whose secret goes to the server as it is. */
static bool auth_mech_sends_secret(const char *mech)
{
	return strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0 ||
	       strcasecmp(mech, "XOAUTH2") == 0 || strcasecmp(mech, "OAUTHBEARER") == 0;
}

bool auth_may_send(bool tls, bool loopback, bool proxied, char *err, size_t errlen)
{
	if (tls || (loopback && !proxied))
		return true;
	snprintf(err, errlen, "authentication without TLS is refused (except to loopback%s); "
		 "remove 'tls off' from the account", proxied ? ", never through a proxy" : "");
	return false;
}

const char *auth_choose(const char *configured, const char *offered, bool secure,
			bool have_binding, char *err, size_t errlen)
{
	size_t i;

	if (strcasecmp(configured, "ON") != 0) {
		if (!auth_offered(offered, configured)) {
			snprintf(err, errlen, "the server does not offer %s (it offers: %s)", configured,
				 offered[0] ? offered : "nothing");
			return NULL;
		}
		if (strstr(configured, "-PLUS") != NULL && !have_binding) {
			snprintf(err, errlen, "%s needs TLS channel binding, which this connection lacks", configured);
			return NULL;
		}
		return configured;
	}
	for (i = 0; i < sizeof auth_order / sizeof auth_order[0]; i++) {
		const char *m = auth_order[i];
		if (!auth_offered(offered, m))
			continue;
		if (strstr(m, "-PLUS") != NULL && !have_binding)
			continue;
		if (auth_mech_sends_secret(m) && !secure)
			continue;
		return m;
	}
	snprintf(err, errlen, "no usable mechanism in common (the server offers: %s%s)",
		 offered[0] ? offered : "nothing",
		 secure ? "" : "; PLAIN and LOGIN are not used without TLS");
	return NULL;
}

static char *auth_b64(const char *s, size_t n)
{
	char *out = NULL;
	size_t outlen;

	if (gsasl_base64_to(s, n, &out, &outlen) != GSASL_OK)
		return NULL;
	return out;
}

/* Decode base64 S; NULL when it is not base64. *N gets the length. */
static char *auth_unb64(const char *s, size_t *n)
{
	char *out = NULL;

	if (gsasl_base64_from(s, strlen(s), &out, n) != GSASL_OK)
		return NULL;
	out = xrealloc_wipe(out, *n, *n + 1);
	out[*n] = '\0';
	return out;
}

static void auth_wipe_free(char *s, size_t n)
{
	if (s == NULL)
		return;
	explicit_bzero(s, n);
	free(s);
}

/* ---- libgsasl ---------------------------------------------------------- */

static int auth_gsasl_cb(Gsasl *ctx, Gsasl_session *sess, Gsasl_property prop)
{
	struct auth *a = gsasl_session_hook_get(sess);

	switch (prop) {
	case GSASL_AUTHID:
		return a->user != NULL ? gsasl_property_set(sess, prop, a->user) : GSASL_NO_CALLBACK;
	case GSASL_PASSWORD:
		return gsasl_property_set(sess, prop, a->secret);
	case GSASL_SERVICE:
		return gsasl_property_set(sess, prop, "smtp");
	case GSASL_HOSTNAME:
		return gsasl_property_set(sess, prop, a->host);
	default:
		return GSASL_NO_CALLBACK;
	}
}

static int auth_gsasl_start(struct auth *a, char *err, size_t errlen)
{
	int r;

	if ((r = gsasl_init(&a->ctx)) != GSASL_OK) {
		snprintf(err, errlen, "libgsasl: %s", gsasl_strerror(r));
		return -1;
	}
	gsasl_callback_set(a->ctx, auth_gsasl_cb);
	if ((r = gsasl_client_start(a->ctx, a->mech, &a->sess)) != GSASL_OK) {
		snprintf(err, errlen, "libgsasl cannot do %s: %s", a->mech, gsasl_strerror(r));
		return -1;
	}
	gsasl_session_hook_set(a->sess, a);
	a->verified = true; /* these mechanisms cannot prove the server */
	return 0;
}

static enum auth_status auth_gsasl_step(struct auth *a, const char *in, char **out, char *err, size_t errlen)
{
	int r = gsasl_step64(a->sess, in, out);

	if (r == GSASL_OK)
		return AUTH_DONE;
	if (r == GSASL_NEEDS_MORE)
		return AUTH_MORE;
	snprintf(err, errlen, "%s: %s", a->mech, gsasl_strerror(r));
	return AUTH_ERROR;
}

/* ---- SCRAM (RFC 5802, RFC 7677; channel binding RFC 5929, RFC 9266) ---- */

/* RFC 5802 5.1: saslname escapes ',' and '='. */
static char *auth_saslname(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *p = xmalloc(3 * n + 1);

	for (i = 0; i < n; i++) {
		if (s[i] == ',') {
			memcpy(p + o, "=2C", 3);
			o += 3;
		} else if (s[i] == '=') {
			memcpy(p + o, "=3D", 3);
			o += 3;
		} else {
			p[o++] = s[i];
		}
	}
	p[o] = '\0';
	return p;
}

static int auth_scram_first(struct auth *a, char **out, char *err, size_t errlen)
{
	unsigned char rnd[18];
	char *name, *msg;
	size_t n;

	if (a->fixed_nonce != NULL) {
		a->nonce = xstrdup(a->fixed_nonce);
	} else if (gnutls_rnd(GNUTLS_RND_NONCE, rnd, sizeof rnd) != 0) {
		snprintf(err, errlen, "SCRAM: no random numbers for the nonce");
		return -1;
	} else {
		a->nonce = auth_b64((const char *)rnd, sizeof rnd);
	}
	if (a->plus)
		a->gs2 = xstrdup(strcmp(a->cb_type, "tls-unique") == 0 ? "p=tls-unique,," : "p=tls-exporter,,");
	else
		/* RFC 5802 6: "y" when the client could bind but the server
		 * did not offer -PLUS, so a server whose offer was stripped on
		 * the way notices; "n" when binding was possible and declined. */
		a->gs2 = xstrdup(a->cb_type != NULL && !a->server_plus ? "y,," : "n,,");
	name = auth_saslname(a->user);
	n = strlen(name) + strlen(a->nonce) + 8;
	a->client_first_bare = xmalloc(n);
	snprintf(a->client_first_bare, n, "n=%s,r=%s", name, a->nonce);
	free(name);
	n = strlen(a->gs2) + strlen(a->client_first_bare) + 1;
	msg = xmalloc(n);
	snprintf(msg, n, "%s%s", a->gs2, a->client_first_bare);
	*out = auth_b64(msg, strlen(msg));
	free(msg);
	a->scram_state = 0;
	return *out != NULL ? 0 : -1;
}

static const char *auth_attr(const char *msg, char key)
{
	const char *p = msg;

	while (p != NULL && *p != '\0') {
		if (p[0] == key && p[1] == '=')
			return p + 2;
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	return NULL;
}

static char *auth_attr_dup(const char *msg, char key)
{
	const char *v = auth_attr(msg, key);
	return v != NULL ? xstrndup(v, strcspn(v, ",")) : NULL;
}

static enum auth_status auth_scram_final(struct auth *a, const char *server_first, char **out,
					 char *err, size_t errlen)
{
	unsigned char salted[64], ckey[64], skey[64], stored[64], csig[64], proof[64];
	char *r = auth_attr_dup(server_first, 'r'), *s64 = auth_attr_dup(server_first, 's');
	char *i_s = auth_attr_dup(server_first, 'i'), *salt = NULL, *pw = NULL, *cbind_in = NULL;
	char *cbind = NULL, *without_proof = NULL, *authmsg = NULL, *proof64 = NULL, *final = NULL;
	size_t saltlen = 0, n, k;
	char *end = NULL;
	long iter;
	int prc;
	enum auth_status st = AUTH_ERROR;
	gnutls_datum_t key, sd;

	/* RFC 5802 5.1: a mandatory extension (m=) the client does not know
	 * MUST fail the authentication. */
	if (auth_attr(server_first, 'm') != NULL) {
		snprintf(err, errlen, "SCRAM: the server's first message has the mandatory extension "
			 "'m=%.*s', which this client does not know (RFC 5802 5.1)",
			 (int)strcspn(auth_attr(server_first, 'm'), ","), auth_attr(server_first, 'm'));
		a->failure_hint = "the server's SCRAM needs an extension kurier does not support: "
				  "choose another mechanism with 'auth'";
		st = AUTH_CANCEL;
		goto out;
	}
	if (r == NULL || s64 == NULL || i_s == NULL) {
		snprintf(err, errlen, "SCRAM: the server's first message is malformed");
		goto out;
	}
	if (strncmp(r, a->nonce, strlen(a->nonce)) != 0 || strlen(r) <= strlen(a->nonce)) {
		snprintf(err, errlen, "SCRAM: the server's nonce does not extend the client's");
		goto out;
	}
	iter = strtol(i_s, &end, 10);
	/* A huge count would make a hostile server burn our CPU. */
	if (end == i_s || *end != '\0' || iter < 1 || iter > AUTH_SCRAM_ITER_MAX) {
		snprintf(err, errlen, "SCRAM: iteration count %.40s is out of range", i_s);
		goto out;
	}
	/* RFC 7677 4: at least 4096. With fewer, whoever reads the exchange
	 * can guess the password offline cheaply; send no proof at all. */
	if (iter < AUTH_SCRAM_ITER_MIN) {
		snprintf(err, errlen, "SCRAM: the server asks for only %ld iteration%s (RFC 7677 wants at "
			 "least %d); refusing to send a proof that cheap to attack", iter,
			 iter == 1 ? "" : "s", AUTH_SCRAM_ITER_MIN);
		a->failure_hint = "the server's SCRAM is set up too weakly to use: ask its operator to "
				  "raise the iteration count, or choose another mechanism with 'auth'";
		st = AUTH_CANCEL;
		goto out;
	}
	if ((salt = auth_unb64(s64, &saltlen)) == NULL || saltlen == 0) {
		snprintf(err, errlen, "SCRAM: the salt is not base64");
		goto out;
	}
	if (gsasl_saslprep(a->secret, GSASL_ALLOW_UNASSIGNED, &pw, &prc) != GSASL_OK) {
		snprintf(err, errlen, "SCRAM: the password cannot be prepared (SASLprep)");
		goto out;
	}
	key.data = (unsigned char *)pw;
	key.size = (unsigned)strlen(pw);
	sd.data = (unsigned char *)salt;
	sd.size = (unsigned)saltlen;
	if (gnutls_pbkdf2(a->mac, &key, &sd, (unsigned)iter, salted, a->hlen) != 0) {
		snprintf(err, errlen, "SCRAM: PBKDF2 failed");
		goto out;
	}
	/* c= carries the GS2 header and, for -PLUS, the binding data. */
	n = strlen(a->gs2) + (a->plus ? a->cb_len : 0);
	cbind_in = xmalloc(n + 1);
	memcpy(cbind_in, a->gs2, strlen(a->gs2));
	if (a->plus)
		memcpy(cbind_in + strlen(a->gs2), a->cb_data, a->cb_len);
	cbind = auth_b64(cbind_in, n);
	n = strlen(cbind) + strlen(r) + 8;
	without_proof = xmalloc(n);
	snprintf(without_proof, n, "c=%s,r=%s", cbind, r);
	n = strlen(a->client_first_bare) + strlen(server_first) + strlen(without_proof) + 3;
	authmsg = xmalloc(n);
	snprintf(authmsg, n, "%s,%s,%s", a->client_first_bare, server_first, without_proof);
	if (gnutls_hmac_fast(a->mac, salted, a->hlen, "Client Key", 10, ckey) != 0 ||
	    gnutls_hash_fast(a->dig, ckey, a->hlen, stored) != 0 ||
	    gnutls_hmac_fast(a->mac, stored, a->hlen, authmsg, strlen(authmsg), csig) != 0 ||
	    gnutls_hmac_fast(a->mac, salted, a->hlen, "Server Key", 10, skey) != 0 ||
	    gnutls_hmac_fast(a->mac, skey, a->hlen, authmsg, strlen(authmsg), a->server_sig) != 0) {
		snprintf(err, errlen, "SCRAM: HMAC failed");
		goto out;
	}
	for (k = 0; k < a->hlen; k++)
		proof[k] = ckey[k] ^ csig[k];
	proof64 = auth_b64((const char *)proof, a->hlen);
	n = strlen(without_proof) + strlen(proof64) + 4;
	final = xmalloc(n);
	snprintf(final, n, "%s,p=%s", without_proof, proof64);
	*out = auth_b64(final, strlen(final));
	a->scram_state = 1;
	st = *out != NULL ? AUTH_MORE : AUTH_ERROR;
out:
	explicit_bzero(salted, sizeof salted);
	explicit_bzero(ckey, sizeof ckey);
	explicit_bzero(skey, sizeof skey);
	explicit_bzero(stored, sizeof stored);
	explicit_bzero(proof, sizeof proof);
	if (pw != NULL)
		auth_wipe_free(pw, strlen(pw));
	free(r);
	free(s64);
	free(i_s);
	free(salt);
	free(cbind_in);
	free(cbind);
	free(without_proof);
	free(authmsg);
	/* the proof opens this account for this salt and count */
	xfree_secret(proof64);
	xfree_secret(final);
	return st;
}

static enum auth_status auth_scram_verify(struct auth *a, const char *server_final, char **out,
					  char *err, size_t errlen)
{
	const char *e = auth_attr(server_final, 'e');
	char *v = auth_attr_dup(server_final, 'v'), *sig = NULL;
	size_t n = 0;
	enum auth_status st = AUTH_ERROR;

	if (e != NULL) {
		snprintf(err, errlen, "SCRAM: the server reports '%.*s'", (int)strcspn(e, ","), e);
		goto out;
	}
	if (v == NULL || (sig = auth_unb64(v, &n)) == NULL || n != a->hlen ||
	    gnutls_memcmp(sig, a->server_sig, a->hlen) != 0) {
		snprintf(err, errlen, "SCRAM: the server's signature is wrong: it does not know the "
			 "password, or someone is in between");
		goto out;
	}
	a->verified = true;
	a->scram_state = 2;
	*out = xstrdup("");
	st = AUTH_DONE;
out:
	free(v);
	free(sig);
	return st;
}

/* ---- PLAIN (RFC 4616) and LOGIN ---------------------------------------- */

/* Done here, not in libgsasl, which frees its copies of the password
 * (the property, PLAIN's message before base64) without wiping them. */
static int auth_plain_initial(struct auth *a, char **out)
{
	size_t nu = strlen(a->user), ns = strlen(a->secret), n = nu + ns + 2;
	char *msg = xmalloc(n);

	/* no authorization identity: NUL authcid NUL passwd */
	msg[0] = '\0';
	memcpy(msg + 1, a->user, nu);
	msg[1 + nu] = '\0';
	memcpy(msg + 2 + nu, a->secret, ns);
	*out = auth_b64(msg, n);
	xfree_wipe(msg, n);
	return *out != NULL ? 0 : -1;
}

/* LOGIN (draft-murchison-sasl-login): the user name, then the password,
 * whatever the server's prompts say. */
static enum auth_status auth_login_step(struct auth *a, char **out, char *err, size_t errlen)
{
	if (a->login_state >= 2) {
		snprintf(err, errlen, "LOGIN: the server asks for more than user name and password");
		return AUTH_ERROR;
	}
	*out = auth_b64(a->login_state == 0 ? a->user : a->secret,
			strlen(a->login_state == 0 ? a->user : a->secret));
	a->login_state++;
	if (*out == NULL) {
		snprintf(err, errlen, "LOGIN: base64 failed");
		return AUTH_ERROR;
	}
	return AUTH_MORE;
}

/* ---- OAuth 2 ------------------------------------------------------------ */

static int auth_oauth_initial(struct auth *a, char **out)
{
	size_t n = strlen(a->user) * 3 + strlen(a->secret) + strlen(a->host) + strlen(a->port) + 64;
	char *msg = xmalloc(n), *name;

	if (a->kind == K_XOAUTH2) {
		snprintf(msg, n, "user=%s\001auth=Bearer %s\001\001", a->user, a->secret);
	} else {
		/* RFC 7628 3.1 */
		name = auth_saslname(a->user);
		snprintf(msg, n, "n,a=%s,\001host=%s\001port=%s\001auth=Bearer %s\001\001", name, a->host,
			 a->port, a->secret);
		free(name);
	}
	*out = auth_b64(msg, strlen(msg));
	auth_wipe_free(msg, n);
	return *out != NULL ? 0 : -1;
}

/* The server answered the token with a 334 carrying a JSON error: keep it
 * for the message and finish the exchange as each mechanism wants. */
static enum auth_status auth_oauth_error(struct auth *a, const char *challenge, char **out)
{
	size_t n = 0;
	char *json = auth_unb64(challenge, &n);
	size_t i;

	free(a->server_error);
	a->server_error = json != NULL ? json : xstrdup("(not base64)");
	for (i = 0; a->server_error[i] != '\0'; i++)
		if ((unsigned char)a->server_error[i] < 0x20)
			a->server_error[i] = ' ';
	/* RFC 7628 3.2.3: a lone 0x01; XOAUTH2: an empty line. */
	*out = xstrdup(a->kind == K_OAUTHBEARER ? "AQ==" : "");
	return AUTH_MORE;
}

/* ---- the interface ------------------------------------------------------ */

struct auth *auth_new(const char *mech, const struct auth_creds *c, const struct auth_binding *b,
		      char *err, size_t errlen)
{
	struct auth *a = xcalloc(1, sizeof *a);

	a->mech = xstrdup(mech);
	a->user = xstrdup(c->user != NULL ? c->user : "");
	a->secret = xstrdup(c->secret != NULL ? c->secret : "");
	a->host = xstrdup(c->host != NULL ? c->host : "");
	a->port = xstrdup(c->port != NULL ? c->port : "");
	a->fixed_nonce = c->nonce != NULL ? xstrdup(c->nonce) : NULL;
	if (b != NULL && b->type != NULL) {
		a->cb_type = xstrdup(b->type);
		a->cb_data = xmalloc(b->len ? b->len : 1);
		memcpy(a->cb_data, b->data, b->len);
		a->cb_len = b->len;
		a->server_plus = b->server_plus;
	}
	if (strncasecmp(mech, "SCRAM-SHA-", 10) == 0) {
		a->kind = K_SCRAM;
		a->plus = strstr(mech, "-PLUS") != NULL;
		if (strncasecmp(mech, "SCRAM-SHA-256", 13) == 0) {
			a->mac = GNUTLS_MAC_SHA256;
			a->dig = GNUTLS_DIG_SHA256;
			a->hlen = 32;
		} else {
			a->mac = GNUTLS_MAC_SHA1;
			a->dig = GNUTLS_DIG_SHA1;
			a->hlen = 20;
		}
		if (a->plus && a->cb_type == NULL) {
			snprintf(err, errlen, "%s needs TLS channel binding, which this connection lacks", mech);
			auth_free(a);
			return NULL;
		}
		return a;
	}
	/* PLAIN and LOGIN cannot prove the server; TLS does that. */
	if (strcasecmp(mech, "PLAIN") == 0 || strcasecmp(mech, "LOGIN") == 0) {
		a->kind = strcasecmp(mech, "PLAIN") == 0 ? K_PLAIN : K_LOGIN;
		a->verified = true;
		return a;
	}
	/* OAuth 2 mechanisms cannot prove the server; TLS does that. */
	if (strcasecmp(mech, "XOAUTH2") == 0) {
		a->kind = K_XOAUTH2;
		a->verified = true;
		return a;
	}
	if (strcasecmp(mech, "OAUTHBEARER") == 0) {
		a->kind = K_OAUTHBEARER;
		a->verified = true;
		return a;
	}
	a->kind = K_GSASL;
	if (auth_gsasl_start(a, err, errlen) != 0) {
		auth_free(a);
		return NULL;
	}
	return a;
}

int auth_initial(struct auth *a, char **out, char *err, size_t errlen)
{
	*out = NULL;
	switch (a->kind) {
	case K_SCRAM:
		return auth_scram_first(a, out, err, errlen);
	case K_XOAUTH2:
	case K_OAUTHBEARER:
		return auth_oauth_initial(a, out);
	case K_PLAIN:
		return auth_plain_initial(a, out);
	case K_LOGIN:
		return 0; /* the server prompts first */
	case K_GSASL:
		/* Client-first mechanisms answer an empty challenge at once. */
		if (strcasecmp(a->mech, "EXTERNAL") == 0 || strcasecmp(a->mech, "GSSAPI") == 0)
			return auth_gsasl_step(a, "", out, err, errlen) == AUTH_ERROR ? -1 : 0;
		return 0;
	}
	return 0;
}

enum auth_status auth_step(struct auth *a, const char *challenge, char **out, char *err, size_t errlen)
{
	*out = NULL;
	switch (a->kind) {
	case K_GSASL:
		return auth_gsasl_step(a, challenge, out, err, errlen);
	case K_PLAIN:
		snprintf(err, errlen, "PLAIN: the server sent a challenge after the credentials");
		return AUTH_ERROR;
	case K_LOGIN:
		return auth_login_step(a, out, err, errlen);
	case K_XOAUTH2:
	case K_OAUTHBEARER:
		return auth_oauth_error(a, challenge, out);
	case K_SCRAM: {
		size_t n = 0;
		char *msg = auth_unb64(challenge, &n);
		enum auth_status st;
		if (msg == NULL) {
			snprintf(err, errlen, "SCRAM: the server's challenge is not base64");
			return AUTH_ERROR;
		}
		st = a->scram_state == 0 ? auth_scram_final(a, msg, out, err, errlen)
		   : a->scram_state == 1 ? auth_scram_verify(a, msg, out, err, errlen)
		   : AUTH_ERROR;
		if (st == AUTH_ERROR && a->scram_state == 2)
			snprintf(err, errlen, "SCRAM: the server sent more after its final message");
		free(msg);
		return st;
	}
	}
	return AUTH_ERROR;
}

bool auth_verified(const struct auth *a)
{
	return a->verified;
}

const char *auth_server_error(const struct auth *a)
{
	return a->server_error;
}

const char *auth_failure_hint(const struct auth *a)
{
	return a->failure_hint;
}

const char *auth_refusal_hint(const char *mech)
{
	if (strcasecmp(mech, "GSSAPI") == 0)
		return "check the Kerberos ticket (klist; kinit to get one) and the server's principal smtp/HOST";
	if (strcasecmp(mech, "EXTERNAL") == 0)
		return "check the client certificate (tls_cert_file, tls_key_file) the server expects";
	return "check user and password (or the token) in the account";
}

void auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	if (a->sess != NULL)
		gsasl_finish(a->sess);
	if (a->ctx != NULL)
		gsasl_done(a->ctx);
	free(a->mech);
	free(a->user);
	xfree_secret(a->secret);
	free(a->host);
	free(a->port);
	free(a->cb_type);
	free(a->cb_data);
	free(a->server_error);
	free(a->gs2);
	free(a->client_first_bare);
	free(a->nonce);
	free(a->fixed_nonce);
	explicit_bzero(a->server_sig, sizeof a->server_sig);
	free(a);
}

const char *auth_library_version(void)
{
	return gsasl_check_version(NULL);
}
