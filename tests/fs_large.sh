#!/bin/sh
# Sizes and concurrency: a record bigger than one FUSE write request, one
# 1 MiB write of many records, and 8 writer processes appending at once
# (every record intact, none lost, none interleaved).
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

F="$WORK/big.ndjson"
M="$WORK/mnt"
pfs_mount "$F" "$M" -o sync=none

# --- a 300 KiB record, written with one write() (the kernel splits it) --------
python3 -c '
import os, sys
rec = b"{\"big\":\"" + b"x" * (300 * 1024) + b"\"}\n"
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
assert os.write(fd, rec) == len(rec)
os.close(fd)' "$M/events/log"
check_eq "300 KiB record in one line" 1 "$(wc -l <"$M/events/log")"
check_eq "300 KiB record intact" $((300 * 1024)) \
	"$(python3 -c 'import json,sys; print(len(json.loads(open(sys.argv[1]).read())["big"]))' "$M/events/log")"

# --- a 200 KiB record in 4 KiB pieces on one descriptor ----------------------
python3 -c '
import os, sys
rec = b"{\"pieces\":\"" + b"y" * (200 * 1024) + b"\"}\n"
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
for i in range(0, len(rec), 4096):
    os.write(fd, rec[i:i + 4096])
os.close(fd)' "$M/events/log"
check_eq "record in 4 KiB pieces" 2 "$(wc -l <"$M/events/log")"
check_contains "pieces joined" '"pieces":"yyy' "$(tail -n 1 "$M/events/log" | cut -c1-60)"

# --- one 1 MiB write of many small records -----------------------------------
python3 -c '
import os, sys
lines = []
n = 0
while sum(map(len, lines)) < 1024 * 1024 - 64:
    lines.append(b"{\"seq\":%6d,\"pad\":\"abcdefghijklmnopqrstuvwxyz\"}\n" % n)
    n += 1
data = b"".join(lines)
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
assert os.write(fd, data) == len(data)
os.close(fd)
print(n)' "$M/metrics/log" >"$WORK/n"
n=$(cat "$WORK/n")
check_eq "1 MiB write: every record" "$n" "$(wc -l <"$M/metrics/log")"
check_eq "1 MiB write: in order" ok "$(python3 -c '
import json, sys
seqs = [json.loads(l)["seq"] for l in open(sys.argv[1])]
print("ok" if seqs == list(range(len(seqs))) else "out of order")' "$M/metrics/log")"

# --- 8 concurrent writers x 500 appends each, with the shell -----------------
pfs_umount "$M"
rm -f "$F"
pfs_mount "$F" "$M" -o sync=always
i=1
while [ $i -le 8 ]; do
	sh -c '
		j=1
		while [ $j -le 500 ]; do
			echo "{\"w\":$1,\"i\":$j}" >>"$2/events/log" || exit 1
			j=$((j + 1))
		done' writer "$i" "$M" &
	writers="${writers:-} $!"
	i=$((i + 1))
done
bad=0
for p in $writers; do
	wait "$p" || bad=$((bad + 1))
done
check_eq "writers all succeeded" 0 "$bad"
check_eq "4000 records" 4000 "$(wc -l <"$M/events/log")"
check_eq "each record once, intact" "8 writers, 500 each, 4000 distinct" \
	"$(python3 -c '
import json, sys, collections
seen = collections.Counter()
per = collections.Counter()
for line in open(sys.argv[1]):
    o = json.loads(line)
    seen[(o["w"], o["i"])] += 1
    per[o["w"]] += 1
assert all(v == 1 for v in seen.values()), "duplicates"
print("%d writers, %s each, %d distinct" % (len(per), ",".join(sorted(set(str(v) for v in per.values()))), len(seen)))' "$M/events/log")"
check_eq "each writer's records in its order" ok "$(python3 -c '
import json, sys
last = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert last.get(o["w"], 0) == o["i"] - 1, line
    last[o["w"]] = o["i"]
print("ok")' "$M/events/log")"
check_eq "scan healthy after concurrent writers" healthy "$(cat "$M/scan/status")"
written=$(awk '$1 == "records_written" { print $2 }' "$M/metrics.txt")
check_eq "records_written" 4000 "$written"
fsyncs=$(awk '$1 == "fsyncs" { print $2 }' "$M/metrics.txt")
check_eq "sync=always synced" yes "$([ "${fsyncs:-0}" -ge 1 ] && echo yes || echo no)"
pfs_umount "$M"
check_eq "CLI scan healthy" 0 "$(scan_exit "$F")"
finish
