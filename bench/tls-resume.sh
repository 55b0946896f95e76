#!/bin/bash
# bench/tls-resume.sh [RUNS]: what TLS session resumption saves. Submits
# RUNS messages over STARTTLS to the test MSA twice: once with the session
# cache removed before every run (full handshakes), once keeping it
# (resumed handshakes), and prints kurier's CPU time and wall-clock time per
# submission for both. Run from a built tree: bash bench/tls-resume.sh 50
set -eu
runs=${1:-50}
top=$(cd "$(dirname "$0")/.." && pwd)
kurier=$top/src/kurier
msa=$top/tests/msa
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
sh "$top/tests/gen-certs.sh" "$dir/certs" >/dev/null
"$msa" --dir "$dir/msa" --sessions $((2 * runs + 1)) --lifetime 600 \
	--tls-cert "$dir/certs/good.pem" --tls-key "$dir/certs/good-key.pem" &
pid=$!
while [ ! -s "$dir/msa/port" ]; do sleep 0.05; done
cat >"$dir/config" <<CONF
account default
host 127.0.0.1
tls_host_override localhost
port $(cat "$dir/msa/port")
from bench@example.org
tls_trust_file $dir/certs/ca.pem
CONF
export XDG_CACHE_HOME="$dir/cache"
printf 'Subject: bench\n\nhello\n' >"$dir/msg"

children_ms() { # user+system CPU of this shell's finished children so far, in ms
	times >"$dir/times" # in this shell: a subshell would count its own children
	tail -n 1 "$dir/times" | awk '{ split($1, u, /[ms]/); split($2, y, /[ms]/);
		printf "%d\n", (u[1] * 60 + u[2] + y[1] * 60 + y[2]) * 1000 }'
}

measure() { # measure full|resumed: print "cpu_ms wall_ms" per submission
	local c0 c1 t0 t1 i
	children_ms >"$dir/c0"
	t0=$(date +%s%N)
	for i in $(seq 1 "$runs"); do
		[ "$1" = full ] && rm -rf "$XDG_CACHE_HOME"
		"$kurier" -C "$dir/config" bob@example.org <"$dir/msg"
	done
	t1=$(date +%s%N)
	children_ms >"$dir/c1"
	awk -v c=$(($(cat "$dir/c1") - $(cat "$dir/c0"))) -v w=$(((t1 - t0) / 1000000)) -v n="$runs" \
		'BEGIN { printf "%.2f %.2f\n", c / n, w / n }'
}
measure full >"$dir/full"
"$kurier" -C "$dir/config" bob@example.org <"$dir/msg" # prime the cache
measure resumed >"$dir/resumed"
full=$(cat "$dir/full")
resumed=$(cat "$dir/resumed")
echo "TLS handshakes over loopback, $runs submissions each (ms per submission):"
printf '  %-8s cpu %7s  wall %7s\n' full ${full} resumed ${resumed}
echo "resumed handshakes seen by the server: $(grep -l 'resumed=yes' "$dir"/msa/*.tls | wc -l)"
