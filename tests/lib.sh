# lib.sh: helpers for the shell tests (tests/*.test). Each test sources this,
# states what it checks with `say`, and ends with `finish`.
set -u
: "${KURIER:?}" "${MSA:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/kurier-test.XXXXXX")
MSA_PID=""
FAILS=0
trap 'stop_msa; if [ "$FAILS" -eq 0 ]; then rm -rf "$T"; else echo "files kept in $T"; fi' EXIT

say() { echo "== $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

# start_msa [SCRIPT-TEXT] [MSA-OPTIONS...]: start the test MSA, set PORT.
start_msa() {
	local script="$T/msa.script"
	printf '%s\n' "${1:-}" >"$script"
	shift || true
	mkdir -p "$T/msa"
	"$MSA" --dir "$T/msa" --script "$script" --lifetime 120 "$@" 2>"$T/msa.stderr" &
	MSA_PID=$!
	for _ in $(seq 1 200); do
		[ -s "$T/msa/port" ] && break
		sleep 0.05
	done
	[ -s "$T/msa/port" ] || { fail "the test MSA did not start"; cat "$T/msa.stderr"; exit 99; }
	PORT=$(cat "$T/msa/port")
}

# wait_msa: let the MSA finish its session and write its records.
wait_msa() {
	for _ in $(seq 1 250); do kill -0 "$MSA_PID" 2>/dev/null || break; sleep 0.02; done
	stop_msa
}

stop_msa() {
	[ -n "$MSA_PID" ] || return 0
	kill "$MSA_PID" 2>/dev/null
	wait "$MSA_PID" 2>/dev/null
	MSA_PID=""
}

# write_config [EXTRA-LINES]: an account for the running MSA, in $T/config.
write_config() {
	cat >"$T/config" <<CONF
account default
host 127.0.0.1
port ${PORT:-1}
tls off
from alice@example.org
domain client.example
${1:-}
CONF
	chmod 600 "$T/config"
}

# expect_exit WANT GOT WHAT
expect_exit() {
	if [ "$2" -eq "$1" ]; then ok "$3 (exit $2)"; else fail "$3: exit $2, expected $1"; fi
}

finish() {
	if [ "$FAILS" -eq 0 ]; then exit 0; fi
	exit 1
}

# ---- real callers (tests/callers/*.test) ----------------------------------
# caller_setup [EXTRA-CONFIG-LINES]: after start_msa, a home directory
# $T/home whose ~/.kurierrc is the account for the MSA, and $T/bin/sendmail:
# a wrapper that records each call's arguments (one per line) in
# $T/calls/N.args and its standard input in $T/calls/N.in, then runs kurier
# with exactly those arguments. Callers run with HOME=$T/home.
caller_setup() {
	mkdir -p "$T/home" "$T/bin" "$T/calls"
	write_config "${1:-}"
	cp "$T/config" "$T/home/.kurierrc"
	cat >"$T/bin/sendmail" <<WRAPPER
#!/bin/sh
n=1
while [ -e "$T/calls/\$n.args" ]; do n=\$((n + 1)); done
printf '%s\n' "\$@" >"$T/calls/\$n.args"
tee "$T/calls/\$n.in" | "$KURIER" "\$@"
WRAPPER
	chmod 755 "$T/bin/sendmail"
}

# need PROGRAM...: fail (not skip) when a caller is not installed; the
# Debian packages come from bootstrap.sh.
need() {
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 && continue
		fail "$p is not installed (./bootstrap.sh installs the callers' packages)"
		exit 1
	done
}

# received FILE: a DATA record as the caller wrote it: CR LF to LF, and the
# dot-stuffing undone.
received() {
	sed -e 's/\r$//' -e 's/^\.\././' "$1"
}

# same WHAT WANT-FILE GOT-FILE: ok when the files are equal, else the diff.
same() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		fail "$1:"
		diff -u "$2" "$3" | head -n 40
	fi
}

# args_are N WORD...: call N's argument list is exactly WORD...
args_are() {
	local n=$1
	shift
	printf '%s\n' "$@" >"$T/want.args"
	same "call $n's arguments are: $*" "$T/want.args" "$T/calls/$n.args"
}
