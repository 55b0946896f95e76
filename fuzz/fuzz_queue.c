/* fuzz_queue.c: a queue envelope file (.env) into the parser. Whatever it
 * accepts the formatter writes again, and that text parses into an equal
 * envelope and formats to the very same bytes; whatever it refuses is
 * refused with a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "queue-format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_env env, again;
	char err[512], *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;

	if (queue_env_parse((const char *)data, size, &env, err, sizeof err) != 0) {
		FUZZ_ASSERT(strncmp(err, "line ", 5) == 0 || strncmp(err, "larger", 6) == 0);
		FUZZ_ASSERT(env.nrcpt == 0 && env.rcpt == NULL && env.block_ == NULL);
		return 0;
	}
	FUZZ_ASSERT(env.nrcpt >= 1 && queue_id_valid(env.id) && env.from != NULL);
	/* writing never makes a line longer than the one it came from (only
	 * the lines of defaults are added), so what was read can be written */
	FUZZ_ASSERT(queue_env_format(&env, &text, &len, err, sizeof err) == 0);
	FUZZ_ASSERT(strlen(text) == len && len <= size + 80);
	FUZZ_ASSERT(queue_env_parse(text, len, &again, err, sizeof err) == 0);
	FUZZ_ASSERT(queue_env_equal(&env, &again));
	FUZZ_ASSERT(queue_env_format(&again, &text2, &len2, err, sizeof err) == 0);
	FUZZ_ASSERT(len2 == len && memcmp(text, text2, len) == 0);
	free(text);
	free(text2);
	queue_env_free(&again);
	queue_env_free(&env);
	return 0;
}
