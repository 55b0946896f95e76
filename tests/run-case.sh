#!/bin/bash
# run-case.sh CASE: run one conversation case (format: tests/FILEFORMAT.md)
# through the real kurier binary against a fresh test MSA, and compare
# every expectation byte for byte. Exit 0 pass, 1 fail, 99 hard error.
set -u
case_file=$1
: "${KURIER:?}" "${MSA:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kurier-case.XXXXXX")
msa_pid=""
socks_pid=""
cleanup() {
	[ -n "$msa_pid" ] && kill "$msa_pid" 2>/dev/null
	[ -n "$msa_pid" ] && wait "$msa_pid" 2>/dev/null
	[ -n "$socks_pid" ] && kill "$socks_pid" 2>/dev/null
	[ -n "$socks_pid" ] && wait "$socks_pid" 2>/dev/null
	if [ "${status:-1}" -eq 0 ] || [ -n "${KEEP_CASE_DIR:-}" ]; then
		[ -n "${KEEP_CASE_DIR:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
	else
		echo "case files kept in $tmp"
	fi
}
trap cleanup EXIT

# Split the case into one file per section.
mkdir -p "$tmp/sec" "$tmp/msa" "$tmp/home"
awk -v dir="$tmp/sec" '
	/^--- [a-z0-9-]+$/ { f = dir "/" $2; printf "" > f; next }
	f != "" { print > f }' "$case_file"
has() { [ -f "$tmp/sec/$1" ]; }
# @TOKEN4K@: a 4096-byte OAuth 2 token, the same in every section.
TOKEN4K="ya29.$(head -c 4091 /dev/zero | tr '\0' T)"
subst_text() {
	sed "s|@TOKEN4K@|$TOKEN4K|g"
}
fp() { # fp HASH NAME: the certificate's fingerprint as AB:CD:...
	certtool --fingerprint --hash="$1" --infile="$certs/$2.pem" | tr a-f A-F | sed 's/../&:/g; s/:$//'
}
subst() { # substitute placeholders in a section file, print the result
	local f="$tmp/sec/$1" name
	for name in good selfsigned wrongname expired; do
		if grep -q "@SHA256:$name@\|@SHA1:$name@" "$f"; then
			sed -i -e "s|@SHA256:$name@|$(fp sha256 "$name")|g" -e "s|@SHA1:$name@|$(fp sha1 "$name")|g" "$f"
		fi
	done
	sed -e "s|@PORT@|${port:-1}|g" -e "s|@SOCKSPORT@|${socks_port:-1}|g" -e "s|@TOKEN4K@|$TOKEN4K|g" -e "s|@DIR@|$tmp|g" -e "s|@HOME@|$tmp/home|g" -e "s|@SYSCONFDIR@|${SYSCONFDIR:-/etc}|g" -e "s|@CERTS@|$certs|g" -e "s|@HOSTNAME@|$(hostname)|g" "$tmp/sec/$1"
}

title=$(sed -n 's/^# //p;q' "$case_file")

# Throw-away certificates (tests/gen-certs.sh), made once per build tree.
certs=${CERTS_DIR:-$PWD/tests/certs}
if grep -q '@CERTS@\|^--- tls$' "$case_file"; then
	sh "${top_srcdir:-.}/tests/gen-certs.sh" "$certs" >/dev/null ||
		{ echo "HARD ERROR: cannot make test certificates"; status=99; exit 99; }
fi
echo "case: $title"

port=""
if ! has no-server; then
	script=/dev/null
	has script && script="$tmp/sec/script"
	sessions=1
	has sessions && sessions=$(cat "$tmp/sec/sessions")
	listen=127.0.0.1
	has listen && listen=$(cat "$tmp/sec/listen")
	tlsopts=()
	if has tls; then
		# "starttls|implicit CERT [client-ca] [tls12]": the MSA's TLS with certs/CERT.pem
		read -r tls_mode tls_cert tls_more <"$tmp/sec/tls"
		tlsopts=(--tls-cert "$certs/$tls_cert.pem" --tls-key "$certs/$tls_cert-key.pem")
		[ "$tls_mode" = implicit ] && tlsopts+=(--implicit-tls)
		for w in ${tls_more:-}; do
			case $w in
			client-ca) tlsopts+=(--tls-client-ca "$certs/ca.pem") ;;
			tls12) tlsopts+=(--tls-priorities "NORMAL:-VERS-TLS1.3") ;;
			esac
		done
	fi
	authopts=()
	if has auth; then
		# "user U", "password P", "token T", "mechs LIST", "required",
		# "scram-iterations N", "scram-extension M": MSA SASL options
		while IFS= read -r line; do
			key=${line%% *}
			val=${line#* }
			case $key in
			user) authopts+=(--auth-user "$val") ;;
			password) authopts+=(--auth-password "$val") ;;
			token) authopts+=(--auth-token "$(printf '%s' "$val" | subst_text)") ;;
			mechs) authopts+=(--auth-mechs "$val") ;;
			required) authopts+=(--auth-required) ;;
			scram-iterations) authopts+=(--auth-scram-iterations "$val") ;;
			scram-extension) authopts+=(--auth-scram-extension "$val") ;;
			esac
		done <"$tmp/sec/auth"
	fi
	"$MSA" --dir "$tmp/msa" --script "$script" --listen "$listen" --sessions "$sessions" \
		--lifetime 60 "${tlsopts[@]}" "${authopts[@]}" 2>"$tmp/msa.stderr" &
	msa_pid=$!
	for _ in $(seq 1 200); do
		[ -s "$tmp/msa/port" ] && break
		kill -0 "$msa_pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$tmp/msa/port" ]; then
		echo "HARD ERROR: the test MSA did not start"; cat "$tmp/msa.stderr"; status=99; exit 99
	fi
	port=$(cat "$tmp/msa/port")
