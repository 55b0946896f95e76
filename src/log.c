/* log.c: the submission's log line into the logfile and syslog, and the
 * opening of the files kurier writes for the user; it decides nothing
 * about the submission itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "diag.h"
#include "log.h"

int log_open_private(const char *path, bool append, char *err, size_t errlen)
{
	struct stat sb;
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
				    (append ? O_APPEND : 0), 0600);

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == ELOOP ? "is a symbolic link, which kurier does not follow; name the file itself"
					: strerror(errno));
		return -1;
	}
	if (!append) {
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) {
			snprintf(err, errlen, "%s: not a regular file of your own; name a new file", path);
			close(fd);
			return -1;
		}
		if (ftruncate(fd, 0) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

void log_format(const struct log_entry *e, char *line, size_t len)
{
	const struct session_conf *sc = e->session;
	const struct smtp_envelope *env = e->env;
	const struct session_facts *f = e->facts;
	char rc[512] = "", proxy[300] = "";
	size_t i, n = 0;

	for (i = 0; i < env->nrcpt && n + 2 < sizeof rc; i++)
		n += (size_t)snprintf(rc + n, sizeof rc - n, "%s%s", i > 0 ? "," : "", env->rcpt[i]);
	if (n >= sizeof rc)
		snprintf(rc + sizeof rc - 4, 4, "...");
	if (sc->proxy_host != NULL)
		snprintf(proxy, sizeof proxy, " proxy=%s:%s", sc->proxy_host, sc->proxy_port);
	snprintf(line, len,
		 "account=%s host=%s%s tls=%s auth=%s from=<%s> recipients=%s mailsize=%llu reply='%s' exitcode=%s",
		 e->account->name, sc->host, proxy, f->tls, f->auth, env->from, rc,
		 (unsigned long long)e->size, f->reply, outcome_info(e->outcome)->name);
	if (e->after_dot > 0) {
		size_t k = strlen(line);
		snprintf(line + k, len - k, " ignored-after-dot=%llu", (unsigned long long)e->after_dot);
	}
	if (e->note != NULL) {
		size_t k = strlen(line);
		snprintf(line + k, len - k, "%s", e->note);
	}
}

/* The logfile's line, with the user's time stamp; SENT says what became
 * of the message, for a warning when the log cannot be written. */
static void log_to_file(const struct cfg_account *a, const char *sent, const char *line)
{
	const char *lf = a->val[CFG_LOGFILE], *tf = a->val[CFG_LOGFILE_TIME_FORMAT];
	char err[KURIER_ERRLEN] = "", stamp[128];
	int fd = strcmp(lf, "-") == 0 ? 1 : log_open_private(lf, true, err, sizeof err);
	FILE *fp = fd == 1 ? stdout : fd >= 0 ? fdopen(fd, "a") : NULL;
	time_t now = time(NULL);
	struct tm tm;
	int bad;

	localtime_r(&now, &tm);
	/* logfile_time_format is the user's own strftime format */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (strftime(stamp, sizeof stamp, tf != NULL ? tf : "%b %d %H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
#pragma GCC diagnostic pop
	if (fp == NULL) {
		if (fd >= 0) {
			snprintf(err, sizeof err, "%s: %s", lf, strerror(errno));
			close(fd);
		}
		diag_warn("%s:%u: cannot open logfile %s; the message is %s", a->path, a->line[CFG_LOGFILE],
			  err, sent);
		return;
	}
	bad = fprintf(fp, "%s %s\n", stamp, line) < 0;
	bad = (fp == stdout ? fflush(fp) : fclose(fp)) != 0 || bad;
	/* the delivery outcome stands whatever happens to its log */
	if (bad)
		diag_warn("%s:%u: cannot write to logfile %s: %s; the message is %s", a->path,
			  a->line[CFG_LOGFILE], strcmp(lf, "-") == 0 ? "- (standard output)" : lf,
			  strerror(errno), sent);
}

/* The syslog facility of a syslog setting (enum cfg_syslog); "on" is mail. */
static int log_facility(int sl)
{
	if (sl == CFG_SYSLOG_USER)
		return LOG_USER;
	if (sl >= CFG_SYSLOG_LOCAL0 && sl <= CFG_SYSLOG_LOCAL0 + 7)
		return LOG_LOCAL0 + (sl - CFG_SYSLOG_LOCAL0) * (LOG_LOCAL1 - LOG_LOCAL0);
	return LOG_MAIL;
}

void log_submission(const struct log_entry *e)
{
	const char *lf = e->account->val[CFG_LOGFILE];
	int sl = cfg_enum(e->account, CFG_SYSLOG, CFG_SYSLOG_OFF);
	bool to_syslog = sl != CFG_SYSLOG_OFF;
	char line[4096];

	if (lf == NULL && !to_syslog)
		return;
	log_format(e, line, sizeof line);
	if (lf != NULL)
		log_to_file(e->account, e->outcome == OUTCOME_OK ? "sent" : "not sent", line);
	if (to_syslog) {
		openlog("kurier", LOG_PID, log_facility(sl));
		syslog(e->outcome == OUTCOME_OK ? LOG_INFO : LOG_ERR, "%s", line);
		closelog();
	}
}

void log_event(const struct cfg_account *a, bool ok, const char *fmt, ...)
{
	int sl = cfg_enum(a, CFG_SYSLOG, CFG_SYSLOG_OFF);
	char line[4096];
	va_list ap;

	if (a->val[CFG_LOGFILE] == NULL && sl == CFG_SYSLOG_OFF)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (a->val[CFG_LOGFILE] != NULL)
		log_to_file(a, ok ? "queued" : "in the queue's failed/ directory", line);
	if (sl != CFG_SYSLOG_OFF) {
		openlog("kurier", LOG_PID, log_facility(sl));
		syslog(ok ? LOG_INFO : LOG_ERR, "%s", line);
		closelog();
	}
}

void log_syslog_warning(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	openlog("kurier", LOG_PID, LOG_MAIL);
	syslog(LOG_WARNING, "%s", buf);
	closelog();
}
