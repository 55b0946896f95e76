/* facts.h: what kurier learns about the user and the machine it runs on
 * (home directory, user name, host names, /etc/mailname), for the modules
 * that must not ask the system themselves. */
#ifndef KURIER_FACTS_H
#define KURIER_FACTS_H

#include "common.h"

/* $HOME, or the password database's home directory when HOME is unset or
 * empty, or "/". The string is not the caller's to free; it stays valid
 * until the environment or the password database is used again. */
const char *facts_home_dir(void);

#endif
