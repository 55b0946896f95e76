/* tls-cache.h: where a TLS session is kept between runs for resumption:
 * one file per account, host and port under $XDG_CACHE_HOME/kurier/. What
 * the file holds is tls.c's business. */
#ifndef KURIER_TLS_CACHE_H
#define KURIER_TLS_CACHE_H

#include "common.h"

/* The cache file's name, without a directory, for ACCOUNT at HOST:PORT:
 * "tls-session-ACCOUNT-HOST-PORT", every '/' made '_' so that whatever the
 * configuration says it stays one file name in the cache directory. Pure;
 * the caller frees the result. */
char *tls_cache_name(const char *account, const char *host, const char *port);

/* The cache file's path: tls_cache_name under $XDG_CACHE_HOME/kurier (or
 * ~/.cache/kurier), making those directories (mode 0700) when missing.
 * NULL when the directory cannot be made or its name would be longer than
 * 4095 bytes: then there is no cache, which is no error. The caller frees
 * the result. */
char *tls_cache_path(const char *account, const char *host, const char *port);

#endif
