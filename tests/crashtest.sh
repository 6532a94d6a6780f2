#!/bin/sh
# `make crashtest`: the full crash test, CRASH_POINTS (default 1000) kill
# points of tests/crashtest.py.  CRASH_SEED replays a run; the summary line
# reads "crash points: N, acknowledged records checked: M, failures: F".
set -eu
: "${PAPYRAFS:?PAPYRAFS must name the papyrafs binary}"
dir=$(dirname "$0")
seed=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
exec python3 "$dir/crashtest.py" --points "${CRASH_POINTS:-1000}" --seed "$seed"
