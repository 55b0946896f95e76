/* facts.c: asks the system about the user and the machine (environment,
 * password database, host names); never decides anything with the answers. */
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "facts.h"

const char *facts_home_dir(void)
{
	const char *h = getenv("HOME");

	if (h == NULL || *h == '\0') {
		struct passwd *pw = getpwuid(getuid());
		h = pw != NULL ? pw->pw_dir : "/";
	}
	return h;
}
