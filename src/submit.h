/* submit.h: one submission (or --pretend, --serverinfo) from a parsed
 * request and the loaded configuration. */
#ifndef KURIER_SUBMIT_H
#define KURIER_SUBMIT_H

#include "common.h"
#include "cli.h"
#include "config.h"
#include "diag.h"
#include "outcome.h"

/* Choose the account, read the message, submit it and log the result;
 * with --pretend print the account, with --serverinfo the server. Every
 * failure is reported on stderr; returns the outcome. */
enum outcome submit_run(const struct request *req, const struct cfg_file *cf, struct diag *d);

#endif