fi

socks_port=""
if has socks; then
	# A SOCKS5 proxy (tests/socks) that relays to the MSA whatever host is
	# named; lines "method N", "reply N", "version N", "stall" script it.
	: "${SOCKS:?}"
	mkdir -p "$tmp/socks"
	socksopts=()
	while read -r key val; do
		[ -n "$key" ] && socksopts+=("--$key" ${val:+"$val"})
	done <"$tmp/sec/socks"
	"$SOCKS" --dir "$tmp/socks" --forward "${port:-0}" --lifetime 60 "${socksopts[@]}" \
		2>"$tmp/socks.stderr" &
	socks_pid=$!
	for _ in $(seq 1 200); do
		[ -s "$tmp/socks/port" ] && break
		kill -0 "$socks_pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$tmp/socks/port" ]; then
		echo "HARD ERROR: the test SOCKS5 proxy did not start"; cat "$tmp/socks.stderr"; status=99; exit 99
	fi
	socks_port=$(cat "$tmp/socks/port")
fi

args=()
if has config; then
	subst config >"$tmp/config"
	chmod 600 "$tmp/config"
	has config-mode && chmod "$(tr -d ' \n' <"$tmp/sec/config-mode")" "$tmp/config"
	args+=(-C "$tmp/config")
fi
if has config-home; then
	# A config found by the lookup order, not given with -C.
	target=$(head -n1 "$tmp/sec/config-home")
	mkdir -p "$(dirname "$tmp/home/$target")"
	tail -n +2 "$tmp/sec/config-home" | sed -e "s|@PORT@|${port:-1}|g" >"$tmp/home/$target"
	chmod 600 "$tmp/home/$target"
fi
has secrets && args+=(-X "$tmp/transcript")
if has args; then
	while IFS= read -r a; do args+=("$a"); done < <(subst args)
fi
if has stdin-printf; then
	# shellcheck disable=SC2059
	printf "$(cat "$tmp/sec/stdin-printf")" >"$tmp/stdin"
elif has stdin; then
	cp "$tmp/sec/stdin" "$tmp/stdin"
else
	: >"$tmp/stdin"
fi
envs=()
if has env; then
	while IFS= read -r e; do [ -n "$e" ] && envs+=("$e"); done < <(subst env)
fi

(cd "$tmp" && env HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
	XDG_CACHE_HOME="$tmp/home/.cache" "${envs[@]}" \
	timeout 60 "$KURIER" "${args[@]}" <"$tmp/stdin" >"$tmp/stdout" 2>"$tmp/stderr")
rc=$?

