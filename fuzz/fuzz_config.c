/* fuzz_config.c: a configuration file (msmtprc syntax) into the parser;
 * a file that parses has every account looked up by name and by sender. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_file cf;
	const struct cfg_account *a;
	char err[512];

	memset(&cf, 0, sizeof cf);
	if (cfg_parse("fuzz.rc", (const char *)data, size, &cf, err, sizeof err) != 0) {
		FUZZ_ASSERT(strncmp(err, "fuzz.rc:", 8) == 0);
		return 0;
	}
	for (a = cf.accounts; a != NULL; a = a->next) {
		FUZZ_ASSERT(cfg_find(&cf, a->name) != NULL);
		(void)cfg_bool(a, CFG_TLS, true);
		(void)cfg_long(a, CFG_PORT, 25);
	}
	(void)cfg_find_by_from(&cf, "alice@example.org");
	cfg_free(&cf);
	return 0;
}
