#!/bin/sh
# demo.sh KURIER MSA [SRCDIR]: one submission end to end over STARTTLS and
# SCRAM-SHA-256-PLUS against the test MSA on a free loopback port, verified
# with a throw-away CA; prints what the server received and kurier's exit code.
set -u
kurier=$1
msa=$2
srcdir=${3:-.}
dir=$(mktemp -d "${TMPDIR:-/tmp}/kurier-demo.XXXXXX")
pid=""
trap 'kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM

sh "$srcdir/tests/gen-certs.sh" "$dir/certs" >/dev/null || { echo "demo: cannot make certificates" >&2; exit 1; }
"$msa" --dir "$dir" --lifetime 30 --tls-cert "$dir/certs/good.pem" --tls-key "$dir/certs/good-key.pem" \
	--auth-user demo --auth-password "demo password" &
pid=$!
i=0
while [ ! -s "$dir/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
if [ ! -s "$dir/port" ]; then echo "demo: the test MSA did not start" >&2; exit 1; fi
port=$(cat "$dir/port")

cat >"$dir/config" <<CONF
# throw-away account for the demo: the test MSA on loopback, STARTTLS
# verified against the demo's own CA, then SASL (SCRAM-SHA-256-PLUS)
account demo
host 127.0.0.1
port $port
tls on
tls_trust_file $dir/certs/ca.pem
tls_host_override localhost
from demo@kurier.example
user demo
password "demo password"
account default : demo
CONF
chmod 600 "$dir/config"

echo "== test MSA listening on 127.0.0.1 port $port (STARTTLS, certificate from a throw-away CA)"
echo "== kurier -C $dir/config -v friend@example.org"
printf 'From: Demo <demo@kurier.example>\nTo: friend@example.org\nSubject: kurier demo\n\nHello from kurier.\n' |
	XDG_CACHE_HOME="$dir/cache" "$kurier" -C "$dir/config" -v friend@example.org
rc=$?
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
echo "== TLS as the server saw it: $(cat "$dir/1.tls" 2>/dev/null)"
echo "== AUTH as the server saw it: $(cat "$dir/1.auth" 2>/dev/null)"
echo "== the server received these commands:"
sed 's/^/   /' "$dir/1.client"
echo "== and this message (DATA bytes, CRLF shown as \\r):"
sed 's/\r$/\\r/; s/^/   /' "$dir/1.data"
echo "== kurier exit code: $rc"
exit $rc
