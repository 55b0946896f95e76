/* fuzz_aliases.c: an /etc/aliases-style file into the parser; one that
 * parses expands root, a name that is not there, and an address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aliases *a;
	struct addr_list in = { 0 }, out = { 0 };
	char err[512];

	a = aliases_parse("fuzz.aliases", (const char *)data, size, err, sizeof err);
	if (a == NULL) {
		FUZZ_ASSERT(strncmp(err, "fuzz.aliases:", 13) == 0);
		return 0;
	}
	addr_list_add(&in, "root");
	addr_list_add(&in, "nobody-here");
	addr_list_add(&in, "bob@example.org");
	if (aliases_expand(a, &in, &out, err, sizeof err) == 0)
		FUZZ_ASSERT(out.n <= 10000 + 3);
	else
		FUZZ_ASSERT(err[0] != '\0');
	addr_list_free(&in);
	addr_list_free(&out);
	aliases_free(a);
	return 0;
}
