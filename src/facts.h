/* facts.h: what kurier learns about the user and the machine it runs on
 * (home directory, user name, host names, /etc/mailname), for the modules
 * that must not ask the system themselves. */
#ifndef KURIER_FACTS_H
#define KURIER_FACTS_H

#include "address.h"
#include "common.h"

/* $HOME, or the password database's home directory when HOME is unset or
 * empty, or "/". The string is not the caller's to free; it stays valid
 * until the environment or the password database is used again. */
const char *facts_home_dir(void);

/* The clock for an added Date and Message-ID: now, in local time. */
struct msg_time;
void facts_clock(struct msg_time *c);

/* Fill the facts of F that NEED (ADDR_FACT_ bits, from
 * addr_from_pattern_needs) asks for, each looked up once; the others are
 * "". What cannot be found falls back: the user to "unknown", the host
 * name to "localhost", the canonical name to the host name (one
 * getaddrinfo with AI_CANONNAME), the mailname to the host name. */
void facts_gather(struct host_facts *f, unsigned need);

#endif
