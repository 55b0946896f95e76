/* input.h: reading the message from standard input (fd 0). */
#ifndef KURIER_INPUT_H
#define KURIER_INPUT_H

#include "common.h"
#include "cli.h"
#include "message.h"
#include "outcome.h"
#include "spool.h"

/* --read-envelope-from without -f: the account follows the From header,
 * and that account's header rules apply to this very message, so the
 * header block is read first. *HEAD keeps those bytes (at most the header
 * block limit and one read more; the caller frees it) to be fed to the
 * real reader; *FROM (the caller frees it) is the From (or Resent-From)
 * address, or NULL. OUTCOME_OK, or 74 when standard input cannot be read
 * (reported). */
enum outcome input_peek_header(const struct request *req, char **head, size_t *headlen, char **from);

/* Read the message (HEAD, HEADLEN bytes already read, then standard input
 * to its end) through RD into SP, and seal SP. After a lone dot the rest
 * is read and counted, and a warning says how much was not sent. Reports
 * every failure: 74 (standard input), 65 (a bad header), 71 (the spool). */
enum outcome input_read_message(struct msg_reader *rd, struct spool *sp, const char *head, size_t headlen);

#endif
