/* msa-sasl.c: SMTP AUTH (RFC 4954) for the test MSA. libgsasl in server
 * mode does PLAIN, LOGIN, CRAM-MD5 and SCRAM-SHA-1/-256 with their -PLUS
 * variants (channel binding data from msa-tls.c); XOAUTH2 and OAUTHBEARER
 * (RFC 7628) are parsed here, with their error flows. Besides the replies,
 * each exchange yields one line for the session's N.auth record. */
#include <gsasl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msa-buf.h"
#include "msa-sasl.h"

#define SASL_DEFAULT_MECHS "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256 XOAUTH2 OAUTHBEARER"
#define SASL_PLUS_MECHS "SCRAM-SHA-1-PLUS SCRAM-SHA-256-PLUS"
#define SASL_NOTE_MAX 300 /* decoded bytes shown per transcript note or record user */

#define R_SUCCESS "235 2.7.0 authentication successful\r\n"
#define R_FAIL "535 5.7.8 authentication credentials invalid\r\n"
#define R_CANCEL "501 5.7.0 authentication cancelled\r\n"
#define R_BASE64 "501 5.5.2 invalid base64 data\r\n"
#define R_SYNTAX "501 5.5.4 syntax: AUTH mechanism [initial-response]\r\n"
#define R_UNKNOWN "504 5.5.4 mechanism not supported\r\n"
#define R_XOAUTH2_FAIL "535 5.7.8 Username and Password not accepted\r\n"
#define R_OAUTHBEARER_FAIL "535 5.7.8 authentication failed\r\n"

#define XOAUTH2_ERROR "{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/\"}"
#define OAUTHBEARER_ERROR                                                                  \
	"{\"status\":\"invalid_token\",\"scope\":\"mail\",\"openid-configuration\":"       \
	"\"https://example.invalid/.well-known/openid-configuration\"}"

/* ---- small helpers ------------------------------------------------------ */

/* Bytes for a one-line record: space, controls, DEL and backslash as \xHH. */
static void buf_add_escaped(struct buf *b, const char *p, size_t n, bool ascii_only)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c == 0x7f || c == '\\' || (ascii_only && c >= 0x80))
			buf_printf(b, "\\x%02x", c);
		else
			buf_add(b, &p[i], 1);
	}
}

/* Strict base64 (what gsasl_base64_from accepts); "" decodes to nothing. */
static int b64_decode(const char *p, size_t n, char **out, size_t *out_len)
{
	if (n == 0) {
		*out = msa_memdup("", 0);
		*out_len = 0;
		return 0;
	}
	char *d = NULL;
	size_t dl = 0;
	if (gsasl_base64_from(p, n, &d, &dl) != GSASL_OK) {
		gsasl_free(d);
		return -1;
	}
	*out = msa_memdup(d ? d : "", d ? dl : 0);
	*out_len = d ? dl : 0;
	gsasl_free(d);
	return 0;
}

static char *b64_encode(const char *p, size_t n)
{
	char *e = NULL;
	if (n == 0)
		return msa_strdup("");
	if (gsasl_base64_to(p, n, &e, NULL) != GSASL_OK || !e)
		msa_oom();
	char *d = msa_strdup(e);
	gsasl_free(e);
	return d;
}

static bool word_in_list(const char *list, const char *w, size_t wl)
{
	const char *p = list;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *s = p;
		while (*p && *p != ' ')
			p++;
		if ((size_t)(p - s) == wl && wl > 0 && strncasecmp(s, w, wl) == 0)
			return true;
	}
	return false;
}

/* ---- the configuration -------------------------------------------------- */

enum mech_kind { MK_GSASL, MK_XOAUTH2, MK_OAUTHBEARER };

struct mech {
	const char *name;
	enum mech_kind kind;
	bool scram, plus;
};

static const struct mech sasl_mechs[] = {
	{ "PLAIN", MK_GSASL, false, false },
	{ "LOGIN", MK_GSASL, false, false },
	{ "CRAM-MD5", MK_GSASL, false, false },
	{ "EXTERNAL", MK_GSASL, false, false }, /* only with --auth-mechs: the TLS client certificate */
	{ "DIGEST-MD5", MK_GSASL, false, false }, /* only with --auth-mechs */
	{ "GSSAPI", MK_GSASL, false, false }, /* only with --auth-mechs: Kerberos, see msa-README.md */
	{ "SCRAM-SHA-1", MK_GSASL, true, false },
	{ "SCRAM-SHA-1-PLUS", MK_GSASL, true, true },
	{ "SCRAM-SHA-256", MK_GSASL, true, false },
	{ "SCRAM-SHA-256-PLUS", MK_GSASL, true, true },
	{ "XOAUTH2", MK_XOAUTH2, false, false },
	{ "OAUTHBEARER", MK_OAUTHBEARER, false, false },
};

