#!/bin/sh
# Build the libFuzzer harnesses of tests/fuzz/ with clang against the core
# library sources and run each one for FUZZ_SECONDS (default 60), FUZZ_JOBS
# at a time (default 2), under nice.  Findings land in
# BUILDDIR/fuzz/findings/<harness>/; the committed seed corpus is copied to a
# working corpus in BUILDDIR/fuzz/corpus/<harness>/ so the tree stays clean.
#
#   tests/fuzz/run.sh BUILDDIR [HARNESS...]      # or: make fuzz
#   FUZZ_SECONDS=900 tests/fuzz/run.sh build-fuzz
#   BUILDDIR/fuzz/fuzz_classify FILE            # replay one input
#
# BUILDDIR is a configured build directory (it holds config.h).
set -eu
LC_ALL=C
export LC_ALL

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILDDIR [HARNESS...]}" && pwd)
shift
harnesses=${*:-fuzz_classify fuzz_canonicalize fuzz_scan fuzz_parsers fuzz_recover}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
CLANG=${CLANG:-clang}
out=$build/fuzz

test -f "$build/config.h" || { echo "run.sh: no config.h in $build: configure it first" >&2; exit 1; }
command -v "$CLANG" >/dev/null || { echo "run.sh: $CLANG not found" >&2; exit 77; }
mkdir -p "$out"

# every core source but the CLI's main
srcs=
for f in "$top"/src/*.c; do
	case $f in */papyra.c) ;; *) srcs="$srcs $f" ;; esac
done
cflags="-g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
jsonc=$(pkg-config --cflags --libs json-c)

for h in $harnesses; do
	echo "building $h"
	# shellcheck disable=SC2086
	$CLANG $cflags -I"$build" -I"$top/src" -I"$here" -o "$out/$h" \
		"$here/$h.c" $srcs $jsonc -lm -lpthread
done

test "$seconds" -gt 0 || exit 0

run_one() {
	h=$1
	rc=0
	mkdir -p "$out/corpus/$h" "$out/findings/$h"
	if [ -d "$here/corpus/$h" ]; then
		cp -n "$here/corpus/$h"/* "$out/corpus/$h/" 2>/dev/null || :
	fi
	dict=
	[ -f "$here/$h.dict" ] && dict="-dict=$here/$h.dict"
	# shellcheck disable=SC2086
	(cd "$out/findings/$h" && /usr/bin/time -f "$h: %U s user, %S s sys, %e s wall" \
		nice -n 19 "$out/$h" -max_total_time="$seconds" -max_len=4096 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $dict \
		"$out/corpus/$h" >"$out/$h.log" 2>&1) || rc=$?
	grep -E '^stat::number_of_executed_units|^stat::peak_rss' "$out/$h.log" | sed "s/^/$h: /"
	tail -n 1 "$out/$h.log"
	return $rc
}

status=0
set -- $harnesses
while [ $# -gt 0 ]; do
	pids=
	n=0
	while [ $# -gt 0 ] && [ $n -lt "$jobs" ]; do
		run_one "$1" >"$out/$1.summary" 2>&1 &
		pids="$pids $!"
		n=$((n + 1))
		shift
	done
	for p in $pids; do
		wait "$p" || status=1
	done
done
for h in $harnesses; do
	cat "$out/$h.summary"
done
[ $status -eq 0 ] || echo "run.sh: a harness failed; see $out/*.log and $out/findings/" >&2
exit $status
