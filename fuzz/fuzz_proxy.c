/* fuzz_proxy.c: a proxy's answer into the SOCKS5 client machine, in pieces
 * whose sizes the first byte chooses, the second choosing the destination
 * form (name, IPv4, IPv6). Invariants: it never asks for more than its
 * buffer holds, never takes more than it asked for, ends DONE or FAIL with
 * a reason once the input and then the connection end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char ip[16] = { 127, 0, 0, 1 };
	struct proxy p;
	size_t step, off = 2, rounds = 0;
	char err[256];
	enum proxy_step s;

	if (size < 2)
		return 0;
	step = (size_t)data[0] % 13 + 1;
	FUZZ_ASSERT(proxy_init(&p, "smtp.example", data[1] % 3 == 0 ? NULL : ip,
			       data[1] % 3 == 1 ? 4 : 16, 587, err, sizeof err) == 0);
	while ((s = proxy_next(&p)) == PROXY_WRITE || s == PROXY_READ) {
		FUZZ_ASSERT(++rounds < 100000);
		if (s == PROXY_WRITE) {
			size_t len;
			const unsigned char *o = proxy_output(&p, &len);
			FUZZ_ASSERT(o != NULL && len > 0 && len <= sizeof p.out);
			proxy_sent(&p);
			continue;
		}
		size_t want = proxy_want(&p), n = size - off;
		FUZZ_ASSERT(want > 0 && p.have + want <= sizeof p.in);
		if (n > step)
			n = step;
		if (n > want)
			n = want;
		proxy_input(&p, data + off, n);
		off += n;
	}
	FUZZ_ASSERT(off <= size);
	FUZZ_ASSERT(proxy_want(&p) == 0);
	if (s == PROXY_FAIL)
		FUZZ_ASSERT(proxy_fail(&p) != OUTCOME_OK && proxy_error(&p)[0] != '\0' &&
			    strlen(proxy_error(&p)) < sizeof p.err);
	else
		FUZZ_ASSERT(s == PROXY_DONE && proxy_fail(&p) == OUTCOME_OK);
	return 0;
}