static const struct mech *mech_find(const char *w, size_t wl)
{
	for (size_t i = 0; i < sizeof sasl_mechs / sizeof sasl_mechs[0]; i++)
		if (strlen(sasl_mechs[i].name) == wl && strncasecmp(sasl_mechs[i].name, w, wl) == 0)
			return &sasl_mechs[i];
	return NULL;
}

struct msa_sasl {
	Gsasl *ctx;
	const char *user, *password, *token;
	char *user_prep;     /* SASLprep(user), or a copy when that fails */
	char *password_prep; /* SASLprep(password), or a copy; NULL without a password */
	char *list_plain;    /* advertised without TLS */
	char *list_tls;      /* advertised with TLS */
	const char *scram_iter, *scram_mext; /* see struct msa_sasl_conf */
};

static int sasl_callback(Gsasl *ctx, Gsasl_session *gs, Gsasl_property prop);

/* SASLprep of s, or a copy of s when SASLprep refuses it. */
static char *sasl_prep(const char *s)
{
	char *o = NULL;
	if (gsasl_saslprep(s, GSASL_ALLOW_UNASSIGNED, &o, NULL) != GSASL_OK || !o) {
		gsasl_free(o);
		return msa_strdup(s);
	}
	char *d = msa_strdup(o);
	gsasl_free(o);
	return d;
}

/* The list with single spaces; -1 when a name is unusable. */
static int sasl_list_normalise(Gsasl *ctx, const char *in, struct buf *out)
{
	const char *p = in;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *s = p;
		while (*p && *p != ' ')
			p++;
		size_t wl = (size_t)(p - s);
		if (!wl)
			continue;
		for (size_t i = 0; i < wl; i++)
			if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] == 0x7f) {
				fprintf(stderr, "msa: --auth-mechs: control character in '%s'\n", in);
				return -1;
			}
		const struct mech *m = mech_find(s, wl);
		if (m && m->kind == MK_GSASL && !gsasl_server_support_p(ctx, m->name)) {
			fprintf(stderr, "msa: libgsasl cannot serve %s\n", m->name);
			return -1;
		}
		if (out->len)
			buf_add(out, " ", 1);
		buf_add(out, s, wl);
	}
	if (!out->len) {
		fprintf(stderr, "msa: --auth-mechs: empty list\n");
		return -1;
	}
	return 0;
}

struct msa_sasl *msa_sasl_new(const struct msa_sasl_conf *c)
{
	struct msa_sasl *sa = calloc(1, sizeof *sa);
	struct buf l = { 0 };
	int rc;

	if (!sa)
		msa_oom();
	if ((rc = gsasl_init(&sa->ctx)) != GSASL_OK) {
		fprintf(stderr, "msa: gsasl_init: %s\n", gsasl_strerror(rc));
		free(sa);
		return NULL;
	}
	gsasl_callback_set(sa->ctx, sasl_callback);
	gsasl_callback_hook_set(sa->ctx, sa);
	sa->user = c->user;
	sa->password = c->password;
	sa->token = c->token;
	sa->scram_iter = c->scram_iter;
	sa->scram_mext = c->scram_mext;
	sa->user_prep = sasl_prep(c->user);
	if (c->password)
		sa->password_prep = sasl_prep(c->password);
	if (sasl_list_normalise(sa->ctx, c->mechs ? c->mechs : SASL_DEFAULT_MECHS, &l) != 0) {
		free(l.data);
		msa_sasl_free(sa);
		return NULL;
	}
	sa->list_plain = buf_take(&l);
	if (c->mechs) {
		sa->list_tls = msa_strdup(sa->list_plain);
	} else {
		buf_adds(&l, sa->list_plain);
		buf_adds(&l, " " SASL_PLUS_MECHS);
		sa->list_tls = buf_take(&l);
	}
	return sa;
}

void msa_sasl_free(struct msa_sasl *sa)
{
	if (!sa)
		return;
	if (sa->ctx)
		gsasl_done(sa->ctx);
	free(sa->user_prep);
	free(sa->password_prep);
	free(sa->list_plain);
	free(sa->list_tls);
	free(sa);
}

const char *msa_sasl_mechs(const struct msa_sasl *sa, bool tls)
{
	return tls ? sa->list_tls : sa->list_plain;
}

/* ---- exchanges ---------------------------------------------------------- */

