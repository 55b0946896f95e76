/* fuzz_reply.c: server bytes into the reply parser, in pieces whose sizes
 * the first byte chooses; every reply it completes is formatted and its
 * capabilities read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply_parser p;
	size_t step, off = 1;

	if (size < 1)
		return 0;
	step = (size_t)data[0] % 17 + 1;
	reply_parser_init(&p);
	while (off < size) {
		size_t len = size - off < step ? size - off : step, used = 0;
		struct reply r;
		char err[256], line[600];
		enum reply_status st;

		memset(&r, 0, sizeof r);
		st = reply_parse(&p, (const char *)data + off, len, &used, &r, err, sizeof err);
		FUZZ_ASSERT(used <= len);
		if (st == REPLY_ERROR)
			break;
		if (st == REPLY_DONE) {
			struct caps caps;
			FUZZ_ASSERT(r.code >= 100 && r.code <= 599);
			reply_format(&r, line, sizeof line);
			FUZZ_ASSERT(strlen(line) < sizeof line);
			memset(&caps, 0, sizeof caps);
			reply_parse_caps(&r, &caps);
			reply_free(&r);
		} else {
			FUZZ_ASSERT(used == len);
		}
		off += used;
	}
	reply_parser_free(&p);
	return 0;
}
