/* outcome.c: THE table from outcome to exit status; nothing else in kurier
 * knows a sysexits number. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "outcome.h"

static const struct outcome_info outcome_table[] = {
	{ OUTCOME_OK,          0,  "EX_OK",          "the server accepted the message for every recipient" },
	{ OUTCOME_USAGE,       64, "EX_USAGE",       "the command line is wrong" },
	{ OUTCOME_DATAERR,     65, "EX_DATAERR",     "bad input: no recipients, a malformed address, a message too large for the server or 8-bit content it cannot take" },
	{ OUTCOME_NOUSER,      67, "EX_NOUSER",      "the server rejected a recipient permanently" },
	{ OUTCOME_NOHOST,      68, "EX_NOHOST",      "the server's host name does not exist" },
	{ OUTCOME_UNAVAILABLE, 69, "EX_UNAVAILABLE", "the server refused permanently (other than a recipient)" },
	{ OUTCOME_SOFTWARE,    70, "EX_SOFTWARE",    "internal error in kurier" },
	{ OUTCOME_OSERR,       71, "EX_OSERR",       "operating system error (out of memory, cannot create a file or process)" },
	{ OUTCOME_IOERR,       74, "EX_IOERR",       "the message could not be read from standard input" },
	{ OUTCOME_TEMPFAIL,    75, "EX_TEMPFAIL",    "temporary failure: a 4xx reply, connection refused, reset or timed out, temporary DNS failure; try again later" },
	{ OUTCOME_PROTOCOL,    76, "EX_PROTOCOL",    "the server broke the SMTP protocol (an unparsable or unexpected reply)" },
	{ OUTCOME_NOPERM,      77, "EX_NOPERM",      "the server refused authentication, or requires it and got none" },
	{ OUTCOME_CONFIG,      78, "EX_CONFIG",      "configuration error" },
};

_Static_assert(sizeof outcome_table / sizeof outcome_table[0] == OUTCOME_COUNT,
	       "outcome_table must have one row per outcome");

const struct outcome_info *outcome_info(enum outcome o)
{
	if ((unsigned)o >= OUTCOME_COUNT)
		o = OUTCOME_SOFTWARE;
	return &outcome_table[o];
}

int outcome_exit_code(enum outcome o)
{
	return outcome_info(o)->code;
}

static const char *const outcome_hints[] = {
	"the message was not sent",
	"try again later",
	"check the recipient address",
	"the recipient's mailbox cannot take the message (full, disabled or moved)",
	"the server refuses the sender; check the envelope sender (-f or from)",
	"the server requires authentication: set 'auth on', 'user NAME' and a password source "
	"('password', 'passwordeval' or ~/.netrc)",
	"check user and password (or the token) in the account",
	"refused by the server's policy",
	"the server is not speaking SMTP correctly; check host and port",
};

_Static_assert(sizeof outcome_hints / sizeof outcome_hints[0] == HINT_COUNT,
	       "one text per hint");

const char *outcome_hint_text(enum outcome_hint h)
{
	return (unsigned)h < HINT_COUNT ? outcome_hints[h] : outcome_hints[HINT_NOT_SENT];
}

enum outcome_hint outcome_default_hint(enum outcome o)
{
	switch (o) {
	case OUTCOME_TEMPFAIL: return HINT_TRY_LATER;
	case OUTCOME_NOUSER: return HINT_RECIPIENT;
	case OUTCOME_PROTOCOL: return HINT_PROTOCOL;
	case OUTCOME_NOPERM: return HINT_AUTH_REFUSED;
	default: return HINT_NOT_SENT;
	}
}

/* RFC 3463 2: class.subject.detail; true when ENH has SUBJECT (and, with
 * DETAIL >= 0, that detail). */
static bool outcome_enh_is(const char *enh, int subject, int detail)
{
	const char *p = enh;
	char *end;
	long sub, det;

	if (p == NULL || p[0] == '\0' || p[1] != '.')
		return false;
	sub = strtol(p + 2, &end, 10);
	if (end == p + 2 || *end != '.' || sub != subject)
		return false;
	if (detail < 0)
		return true;
	det = strtol(end + 1, &end, 10);
	return *end == '\0' && det == detail;
}