enum phase {
	PH_GSASL,        /* libgsasl's exchange runs */
	PH_SERVER_FINAL, /* SCRAM server-final sent in a 334: wait for the client's empty line */
	PH_OAUTH,        /* XOAUTH2/OAUTHBEARER: wait for the client's message */
	PH_OAUTH_ERROR,  /* the error JSON sent: wait for the client's acknowledgement */
};

struct msa_sasl_exch {
	struct msa_sasl *sa;
	const struct mech *m;
	Gsasl_session *gs;
	enum phase ph;
	bool bad_signature; /* auth-bad-signature: spoil the SCRAM server signature */
	bool spoiled;       /* ... and it was sent */
	bool mext_sent;     /* --auth-scram-extension was put in the server-first message */
	bool give_cb;       /* hand binding data to libgsasl: -PLUS, or -PLUS offered */
	bool client_cert;   /* the TLS session carries a verified client certificate */
	char *exporter_b64, *unique_b64;      /* the TLS session's binding data */
	char exporter[64], unique[64];
	size_t exporter_len, unique_len;
	unsigned scram_msgs; /* non-empty SCRAM client messages seen */
	char gs2[64];        /* "n", "y", "p=NAME"; "" before client-first */
	char *gs2_header;    /* the client's gs2-header, for the binding check */
	const char *cb;      /* "match", "mismatch", "none", "unchecked"; NULL: not p */
	char *user;          /* the identity the client claimed, raw */
	size_t user_len;
	struct buf notes;
};

static void note_data(struct msa_sasl_exch *ex, const char *who, const char *p, size_t n)
{
	if (ex->notes.len)
		buf_add(&ex->notes, "\n", 1);
	buf_printf(&ex->notes, "SASL %s %zu bytes: ", who, n);
	size_t show = n > SASL_NOTE_MAX ? SASL_NOTE_MAX : n;
	for (size_t i = 0; i < show; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c >= 0x7f || c == '\\')
			buf_printf(&ex->notes, "\\x%02x", c);
		else
			buf_add(&ex->notes, &p[i], 1);
	}
	if (show < n)
		buf_adds(&ex->notes, "...");
}

__attribute__((format(printf, 2, 3)))
static void note(struct msa_sasl_exch *ex, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (ex->notes.len)
		buf_add(&ex->notes, "\n", 1);
	buf_adds(&ex->notes, tmp);
}

static void set_user(struct msa_sasl_exch *ex, const char *p, size_t n)
{
	free(ex->user);
	ex->user = msa_memdup(p, n);
	ex->user_len = n;
}

/* The user from a GS2/SCRAM saslname: "=2C" is ',' and "=3D" is '='. */
static void set_saslname_user(struct msa_sasl_exch *ex, const char *a, size_t al)
{
	struct buf u = { 0 };
	for (size_t i = 0; i < al; i++) {
		if (a[i] == '=' && i + 3 <= al &&
		    (memcmp(a + i, "=2C", 3) == 0 || memcmp(a + i, "=3D", 3) == 0)) {
			buf_add(&u, a[i + 2] == 'C' ? "," : "=", 1);
			i += 2;
		} else {
			buf_add(&u, &a[i], 1);
		}
	}
	set_user(ex, u.data ? u.data : "", u.len);
	free(u.data);
}

static char *make_record(struct msa_sasl_exch *ex, const char *result)
{
	struct buf r = { 0 };
	buf_adds(&r, ex->m->name);
	buf_adds(&r, " user=");
	if (!ex->user && ex->gs) {
		const char *a = gsasl_property_fast(ex->gs, GSASL_AUTHID);
		if (a)
			set_user(ex, a, strlen(a));
	}
	if (ex->user) {
		buf_add_escaped(&r, ex->user, ex->user_len > SASL_NOTE_MAX ? SASL_NOTE_MAX : ex->user_len,
			   false);
		if (ex->user_len > SASL_NOTE_MAX)
			buf_adds(&r, "...");
	}
	buf_adds(&r, " result=");
	buf_adds(&r, result);
	if (ex->m->scram) {
		buf_adds(&r, " gs2=");
		if (ex->gs2[0])
			buf_add_escaped(&r, ex->gs2, strlen(ex->gs2), true);
		else
			buf_adds(&r, "-");
	}
	if (ex->cb) {
		buf_adds(&r, " cb=");
		buf_adds(&r, ex->cb);
	}
	if (ex->spoiled)
		buf_adds(&r, " server-signature=bad");
	return buf_take(&r);
}

static void step_reply(struct msa_sasl_step *st, const char *reply)
{
	free(st->reply);
	st->reply = msa_strdup(reply);
}

