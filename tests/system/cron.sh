#!/bin/bash
# tests/system/cron.sh: a real cron daemon mails a job's output through
# kurier installed as /usr/sbin/sendmail. It changes the machine, so it is
# meant for a throw-away one (CI, a container) and runs as root: make
# install and make install-sendmail-link, a user "kuriercron" with a
# crontab, cron itself, and a stand-in syslog daemon on /dev/log (to see
# kurier's syslog line); all of it is undone at the end, and the make
# uninstall that undoes it is checked too. Run it with `make check-system`.
. "$TESTLIB"
: "${top_builddir:?}" "${bindir:?}"
user=kuriercron
CRON_PID=""
SYSLOG_PID=""
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" "$@"; }

cleanup() {
	if [ -n "$CRON_PID" ]; then kill "$CRON_PID" 2>/dev/null; wait "$CRON_PID" 2>/dev/null; fi
	if [ -n "$SYSLOG_PID" ]; then
		kill "$SYSLOG_PID" 2>/dev/null
		wait "$SYSLOG_PID" 2>/dev/null
		rm -f /dev/log
	fi
	crontab -u "$user" -r 2>/dev/null
	id "$user" >/dev/null 2>&1 && userdel "$user"
	mk uninstall >/dev/null 2>&1
	stop_msa
	if [ "$FAILS" -eq 0 ]; then rm -rf "$T"; else echo "files kept in $T"; fi
}
trap cleanup EXIT

say "preconditions: root, no other sendmail, no cron running"
[ "$(id -u)" -eq 0 ] || { fail "run as root, on a machine you can change"; exit 1; }
if [ -e /usr/sbin/sendmail ] || [ -L /usr/sbin/sendmail ]; then
	fail "/usr/sbin/sendmail exists ($(readlink -f /usr/sbin/sendmail)); this test will not replace it"
	exit 1
fi
pgrep -x cron >/dev/null && { fail "a cron daemon is already running"; exit 1; }
[ -e /dev/log ] && { fail "/dev/log exists: a syslog daemon runs here; this test brings its own"; exit 1; }
command -v cron >/dev/null || { fail "cron is not installed (./bootstrap.sh installs it)"; exit 1; }
ok "ready"

say "make install and make install-sendmail-link"
mk install >"$T/install.out" 2>&1
expect_exit 0 $? "make install"
mk install-sendmail-link >>"$T/install.out" 2>&1
expect_exit 0 $? "make install-sendmail-link"
[ "$(readlink /usr/sbin/sendmail)" = "$bindir/kurier" ] && ok "/usr/sbin/sendmail -> $bindir/kurier" ||
	{ fail "no link: $(cat "$T/install.out")"; exit 1; }

say "cron runs a job and mails its output to the crontab's owner"
chmod 755 "$T"
useradd --home-dir "$T/home" --create-home --shell /bin/sh "$user" ||
	{ fail "useradd $user"; exit 1; }
start_msa "" --lifetime 150
printf '%s: admin@example.org\n' "$user" >"$T/aliases"
cat >"$T/home/.kurierrc" <<CONF
account default
host 127.0.0.1
port $PORT
tls off
from cron@example.org
domain client.example
aliases $T/aliases
logfile $T/home/kurier.log
syslog LOG_MAIL
CONF
chown "$user:" "$T/home/.kurierrc" && chmod 600 "$T/home/.kurierrc"
printf '* * * * * printf "Gr\\303\\266\\303\\237e: 12 MB\\\\n.\\\\nfertig\\\\n"\n' | crontab -u "$user" - ||
	{ fail "crontab -u $user"; exit 1; }
# The stand-in syslog daemon: every datagram on /dev/log, one per line.
/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
out = open(sys.argv[1], "ab", 0)
while True:
    out.write(s.recv(65536) + b"\n")' "$T/syslog" &
SYSLOG_PID=$!
for _ in $(seq 1 100); do [ -S /dev/log ] && break; sleep 0.05; done
chmod 666 /dev/log
# As init starts it: a bare environment, no HOME of root's for the mailer.
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin cron -f -L 15 >"$T/cron.out" 2>&1 &
CRON_PID=$!
echo "waiting up to 75 s for the job (cron starts jobs on the minute)"
for _ in $(seq 1 150); do
	[ -s "$T/home/kurier.log" ] && break
	sleep 0.5
done
wait_msa
[ -s "$T/msa/1.data" ] || { fail "no message arrived; cron said: $(cat "$T/cron.out")"; exit 1; }
grep '^MAIL\|^RCPT' "$T/msa/1.client" | sed 's/ SIZE=[0-9]*//' >"$T/envelope"
printf 'MAIL FROM:<cron@example.org> BODY=8BITMIME\nRCPT TO:<admin@example.org>\n' >"$T/want.envelope"
same "the envelope: the account's sender, the owner through the aliases file" \
	"$T/want.envelope" "$T/envelope"
received "$T/msa/1.data" >"$T/got"
grep -qx "From: root (Cron Daemon)" "$T/got" && ok "cron's From field arrives" ||
	fail "From: $(grep '^From:' "$T/got")"
grep -q "^Subject: Cron <$user@" "$T/got" && ok "cron's Subject arrives" ||
	fail "Subject: $(grep '^Subject:' "$T/got")"
sed '1,/^$/d' "$T/got" >"$T/body"
printf 'Gr\303\266\303\237e: 12 MB\n.\nfertig\n' >"$T/want.body"
same "the job's 8-bit output, lone dot included, is the body (cron passes -i)" "$T/want.body" "$T/body"
grep -q "exitcode=EX_OK\$" "$T/home/kurier.log" && ok "kurier logged the submission as sent" ||
	fail "log: $(cat "$T/home/kurier.log")"

grep 'kurier\[[0-9]*\]: ' "$T/syslog" >"$T/syslog.kurier"
sed -E 's/^<([0-9]+)>.*kurier\[[0-9]+\]: /<\1> kurier[PID]: /; s/mailsize=[0-9]+/mailsize=N/' \
	"$T/syslog.kurier" >"$T/syslog.got"
printf "<22> kurier[PID]: account=default host=127.0.0.1 tls=off auth=off from=<cron@example.org> recipients=admin@example.org mailsize=N reply='250 2.0.0 ok queued as 1' exitcode=EX_OK\n" \
	>"$T/syslog.want"
same "one syslog line at mail.info (<22>) says what was sent" "$T/syslog.want" "$T/syslog.got"

say "make uninstall"
kill "$CRON_PID" 2>/dev/null && wait "$CRON_PID" 2>/dev/null
CRON_PID=""
mk uninstall >"$T/uninstall.out" 2>&1
expect_exit 0 $? "make uninstall"
[ ! -e /usr/sbin/sendmail ] && [ ! -L /usr/sbin/sendmail ] && ok "/usr/sbin/sendmail is gone" ||
	fail "/usr/sbin/sendmail is still there"
[ ! -e "$bindir/kurier" ] && ok "$bindir/kurier is gone" || fail "$bindir/kurier is still there"
finish
