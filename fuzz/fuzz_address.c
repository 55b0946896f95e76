/* fuzz_address.c: a header field body or command line argument into the
 * RFC 5322 address-list parser. Every address it yields must pass the
 * envelope check or be refused by it with a reason; none may carry CR, LF
 * or NUL; deduplication keeps at most as many. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_list l = { 0 };
	char err[256];
	size_t i, n;

	if (addr_list_parse((const char *)data, size, &l, err, sizeof err) != 0) {
		FUZZ_ASSERT(l.n == 0 && err[0] != '\0');
		addr_list_free(&l);
		return 0;
	}
	for (i = 0; i < l.n; i++) {
		FUZZ_ASSERT(strpbrk(l.v[i], "\r\n") == NULL);
		if (addr_check(l.v[i], false, err, sizeof err) != 0)
			FUZZ_ASSERT(err[0] != '\0');
		(void)addr_local_is_ascii(l.v[i]);
		(void)addr_domain_is_ascii(l.v[i]);
	}
	n = l.n;
	addr_list_dedupe(&l);
	FUZZ_ASSERT(l.n <= n && (n == 0 || l.n >= 1));
	addr_list_free(&l);
	return 0;
}
