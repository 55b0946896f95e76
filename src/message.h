/* message.h: the message as it goes from standard input to the wire. The
 * reader normalises line endings, applies the lone-dot rule, removes Bcc
 * headers and collects -t recipients; the stuffer dot-stuffs canonical
 * text for DATA. Pure: bytes in, bytes out through a sink. */
#ifndef KURIER_MESSAGE_H
#define KURIER_MESSAGE_H

#include "common.h"
#include "address.h"

#define MSG_HEADER_LINE_MAX 998      /* RFC 5322 2.1.1, octets without CRLF */
#define MSG_HEADER_BLOCK_MAX 1048576 /* the whole header block */
#define MSG_LINE_FOLD 76             /* RFC 2047 2: a line with encoded-words */
#define MSG_FROM_FIRST_ROOM (MSG_LINE_FOLD - 6) /* what "From: " leaves on its line */
#define MSG_NAME_MAX 900             /* octets of a display name given to msg_name_addr */

/* Receives canonical bytes (CRLF line ends). Returns 0, or -1 with ERR. */
typedef int (*msg_sink_fn)(void *ctx, const char *buf, size_t len, char *err, size_t errlen);

enum msg_set_from {
	MSG_FROM_AUTO,       /* add From when the message has none */
	MSG_FROM_ON,         /* replace any From with from_value */
	MSG_FROM_OFF,        /* leave From alone */
};

struct msg_opts {
	bool ignore_dots;    /* -i / -oi: a lone "." line is ordinary text */
	bool collect_rcpts;  /* -t: gather recipients from the headers */
	bool remove_bcc;     /* drop Bcc and Resent-Bcc header fields */
	enum msg_set_from set_from;
	const char *from_value;   /* From field body to add ("Name <a@b>"), or NULL */
	const char *date;         /* Date field body to add when missing, or NULL */
	const char *msgid_left;   /* Message-ID to add when missing: <LEFT@DOMAIN>, or NULL */
	const char *msgid_domain; /* its domain; NULL: the From address's, else localhost */
	bool undisclosed;         /* replace To, Cc and Bcc by one To field: */
	const char *to_value;     /* its body; NULL: "undisclosed-recipients:;" */
};

enum msg_status { MSG_OK, MSG_END, MSG_ERROR };

struct msg_reader;

struct msg_reader *msg_reader_new(const struct msg_opts *opts, msg_sink_fn sink, void *ctx);
void msg_reader_free(struct msg_reader *r);

/* Feed LEN raw input bytes. MSG_END means the lone-dot line was seen: the
 * message is complete and the rest of the input is to be ignored; it may
 * still be fed (and is then only counted, see msg_reader_after_dot).
 * MSG_ERROR: ERR says what (bad header, sink failure). */
enum msg_status msg_reader_feed(struct msg_reader *r, const char *buf, size_t len,
				char *err, size_t errlen);
/* End of input: flush, adding a final CRLF when the input lacked one. */
enum msg_status msg_reader_finish(struct msg_reader *r, char *err, size_t errlen);

/* After finish: -t recipients (To, Cc, Bcc, or the Resent- ones when the
 * message has Resent- fields), the first From (or Resent-From) address or
 * NULL, and whether the canonical text has octets >= 0x80. */
const struct addr_list *msg_reader_rcpts(const struct msg_reader *r);
const char *msg_reader_from(const struct msg_reader *r);
bool msg_reader_eightbit(const struct msg_reader *r);
/* A kept or added address field (From, To, Cc, Reply-To, Resent-*, ...)
 * has an addr-spec with octets >= 0x80: the message needs SMTPUTF8 (RFC
 * 6531, 6532). 8-bit octets elsewhere in the header (a Subject, a display
 * name) need only 8BITMIME, as msg_reader_eightbit says. */
bool msg_reader_needs_smtputf8(const struct msg_reader *r);
size_t msg_reader_max_body_line(const struct msg_reader *r);
/* The octets fed after the lone dot that ended the message (not sent), and
 * in *LINE (unless NULL) the input line of that dot (0 when no dot ended it). */
uint64_t msg_reader_after_dot(const struct msg_reader *r, unsigned *line);

/* The mailbox "NAME <ADDR>" as a From field body (RFC 5322 3.4): NAME as
 * it is when it is atoms, as a quoted-string when it has specials, as
 * RFC 2047 B encoded-words of whole UTF-8 characters when it is not
 * ASCII (or holds "=?"). Folded with "\r\n " so that no line is longer
 * than MSG_LINE_FOLD and the first (which the field name shares) at most
 * FIRST_LINE_ROOM. NAME must be UTF-8 without control characters and at
 * most MSG_NAME_MAX octets: else NULL with ERR saying why. An empty NAME
 * gives ADDR alone. The caller frees the result. */
char *msg_name_addr(const char *name, const char *addr, size_t first_line_room, char *err,
		    size_t errlen);

/* A moment in local time, as the driver read it (RFC 5322 3.3 needs the
 * wall clock and its offset from UTC). */
struct msg_time {
	long long now;             /* seconds since the epoch */
	int year, mon, mday, wday; /* mon 0-11, wday 0-6 (Sunday 0), year as written */
	int hour, min, sec;
	long gmtoff_s;             /* seconds east of UTC */
};

/* The Date field body for T ("Tue, 01 Dec 2026 10:00:00 +0100"), English
 * names whatever the locale, into BUF (LEN >= 32). */
void msg_format_date(const struct msg_time *t, char *buf, size_t len);

/* The left part of a Message-ID (RFC 5322 3.6.4: id-left, dot-atom-text)
 * from RNDLEN unpredictable bytes and the time: hex, a dot, the seconds.
 * Into BUF (cut to LEN - 1). */
void msg_format_msgid_left(const unsigned char *rnd, size_t rndlen, long long now, char *buf, size_t len);

struct msg_stuffer {
	bool mid_line; /* false at the start of a line */
};

/* Copy IN (canonical text) to OUT, doubling a '.' that starts a line
 * (RFC 5321 4.5.2). OUT must have room for 2 * INLEN bytes. Returns the
 * bytes written. */
size_t msg_stuff(struct msg_stuffer *s, const char *in, size_t inlen, char *out);

#endif
