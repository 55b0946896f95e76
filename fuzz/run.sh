#!/bin/sh
# fuzz/run.sh CC SRCDIR SECONDS CFLAGS LIBS: build every harness in fuzz/
# with CC (clang) and libFuzzer, ASan and UBSan, and run each for SECONDS
# on a copy of its seed corpus, with its dictionary (fuzz/NAME.dict). Prints one line per harness and exits 1 if
# any of them crashed or broke an invariant (the input is kept in
# fuzz-out/NAME/ for a test case). Called by `make fuzz`.
set -u
cc=$1 src=$2 secs=$3 cflags=$4 libs=$5
out=fuzz-out
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -g -O1"
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "fuzz: $cc not found; install clang and libclang-rt-14-dev (Debian)" >&2
	exit 1
fi
mkdir -p "$out/obj"
# The library, instrumented for coverage: every module but main.c.
objs=""
for c in "$src"/src/*.c; do
	case $c in */main.c) continue ;; esac
	o="$out/obj/$(basename "$c" .c).o"
	# shellcheck disable=SC2086
	"$cc" -std=c17 -D_GNU_SOURCE -I"$src/src" -DSYSCONFDIR='"/etc"' $san -fsanitize=fuzzer-no-link \
		$cflags -c "$c" -o "$o" || exit 1
	objs="$objs $o"
done
failed=0
for h in "$src"/fuzz/fuzz_*.c; do
	name=$(basename "$h" .c)
	seeds="$src/fuzz/corpus/${name#fuzz_}"
	# shellcheck disable=SC2086
	"$cc" -std=c17 -D_GNU_SOURCE -I"$src/src" $san -fsanitize=fuzzer "$h" $objs $libs -o "$out/$name" ||
		exit 1
	rm -rf "$out/$name.corpus" "$out/$name.crash"
	mkdir -p "$out/$name.corpus" "$out/$name.crash"
	cp "$seeds"/* "$out/$name.corpus/"
	dict=""
	[ -f "$src/fuzz/${name#fuzz_}.dict" ] && dict="-dict=$src/fuzz/${name#fuzz_}.dict"
	# shellcheck disable=SC2086
	if "$out/$name" $dict -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$out/$name.crash/" "$out/$name.corpus" >"$out/$name.log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "$out/$name.log" | tail -n 1)
		echo "fuzz: $name: ${runs:-done}, no crash ($secs s)"
	else
		echo "fuzz: $name: FAILED; input in $out/$name.crash/, log $out/$name.log" >&2
		tail -n 30 "$out/$name.log" >&2
		failed=1
	fi
done
exit $failed
