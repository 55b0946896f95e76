/* address.h: RFC 5322 address lists, RFC 5321 envelope paths and IDNA host
 * names (libidn2). Pure: no I/O, no global state. Rejects CR, LF and NUL
 * anywhere in an address. */
#ifndef KURIER_ADDRESS_H
#define KURIER_ADDRESS_H

#include "common.h"

#define ADDR_MAX 320 /* bytes in one addr-spec (RFC 5321 4.5.3.1: 64 + 1 + 255) */

struct addr_list {
	char **v;    /* addr-specs as they go into MAIL/RCPT, without <> */
	size_t n;
	size_t cap;
};

/* Parse an RFC 5322 address-list (a header field body, or a command line
 * argument) of LEN bytes and append every addr-spec to OUT. Handles display
 * names, quoted strings, comments (nested), angle addresses, obsolete
 * routes (@a,@b:) dropped, groups ("undisclosed-recipients:;" adds none),
 * and folding (CRLF or LF followed by WSP is whitespace). Quoted local parts
 * keep their quotes when needed ("a b"@x). Returns 0, or -1 with ERR set to
 * what is wrong and where ("unterminated quoted string in ..."). */
int addr_list_parse(const char *s, size_t len, struct addr_list *out, char *err, size_t errlen);
/* On error OUT is left as it was on entry (what this call appended is
 * freed). One CRLF or LF at the very end of S (the end of a header field)
 * is ignored; any other line break must be folding. ERR is always
 * NUL-terminated when ERRLEN > 0 ("" on success); ERR may be NULL. */

/* Append one copy of ADDR. */
void addr_list_add(struct addr_list *l, const char *addr);
/* Drop every address that an earlier one already names: the same local
 * part (exactly, RFC 5321 2.4) at the same domain (any case). The first
 * of each keeps its place. O(n log n). */
void addr_list_dedupe(struct addr_list *l);
void addr_list_free(struct addr_list *l);

/* Check that ADDR may go into MAIL FROM/RCPT TO: non-empty (unless
 * ALLOW_EMPTY, for the null sender), at most ADDR_MAX bytes, no CR/LF/NUL,
 * no control characters, no unquoted space, '<' or '>', a single '@' outside
 * quotes with a non-empty local part and domain (a bare local part without
 * '@' is allowed: the caller qualifies or rejects it). Returns 0 or -1 with
 * ERR. */
int addr_check(const char *addr, bool allow_empty, char *err, size_t errlen);

/* The domain of ADDR: what follows the last '@' outside quotes, or NULL
 * when there is none (a bare local part, also a quoted one such as
 * "a@b", which has no domain). Points into ADDR. */
const char *addr_domain(const char *addr);

/* true if ADDR contains any octet >= 0x80 in its local part / domain. */
bool addr_local_is_ascii(const char *addr);
bool addr_domain_is_ascii(const char *addr);

/* HOST as it goes to getaddrinfo, the certificate check and an envelope
 * domain: an ASCII name as it is, a non-ASCII one as its A-labels (RFC
 * 5891, IDNA2008 with the UTS #46 non-transitional mapping after NFC).
 * Returns 0 with a malloc'd *OUT, or -1 with *OUT NULL and ERR ("host name
 * 'X' is not a valid internationalised domain name: why"). */
int addr_host_to_ascii(const char *host, char **out, char *err, size_t errlen);

/* What an account's from may name (msmtp's substitutions), as the caller
 * found it on this machine; a fact not asked for is "". */
struct host_facts {
	char user[256];        /* %U: the login name */
	char host[256];        /* %H: the host name */
	char canonical[256];   /* %C: the host name's canonical name */
	char mailname[256];    /* %M: /etc/mailname, else the host name */
};

/* The facts PATTERN names, so that only those are looked up (%C costs a
 * DNS query): ADDR_FACT_ bits; 0 for NULL or a pattern with wildcards. */
enum {
	ADDR_FACT_USER = 1 << 0,
	ADDR_FACT_HOST = 1 << 1,
	ADDR_FACT_CANONICAL = 1 << 2,
	ADDR_FACT_MAILNAME = 1 << 3,
};
unsigned addr_from_pattern_needs(const char *pattern);

/* The account's from PATTERN with %U, %H, %C and %M replaced by F's facts;
 * any other %X is X (so %% is %), and a final lone % stays. At most 1023
 * bytes are kept. NULL when PATTERN is NULL or has wildcards (*?[: it then
 * chooses the account by sender rather than naming one). The caller frees
 * the result; it is not checked as an address here. */
char *addr_expand_from_pattern(const char *pattern, const struct host_facts *f);

/* The version of libidn2 in use, for --version. */
const char *addr_library_version(void);

#endif
