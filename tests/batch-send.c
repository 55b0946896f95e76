/* batch-send.c: send N copies of a message file over one connection with
 * session_run_batch() directly, for bench/batch.sh.
 *     tests/batch-send HOST PORT N FILE RCPT
 * FILE is sent as it is (CRLF line ends expected). Exit 0 when every
 * message got 250, else 1. Plain SMTP, no AUTH. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

int main(int argc, char **argv)
{
	struct session_conf c;
	struct smtp_envelope env;
	struct session_item *items = NULL;
	struct spool sp;
	struct diag d;
	char err[KURIER_ERRLEN], buf[65536];
	const char *rcpt[1];
	FILE *f = NULL;
	size_t n, i, ok = 0, got;
	int rc = 1;

	spool_init(&sp);
	if (argc != 6 || (n = strtoul(argv[3], NULL, 10)) == 0) {
		fprintf(stderr, "usage: batch-send HOST PORT N FILE RCPT\n");
		goto out;
	}
	if ((f = fopen(argv[4], "rb")) == NULL) {
		perror(argv[4]);
		goto out;
	}
	while ((got = fread(buf, 1, sizeof buf, f)) > 0)
		if (spool_write(&sp, buf, got, err, sizeof err) != 0)
			goto out;
	if (spool_seal(&sp, err, sizeof err) != 0)
		goto out;
	memset(&c, 0, sizeof c);
	memset(&d, 0, sizeof d);
	memset(&env, 0, sizeof env);
	c.account = "bench";
	c.host = argv[1];
	c.port = argv[2];
	c.ehlo_name = "bench.example";
	c.tls = SESSION_TLS_OFF;
	rcpt[0] = argv[5];
	env.from = "bench@example.org";
	env.rcpt = rcpt;
	env.nrcpt = 1;
	env.size = sp.size;
	items = calloc(n, sizeof *items);
	if (items == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		items[i].env = &env;
		items[i].msg = &sp; /* rewound for each message */
	}
	session_run_batch(&c, items, n, NULL, NULL, &d);
	for (i = 0; i < n; i++)
		ok += items[i].outcome == OUTCOME_OK;
	rc = ok == n ? 0 : 1;
out:
	if (f != NULL)
		fclose(f);
	free(items);
	spool_free(&sp);
	return rc;
}