if [ -n "$msa_pid" ]; then
	# Let the MSA finish writing its records when kurier talked to it.
	if [ -f "$tmp/msa/1.client" ]; then
		for _ in $(seq 1 100); do kill -0 "$msa_pid" 2>/dev/null || break; sleep 0.02; done
	fi
	kill "$msa_pid" 2>/dev/null
	wait "$msa_pid" 2>/dev/null
	msa_pid=""
fi

fail=0
check() { # check WHAT EXPECTED-FILE ACTUAL-FILE
	if ! cmp -s "$2" "$3"; then
		echo "FAIL: $1 differs (expected, actual):"
		diff -u "$2" "$3" | head -n 60
		fail=1
	else
		echo "ok: $1"
	fi
}

if [ $rc -ge 124 ]; then
	if [ $rc -eq 124 ]; then echo "FAIL: kurier hung (killed after 60 s)"; else
		echo "FAIL: kurier crashed (exit $rc)"; fi
	cat "$tmp/stderr"
	status=1; exit 1
fi
expected_rc=0
has expect-exit && expected_rc=$(tr -d ' \n' <"$tmp/sec/expect-exit")
if [ "$rc" != "$expected_rc" ]; then
	echo "FAIL: exit status $rc, expected $expected_rc"; fail=1
else
	echo "ok: exit status $rc"
fi
if has expect-stderr; then
	subst expect-stderr >"$tmp/expect-stderr"
	check "stderr" "$tmp/expect-stderr" "$tmp/stderr"
fi
if has expect-stdout; then
	subst expect-stdout >"$tmp/expect-stdout"
	check "stdout" "$tmp/expect-stdout" "$tmp/stdout"
fi
if has expect-replies; then
	# -bs: kurier's replies on stdout, each line of the section ending in CRLF
	subst expect-replies | sed 's/$/\r/' >"$tmp/expect-replies"
	check "replies on stdout" "$tmp/expect-replies" "$tmp/stdout"
fi
for sess in 2 3 4 5; do
	has "expect-client-$sess" || continue
	subst "expect-client-$sess" >"$tmp/expect-client-$sess"
	[ -f "$tmp/msa/$sess.client" ] || : >"$tmp/msa/$sess.client"
	check "client commands of session $sess" "$tmp/expect-client-$sess" "$tmp/msa/$sess.client"
done
# normalise_data FILE: the Date and Message-ID kurier adds differ on
# every run: in the expectation they are @DATE@ and <@MSGID@@DOMAIN>.
normalise_data() {
	sed -E -e 's/^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\r$/Date: @DATE@\r/' \
		-e 's/^Message-ID: <[0-9a-f]{18}\.[0-9]+@([^>]*)>\r$/Message-ID: <@MSGID@@\1>\r/' "$1"
}
if has expect-data; then
	# The section's lines end in LF; on the wire every one ends in CRLF.
	sed 's/$/\r/' "$tmp/sec/expect-data" >"$tmp/expect-data"
	[ -f "$tmp/msa/1.data" ] || : >"$tmp/msa/1.data"
	normalise_data "$tmp/msa/1.data" >"$tmp/data.normalised"
	check "DATA bytes" "$tmp/expect-data" "$tmp/data.normalised"
fi
# expect-data-K: the K-th message the server received, counting every
# transaction of session 1 (1.data, 1.data.2, ...), then session 2's, ...
datafiles=()
for sess in $(seq 1 20); do
	[ -f "$tmp/msa/$sess.client" ] || break
	[ -f "$tmp/msa/$sess.data" ] && datafiles+=("$tmp/msa/$sess.data")
	for t in $(seq 2 100); do
		[ -f "$tmp/msa/$sess.data.$t" ] || break
		datafiles+=("$tmp/msa/$sess.data.$t")
	done
done
for k in $(seq 2 20); do
	has "expect-data-$k" || continue
	sed 's/$/\r/' "$tmp/sec/expect-data-$k" >"$tmp/expect-data-$k"
	got=${datafiles[$((k - 1))]:-/dev/null}
	normalise_data "$got" >"$tmp/data-$k.normalised"
	check "DATA bytes of message $k" "$tmp/expect-data-$k" "$tmp/data-$k.normalised"
done
if has expect-messages; then
	if [ "${#datafiles[@]}" = "$(tr -d ' \n' <"$tmp/sec/expect-messages")" ]; then
		echo "ok: the server received ${#datafiles[@]} message(s)"
	else
		echo "FAIL: the server received ${#datafiles[@]} message(s), expected $(cat "$tmp/sec/expect-messages")"; fail=1
	fi
