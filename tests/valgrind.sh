#!/bin/sh
# Memcheck over the programs: every `papyra` command on a damaged log and a
# scripted session of the daemon (papyrafs -f -s: appends, reads, scan
# files, every ctl action, unmount), each under valgrind with
# --leak-check=full.  Passes only with zero memcheck errors and no
# definitely lost bytes in every run.  Not part of `make check` (it takes
# a minute or two): run `make valgrind`, or
#   PAPYRA=build/src/papyra PAPYRAFS=build/fs/papyrafs sh tests/valgrind.sh
# The logs of every run are kept in $VALGRIND_LOGS when that is set.
set -eu
LC_ALL=C
export LC_ALL

: "${PAPYRA:?PAPYRA must name the papyra binary}"
: "${PAPYRAFS:?PAPYRAFS must name the papyrafs binary}"
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/papyra-valgrind.XXXXXX")
LOGS=${VALGRIND_LOGS:-$WORK/logs}
mkdir -p "$LOGS"
M="$WORK/mnt"
DPID=
cleanup() {
	set +e
	if grep -q " $M fuse" /proc/mounts 2>/dev/null; then
		fusermount3 -uz "$M" 2>/dev/null
	fi
	[ -n "$DPID" ] && kill -9 "$DPID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

VG="valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=no --num-callers=30"
RUNS=0
FAILED=0

fail() {
	echo "FAIL: $*" >&2
	FAILED=$((FAILED + 1))
}

# verdict NAME LOG: zero errors and nothing definitely lost in LOG
verdict() {
	errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$2" | tail -n 1)
	lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$2" | tail -n 1)
	RUNS=$((RUNS + 1))
	if [ "${errors:-x}" != 0 ]; then
		fail "$1: expected 0 memcheck errors, got ${errors:-no summary} (log: $2)"
		sed -n '/== [A-Z].*\(Invalid\|uninitialised\|definitely\|Mismatched\)/,/^==[0-9]*== $/p' "$2" | head -n 60 >&2
	elif [ "${lost:-0}" != 0 ]; then
		fail "$1: expected no definitely lost bytes, got $lost (log: $2)"
	else
		echo "ok: $1 (0 errors, ${lost:-0} bytes definitely lost)"
	fi
}

# cli NAME EXPECTED_EXIT ARGS...: one papyra command under memcheck
cli() {
	name=$1
	want=$2
	shift 2
	log="$LOGS/cli-$name.log"
	set +e
	$VG --log-file="$log" "$PAPYRA" "$@" >"$WORK/out" 2>"$WORK/err"
	got=$?
	set -e
	if [ "$got" = 99 ]; then
		fail "papyra $name: memcheck found errors"
	elif [ "$got" != "$want" ]; then
		fail "papyra $name: expected exit $want, got $got ($(head -c 300 "$WORK/err"))"
	fi
	verdict "papyra $name" "$log"
}

damaged() {
	{
		echo '{"kind":"event","timestamp":1700000001.0,"n":1,"payload":{"a":[1,2]}}'
		echo 'this is not json'
		echo '{"kind":"audit","timestamp":1700000002.0,"who":"caf\u00e9"}'
		echo '{"kind":"mystery","timestamp":1700000003.0}'
		echo '{"kind":"metric","timestamp":"late"}'
		echo '{"kind":"dead_letter","timestamp":1700000004.0}'
		printf '{"kind":"event","timest'
	} >"$1"
}

# --- the CLI ---------------------------------------------------------------
F="$WORK/cli.ndjson"
Q="$WORK/quarantine"
damaged "$F"
cli scan 2 persistence scan --path "$F"
cli scan-json 2 persistence scan --path "$F" --json
cli scan-missing 0 persistence scan --path "$WORK/missing.ndjson"
cli inspect 0 persistence inspect --path "$F" --limit 3 --show-metrics
cli startup-check 1 persistence startup-check --path "$F"
cli doctor-fail 1 doctor run --path "$F"
cli recover-usage 64 persistence recover --path "$F" --mode quarantine
cli recover-quarantine 0 persistence recover --path "$F" --mode quarantine --quarantine-dir "$Q"
damaged "$F"
cli recover 0 persistence recover --path "$F"
cli compact 0 persistence compact --path "$F" --max-records 2 --max-age 999999999 --max-bytes 1M
damaged "$F"
cli startup-check-recover 0 persistence startup-check --path "$F" --mode recover
damaged "$F"
cli doctor-recover 0 doctor run --path "$F" --mode recover --recovery-mode quarantine --quarantine-dir "$Q"
cli bad-option 64 persistence scan --path "$F" --bogus
cli help 0 --help

# --- a daemon session ------------------------------------------------------
D="$WORK/mounted.ndjson"
damaged "$D"
mkdir -p "$M"
dlog="$LOGS/papyrafs.log"
$VG --log-file="$dlog" "$PAPYRAFS" -f -s -o sync=always,max_record=4096,quarantine_dir="$Q" \
	"$D" "$M" 2>"$WORK/daemon.err" &
DPID=$!
i=0
until grep -q " $M fuse" /proc/mounts; do
	if ! kill -0 "$DPID" 2>/dev/null || [ $i -ge 600 ]; then
		echo "papyrafs did not mount under valgrind:" >&2
		cat "$WORK/daemon.err" "$dlog" >&2
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done

session() {
	cat "$M/README" >/dev/null
	cat "$M/scan/status" "$M/scan/report" "$M/scan/report.json" >/dev/null
	echo '{"n":1,"payload":{"deep":[[{"x":"\u00e9"}]]}}' >>"$M/events/log"
	printf '{"who":"ops"}\n{"who":"cron","timestamp":1700000100}\n' >>"$M/audits/log"
	printf '{"reason":"x"}' >>"$M/dead_letters/log"
	echo '{"kind":"metric","timestamp":1700000200.5,"v":3}' >>"$M/records"
	# refused appends: not JSON, wrong kind, too long
	echo 'not json' >>"$M/events/log" 2>/dev/null && return 1
	echo '{"kind":"audit"}' >>"$M/events/log" 2>/dev/null && return 1
	python3 -c 'print("{\"kind\":\"event\",\"p\":\"" + "x" * 5000 + "\"}")' \
		>>"$M/records" 2>/dev/null && return 1
	cat "$M/records" "$M/events/log" "$M/audits/log" "$M/dead_letters/log" \
		"$M/metrics/log" >/dev/null
	tail -n 2 "$M/records" >/dev/null
	stat "$M/records" "$M/scan/report" >/dev/null
	cat "$M/inspect" "$M/metrics.txt" "$M/metrics.prom" >/dev/null
	[ "$(cat "$M/scan/status")" = "anomalies 4" ] || return 1
	echo repair >"$M/ctl/recover"
	cat "$M/ctl/recover" >/dev/null
	[ "$(cat "$M/scan/status")" = healthy ] || return 1
	echo 'max_records=3 max_age=none max_bytes=64k' >"$M/ctl/retention"
	cat "$M/ctl/retention" "$M/records" >/dev/null
	echo 'max_records=bogus' >"$M/ctl/retention" 2>/dev/null && return 1
	echo now >"$M/ctl/compact"
	cat "$M/ctl/compact" >/dev/null
	echo none >"$M/ctl/retention"
	echo x >"$M/ctl/sync"
	echo x >"$M/ctl/snapshot"
	echo x >"$M/ctl/reset_metrics"
	echo quarantine >"$M/ctl/recover"
	echo bogus >"$M/ctl/recover" 2>/dev/null && return 1
	ls -lR "$M" >/dev/null
	cat "$M/scan/report.json" "$M/inspect" >/dev/null
	return 0
}
if ! session 2>"$WORK/session.err"; then
	fail "daemon session: a step did not behave ($(cat "$WORK/session.err"))"
fi
fusermount3 -u "$M"
set +e
wait "$DPID"
drc=$?
set -e
DPID=
[ "$drc" = 0 ] || fail "papyrafs: expected exit 0 after unmount, got $drc ($(head -c 300 "$WORK/daemon.err"))"
verdict "papyrafs session" "$dlog"
healthy=$($VG --log-file="$LOGS/cli-final-scan.log" "$PAPYRA" persistence scan --path "$D" >/dev/null 2>&1; echo $?)
[ "$healthy" = 0 ] || fail "the log should scan clean after the session, scan exit $healthy"
verdict "papyra final scan" "$LOGS/cli-final-scan.log"

echo "valgrind: $RUNS runs, $FAILED failed"
[ "$FAILED" = 0 ]
