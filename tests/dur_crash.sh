#!/bin/sh
# The short crash test of `make check`: tests/crashtest.py kills the daemon
# with SIGKILL at 24 random points (appends, compaction, repair and
# quarantine recovery, each with writers appending under sync=always) and
# checks that every acknowledged append survives exactly once, untorn, and
# that an interrupted rewrite left the old or the new file.  `make
# crashtest` runs the long version.  CRASH_SEED replays a run.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

seed=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
mkdir -p "$WORK/crash"
set +e
python3 "$TESTS_DIR/crashtest.py" --points "${CRASH_POINTS:-24}" \
	--seed "$seed" --work "$WORK/crash" >"$WORK/crash.out" 2>&1
st=$?
set -e
cat "$WORK/crash.out"
check_eq "crashtest.py exit status (seed $seed)" 0 "$st"
check_contains "crash summary (seed $seed)" \
	"crash points: ${CRASH_POINTS:-24}, acknowledged records checked:" \
	"$(cat "$WORK/crash.out")"
check_contains "no failed crash point (seed $seed)" "failures: 0" \
	"$(tail -n 1 "$WORK/crash.out")"
finish
