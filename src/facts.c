/* facts.c: asks the system about the user and the machine (environment,
 * password database, host names, DNS for the canonical name, /etc/mailname);
 * never decides anything with the answers. */
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "facts.h"
#include "message.h"

const char *facts_home_dir(void)
{
	const char *h = getenv("HOME");

	if (h == NULL || *h == '\0') {
		struct passwd *pw = getpwuid(getuid());
		h = pw != NULL ? pw->pw_dir : "/";
	}
	return h;
}

static void facts_host_name(char *buf, size_t len)
{
	if (gethostname(buf, len) != 0)
		snprintf(buf, len, "localhost");
	buf[len - 1] = '\0';
}

void facts_gather(struct host_facts *f, unsigned need)
{
	memset(f, 0, sizeof *f);
	if (need & ADDR_FACT_USER) {
		struct passwd *pw = getpwuid(getuid());
		snprintf(f->user, sizeof f->user, "%s", pw != NULL ? pw->pw_name : "unknown");
	}
	if (need & (ADDR_FACT_HOST | ADDR_FACT_CANONICAL))
		facts_host_name(f->host, sizeof f->host);
	/* one query: a second could get another answer (round robin, a
	 * change in between), and each costs a DNS round trip */
	if (need & ADDR_FACT_CANONICAL) {
		struct addrinfo hints, *res = NULL;

		snprintf(f->canonical, sizeof f->canonical, "%s", f->host);
		memset(&hints, 0, sizeof hints);
		hints.ai_flags = AI_CANONNAME;
		if (getaddrinfo(f->host, NULL, &hints, &res) == 0 && res != NULL && res->ai_canonname != NULL)
			snprintf(f->canonical, sizeof f->canonical, "%s", res->ai_canonname);
		if (res != NULL)
			freeaddrinfo(res);
	}
	if (need & ADDR_FACT_MAILNAME) {
		FILE *mf = fopen("/etc/mailname", "re");

		if (mf != NULL && fgets(f->mailname, sizeof f->mailname, mf) != NULL)
			f->mailname[strcspn(f->mailname, "\r\n")] = '\0';
		if (mf != NULL)
			fclose(mf);
		if (f->mailname[0] == '\0')
			facts_host_name(f->mailname, sizeof f->mailname);
	}
	/* looked up for %C alone: not a fact asked for */
	if (!(need & ADDR_FACT_HOST))
		f->host[0] = '\0';
}

void facts_clock(struct msg_time *c)
{
	time_t now = time(NULL);
	struct tm tm;

	memset(c, 0, sizeof *c);
	c->now = (long long)now;
	if (localtime_r(&now, &tm) == NULL)
		return;
	c->year = tm.tm_year + 1900;
	c->mon = tm.tm_mon;
	c->mday = tm.tm_mday;
	c->wday = tm.tm_wday;
	c->hour = tm.tm_hour;
	c->min = tm.tm_min;
	c->sec = tm.tm_sec;
	c->gmtoff_s = tm.tm_gmtoff;
}
