#!/bin/sh
# demo.sh KURIER MSA: one submission end to end against the test MSA on a
# free loopback port; prints what the server received and kurier's exit code.
set -u
kurier=$1
msa=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/kurier-demo.XXXXXX")
trap 'kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM

"$msa" --dir "$dir" --lifetime 30 &
pid=$!
i=0
while [ ! -s "$dir/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
if [ ! -s "$dir/port" ]; then echo "demo: the test MSA did not start" >&2; exit 1; fi
port=$(cat "$dir/port")

cat >"$dir/config" <<CONF
# throw-away account for the demo: the test MSA on loopback
account demo
host 127.0.0.1
port $port
tls off
from demo@kurier.example
account default : demo
CONF
chmod 600 "$dir/config"

echo "== test MSA listening on 127.0.0.1 port $port"
echo "== kurier -C $dir/config -v friend@example.org"
printf 'From: Demo <demo@kurier.example>\nTo: friend@example.org\nSubject: kurier demo\n\nHello from kurier.\n' |
	"$kurier" -C "$dir/config" -v friend@example.org
rc=$?
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
echo "== the server received these commands:"
sed 's/^/   /' "$dir/1.client"
echo "== and this message (DATA bytes, CRLF shown as \\r):"
sed 's/\r$/\\r/; s/^/   /' "$dir/1.data"
echo "== kurier exit code: $rc"
exit $rc
