#!/bin/bash
# bench/batch.sh [N] [RTT_MS]: what sending N messages over one connection
# saves (issue 13, session_run_batch). N small messages go to the test MSA
# through a proxy that delays every chunk by half of RTT_MS (default 50)
# each way: once as N runs of kurier (a session each), once as one session
# (tests/batch-send: session_run_batch() directly). Prints the
# wall-clock times, the round trips per message, and the MSA's sessions.
# One session costs about 3 round trips (connect, greeting, EHLO) plus 1
# per message: with PIPELINING the next message's MAIL group goes out with
# the end of data before it (RFC 2920 3.1), so its replies and that end of
# data's come back together. Run from a built tree (make check builds
# tests/batch-send):
#     bash bench/batch.sh 20 50
set -eu
n=${1:-20}
rtt=${2:-50}
top=$(cd "$(dirname "$0")/.." && pwd)
kurier=$top/src/kurier
msa=$top/tests/msa
send=$top/tests/batch-send
[ -x "$send" ] || { echo "build tests/batch-send first: make tests/batch-send" >&2; exit 1; }
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$dir"' EXIT
printf 'From: bench@example.org\nTo: bob@example.org\nSubject: bench\n\nhello\n' >"$dir/msg"
printf 'From: bench@example.org\r\nTo: bob@example.org\r\nSubject: bench\r\n\r\nhello\r\n' >"$dir/msg.crlf"

# A proxy that delays each chunk by DELAY seconds, in both directions.
cat >"$dir/proxy.py" <<'PY'
import asyncio, os, sys
port_file, target, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 2000

async def pump(reader, writer):
    loop = asyncio.get_running_loop()
    while True:
        data = await reader.read(65536)
        if not data:
            loop.call_later(delay, writer.close)
            return
        loop.call_later(delay, writer.write, data)

async def handle(cr, cw):
    sr, sw = await asyncio.open_connection("127.0.0.1", target)
    await asyncio.gather(pump(cr, sw), pump(sr, cw), return_exceptions=True)

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % server.sockets[0].getsockname()[1])
    os.rename(port_file + ".tmp", port_file)
    async with server:
        await server.serve_forever()

asyncio.run(main())
PY

wait_file() { while [ ! -s "$1" ]; do sleep 0.05; done; }

# start NAME: an MSA and the delaying proxy in front of it; sets PORT.
start() {
	"$msa" --dir "$dir/$1" --sessions $((n + 1)) --lifetime 900 >/dev/null 2>&1 &
	pids+=($!)
	wait_file "$dir/$1/port"
	/usr/bin/python3 "$dir/proxy.py" "$dir/$1.proxy" "$(cat "$dir/$1/port")" "$rtt" &
	pids+=($!)
	wait_file "$dir/$1.proxy"
	PORT=$(cat "$dir/$1.proxy")
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

start single
cat >"$dir/rc" <<CONF
account default
host 127.0.0.1
port $PORT
tls off
from bench@example.org
CONF
chmod 600 "$dir/rc"
t0=$(now_ms)
for _ in $(seq 1 "$n"); do
	"$kurier" -C "$dir/rc" bob@example.org <"$dir/msg"
done
single=$(($(now_ms) - t0))
single_sessions=$(find "$dir/single" -name '*.client' | wc -l)

start batch
t0=$(now_ms)
"$send" 127.0.0.1 "$PORT" "$n" "$dir/msg.crlf" bob@example.org
batch=$(($(now_ms) - t0))
batch_sessions=$(find "$dir/batch" -name '*.client' | wc -l)
batch_data=$(find "$dir/batch" -name '1.data*' | wc -l)

printf '%d messages, RTT %d ms\n' "$n" "$rtt"
printf '%-22s %8s %10s %12s\n' "" "time" "sessions" "RTT/message"
awk -v t="$single" -v s="$single_sessions" -v n="$n" -v r="$rtt" \
	'BEGIN { printf "%-22s %5d ms %10d %12.1f\n", "one session each", t, s, t / n / r }'
awk -v t="$batch" -v s="$batch_sessions" -v n="$n" -v r="$rtt" -v d="$batch_data" \
	'BEGIN { printf "%-22s %5d ms %10d %12.1f  (%d DATA)\n", "one session (batch)", t, s, t / n / r, d }'
