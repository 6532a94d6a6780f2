#!/bin/sh
# The papyra CLI against SPEC §10: every command and exit code, usage
# errors, --help at every level, the JSON report, each kind of damage,
# recovery and quarantine, compaction policies, inspect, startup-check and
# doctor run in each mode, missing and unreadable files, a file written by
# Papyra's Python backend, and the refusal to rewrite a locked file.
# Broken files are built here byte by byte; every check says what it
# expected.  Runs as part of `make check` ($PAPYRA is the built binary).
set -eu
LC_ALL=C
export LC_ALL
unset PAPYRA_FAULT || true

PAPYRA=${PAPYRA:-$(cd "$(dirname "$0")/.." && pwd)/src/papyra}
if [ ! -x "$PAPYRA" ]; then
	echo "cli.sh: no papyra binary at $PAPYRA" >&2
	exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "cli.sh: python3 is needed to parse JSON and hold locks" >&2
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/papyra-cli.XXXXXX")
holder=""
cleanup() {
	if [ -n "$holder" ]; then
		kill "$holder" 2>/dev/null || true
		wait "$holder" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

passed=0
failed=0
out="$work/stdout"
err="$work/stderr"

pass() {
	passed=$((passed + 1))
}

fail() {
	failed=$((failed + 1))
	printf 'FAIL: %s: %s\n' "$1" "$2" >&2
}

# run CMD...: run it, keeping $rc, stdout in $out and stderr in $err.
run() {
	rc=0
	"$@" >"$out" 2>"$err" || rc=$?
}

papyra() {
	run "$PAPYRA" "$@"
}

show() {
	head -c 600 "$1" | tr '\n' '|'
}

expect_rc() { # want what
	if [ "$rc" -eq "$1" ]; then
		pass
	else
		fail "$2" "expected exit $1, got $rc (stdout: $(show "$out")) (stderr: $(show "$err"))"
	fi
}

expect_out() { # fixed-string what
	if grep -qF -- "$1" "$out"; then
		pass
	else
		fail "$2" "expected '$1' on stdout, got: $(show "$out")"
	fi
}

expect_err() { # fixed-string what
	if grep -qF -- "$1" "$err"; then
		pass
	else
		fail "$2" "expected '$1' on stderr, got: $(show "$err")"
	fi
}

expect_no_err() { # what
	if [ -s "$err" ]; then
		fail "$1" "expected nothing on stderr, got: $(show "$err")"
	else
		pass
	fi
}

expect_no_out() { # what
	if [ -s "$out" ]; then
		fail "$1" "expected nothing on stdout, got: $(show "$out")"
	else
		pass
	fi
}

# expect_json WHAT PYTHON-EXPR: stdout is one JSON document d and EXPR
# holds for it.
expect_json() {
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$out" "$2" 2>"$work/py.err"; then
		pass
	else
		fail "$1" "expected a JSON document with $2, got: $(show "$out") $(show "$work/py.err")"
	fi
}

expect_same() { # file expected-file what
	if cmp -s "$1" "$2"; then
		pass
	else
		fail "$3" "expected $(basename "$1") to hold exactly: $(show "$2"), got: $(show "$1")"
	fi
}

expect_missing() { # path what
	if [ -e "$1" ]; then
		fail "$2" "expected $1 not to exist"
	else
		pass
	fi
}

expect_no_leftovers() { # file what
	for t in "$1".*.tmp; do
		if [ -e "$t" ]; then
			fail "$2" "expected no temporary files, found: $t"
			return
		fi
	done
	pass
}

# A usage error: exit 64, nothing on stdout, one message line plus the
# pointer to --help on stderr.
expect_usage() { # what hint-level
	expect_rc 64 "$1"
	expect_no_out "$1: stdout"
	if [ "$(wc -l <"$err")" -eq 2 ] && head -n 1 "$err" | grep -q '^papyra: ' &&
		tail -n 1 "$err" | grep -qF "see 'papyra${2:+ $2} --help'"; then
		pass
	else
		fail "$1: stderr" "expected 'papyra: ...' and \"see 'papyra${2:+ $2} --help'\", got: $(show "$err")"
	fi
}

size_of() {
	wc -c <"$1" | tr -d ' '
}

# --- sample records ---------------------------------------------------------
G1='{"kind":"event","timestamp":1710000000.123,"actor":"user/1","type":"UserCreated"}'
G2='{"kind":"audit","timestamp":1710000001.456,"action":"spawn","actor":"worker/7"}'
G3='{"kind":"dead_letter","timestamp":1710000002.789,"reason":"no_handler"}'
G4='{"kind":"metric","timestamp":1710000003.5,"records_written":3}'
G5='{"kind":"event","timestamp":1710000004.25,"actor":"user/2","type":"UserRenamed"}'

good="$work/good.ndjson"
printf '%s\n' "$G1" "$G2" "$G3" "$G4" "$G5" >"$good"
clean12="$work/clean12.ndjson"
printf '%s\n' "$G1" "$G2" >"$clean12"
off3=$(size_of "$clean12") # offset of a third line after G1 and G2

# mk NAME: a copy of G1, G2 (the caller appends the damage)
mk() {
	cp "$clean12" "$work/$1"
	echo "$work/$1"
}

# --- help, version, usage errors ------------------------------------------
for level in "" "persistence" "doctor" "persistence scan" "persistence recover" \
	"persistence compact" "persistence inspect" "persistence startup-check" \
	"doctor run"; do
	for h in --help -h; do
		# shellcheck disable=SC2086
		papyra $level $h
		expect_rc 0 "papyra $level $h"
		expect_out "usage: papyra" "papyra $level $h: usage"
		expect_no_err "papyra $level $h: stderr"
	done
done
papyra persistence --help
for c in scan recover compact inspect startup-check; do
	expect_out "$c" "persistence --help lists $c"
done
papyra --help
expect_out "doctor run" "papyra --help lists doctor run"
papyra persistence scan --help
expect_out "--json" "scan --help names --json"
papyra persistence compact --help
expect_out "--max-bytes" "compact --help names --max-bytes"

papyra --version
expect_rc 0 "--version"
if grep -Eq '^papyra .*[0-9]+\.[0-9]+' "$out"; then pass; else
	fail "--version" "expected 'papyra ... X.Y', got: $(show "$out")"; fi
expect_no_err "--version: stderr"

papyra
expect_usage "no command" ""
papyra frobnicate
expect_usage "unknown command" ""
expect_err "unknown command 'frobnicate'" "unknown command named"
papyra --frob
expect_usage "unknown top-level option" ""
papyra persistence
expect_usage "persistence without a command" "persistence"
papyra persistence frobnicate --path "$good"
expect_usage "unknown persistence command" "persistence"
papyra doctor
expect_usage "doctor without a command" "doctor"
papyra doctor walk --path "$good"
expect_usage "unknown doctor command" "doctor"
for c in scan recover compact inspect startup-check; do
	papyra persistence $c
	expect_usage "$c without --path" "persistence $c"
	expect_err "--path" "$c without --path names --path"
	papyra persistence $c --path "$good" --foo
	expect_usage "$c --foo" "persistence $c"
	expect_err "unknown option '--foo' for 'persistence $c'" "$c --foo message"
	papyra persistence $c --path "$good" extra
	expect_usage "$c with an extra argument" "persistence $c"
	expect_err "'extra'" "$c extra argument named"
	papyra persistence $c --path
	expect_usage "$c --path without a value" "persistence $c"
done
papyra doctor run
expect_usage "doctor run without --path" "doctor run"
papyra doctor run --path "$good" --foo
expect_usage "doctor run --foo" "doctor run"
expect_err "unknown option '--foo' for 'doctor run'" "doctor run --foo message"
papyra persistence scan --path "$good" --json=yes
expect_usage "scan --json=yes" "persistence scan"
papyra persistence scan --path "$good" --limit 3
expect_usage "scan does not take inspect's --limit" "persistence scan"
papyra persistence recover --path "$good" --mode fix
expect_usage "recover --mode fix" "persistence recover"
expect_err "'fix'" "recover bad mode named"
papyra persistence compact --path "$good" --max-records lots
expect_usage "compact --max-records lots" "persistence compact"
papyra persistence compact --path "$good" --max-records -1
expect_usage "compact --max-records -1" "persistence compact"
papyra persistence compact --path "$good" --max-age soon
expect_usage "compact --max-age soon" "persistence compact"
papyra persistence compact --path "$good" --max-bytes 12X
expect_usage "compact --max-bytes 12X" "persistence compact"
papyra persistence inspect --path "$good" --limit many
expect_usage "inspect --limit many" "persistence inspect"
papyra persistence startup-check --path "$good" --mode sometimes
expect_usage "startup-check --mode sometimes" "persistence startup-check"
papyra persistence startup-check --path "$good" --recovery-mode burn
expect_usage "startup-check --recovery-mode burn" "persistence startup-check"
papyra doctor run --path "$good" --mode scan_only
expect_usage "doctor run --mode scan_only" "doctor run"
papyra doctor run --path "$good" --mode maybe
expect_usage "doctor run --mode maybe" "doctor run"

# --- scan: healthy, JSON, Papyra's own files -------------------------------
papyra persistence scan --path "$good"
expect_rc 0 "scan of a healthy file"
expect_no_err "scan of a healthy file: stderr"
papyra persistence scan --path "$good" --json
expect_rc 0 "scan --json of a healthy file"
expect_no_err "scan --json: stderr"
expect_json "scan --json healthy document" \
	'd["healthy"] is True and d["anomalies"] == [] and d["backend"] == "json"'
expect_json "scan --json counts by kind" \
	'd["records"] == {"event": 2, "audit": 1, "dead_letter": 1, "metric": 1}'
expect_json "scan --json bytes and path" \
	"d['bytes'] == $(size_of "$good") and d['path'].endswith('good.ndjson')"

py="$work/python.ndjson"
cat >"$py" <<'EOF'
{"kind": "event", "system_id": "local", "actor_address": "user/1", "event_type": "UserCreated", "payload": {"a": 1}, "timestamp": 1710000000.123}
{"kind": "audit", "system_id": "local", "action": "spawn", "actor_address": "worker/7", "timestamp": 1710000001.456}
{"kind": "dead_letter", "system_id": "local", "target": "user/9", "message_type": "Ping", "payload": {"n": [1, 2.5, null, true]}, "timestamp": 1710000002.789}
{"kind": "metric", "system_id": "local", "records_written": 3, "timestamp": 1710000003.0}
{"kind": "event", "system_id": "local", "actor_address": "user/\u00e9", "event_type": "Caf\u00e9", "payload": {"s": "\u2603 caf\u00e9"}, "timestamp": 1710000004}
EOF
papyra persistence scan --path "$py"
expect_rc 0 "scan of a file written by Papyra's Python backend"
papyra persistence scan --path "$py" --json
expect_json "Python backend file counts" \
	'd["healthy"] and d["records"]["event"] == 2 and d["records"]["metric"] == 1'
papyra doctor run --path "$py"
expect_rc 0 "doctor run on a Python backend file"

# --- scan and recover each kind of damage ----------------------------------
# damage NAME TYPE LINE OFFSET: $f has that one anomaly; G1 G2 survive
check_damage() {
	name=$1 type=$2 line=$3 offset=$4
	cp "$f" "$work/$name.orig"
	papyra persistence scan --path "$f"
	expect_rc 2 "scan of $name"
	expect_out "$type" "scan of $name names $type"
	expect_no_err "scan of $name: stderr"
	papyra persistence scan --path "$f" --json
	expect_rc 2 "scan --json of $name"
	expect_no_err "scan --json of $name: stderr"
	expect_json "scan --json of $name" \
		"d['healthy'] is False and [(a['type'], a['line'], a['offset']) for a in d['anomalies']] == [('$type', $line, $offset)] and isinstance(d['anomalies'][0]['detail'], str)"
	expect_same "$f" "$work/$name.orig" "scan leaves $name untouched"

	papyra persistence recover --path "$f"
	expect_rc 0 "recover $name"
	expect_out "result: repaired" "recover $name reports the repair"
	expect_out "dropped $type: 1" "recover $name reports what it dropped"
	expect_out "records kept: 2" "recover $name reports what it kept"
	expect_same "$f" "$clean12" "recover $name keeps the good lines byte for byte"
	expect_no_leftovers "$f" "recover $name"
	papyra persistence scan --path "$f"
	expect_rc 0 "scan after recovering $name"
}

f=$(mk truncated.ndjson)
printf '%s' '{"kind":"event","timestamp":1710000005.0,"actor":"user/3"' >>"$f"
check_damage truncated TRUNCATED_LINE 3 "$off3"

f=$(mk truncated-valid.ndjson)
printf '%s' "$G3" >>"$f"
check_damage truncated-valid TRUNCATED_LINE 3 "$off3"

f=$(mk nul-tail.ndjson)
head -c 4096 /dev/zero >>"$f"
check_damage nul-tail TRUNCATED_LINE 3 "$off3"

f=$(mk garbage.ndjson)
printf 'this is not json\n' >>"$f"
check_damage garbage CORRUPTED_LINE 3 "$off3"

f="$work/garbage-middle.ndjson"
printf '%s\n' "$G1" '{"kind":"event",' "$G2" >"$f"
check_damage garbage-middle CORRUPTED_LINE 2 "$(($(printf '%s\n' "$G1" | wc -c)))"

f=$(mk blank.ndjson)
printf '\n' >>"$f"
check_damage blank CORRUPTED_LINE 3 "$off3"

f=$(mk nul-inside.ndjson)
printf '{"kind":"event","timestamp":1,"a":"x\000y"}\n' >>"$f"
check_damage nul-inside CORRUPTED_LINE 3 "$off3"

f=$(mk bad-utf8.ndjson)
printf '{"kind":"event","timestamp":1,"a":"\377"}\n' >>"$f"
check_damage bad-utf8 CORRUPTED_LINE 3 "$off3"

f=$(mk unknown-kind.ndjson)
printf '{"kind":"gossip","timestamp":1710000005.0}\n' >>"$f"
check_damage unknown-kind UNKNOWN_KIND 3 "$off3"

f=$(mk non-object.ndjson)
printf '[1, 2, 3]\n' >>"$f"
check_damage non-object STRUCTURAL 3 "$off3"

f=$(mk no-kind.ndjson)
printf '{"timestamp":1710000005.0,"actor":"user/3"}\n' >>"$f"
check_damage no-kind STRUCTURAL 3 "$off3"

f=$(mk kind-not-string.ndjson)
printf '{"kind":7,"timestamp":1710000005.0}\n' >>"$f"
check_damage kind-not-string STRUCTURAL 3 "$off3"

f=$(mk bad-timestamp.ndjson)
printf '{"kind":"event","timestamp":"yesterday"}\n' >>"$f"
check_damage bad-timestamp STRUCTURAL 3 "$off3"

# Several anomalies at once, in file order, with counts left intact.
f="$work/many.ndjson"
{
	printf '%s\n' "$G1" 'garbage' "$G2" '{"kind":"gossip"}' '"just a string"'
	printf '%s' '{"kind":"ev'
} >"$f"
papyra persistence scan --path "$f" --json
expect_rc 2 "scan of several anomalies"
expect_json "several anomalies in file order" \
	'[(a["type"], a["line"]) for a in d["anomalies"]] == [("CORRUPTED_LINE", 2), ("UNKNOWN_KIND", 4), ("STRUCTURAL", 5), ("TRUNCATED_LINE", 6)]'
expect_json "several anomalies: records counted" \
	'd["records"]["event"] == 1 and d["records"]["audit"] == 1'
papyra persistence scan --path "$f"
for t in CORRUPTED_LINE UNKNOWN_KIND STRUCTURAL TRUNCATED_LINE; do
	expect_out "$t" "text scan of several anomalies names $t"
done
papyra persistence recover --path "$f" --mode repair
expect_rc 0 "recover --mode repair of several anomalies"
expect_same "$f" "$clean12" "repair keeps G1 and G2 byte for byte"

# A healthy file is left alone: same inode, same bytes.
f="$work/healthy.ndjson"
cp "$good" "$f"
ino=$(stat -c %i "$f")
papyra persistence recover --path "$f"
expect_rc 0 "recover of a healthy file"
expect_out "healthy, left untouched" "recover of a healthy file says so"
expect_same "$f" "$good" "recover leaves a healthy file's bytes"
if [ "$(stat -c %i "$f")" = "$ino" ]; then pass; else
	fail "recover of a healthy file" "expected the file not to be rewritten (inode $ino)"; fi

# --- quarantine -------------------------------------------------------------
f=$(mk quarantine.ndjson)
printf 'garbage\n' >>"$f"
cp "$f" "$work/quarantine.orig"
papyra persistence recover --path "$f" --mode quarantine
expect_usage "quarantine without --quarantine-dir" "persistence recover"
expect_err "--quarantine-dir" "quarantine refusal names --quarantine-dir"
expect_same "$f" "$work/quarantine.orig" "refused quarantine leaves the file"
qdir="$work/quarantine-dir/sub"
papyra persistence recover --path "$f" --mode quarantine --quarantine-dir "$qdir"
expect_rc 0 "recover --mode quarantine"
expect_same "$f" "$clean12" "quarantine repairs the file"
expect_out "quarantined: $qdir/quarantine.ndjson.quarantine." "quarantine reports where the file went"
set -- "$qdir"/quarantine.ndjson.quarantine.*
if [ $# -eq 1 ] && [ -f "$1" ]; then
	pass
	expect_same "$1" "$work/quarantine.orig" "the quarantined file is the damaged one"
	if basename "$1" | grep -Eq '^quarantine\.ndjson\.quarantine\.[0-9]{13,}$'; then pass; else
		fail "quarantine name" "expected NAME.quarantine.<unix-ms>, got $(basename "$1")"; fi
else
	fail "recover --mode quarantine" "expected one NAME.quarantine.<unix-ms> in $qdir, got: $(echo "$qdir"/*)"
fi
expect_no_leftovers "$f" "quarantine"

# --- a rewrite that fails leaves the file as it was -------------------------
f=$(mk fault.ndjson)
printf 'garbage\n' >>"$f"
cp "$f" "$work/fault.orig"
rc=0
PAPYRA_FAULT=rename:1:EIO "$PAPYRA" persistence recover --path "$f" >"$out" 2>"$err" || rc=$?
expect_rc 1 "recover whose rename fails"
expect_err "Input/output error" "failed recover says why"
expect_same "$f" "$work/fault.orig" "failed recover leaves the file"
expect_no_leftovers "$f" "failed recover"

# A file size limit makes the rewrite fail with EFBIG instead of killing us.
f="$work/fsize.ndjson"
i=0
: >"$f"
while [ $i -lt 40 ]; do
	printf '%s\n' "$G1" >>"$f"
	i=$((i + 1))
done
printf 'garbage\n' >>"$f"
cp "$f" "$work/fsize.orig"
rc=0
(ulimit -f 2 && exec "$PAPYRA" persistence recover --path "$f") >"$out" 2>"$err" || rc=$?
expect_rc 1 "recover under a file size limit"
expect_err "too large" "recover under a file size limit says EFBIG"
expect_same "$f" "$work/fsize.orig" "recover under a file size limit leaves the file"
expect_no_leftovers "$f" "recover under a file size limit"

# --- compact ----------------------------------------------------------------
now=$(date +%s)
R1='{"kind":"event","timestamp":1000000000.5,"n":1}'
R2='{"kind":"audit","n":2}'
R3="{\"kind\":\"event\",\"timestamp\":$((now - 30)).25,\"n\":3}"
R4="{\"kind\":\"metric\",\"timestamp\":$((now - 20)).5,\"n\":4}"
R5="{\"kind\":\"dead_letter\",\"timestamp\":$((now - 10)),\"n\":5}"
base="$work/compact.base"
printf '%s\n' "$R1" "$R2" "$R3" "$R4" "$R5" >"$base"
c="$work/compact.ndjson"

cp "$base" "$c"
papyra persistence compact --path "$c"
expect_rc 0 "compact without a policy"
expect_same "$c" "$base" "compact without a policy keeps every record"

cp "$base" "$c"
printf 'garbage\n' >>"$c"
papyra persistence compact --path "$c"
expect_rc 0 "compact without a policy, with an anomaly"
expect_same "$c" "$base" "compact removes anomalous lines"
expect_out "anomalous lines removed: 1" "compact reports the anomalous line"

cp "$base" "$c"
papyra persistence compact --path "$c" --max-records 2
expect_rc 0 "compact --max-records 2"
printf '%s\n' "$R4" "$R5" >"$work/expect"
expect_same "$c" "$work/expect" "compact --max-records 2 keeps the newest two"
expect_out "records before: 5" "compact reports the records before"
expect_out "records after: 2" "compact reports the records after"
expect_out "bytes after: $(size_of "$work/expect")" "compact reports the bytes after"
expect_no_leftovers "$c" "compact --max-records"

cp "$base" "$c"
papyra persistence compact --path "$c" --max-age 3600
expect_rc 0 "compact --max-age 3600"
printf '%s\n' "$R3" "$R4" "$R5" >"$work/expect"
expect_same "$c" "$work/expect" "compact --max-age drops old and untimed records"

printf '%s\n' "$R4" "$R5" >"$work/last2"
cp "$base" "$c"
papyra persistence compact --path "$c" --max-bytes "$(size_of "$work/last2")"
expect_rc 0 "compact --max-bytes"
expect_same "$c" "$work/last2" "compact --max-bytes keeps the newest that fit"

cp "$base" "$c"
papyra persistence compact --path "$c" --max-bytes 1k
expect_rc 0 "compact --max-bytes 1k"
expect_same "$c" "$base" "compact --max-bytes 1k keeps a small file whole"

cp "$base" "$c"
papyra persistence compact --path "$c" --max-age 3600 --max-records 1
expect_rc 0 "compact with two constraints"
printf '%s\n' "$R5" >"$work/expect"
expect_same "$c" "$work/expect" "compact --max-age --max-records"
papyra persistence scan --path "$c"
expect_rc 0 "scan after compaction"

# --- inspect ----------------------------------------------------------------
papyra persistence inspect --path "$good"
expect_rc 0 "inspect"
expect_no_err "inspect: stderr"
for kc in event:2 audit:1 dead_letter:1 metric:1; do
	expect_out "records.${kc%:*}: ${kc#*:}" "inspect counts ${kc%:*}"
done
expect_out "records: 5" "inspect counts all records"
expect_out "bytes: $(size_of "$good")" "inspect shows the bytes"
expect_out "healthy: yes" "inspect shows the health"
expect_out "anomalies: 0" "inspect shows no anomalies"

papyra persistence inspect --path "$good" --show-metrics
expect_rc 0 "inspect --show-metrics"
for m in records_written bytes_written scans anomalies_detected recoveries \
	compactions write_errors records_rejected fsyncs; do
	expect_out "$m" "inspect --show-metrics shows $m"
done

papyra persistence inspect --path "$good" --limit 2
expect_rc 0 "inspect --limit 2"
expect_out "newest records: 2 of 5" "inspect --limit 2 header"
printf '%s\n' "$G4" "$G5" >"$work/expect"
tail -n 2 "$out" >"$work/tail"
expect_same "$work/tail" "$work/expect" "inspect --limit 2 ends with the newest two records"
papyra persistence inspect --path "$good" --limit 50
expect_out "newest records: 5 of 5" "inspect --limit 50 header"
tail -n 5 "$out" >"$work/tail"
expect_same "$work/tail" "$good" "inspect --limit 50 prints every record"
papyra persistence inspect --path "$good" --limit 0
expect_out "newest records: 0 of 5" "inspect --limit 0 header"
if grep -qF "$G5" "$out"; then
	fail "inspect --limit 0" "expected no record lines, got: $(show "$out")"
else pass; fi

f=$(mk inspect-damaged.ndjson)
printf 'garbage\n' >>"$f"
cp "$f" "$work/inspect.orig"
papyra persistence inspect --path "$f"
expect_rc 0 "inspect of a damaged file"
expect_out "healthy: no" "inspect of a damaged file reports its health"
expect_out "anomalies: 1" "inspect of a damaged file counts its anomaly"
expect_out "records: 2" "inspect of a damaged file counts its records"
expect_same "$f" "$work/inspect.orig" "inspect changes nothing"

# --- startup-check ------------------------------------------------------------
papyra persistence startup-check --path "$good"
expect_rc 0 "startup-check of a healthy file"
expect_out "startup check: passed" "startup-check of a healthy file says passed"

dmg="$work/damaged.orig"
cp "$clean12" "$dmg"
printf 'garbage\n' >>"$dmg"
f="$work/startup.ndjson"

cp "$dmg" "$f"
papyra persistence startup-check --path "$f"
expect_rc 1 "startup-check (fail_on_anomaly) of a damaged file"
expect_out "startup check: failed (mode fail_on_anomaly): 1 anomaly" "startup-check default verdict"
expect_out "CORRUPTED_LINE" "startup-check shows the anomaly"
expect_same "$f" "$dmg" "startup-check fail_on_anomaly leaves the file"
papyra persistence startup-check --path "$f" --mode fail_on_anomaly
expect_rc 1 "startup-check --mode fail_on_anomaly"
papyra persistence startup-check --path "$f" --mode scan_only
expect_rc 0 "startup-check --mode scan_only"
expect_out "startup check: passed" "scan_only passes"
expect_out "CORRUPTED_LINE" "scan_only reports the anomaly"
expect_same "$f" "$dmg" "scan_only leaves the file"
papyra persistence startup-check --path "$f" --mode ignore
expect_rc 0 "startup-check --mode ignore"
expect_same "$f" "$dmg" "ignore leaves the file"
papyra persistence startup-check --path "$f" --mode recover --recovery-mode quarantine
expect_usage "startup-check quarantine without a directory" "persistence startup-check"
papyra persistence startup-check --path "$f" --mode recover
expect_rc 0 "startup-check --mode recover"
expect_out "startup check: passed (mode recover): 1 anomaly repaired" "recover passes"
expect_same "$f" "$clean12" "startup-check --mode recover repairs"
cp "$dmg" "$f"
papyra persistence startup-check --path "$f" --mode recover \
	--recovery-mode quarantine --quarantine-dir "$work/sq"
expect_rc 0 "startup-check --mode recover --recovery-mode quarantine"
expect_same "$f" "$clean12" "startup-check quarantine repairs"
set -- "$work/sq"/startup.ndjson.quarantine.*
if [ -f "$1" ]; then expect_same "$1" "$dmg" "startup-check quarantined the damaged file"; else
	fail "startup-check quarantine" "expected a file in $work/sq"; fi

# --- doctor run -------------------------------------------------------------
papyra doctor run --path "$good"
expect_rc 0 "doctor run on a healthy file"
expect_out "doctor: healthy" "doctor healthy verdict"
f="$work/doctor.ndjson"
cp "$dmg" "$f"
papyra doctor run --path "$f"
expect_rc 1 "doctor run (fail_on_anomaly) on a damaged file"
expect_out "doctor: 1 anomaly found" "doctor fail_on_anomaly verdict"
expect_same "$f" "$dmg" "doctor fail_on_anomaly leaves the file"
papyra doctor run --path "$f" --mode ignore
expect_rc 0 "doctor run --mode ignore"
expect_out "doctor: 1 anomaly ignored" "doctor ignore verdict"
expect_same "$f" "$dmg" "doctor ignore leaves the file"
papyra doctor run --path "$f" --mode recover --recovery-mode quarantine
expect_usage "doctor quarantine without a directory" "doctor run"
papyra doctor run --path "$f" --mode recover
expect_rc 0 "doctor run --mode recover"
expect_out "doctor: repaired 1 anomaly" "doctor recover verdict"
expect_same "$f" "$clean12" "doctor recover repairs"
papyra doctor run --path "$f" --mode recover
expect_rc 0 "doctor run --mode recover on the repaired file"
expect_out "doctor: healthy" "doctor on the repaired file"
cp "$dmg" "$f"
papyra doctor run --path "$f" --mode recover --recovery-mode quarantine \
	--quarantine-dir "$work/dq"
expect_rc 0 "doctor quarantine"
expect_same "$f" "$clean12" "doctor quarantine repairs"
set -- "$work/dq"/doctor.ndjson.quarantine.*
if [ -f "$1" ]; then expect_same "$1" "$dmg" "doctor quarantined the damaged file"; else
	fail "doctor quarantine" "expected a file in $work/dq"; fi

# --- a missing file is an empty log ----------------------------------------
m="$work/missing.ndjson"
papyra persistence scan --path "$m"
expect_rc 0 "scan of a missing file"
expect_out "does not exist" "scan says the file does not exist"
papyra persistence scan --path "$m" --json
expect_rc 0 "scan --json of a missing file"
expect_json "scan --json of a missing file" 'd["healthy"] is True and d["anomalies"] == []'
papyra persistence recover --path "$m"
expect_rc 0 "recover of a missing file"
expect_out "nothing to recover" "recover of a missing file says so"
papyra persistence compact --path "$m" --max-records 1
expect_rc 0 "compact of a missing file"
papyra persistence inspect --path "$m"
expect_rc 0 "inspect of a missing file"
papyra persistence startup-check --path "$m"
expect_rc 0 "startup-check of a missing file"
papyra doctor run --path "$m"
expect_rc 0 "doctor run of a missing file (first boot)"
papyra doctor run --path "$m" --mode recover
expect_rc 0 "doctor run --mode recover of a missing file"
expect_missing "$m" "no command creates a missing file"

# --- an unreadable path -------------------------------------------------------
# (tests may run as root, so unreadable means a path through a regular file)
u="$good/x"
for c in "persistence scan" "persistence recover" "persistence compact" \
	"persistence inspect" "persistence startup-check" "doctor run"; do
	# shellcheck disable=SC2086
	papyra $c --path "$u"
	expect_rc 1 "$c of $u"
	expect_err "$u" "$c of an unreadable path names it"
	expect_err "Not a directory" "$c of an unreadable path gives strerror"
	expect_no_out "$c of an unreadable path: stdout"
done
papyra persistence scan --path "$work"
expect_rc 1 "scan of a directory"
expect_err "$work" "scan of a directory names it"
papyra persistence recover --path "$work"
expect_rc 1 "recover of a directory"

# --- a file held by another process -----------------------------------------
f="$work/locked.ndjson"
cp "$dmg" "$f"
python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)' "$f" >"$work/holder.out" &
holder=$!
i=0
while ! grep -q locked "$work/holder.out" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$holder" 2>/dev/null; then
		echo "cli.sh: the lock holder did not start" >&2
		exit 1
	fi
	sleep 0.1
done
for c in "persistence recover" "persistence compact"; do
	# shellcheck disable=SC2086
	papyra $c --path "$f"
	expect_rc 1 "$c of a locked file"
	expect_err "pid $holder" "$c of a locked file names the holder's pid"
	expect_same "$f" "$dmg" "$c of a locked file leaves it"
done
papyra persistence startup-check --path "$f" --mode recover
expect_rc 1 "startup-check --mode recover of a locked file"
expect_err "pid $holder" "startup-check --mode recover names the holder"
papyra doctor run --path "$f" --mode recover
expect_rc 1 "doctor run --mode recover of a locked file"
expect_err "pid $holder" "doctor --mode recover names the holder"
expect_same "$f" "$dmg" "refused recoveries leave the locked file"
papyra persistence scan --path "$f"
expect_rc 2 "scan of a locked file still works"
papyra persistence inspect --path "$f"
expect_rc 0 "inspect of a locked file still works"
papyra persistence startup-check --path "$f" --mode scan_only
expect_rc 0 "startup-check --mode scan_only of a locked file"
papyra doctor run --path "$f"
expect_rc 1 "doctor run (fail_on_anomaly) of a locked file reads it"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
holder=""
papyra persistence recover --path "$f"
expect_rc 0 "recover once the lock is released"
expect_same "$f" "$clean12" "recover after the lock is released repairs"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