static void challenge(struct msa_sasl_exch *ex, struct msa_sasl_step *st, const char *p, size_t n)
{
	char *b = b64_encode(p, n);
	struct buf r = { 0 };
	buf_adds(&r, "334 ");
	buf_adds(&r, b);
	buf_adds(&r, "\r\n");
	free(b);
	free(st->reply);
	st->reply = buf_take(&r);
	st->more = true;
	note_data(ex, "S:", p, n);
}

static void finish(struct msa_sasl_exch *ex, struct msa_sasl_step *st, const char *reply,
		   const char *result)
{
	step_reply(st, reply);
	st->more = false;
	st->ok = strcmp(result, "ok") == 0;
	st->record = make_record(ex, result);
}

static void take_notes(struct msa_sasl_exch *ex, struct msa_sasl_step *st)
{
	if (ex->notes.len)
		st->notes = buf_take(&ex->notes);
}

/* libgsasl asks for what it needs; the session is ours via its hook. */
static int sasl_callback(Gsasl *ctx, Gsasl_session *gs, Gsasl_property prop)
{
	struct msa_sasl *sa = gsasl_callback_hook_get(ctx);
	struct msa_sasl_exch *ex = gs ? gsasl_session_hook_get(gs) : NULL;
	if (!ex)
		return GSASL_NO_CALLBACK;

	switch (prop) {
	case GSASL_PASSWORD: {
		/* CRAM-MD5 and SCRAM: the secret of the claimed user. */
		const char *authid = gsasl_property_fast(gs, GSASL_AUTHID);
		if (!sa->password || !authid ||
		    (strcmp(authid, sa->user) != 0 && strcmp(authid, sa->user_prep) != 0))
			return GSASL_NO_PASSWORD;
		return gsasl_property_set(gs, GSASL_PASSWORD, sa->password);
	}
	case GSASL_VALIDATE_SIMPLE: {
		/* PLAIN and LOGIN: user, authorization identity and password. */
		const char *authid = gsasl_property_fast(gs, GSASL_AUTHID);
		const char *authzid = gsasl_property_fast(gs, GSASL_AUTHZID);
		const char *pass = gsasl_property_fast(gs, GSASL_PASSWORD);
		if (!sa->password_prep || !authid || !pass)
			return GSASL_AUTHENTICATION_ERROR;
		if (strcmp(authid, sa->user) != 0 && strcmp(authid, sa->user_prep) != 0)
			return GSASL_AUTHENTICATION_ERROR;
		if (authzid && *authzid && strcmp(authzid, sa->user) != 0 &&
		    strcmp(authzid, sa->user_prep) != 0)
			return GSASL_AUTHENTICATION_ERROR;
		char *prep = sasl_prep(pass);
		int ok = strcmp(prep, sa->password_prep) == 0;
		free(prep);
		return ok ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
	}
	case GSASL_SERVICE:
		return gsasl_property_set(gs, prop, "smtp");
	case GSASL_HOSTNAME: {
		/* GSSAPI: the acceptor is smtp/HOST in the keytab $KRB5_KTNAME. */
		const char *h = getenv("MSA_GSSAPI_HOST");
		return gsasl_property_set(gs, prop, h && *h ? h : "127.0.0.1");
	}
	case GSASL_VALIDATE_GSSAPI: {
		/* The Kerberos principal must be the configured user; an
		 * authorization identity, if any, that principal or its name. */
		const char *who = gsasl_property_fast(gs, GSASL_GSSAPI_DISPLAY_NAME);
		const char *authzid = gsasl_property_fast(gs, GSASL_AUTHZID);
		size_t ul = strcspn(sa->user, "@");
		if (who)
			set_user(ex, who, strlen(who));
		if (!who || strcmp(who, sa->user) != 0)
			return GSASL_AUTHENTICATION_ERROR;
		if (authzid && *authzid && strcmp(authzid, sa->user) != 0 &&
		    !(strlen(authzid) == ul && strncmp(authzid, sa->user, ul) == 0))
			return GSASL_AUTHENTICATION_ERROR;
		return GSASL_OK;
	}
	case GSASL_VALIDATE_EXTERNAL:
		/* RFC 4422 appendix A: the identity is the TLS client certificate's. */
		return ex->client_cert ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
	case GSASL_CB_TLS_EXPORTER:
		if (ex->give_cb && ex->exporter_b64)
			return gsasl_property_set(gs, prop, ex->exporter_b64);
		return GSASL_NO_CALLBACK;
	case GSASL_CB_TLS_UNIQUE:
		if (ex->give_cb && ex->unique_b64)
			return gsasl_property_set(gs, prop, ex->unique_b64);
		return GSASL_NO_CALLBACK;
	case GSASL_SCRAM_ITER:
		if (sa->scram_iter)
			return gsasl_property_set(gs, prop, sa->scram_iter);
		return GSASL_NO_CALLBACK;
	default:
		/* GSASL_SCRAM_SALT, ...: libgsasl's defaults. */
		return GSASL_NO_CALLBACK;
	}
}

