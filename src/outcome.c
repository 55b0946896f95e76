/* outcome.c: THE table from outcome to exit status; nothing else in kurier
 * knows a sysexits number. */
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
	{ OUTCOME_NOPERM,      77, "EX_NOPERM",      "the server refused authentication" },
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

enum outcome outcome_from_reply(enum outcome_step step, int code, const char *enh)
{
	/* Only called for replies other than the expected success: a 2xx or
	 * 3xx there (250 to DATA, 354 to MAIL) breaks the protocol. */
	if (code >= 400 && code < 500)
		return OUTCOME_TEMPFAIL;
	if (code < 500 || code > 599)
		return OUTCOME_PROTOCOL;
	/* RFC 3463: X.3.4 "message too big for system"; X.6.0/X.6.3 content
	 * the server cannot convert; 552 at MAIL or end of data is the size
	 * refusal of RFC 1870 section 6. */
	if (enh != NULL && enh[0] != '\0' && (strcmp(enh + 1, ".3.4") == 0 || strcmp(enh + 1, ".6.3") == 0))
		return OUTCOME_DATAERR;
	switch (step) {
	case STEP_RCPT:
		return OUTCOME_NOUSER;
	case STEP_AUTH:
		return OUTCOME_NOPERM;
	case STEP_MAIL:
	case STEP_EOD:
		return code == 552 ? OUTCOME_DATAERR : OUTCOME_UNAVAILABLE;
	default:
		return OUTCOME_UNAVAILABLE;
	}
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
