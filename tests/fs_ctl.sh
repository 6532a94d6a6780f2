#!/bin/sh
# The scan files, the ctl files and the metrics files, on a file with
# anomalies: scan/report, report.json, status; recover (repair, quarantine,
# refused without a quarantine_dir), compact, retention, sync, snapshot,
# reset_metrics; metrics.txt and metrics.prom.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

F="$WORK/damaged.ndjson"
M="$WORK/mnt"
Q="$WORK/quarantine"
{
	echo '{"kind":"event","timestamp":1700000001.0,"n":1}'
	echo 'this is not json'
	echo '{"kind":"audit","timestamp":1700000002.0,"n":2}'
	echo '{"kind":"mystery","timestamp":1700000003.0}'
	echo '{"kind":"event","timestamp":1700000004.0,"n":3}'
	printf '{"kind":"event","timest'
} >"$F"

pfs_mount "$F" "$M"
check_eq "status with anomalies" "anomalies 3" "$(cat "$M/scan/status")"
report=$(cat "$M/scan/report")
check_contains "report names CORRUPTED_LINE" CORRUPTED_LINE "$report"
check_contains "report names UNKNOWN_KIND" UNKNOWN_KIND "$report"
check_contains "report names TRUNCATED_LINE" TRUNCATED_LINE "$report"
check_contains "report names the file" "$F" "$report"
check_eq "report size = stat size" "$(stat -c %s "$M/scan/report")" \
	"$(cat "$M/scan/report" | wc -c)"
check_eq "report.json size = stat size" "$(stat -c %s "$M/scan/report.json")" \
	"$(cat "$M/scan/report.json" | wc -c)"
check_eq "report.json" "json False 3 CORRUPTED_LINE:2,UNKNOWN_KIND:4,TRUNCATED_LINE:6" \
	"$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["backend"], r["healthy"], sum(r["records"].values()),
      ",".join("%s:%d" % (a["type"], a["line"]) for a in r["anomalies"]))' "$M/scan/report.json")"
check_eq "live records skip anomalies" 3 "$(wc -l <"$M/records")"

# reading scan files counts scans
echo x >"$M/ctl/reset_metrics"
cat "$M/scan/status" >/dev/null
cat "$M/scan/report" >/dev/null
check_eq "scans counted" 2 "$(awk '$1 == "scans" { print $2 }' "$M/metrics.txt")"

# --- recover -------------------------------------------------------------------
check_eq "recover before any" "no recovery since mount" "$(cat "$M/ctl/recover")"
printf 'quarantine\n' | expect_errno "quarantine without quarantine_dir" EINVAL write "$M/ctl/recover"
check_contains "failure remembered" "failed: " "$(cat "$M/ctl/recover")"
printf 'mend\n' | expect_errno "recover with a bad mode" EINVAL write "$M/ctl/recover"
cp "$F" "$WORK/damaged.copy"
echo repair >"$M/ctl/recover"
check_eq "healthy after repair" healthy "$(cat "$M/scan/status")"
check_eq "repair kept every record byte for byte" \
	"$(grep -E '^\{"kind":"(event|audit)","timestamp":[0-9.]+,"n":[0-9]+\}$' "$WORK/damaged.copy")" "$(cat "$F")"
check_contains "recover report readable" "kept" "$(cat "$M/ctl/recover")"
echo '{"after":"repair"}' >>"$M/events/log"
check_eq "appends after repair" 3 "$(wc -l <"$M/events/log")"
check_eq "CLI agrees: healthy" 0 "$(scan_exit "$F")"

# --- compact and retention ------------------------------------------------------
check_eq "compact before any" "no compaction since mount" "$(cat "$M/ctl/compact")"
check_eq "retention default" "max_records=none max_age=none max_bytes=none" \
	"$(cat "$M/ctl/retention")"
echo 'max_records=2' >"$M/ctl/retention"
check_eq "retention read back" "max_records=2 max_age=none max_bytes=none" \
	"$(cat "$M/ctl/retention")"