/* The binding data of the connection: tls-exporter on TLS 1.3, tls-unique
 * on TLS 1.2 (and older). */
static void load_channel_binding(struct msa_sasl_exch *ex, struct msa_tls *tls)
{
	char desc[512];
	unsigned char d[64];
	size_t dl = sizeof d;

	msa_tls_describe(tls, desc, sizeof desc);
	if (strncmp(desc, "TLS1.3", 6) == 0) {
		if (msa_tls_channel_binding(tls, "tls-exporter", d, &dl) == 0) {
			memcpy(ex->exporter, d, dl);
			ex->exporter_len = dl;
			ex->exporter_b64 = b64_encode((const char *)d, dl);
		}
	} else if (msa_tls_channel_binding(tls, "tls-unique", d, &dl) == 0) {
		memcpy(ex->unique, d, dl);
		ex->unique_len = dl;
		ex->unique_b64 = b64_encode((const char *)d, dl);
	}
}

/* SCRAM: note the client's GS2 flag (client-first) and whether its
 * channel binding matches ours (client-final), for the record. False: a
 * non-PLUS mechanism with "p=", refused here (libgsasl would accept it if
 * the binding data in c= were empty). */
static bool scram_observe(struct msa_sasl_exch *ex, const char *p, size_t n)
{
	if (n == 0)
		return true;
	if (++ex->scram_msgs == 1) {
		const char *c1 = memchr(p, ',', n);
		const char *c2 = c1 ? memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - p)) : NULL;
		size_t fl = c1 ? (size_t)(c1 - p) : n;
		if (fl >= sizeof ex->gs2)
			fl = sizeof ex->gs2 - 1;
		memcpy(ex->gs2, p, fl);
		ex->gs2[fl] = '\0';
		if (!fl)
			snprintf(ex->gs2, sizeof ex->gs2, "?");
		if (c2) {
			ex->gs2_header = msa_memdup(p, (size_t)(c2 + 1 - p));
			/* client-first-message-bare: "n=" saslname "," ... */
			const char *b = c2 + 1, *e = p + n;
			if (e - b >= 2 && memcmp(b, "n=", 2) == 0) {
				const char *c = memchr(b, ',', (size_t)(e - b));
				set_saslname_user(ex, b + 2, (size_t)((c ? c : e) - b - 2));
			}
		}
		if (p[0] == 'p' && !ex->m->plus)
			return false;
		if (p[0] == 'p') {
			bool have = ex->give_cb && ((strcmp(ex->gs2, "p=tls-exporter") == 0 && ex->exporter_b64) ||
						    (strcmp(ex->gs2, "p=tls-unique") == 0 && ex->unique_b64));
			ex->cb = have ? "unchecked" : "none";
		}
		return true;
	}
	if (ex->scram_msgs != 2 || !ex->cb || strcmp(ex->cb, "unchecked") != 0 || !ex->gs2_header)
		return true;
	/* client-final-message: "c=" cbind-input-base64 "," ... */
	ex->cb = "mismatch";
	if (n < 2 || memcmp(p, "c=", 2) != 0)
		return true;
	const char *end = memchr(p, ',', n);
	size_t bl = end ? (size_t)(end - p) - 2 : n - 2;
	char *bin;
	size_t binl;
	if (b64_decode(p + 2, bl, &bin, &binl) != 0)
		return true;
	bool exporter = strcmp(ex->gs2, "p=tls-exporter") == 0;
	const char *cbd = exporter ? ex->exporter : ex->unique;
	size_t cbl = exporter ? ex->exporter_len : ex->unique_len;
	size_t hl = strlen(ex->gs2_header);
	if (binl == hl + cbl && memcmp(bin, ex->gs2_header, hl) == 0 && memcmp(bin + hl, cbd, cbl) == 0)
		ex->cb = "match";
	free(bin);
	return true;
}

