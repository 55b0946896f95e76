#!/bin/bash
# bench/throughput.sh [MIB] [RUNS]: submission speed and peak memory for a
# message of MIB MiB (default 30; base64 text, 76-column lines, LF line
# ends) over plain SMTP on loopback to the test MSA. Prints the median wall
# time, MB/s and the peak RSS of kurier, and of msmtp when it is installed
# (same configuration file). Run from a built tree:
#     bash bench/throughput.sh 30 5
set -eu
mib=${1:-30}
runs=${2:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
kurier=$top/src/kurier
msa=$top/tests/msa
dir=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
{
	printf 'From: bench@example.org\nTo: bob@example.org\nSubject: bench\n\n'
	head -c $((mib * 1024 * 1024 * 3 / 4)) /dev/urandom | base64 -w 76
} >"$dir/msg"
bytes=$(stat -c %s "$dir/msg")

"$msa" --dir "$dir/msa" --sessions 1000 --lifetime 900 >/dev/null 2>&1 &
pid=$!
while [ ! -s "$dir/msa/port" ]; do sleep 0.05; done
cat >"$dir/rc" <<CONF
account default
host 127.0.0.1
port $(cat "$dir/msa/port")
tls off
from bench@example.org
CONF
chmod 600 "$dir/rc"

printf '%-8s %10s %10s %12s\n' client seconds "MB/s" "peak RSS"
for client in kurier msmtp; do
	if [ "$client" = kurier ]; then bin=$kurier; else bin=$(command -v msmtp || true); fi
	[ -n "$bin" ] || continue
	for i in $(seq 1 "$runs"); do
		/usr/bin/time -f '%e %M' -o "$dir/time" "$bin" -C "$dir/rc" bob@example.org <"$dir/msg"
		cat "$dir/time"
	done | sort -n | awk -v n="$runs" -v b="$bytes" -v c="$client" '
		{ t[NR] = $1; m[NR] = $2 }
		END { i = int((n + 1) / 2); s = t[i] > 0 ? t[i] : 0.001
		      printf "%-8s %10.2f %10.0f %9d KiB\n", c, t[i], b / s / 1e6, m[i] }'
done
