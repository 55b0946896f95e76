/* reply.h: SMTP reply parser (RFC 5321 section 4.2) with hard limits,
 * enhanced status codes (RFC 3463) and EHLO capabilities. Pure. */
#ifndef KURIER_REPLY_H
#define KURIER_REPLY_H

#include "common.h"

#define REPLY_LINE_MAX  65536  /* longer reply lines are a protocol error */
#define REPLY_TOTAL_MAX 262144 /* bytes of text kept for one reply */
#define REPLY_LINES_MAX 1000   /* lines in one multi-line reply */

struct reply {
	int code;        /* 200..599 */
	char enh[16];    /* "5.1.1", or "" when the reply has none */
	char *text;      /* every line's text after "NNN-"/"NNN " (and after the
			    enhanced code on the first line), joined by '\n' */
	size_t nlines;
};

struct reply_parser {
	char *line;        /* the line being assembled, at most REPLY_LINE_MAX */
	size_t linelen;
	struct reply cur;  /* the reply being assembled */
	size_t curlen;
	bool in_reply;     /* a continuation line has been seen */
};

enum reply_status { REPLY_MORE, REPLY_DONE, REPLY_ERROR };

void reply_parser_init(struct reply_parser *p);
void reply_parser_free(struct reply_parser *p);
/* true when the parser holds bytes of an unfinished line or reply. */
bool reply_parser_busy(const struct reply_parser *p);

/* Consume bytes from BUF[0..LEN) until one whole reply is parsed. *USED is
 * set to the bytes consumed. REPLY_DONE moves the reply into OUT (free it
 * with reply_free); REPLY_MORE means all of BUF was consumed; REPLY_ERROR
 * writes what is wrong into ERR (the parser must not be used further).
 * Lines end in CRLF; a bare LF is tolerated. */
enum reply_status reply_parse(struct reply_parser *p, const char *buf, size_t len, size_t *used,
			      struct reply *out, char *err, size_t errlen);

void reply_free(struct reply *r);
/* The reply's first line text (up to the first '\n') for messages,
 * e.g. "550 5.1.1 no such user" is formatted by reply_format. */
void reply_format(const struct reply *r, char *buf, size_t len);

/* EHLO capabilities (RFC 5321 4.1.1.1; SIZE RFC 1870, PIPELINING RFC 2920,
 * 8BITMIME RFC 6152, SMTPUTF8 RFC 6531, DSN RFC 3461, ENHANCEDSTATUSCODES
 * RFC 2034, STARTTLS RFC 3207, AUTH RFC 4954, CHUNKING RFC 3030). */
enum {
	CAP_SIZE = 1 << 0,
	CAP_PIPELINING = 1 << 1,
	CAP_8BITMIME = 1 << 2,
	CAP_SMTPUTF8 = 1 << 3,
	CAP_DSN = 1 << 4,
	CAP_ENHANCEDSTATUSCODES = 1 << 5,
	CAP_STARTTLS = 1 << 6,
	CAP_AUTH = 1 << 7,
	CAP_CHUNKING = 1 << 8,
};

struct caps {
	unsigned flags;
	uint64_t size_max;     /* SIZE parameter; 0 = no limit announced */
	char auth[512];        /* mechanisms, space separated, upper case */
};

/* Fill CAPS from the text of a 250 reply to EHLO (first line is the
 * greeting, each further line one keyword with parameters). */
void reply_parse_caps(const struct reply *r, struct caps *caps);

#endif