/* Replace the SCRAM server-final "v=SIG" by one with a wrong signature. */
static char *spoil_signature(const char *p, size_t n, size_t *out_len)
{
	char *sig;
	size_t sl;
	if (n < 3 || memcmp(p, "v=", 2) != 0 || b64_decode(p + 2, n - 2, &sig, &sl) != 0)
		return NULL;
	for (size_t i = 0; i < sl; i++)
		sig[i] ^= (char)0x5a;
	char *b = b64_encode(sig, sl);
	free(sig);
	struct buf r = { 0 };
	buf_adds(&r, "v=");
	buf_adds(&r, b);
	free(b);
	*out_len = r.len;
	return buf_take(&r);
}

/* The user as the client sent it, before libgsasl's SASLprep. */
static void observe_user(struct msa_sasl_exch *ex, const char *in, size_t inlen)
{
	const char *name = ex->m->name;
	if (ex->user || inlen == 0)
		return;
	if (strcmp(name, "PLAIN") == 0) {
		/* authzid NUL authcid NUL passwd */
		const char *z1 = memchr(in, '\0', inlen);
		const char *z2 = z1 ? memchr(z1 + 1, '\0', inlen - (size_t)(z1 + 1 - in)) : NULL;
		if (z2)
			set_user(ex, z1 + 1, (size_t)(z2 - z1 - 1));
	} else if (strcmp(name, "LOGIN") == 0) {
		set_user(ex, in, inlen); /* the first answer is the user name */
	} else if (strcmp(name, "CRAM-MD5") == 0) {
		/* user SP digest */
		const char *sp = NULL;
		for (size_t i = 0; i < inlen; i++)
			if (in[i] == ' ')
				sp = in + i;
		if (sp)
			set_user(ex, in, (size_t)(sp - in));
	}
}

static void gsasl_round(struct msa_sasl_exch *ex, const char *in, size_t inlen,
			struct msa_sasl_step *st)
{
	char *out = NULL;
	size_t outlen = 0;
	int rc;

	observe_user(ex, in, inlen);
	if (ex->m->scram && !scram_observe(ex, in, inlen)) {
		note(ex, "SASL: channel binding asked for in %s, not in its -PLUS variant", ex->m->name);
		finish(ex, st, R_FAIL, "fail");
		return;
	}
	rc = gsasl_step(ex->gs, in, inlen, &out, &outlen);
	if (rc == GSASL_NEEDS_MORE && ex->m->scram && ex->sa->scram_mext && !ex->mext_sent && out) {
		/* RFC 5802 5.1: a reserved-mext first; the client must fail. */
		struct buf b = { 0 };
		buf_adds(&b, ex->sa->scram_mext);
		buf_adds(&b, ",");
		buf_add(&b, out, outlen);
		note(ex, "SASL: a mandatory extension '%s' goes first in the server-first message",
		     ex->sa->scram_mext);
		challenge(ex, st, b.data, b.len);
		ex->mext_sent = true;
		free(b.data);
	} else if (rc == GSASL_NEEDS_MORE) {
		challenge(ex, st, out ? out : "", out ? outlen : 0);
	} else if (rc == GSASL_OK) {
		const char *authzid = ex->m->scram ? gsasl_property_fast(ex->gs, GSASL_AUTHZID) : NULL;
		if (authzid && *authzid && strcmp(authzid, ex->sa->user) != 0) {
			note(ex, "SASL: authorization identity '%s' is not the user", authzid);
			finish(ex, st, R_FAIL, "fail");
		} else if (out && outlen > 0) {
			/* RFC 4954: data with success goes in a 334, the client answers "". */
			size_t sl;
			char *bad = ex->bad_signature && ex->m->scram ? spoil_signature(out, outlen, &sl)
								     : NULL;
			if (bad) {
				note(ex, "SASL: auth-bad-signature: a wrong server signature follows");
				challenge(ex, st, bad, sl);
				ex->spoiled = true;
				free(bad);
			} else {
				challenge(ex, st, out, outlen);
			}
			ex->ph = PH_SERVER_FINAL;
		} else {
			finish(ex, st, R_SUCCESS, "ok");
		}
	} else {
		note(ex, "SASL: libgsasl: %s (%s)", gsasl_strerror_name(rc), gsasl_strerror(rc));
		finish(ex, st, R_FAIL, "fail");
	}
	gsasl_free(out);
}

/* ---- XOAUTH2 and OAUTHBEARER -------------------------------------------- */