static bool outcome_says(const char *text, const char *word)
{
	return text != NULL && strcasestr(text, word) != NULL;
}

static struct outcome_judgement outcome_j(enum outcome o, enum outcome_hint h)
{
	struct outcome_judgement j = { o, h };
	return j;
}

struct outcome_judgement outcome_judge(enum outcome_step step, int code, const char *enh,
				       const char *text)
{
	bool before_data = step == STEP_MAIL || step == STEP_RCPT || step == STEP_DATA;
	bool policy = outcome_enh_is(enh, 7, -1);
	bool no_enh = enh == NULL || enh[0] == '\0';

	/* Only called for replies other than the expected success: a 2xx or
	 * 3xx there (250 to DATA, 354 to MAIL) breaks the protocol. */
	if (code >= 400 && code < 500)
		return outcome_j(OUTCOME_TEMPFAIL, HINT_TRY_LATER);
	if (code < 500 || code > 599)
		return outcome_j(OUTCOME_PROTOCOL, HINT_PROTOCOL);
	if (step == STEP_AUTH)
		return outcome_j(OUTCOME_NOPERM, HINT_AUTH_REFUSED);
	/* RFC 4954 6: 530 5.7.0 "authentication required"; X.7.57 is
	 * Microsoft's "client not authenticated"; Postfix and Exim say it in
	 * the text of a 5.7.1 or a reply without enhanced code. */
	if (before_data && (code == 530 || outcome_enh_is(enh, 7, 0) || outcome_enh_is(enh, 7, 57) ||
			    ((policy || no_enh) && outcome_says(text, "authenticat"))))
		return outcome_j(OUTCOME_NOPERM, HINT_AUTH_REQUIRED);
	/* RFC 3463: X.3.4 "message too big for system"; X.6.3 content the
	 * server cannot convert; 552 at MAIL or end of data is the size
	 * refusal of RFC 1870 section 6. */
	if (outcome_enh_is(enh, 3, 4) || outcome_enh_is(enh, 6, 3) ||
	    ((step == STEP_MAIL || step == STEP_EOD) && code == 552))
		return outcome_j(OUTCOME_DATAERR, HINT_NOT_SENT);
	/* X.1.7 bad sender mailbox syntax, X.1.8 bad sender system address;
	 * Postfix's "Sender address rejected" may come at RCPT. */
	if ((step == STEP_MAIL || step == STEP_RCPT) &&
	    (outcome_enh_is(enh, 1, 7) || outcome_enh_is(enh, 1, 8) ||
	     (outcome_says(text, "sender") && !outcome_says(text, "recipient address")) ||
	     (step == STEP_MAIL && !policy)))
		return outcome_j(OUTCOME_UNAVAILABLE, HINT_SENDER);
	if (policy)
		return outcome_j(OUTCOME_UNAVAILABLE, HINT_POLICY);
	if (step == STEP_RCPT) {
		if (outcome_enh_is(enh, 1, -1))
			return outcome_j(OUTCOME_NOUSER, HINT_RECIPIENT);
		if (outcome_enh_is(enh, 2, -1))
			return outcome_j(OUTCOME_NOUSER, HINT_MAILBOX);
		if ((no_enh || outcome_enh_is(enh, 0, 0)) && (code == 550 || code == 551 || code == 553))
			return outcome_j(OUTCOME_NOUSER, HINT_RECIPIENT);
	}
	return outcome_j(OUTCOME_UNAVAILABLE, HINT_NOT_SENT);
}

static int outcome_rank(enum outcome o)
{
	switch (o) {
	case OUTCOME_OK:
		return 0;
	case OUTCOME_TEMPFAIL:
		return 1;
	default:
		return 2;
	}
}

enum outcome outcome_worse(enum outcome a, enum outcome b)
{
	return outcome_rank(b) > outcome_rank(a) ? b : a;
}

bool outcome_is_temporary(enum outcome o)
{
	return o == OUTCOME_TEMPFAIL;
}