check_eq "retention hides old records" 2 "$(wc -l <"$M/records")"
check_eq "retention: records size" "$(stat -c %s "$M/records")" "$(wc -c <"$M/records")"
printf 'max_records=lots\n' | expect_errno "bad retention text" EINVAL write "$M/ctl/retention"
check_eq "bad retention left the policy" "max_records=2 max_age=none max_bytes=none" \
	"$(cat "$M/ctl/retention")"
lines_before=$(wc -l <"$F")
echo now >"$M/ctl/compact"
check_eq "compaction kept the policy's records" 2 "$(wc -l <"$F")"
check_eq "file = live view after compaction" "$(cat "$M/records")" "$(cat "$F")"
check_contains "compact report readable" "$lines_before" "$(cat "$M/ctl/compact")"
echo none >"$M/ctl/retention"
check_eq "retention cleared" "max_records=none max_age=none max_bytes=none" \
	"$(cat "$M/ctl/retention")"
check_eq "compaction removed the rest for good" 2 "$(wc -l <"$M/records")"

# --- sync, snapshot, metrics --------------------------------------------------------
echo x >"$M/ctl/reset_metrics"
echo '{"m":1}' >>"$M/events/log"
echo 1 >"$M/ctl/sync"
check_eq "metrics.txt records_written" 1 \
	"$(awk '$1 == "records_written" { print $2 }' "$M/metrics.txt")"
check_eq "metrics.txt size = stat size" "$(stat -c %s "$M/metrics.txt")" "$(wc -c <"$M/metrics.txt")"
check_contains "metrics.prom counter" "papyra_records_written_total 1" "$(cat "$M/metrics.prom")"
check_contains "metrics.prom TYPE line" "# TYPE papyra_records_written_total counter" \
	"$(cat "$M/metrics.prom")"
echo x >"$M/ctl/snapshot"
check_eq "snapshot appended a metric record" 1 "$(wc -l <"$M/metrics/log")"
check_contains "snapshot holds the counters" '"records_written":1' "$(cat "$M/metrics/log")"
echo x >"$M/ctl/reset_metrics"
check_eq "reset_metrics zeroes" 0 \
	"$(awk '$1 == "records_written" { print $2 }' "$M/metrics.txt")"
check_contains "inspect names the backend" json "$(cat "$M/inspect")"
check_contains "inspect names the file" "$F" "$(cat "$M/inspect")"
pfs_umount "$M"

# --- quarantine -----------------------------------------------------------------
cp "$WORK/damaged.copy" "$F"
pfs_mount "$F" "$M" -o quarantine_dir="$Q"
echo quarantine >"$M/ctl/recover"
check_eq "healthy after quarantine" healthy "$(cat "$M/scan/status")"
check_eq "damaged file kept in the quarantine dir" 1 "$(ls "$Q" | grep -c '^damaged.ndjson.quarantine.')"
check_same_file "quarantined copy is the damaged file" "$WORK/damaged.copy" "$(ls -d "$Q"/damaged.ndjson.quarantine.* | head -n 1)"
check_contains "report names the quarantine" "$Q" "$(cat "$M/ctl/recover")"
pfs_umount "$M"

# --- the memory backend -----------------------------------------------------------
cd "$WORK"
before=$(ls -A "$WORK" | grep -v '^daemon.log$' | tr '\n' ' ')
pfs_mount :memory: "$M"
echo '{"mem":1}' >>"$M/events/log"
check_eq "memory: append and read" 1 "$(wc -l <"$M/records")"
check_eq "memory: scan healthy" healthy "$(cat "$M/scan/status")"
echo repair >"$M/ctl/recover"
echo x >"$M/ctl/compact"
check_contains "memory: compact report" "memory" "$(cat "$M/ctl/compact")"
echo 'max_records=0' >"$M/ctl/retention"
check_eq "memory: retention" 0 "$(wc -l <"$M/records")"
check_eq "memory: source in /proc/mounts" ":memory:" \
	"$(awk -v m="$M" '$2 == m { print $1 }' /proc/mounts)"
pfs_umount "$M"
check_eq "memory: nothing on disk" "$before" "$(ls -A "$WORK" | grep -v '^daemon.log$' | tr '\n' ' ')"
cd /
finish
