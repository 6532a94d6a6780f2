#!/bin/sh
# kill -9 of the daemon while writers append with sync=always: the
# mountpoint is left stale (and papyrafs says so), and after clearing it
# and remounting every append that returned success is present, once, and
# the file scans healthy or with only a torn final line.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

F="$WORK/crash.ndjson"
M="$WORK/mnt"
pfs_mount "$F" "$M" -o sync=always

w=1
while [ $w -le 4 ]; do
	# each writer logs the ids whose append returned success
	sh -c '
		j=1
		while [ $j -le 100000 ]; do
			echo "{\"w\":$1,\"i\":$j}" >>"$2/events/log" 2>/dev/null || exit 0
			echo "$1 $j" >>"$3/acks.$1"
			j=$((j + 1))
		done' writer "$w" "$M" "$WORK" &
	writers="${writers:-} $!"
	w=$((w + 1))
done

# let them get going, then kill the daemon mid-stream
i=0
while [ "$(cat "$WORK"/acks.* 2>/dev/null | wc -l)" -lt 400 ] && [ $i -lt 600 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -9 "$DAEMON_PID"
for p in $writers; do
	wait "$p" || true
done
wait "$DAEMON_PID" 2>/dev/null || true

acked=$(cat "$WORK"/acks.* | wc -l)
check_eq "writers got acknowledgements before the kill" yes \
	"$([ "$acked" -ge 400 ] && echo yes || echo "no ($acked)")"

# --- the stale mountpoint ----------------------------------------------------
check_eq "stat on the stale mountpoint" ENOTCONN \
	"$(python3 -c '
import errno, os, sys
try:
    os.stat(sys.argv[1]); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])' "$M")"
check_status "mount over a stale mountpoint refused" 1 "$PAPYRAFS" -f "$F" "$M"
check_eq "stale mount message" \
	"papyrafs: '$M' is a stale mount (a killed daemon left it: Transport endpoint is not connected); clear it with 'fusermount3 -uz $M'" \
	"$(cat "$WORK/err")"
check_status "fusermount3 -uz clears it" 0 fusermount3 -uz "$M"

# --- what the file holds ------------------------------------------------------
set +e
"$PAPYRA" persistence scan --path "$F" --json >"$WORK/scan.json" 2>/dev/null
st=$?
set -e
check_eq "file healthy or only a torn tail" ok "$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
types = [a["type"] for a in r["anomalies"]]
assert types in ([], ["TRUNCATED_LINE"]), types
print("ok")' "$WORK/scan.json")"
check_eq "scan exit matches" yes \
	"$([ "$st" = 0 ] || [ "$st" = 2 ] && echo yes || echo "no ($st)")"

pfs_mount "$F" "$M"
cat "$M/events/log" >"$WORK/stored"
check_eq "every acknowledged append present, none twice" ok "$(python3 -c '
import json, sys, glob, collections
stored = collections.Counter()
for line in open(sys.argv[1]):
    o = json.loads(line)
    stored[(o["w"], o["i"])] += 1
dups = [k for k, v in stored.items() if v > 1]
assert not dups, "duplicates: %r" % dups[:5]
missing = []
for name in glob.glob(sys.argv[2] + "/acks.*"):
    for line in open(name):
        w, i = map(int, line.split())
        if (w, i) not in stored:
            missing.append((w, i))
assert not missing, "acknowledged but missing: %r" % missing[:5]
print("ok")' "$WORK/stored" "$WORK")"
pfs_umount "$M"
finish
