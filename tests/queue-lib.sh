# queue-lib.sh: helpers for the queue's shell tests (tests/queue-*.test),
# on top of lib.sh. The queue lives in $Q under the test's own directory,
# never in the real $HOME; HOME and XDG_STATE_HOME point there too.
. "$TESTLIB"
Q="$T/q"
export HOME="$T/home" XDG_STATE_HOME="$T/home/state"
mkdir -p "$HOME"

# qconfig [EXTRA-LINES]: write_config with queue_dir $Q and logfile $T/log.
qconfig() {
	write_config "queue_dir $Q
logfile $T/log
${1:-}"
}

# k ARGS...: kurier with the test's configuration.
k() { "$KURIER" -C "$T/config" "$@"; }

# msg N: a message whose Subject is N.
msg() { printf 'Subject: %s\nTo: bob@example.org\n\nbody of message %s\n' "$1" "$1"; }

# env_get FILE KEY: the value of KEY in an envelope file.
env_get() { sed -n "s/^$2 //p" "$1"; }

# count DIR SUFFIX: how many files DIR/*SUFFIX there are.
count() { find "$1" -maxdepth 1 -type f -name "*$2" 2>/dev/null | wc -l; }

# the_env: the one .env in entries/ (empty when there is none).
the_env() { find "$Q/entries" -maxdepth 1 -name '*.env' 2>/dev/null | head -n 1; }

# make_due: every entry's next-attempt set back to the time it was queued
# (the envelope is a documented text format, doc/queue-format.md).
make_due() {
	local f q
	for f in "$Q"/entries/*.env; do
		[ -e "$f" ] || continue
		q=$(env_get "$f" queued)
		sed -i "s/^next-attempt .*/next-attempt $q/" "$f"
	done
}

# dead_port: a loopback port where nothing listens (bound by the kernel,
# then closed again).
dead_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# subjects: the Subject lines the MSA received, one per message, sorted.
subjects() {
	cat "$T"/msa/*.data* 2>/dev/null | tr -d '\r' | sed -n 's/^Subject: //p' | sort
}

# sessions: how many sessions the MSA saw.
sessions() { find "$T/msa" -maxdepth 1 -name '*.client' 2>/dev/null | wc -l; }

# check WHAT COMMAND...: ok when COMMAND succeeds, else fail.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# has FILE REGEX WHAT: FILE has a line matching the extended REGEX.
has() {
	if grep -Eq -- "$2" "$1" 2>/dev/null; then ok "$3"; else fail "$3: no line /$2/ in $1:"; cat "$1" 2>/dev/null | head -n 20; fi
}

# hasnt FILE REGEX WHAT: FILE has no line matching REGEX.
hasnt() {
	if grep -Eq -- "$2" "$1" 2>/dev/null; then fail "$3: $1 has /$2/:"; grep -E -- "$2" "$1" | head -n 5; else ok "$3"; fi
}

# is WHAT WANT GOT: a value equals what is wanted.
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got '$3', expected '$2'"; fi
}

