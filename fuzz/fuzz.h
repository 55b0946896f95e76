/* fuzz.h: the one entry point every harness in fuzz/ defines. Built with
 * clang -fsanitize=fuzzer by `make fuzz`, or with fuzz/run-corpus.c (a main
 * that feeds it files) by make check, which replays fuzz/corpus/. */
#ifndef KURIER_FUZZ_H
#define KURIER_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the harness checks: abort, so that the fuzzer reports it. */
#define FUZZ_ASSERT(cond)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