/* Find KEY's value in \x01-separated key=value pairs p[0..n). */
static bool kv_find(const char *p, size_t n, const char *key, const char **v, size_t *vl)
{
	size_t kl = strlen(key);
	const char *end = p + n;
	while (p < end) {
		const char *sep = memchr(p, '\x01', (size_t)(end - p));
		const char *e = sep ? sep : end;
		if ((size_t)(e - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
			*v = p + kl + 1;
			*vl = (size_t)(e - *v);
			return true;
		}
		if (!sep)
			break;
		p = sep + 1;
	}
	return false;
}

/* "Bearer TOKEN" with the configured token. */
static bool bearer_ok(const struct msa_sasl *sa, const char *v, size_t vl)
{
	if (!sa->token || vl < 7 || strncasecmp(v, "Bearer ", 7) != 0)
		return false;
	return vl - 7 == strlen(sa->token) && memcmp(v + 7, sa->token, vl - 7) == 0;
}

static bool same(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

/* Google's XOAUTH2: "user=" U \x01 "auth=Bearer " T \x01 \x01. */
static bool xoauth2_check(struct msa_sasl_exch *ex, const char *p, size_t n)
{
	const char *v;
	size_t vl;
	bool framed = n >= 2 && p[n - 1] == '\x01' && p[n - 2] == '\x01';
	if (kv_find(p, n, "user", &v, &vl))
		set_user(ex, v, vl);
	if (!framed || !ex->user || !same(ex->user, ex->user_len, ex->sa->user))
		return false;
	return kv_find(p, n, "auth", &v, &vl) && bearer_ok(ex->sa, v, vl);
}

/* RFC 7628: gs2-header ("n,a=U," or "y,,"), \x01, key=value \x01 ..., \x01. */
static bool oauthbearer_check(struct msa_sasl_exch *ex, const char *p, size_t n)
{
	const char *v;
	size_t vl;
	const char *c1 = memchr(p, ',', n);
	const char *c2 = c1 ? memchr(c1 + 1, ',', n - (size_t)(c1 + 1 - p)) : NULL;
	if (!c2 || c1 != p + 1 || (p[0] != 'n' && p[0] != 'y'))
		return false;
	const char *a = c1 + 1;
	size_t al = (size_t)(c2 - a);
	bool has_authzid = al > 0;
	if (has_authzid) {
		if (al < 2 || memcmp(a, "a=", 2) != 0)
			return false;
		set_saslname_user(ex, a + 2, al - 2);
	}
	const char *kv = c2 + 1;
	size_t kvl = n - (size_t)(kv - p);
	if (kvl < 3 || kv[0] != '\x01' || kv[kvl - 1] != '\x01' || kv[kvl - 2] != '\x01')
		return false;
	if (has_authzid && !same(ex->user, ex->user_len, ex->sa->user))
		return false;
	return kv_find(kv + 1, kvl - 1, "auth", &v, &vl) && bearer_ok(ex->sa, v, vl);
}

static void oauth_message(struct msa_sasl_exch *ex, const char *p, size_t n,
			  struct msa_sasl_step *st)
{
	bool xo = ex->m->kind == MK_XOAUTH2;
	if (xo ? xoauth2_check(ex, p, n) : oauthbearer_check(ex, p, n)) {
		finish(ex, st, R_SUCCESS, "ok");
		return;
	}
	note(ex, "SASL: %s: bad user or token; sending the error", ex->m->name);
	const char *err = xo ? XOAUTH2_ERROR : OAUTHBEARER_ERROR;
	challenge(ex, st, err, strlen(err));
	ex->ph = PH_OAUTH_ERROR;
}

/* ---- the exchange ------------------------------------------------------- */

struct msa_sasl_exch *msa_sasl_begin(struct msa_sasl *sa, struct msa_tls *tls, bool bad_signature,
				     const char *arg, size_t n, struct msa_sasl_step *st)
{
	const char *p = arg, *end = arg + n;
	const char *mw, *irw = NULL;
	size_t ml, irl = 0;

	*st = (struct msa_sasl_step){ 0 };
	while (p < end && *p == ' ')
		p++;
	mw = p;
	while (p < end && *p != ' ')
		p++;
	ml = (size_t)(p - mw);
	while (p < end && *p == ' ')
		p++;
	if (p < end) {
		irw = p;
		while (p < end && *p != ' ')
			p++;
		irl = (size_t)(p - irw);
		while (p < end && *p == ' ')
			p++;
	}
	if (ml == 0 || p != end) {
		step_reply(st, R_SYNTAX);
		return NULL;
	}
	const struct mech *m = mech_find(mw, ml);
	if (!m || !word_in_list(msa_sasl_mechs(sa, tls != NULL), mw, ml)) {
		step_reply(st, R_UNKNOWN);
		return NULL;
	}

	struct msa_sasl_exch *ex = calloc(1, sizeof *ex);
	if (!ex)
		msa_oom();
	ex->sa = sa;
	ex->m = m;
	ex->client_cert = tls != NULL && msa_tls_has_client_cert(tls);
	ex->bad_signature = bad_signature;
	if (tls) {
		load_channel_binding(ex, tls);
		ex->give_cb = m->plus || word_in_list(sa->list_tls, "SCRAM-SHA-1-PLUS", 16) ||
			      word_in_list(sa->list_tls, "SCRAM-SHA-256-PLUS", 18);
	}

	char *ir = NULL;
	size_t ir_len = 0;
	bool has_ir = irw != NULL;
	if (has_ir && !(irl == 1 && irw[0] == '=')) {
		if (b64_decode(irw, irl, &ir, &ir_len) != 0) {
			note(ex, "SASL: the initial response is not base64");
			finish(ex, st, R_BASE64, "fail");
			take_notes(ex, st);
			msa_sasl_exch_free(ex);
			return NULL;
		}
	}
	if (ir)
		note_data(ex, "C: (initial response)", ir, ir_len);

	if (m->kind != MK_GSASL) {
		ex->ph = PH_OAUTH;
		if (ir_len == 0)
			challenge(ex, st, "", 0);
		else
			oauth_message(ex, ir, ir_len, st);
	} else {
		int rc = gsasl_server_start(sa->ctx, m->name, &ex->gs);
		if (rc != GSASL_OK) {
			note(ex, "SASL: gsasl_server_start: %s", gsasl_strerror(rc));
			finish(ex, st, R_FAIL, "fail");
		} else {
			gsasl_session_hook_set(ex->gs, ex);
			ex->ph = PH_GSASL;
			if (strcmp(m->name, "LOGIN") == 0 && ir_len > 0) {
				/* The initial response is the user name: skip "User Name". */
				char *o = NULL;
				size_t ol = 0;
				gsasl_step(ex->gs, NULL, 0, &o, &ol);
				gsasl_free(o);
			}
			gsasl_round(ex, ir ? ir : "", ir_len, st);
		}
	}
	free(ir);
	take_notes(ex, st);
	if (st->more)
		return ex;
	msa_sasl_exch_free(ex);
	return NULL;
}

void msa_sasl_next(struct msa_sasl_exch *ex, const char *line, size_t n, struct msa_sasl_step *st)
{
	char *d = NULL;
	size_t dl = 0;

	*st = (struct msa_sasl_step){ 0 };
	if (n == 1 && line[0] == '*') {
		/* After a refused OAuth token the attempt has failed already. */
		finish(ex, st, R_CANCEL, ex->ph == PH_OAUTH_ERROR ? "fail" : "cancel");
		take_notes(ex, st);
		return;
	}
	if (b64_decode(line, n, &d, &dl) != 0) {
		note(ex, "SASL: the client's line is not base64");
		finish(ex, st, R_BASE64, "fail");
		take_notes(ex, st);
		return;
	}
	note_data(ex, "C:", d, dl);
	switch (ex->ph) {
	case PH_GSASL:
		gsasl_round(ex, d, dl, st);
		break;
	case PH_SERVER_FINAL:
		if (dl == 0 || ex->spoiled) {
			finish(ex, st, R_SUCCESS, "ok");
		} else {
			note(ex, "SASL: the client answered the server-final message with data");
			finish(ex, st, R_FAIL, "fail");
		}
		break;
	case PH_OAUTH:
		oauth_message(ex, d, dl, st);
		break;
	case PH_OAUTH_ERROR:
		if (ex->m->kind == MK_XOAUTH2) {
			finish(ex, st, R_XOAUTH2_FAIL, "fail");
		} else {
			if (!(dl == 1 && d[0] == '\x01'))
				note(ex, "SASL: OAUTHBEARER: the client did not answer the error with \\x01");
			finish(ex, st, R_OAUTHBEARER_FAIL, "fail");
		}
		break;
	}
	free(d);
	take_notes(ex, st);
}

char *msa_sasl_abort_record(struct msa_sasl_exch *ex, const char *why)
{
	return make_record(ex, why);
}

void msa_sasl_exch_free(struct msa_sasl_exch *ex)
{
	if (!ex)
		return;
	if (ex->gs)
		gsasl_finish(ex->gs);
	free(ex->exporter_b64);
	free(ex->unique_b64);
	free(ex->gs2_header);
	free(ex->user);
	free(ex->notes.data);
	free(ex);
}

void msa_sasl_step_clear(struct msa_sasl_step *st)
{
	free(st->reply);
	free(st->record);
	free(st->notes);
	*st = (struct msa_sasl_step){ 0 };
}
