/* secret.h: where passwords and tokens come from (password, passwordeval)
 * and how they are disposed of. A secret never goes into argv or the
 * environment of a child. */
#ifndef KURIER_SECRET_H
#define KURIER_SECRET_H

#include "common.h"

/* Run COMMAND through /bin/sh -c with stdin from /dev/null (stderr and
 * the terminal stay available so gpg or pass can prompt) and return the
 * first line of its output in *OUT (free with xfree_secret). Returns 0, or
 * -1 with ERR naming the command's exit status or signal. */
int secret_eval(const char *command, char **out, char *err, size_t errlen);

#endif
