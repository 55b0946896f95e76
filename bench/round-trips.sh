#!/bin/bash
# bench/round-trips.sh [RTT_MS] [RUNS]: how many network round trips one
# submission costs. A small proxy (bench/delay-proxy.py) delays every chunk
# of bytes by half of RTT_MS (default 100) in each direction between kurier
# and the test MSA; the wall-clock time of a submission through it, less the
# time of the same submission without it, divided by RTT_MS, is the number
# of round trips, plus one for the TCP handshake, which a user-space proxy
# cannot delay (the kernel completes connect() at once). Three set-ups: plain SMTP, STARTTLS + AUTH PLAIN, TLS on
# connect + AUTH PLAIN. When msmtp is installed it is measured the same way
# (same configuration file). The protocol's minimum is 5, 8 and 6 (TCP
# connect, greeting, EHLO, [STARTTLS, handshake, EHLO,] [TLS handshake,]
# MAIL group with AUTH, end of data). Run from a built tree:
#     bash bench/round-trips.sh 100 5
set -eu
rtt=${1:-100}
runs=${2:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
kurier=$top/src/kurier
msa=$top/tests/msa
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$dir"' EXIT
sh "$top/tests/gen-certs.sh" "$dir/certs" >/dev/null
export XDG_CACHE_HOME=$dir/cache # kurier's TLS session cache: emptied per run
printf 'From: bench@example.org\nTo: bob@example.org\nSubject: bench\n\nhello\n' >"$dir/msg"


wait_file() { while [ ! -s "$1" ]; do sleep 0.05; done; }

# start NAME MSA-OPTIONS...: an MSA and a delaying proxy in front of it.
start() {
	local name=$1
	shift
	"$msa" --dir "$dir/$name" --sessions 1000 --lifetime 900 --auth-user bench \
		--auth-password 'b3nch pass' "$@" >/dev/null 2>&1 &
	pids+=($!)
	wait_file "$dir/$name/port"
	/usr/bin/python3 "$top/bench/delay-proxy.py" "$dir/$name.proxy" "$(cat "$dir/$name/port")" "$rtt" &
	pids+=($!)
	wait_file "$dir/$name.proxy"
}

# config NAME PORT EXTRA: an msmtprc-syntax file both clients read.
config() {
	cat >"$dir/$1.rc" <<CONF
account default
host 127.0.0.1
port $2
from bench@example.org
tls_trust_file $dir/certs/ca.pem
tls_host_override localhost
$3
CONF
	chmod 600 "$dir/$1.rc"
}

# median_ms CMD...: the median wall-clock time of RUNS runs, in ms.
median_ms() {
	local i t0 t1
	for i in $(seq 1 "$runs"); do
		rm -rf "$XDG_CACHE_HOME"
		t0=$(date +%s%N)
		"$@" <"$dir/msg" >/dev/null 2>"$dir/err" || { cat "$dir/err" >&2; return 1; }
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000000))
	done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

tls_cert=(--tls-cert "$dir/certs/good.pem" --tls-key "$dir/certs/good-key.pem")
start plain
start starttls "${tls_cert[@]}"
start implicit "${tls_cert[@]}" --implicit-tls
auth='user bench
password b3nch pass
auth plain'

printf '%-28s %8s %8s %8s %8s\n' "set-up (RTT ${rtt} ms)" client direct proxied "round trips"
for setup in plain starttls implicit; do
	case $setup in
	plain) extra='tls off'; want=5 ;;
	starttls) extra="tls on
$auth"; want=8 ;;
	implicit) extra="tls on
tls_starttls off
$auth"; want=6 ;;
	esac
	config "$setup-direct" "$(cat "$dir/$setup/port")" "$extra"
	config "$setup-proxied" "$(cat "$dir/$setup.proxy")" "$extra"
	for client in kurier msmtp; do
		if [ "$client" = kurier ]; then bin=$kurier; else bin=$(command -v msmtp || true); fi
		[ -n "$bin" ] || continue
		direct=$(median_ms "$bin" -C "$dir/$setup-direct.rc" bob@example.org) || continue
		proxied=$(median_ms "$bin" -C "$dir/$setup-proxied.rc" bob@example.org) || continue
		trips=$(awk -v d="$direct" -v p="$proxied" -v r="$rtt" 'BEGIN { printf "%.1f", (p - d) / r + 1 }')
		printf '%-28s %8s %6s ms %6s ms %8s (minimum %d)\n' "$setup" "$client" "$direct" "$proxied" \
			"$trips" "$want"
	done
done
