#!/bin/bash
# bench/queue-flush.sh [RTT_MS] [COUNT] [RUNS]: what the queue saves on a
# slow link. COUNT (default 100) messages of 1 KiB go to a test MSA that
# speaks STARTTLS and wants AUTH PLAIN, through a proxy
# (bench/delay-proxy.py) that delays every chunk by half of RTT_MS
# (default 20) each way:
#   separate   COUNT submissions, one process and one connection each
#   queued     the same COUNT queued with -odq (not timed: no network),
#              then one `kurier -q`: one connection, one TLS handshake,
#              one AUTH, COUNT mail transactions
# Prints the wall-clock time of each (median of RUNS, default 3) and the
# ratio; the target (issue 13) is a queue flush at least 5 times faster.
# The MSA's records are checked: the flush is one session with COUNT
# messages, each byte for byte the one queued. Run from a built tree:
#     bash bench/queue-flush.sh 20 100 3
# For a second opinion on the timings, the same two commands under
# hyperfine or /usr/bin/time -v.
set -eu
rtt=${1:-20}
count=${2:-100}
runs=${3:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
kurier=$top/src/kurier
msa=$top/tests/msa
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$dir"' EXIT
sh "$top/tests/gen-certs.sh" "$dir/certs" >/dev/null
export XDG_CACHE_HOME=$dir/cache HOME=$dir/home
mkdir -p "$HOME"

wait_file() { while [ ! -s "$1" ]; do sleep 0.05; done; }

# one message of 1 KiB: headers and 16 lines of 58 characters
msg() {
	printf 'From: bench@example.org\nTo: bob@example.org\nSubject: bench %s\n\n' "$1"
	for _ in $(seq 1 15); do printf '%058d\n' 0; done
}

# start RUN: an MSA (STARTTLS, AUTH PLAIN) and the proxy in front of it
start() {
	"$msa" --dir "$dir/msa.$1" --sessions $((count + 10)) --lifetime 900 --auth-user bench \
		--auth-password 'b3nch pass' --tls-cert "$dir/certs/good.pem" \
		--tls-key "$dir/certs/good-key.pem" >/dev/null 2>&1 &
	pids+=($!)
	wait_file "$dir/msa.$1/port"
	/usr/bin/python3 "$top/bench/delay-proxy.py" "$dir/proxy.$1" "$(cat "$dir/msa.$1/port")" "$rtt" &
	pids+=($!)
	wait_file "$dir/proxy.$1"
	cat >"$dir/rc.$1" <<CONF
account default
host 127.0.0.1
port $(cat "$dir/proxy.$1")
from bench@example.org
tls on
tls_trust_file $dir/certs/ca.pem
tls_host_override localhost
auth plain
user bench
password b3nch pass
queue_dir $dir/queue.$1
CONF
	chmod 600 "$dir/rc.$1"
}

ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

sep=() que=()
for r in $(seq 1 "$runs"); do
	start "s$r"
	t0=$(ms)
	for i in $(seq 1 "$count"); do
		msg "$i" | "$kurier" -C "$dir/rc.s$r" bob@example.org
	done
	sep+=($(($(ms) - t0)))
	start "q$r"
	for i in $(seq 1 "$count"); do
		msg "$i" | "$kurier" -C "$dir/rc.q$r" -odq bob@example.org
	done
	t0=$(ms)
	"$kurier" -C "$dir/rc.q$r" -q
	que+=($(($(ms) - t0)))
	# the flush was one session with every message
	n=$(ls "$dir/msa.q$r"/1.data* 2>/dev/null | wc -l)
	if [ "$n" != "$count" ] || [ -e "$dir/msa.q$r/2.client" ]; then
		echo "queue-flush: the flush sent $n of $count messages in session 1" >&2
		ls "$dir/msa.q$r" >&2
		exit 1
	fi
	left=$(ls "$dir/queue.q$r/entries" | wc -l)
	[ "$left" = 0 ] || { echo "queue-flush: $left files left in the queue" >&2; exit 1; }
done
s=$(printf '%s\n' "${sep[@]}" | median)
q=$(printf '%s\n' "${que[@]}" | median)
printf '%s messages of 1 KiB, STARTTLS + AUTH PLAIN, RTT %s ms (median of %s)\n' "$count" "$rtt" "$runs"
printf '%-44s %8s ms\n' "$count separate submissions" "$s"
printf '%-44s %8s ms\n' "$count queued, one kurier -q (one connection)" "$q"
awk -v s="$s" -v q="$q" 'BEGIN { printf "%-44s %8.1fx (target: 5x)\n", "speed-up", s / q }'