fi
if has expect-no-data; then
	if [ -e "$tmp/msa/1.data" ]; then echo "FAIL: the server received DATA"; fail=1;
	else echo "ok: no DATA reached the server"; fi
fi
if has expect-client; then
	subst expect-client >"$tmp/expect-client"
	[ -f "$tmp/msa/1.client" ] || : >"$tmp/msa/1.client"
	check "client commands" "$tmp/expect-client" "$tmp/msa/1.client"
fi
if has expect-tls; then
	[ -f "$tmp/msa/1.tls" ] || : >"$tmp/msa/1.tls"
	# The cipher text varies with the library build; compare the fields asked for.
	while read -r field; do
		if grep -q -- "$field" "$tmp/msa/1.tls"; then echo "ok: server TLS record has $field"; else
			echo "FAIL: server TLS record lacks $field: $(cat "$tmp/msa/1.tls")"; fail=1; fi
	done <"$tmp/sec/expect-tls"
fi
if has expect-socks; then
	[ -n "$socks_pid" ] && for _ in $(seq 1 100); do kill -0 "$socks_pid" 2>/dev/null || break; sleep 0.02; done
	[ -f "$tmp/socks/request" ] || : >"$tmp/socks/request"
	check "proxy's record" "$tmp/sec/expect-socks" "$tmp/socks/request"
fi
if has expect-logfile; then
	# the log line of the account's "logfile @DIR@/log", its time stamp as TIME
	subst expect-logfile >"$tmp/expect-logfile"
	sed -E 's/^[A-Z][a-z]{2} [0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} /TIME /' "$tmp/log" >"$tmp/log.normalised" 2>/dev/null ||
		: >"$tmp/log.normalised"
	check "log file" "$tmp/expect-logfile" "$tmp/log.normalised"
fi
if has expect-auth; then
	[ -f "$tmp/msa/1.auth" ] || : >"$tmp/msa/1.auth"
	check "AUTH attempts (server side)" "$tmp/sec/expect-auth" "$tmp/msa/1.auth"
fi
if has expect-groups; then
	[ -f "$tmp/msa/1.groups" ] || : >"$tmp/msa/1.groups"
	check "command groups" "$tmp/sec/expect-groups" "$tmp/msa/1.groups"
fi
if has secrets; then
	# No secret, nor its base64 forms, in anything kurier wrote.
	while IFS= read -r sec; do
		[ -n "$sec" ] || continue
		forms=("$sec" "$(printf '%s' "$sec" | base64 -w0)")
		has secret-user && forms+=("$(printf '\0%s\0%s' "$(cat "$tmp/sec/secret-user")" "$sec" | base64 -w0)")
		for form in "${forms[@]}"; do
			for f in "$tmp/stderr" "$tmp/stdout" "$tmp/transcript" "$tmp/log"; do
				if [ -f "$f" ] && grep -qF -- "$form" "$f"; then
					echo "FAIL: a secret ($form) appears in $(basename "$f")"; fail=1
				fi
			done
		done
	done < <(subst secrets | subst_text)
	# Nor the server's SCRAM messages (server-first r=,s=,i=; server-final
	# v=), decoded or base64: with the client's first they allow an offline
	# guess of the password.
	while IFS= read -r msg; do
		for form in "$msg" "$(printf '%s' "$msg" | base64 -w0)"; do
			for f in "$tmp/stderr" "$tmp/stdout" "$tmp/transcript" "$tmp/log"; do
				if [ -f "$f" ] && grep -qF -- "$form" "$f"; then
					echo "FAIL: a SCRAM server message ($form) appears in $(basename "$f")"; fail=1
				fi
			done
		done
	done < <(cat "$tmp/msa"/*.transcript 2>/dev/null | sed -n 's/^-- SASL S: [0-9]* bytes: \([mrv]=.*\)$/\1/p')
	[ $fail -eq 0 ] && echo "ok: no secret in stderr, stdout, the -X transcript or the log"
fi
if [ $fail -ne 0 ]; then
	echo "--- stderr:"; cat "$tmp/stderr"
	echo "--- server transcript:"; cat "$tmp/msa/1.transcript" 2>/dev/null | head -n 80
fi
status=$fail
exit $fail
