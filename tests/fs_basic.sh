#!/bin/sh
# papyrafs basics: the tree, appends with ordinary shell tools to every log,
# reads (cat, tail, wc -c against stat), the stored form, unmount.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

F="$WORK/events.ndjson"
M="$WORK/mnt"
pfs_mount "$F" "$M"

# --- the tree ----------------------------------------------------------------
check_eq "file created at mount" yes "$([ -f "$F" ] && echo yes || echo no)"
check_eq "root listing" \
	"README audits ctl dead_letters events inspect metrics metrics.prom metrics.txt records scan" \
	"$(ls "$M" | tr '\n' ' ' | sed 's/ $//')"
check_eq "ctl listing" "compact recover reset_metrics retention snapshot sync" \
	"$(ls "$M/ctl" | tr '\n' ' ' | sed 's/ $//')"
check_eq "scan listing" "report report.json status" \
	"$(ls "$M/scan" | tr '\n' ' ' | sed 's/ $//')"
check_eq "log mode" 644 "$(stat -c %a "$M/events/log")"
check_eq "records mode" 644 "$(stat -c %a "$M/records")"
check_eq "report mode" 444 "$(stat -c %a "$M/scan/report")"
check_eq "README mode" 444 "$(stat -c %a "$M/README")"
check_eq "ctl/sync mode" 200 "$(stat -c %a "$M/ctl/sync")"
check_eq "ctl/recover mode" 600 "$(stat -c %a "$M/ctl/recover")"
check_eq "dir mode" 755 "$(stat -c %a "$M/events")"
check_eq "owner" "$(id -u)" "$(stat -c %u "$M/events/log")"
check_eq "mount source is the file" "$F fuse.papyrafs" \
	"$(awk -v m="$M" '$2 == m { print $1, $3 }' /proc/mounts)"
check_contains "README explains appending" ">> events/log" "$(cat "$M/README")"
check_eq "README size = stat size" "$(stat -c %s "$M/README")" "$(wc -c <"$M/README")"
check_eq "empty log reads nothing" "" "$(cat "$M/events/log")"
check_eq "empty log size" 0 "$(stat -c %s "$M/events/log")"
check_eq "unknown path" ENOENT "$(errno_of read "$M/nope" </dev/null)"

# --- appends -----------------------------------------------------------------
echo '{"actor":"a1","type":"started"}' >>"$M/events/log"
printf '{"actor":"a1","type":"no-newline"}' >>"$M/events/log"
printf '{"who":"ops","timestamp":1700000000.5}\n' >>"$M/audits/log"
echo '{"to":"a9"}' >>"$M/dead_letters/log"
echo '{"cpu":0.5}' >>"$M/metrics/log"
echo '{"kind":"event","actor":"a2","type":"via-records"}' >>"$M/records"
printf '{"a":1}\n\n{"a":2}\n' >"$WORK/batch"
cat "$WORK/batch" >>"$M/events/log"

check_eq "events count" 5 "$(wc -l <"$M/events/log")"
check_eq "audits count" 1 "$(wc -l <"$M/audits/log")"
check_eq "dead_letters count" 1 "$(wc -l <"$M/dead_letters/log")"
check_eq "metrics count" 1 "$(wc -l <"$M/metrics/log")"
check_eq "records count" 8 "$(wc -l <"$M/records")"
check_eq "tail -n 1" '{"kind":"event"' "$(tail -n 1 "$M/events/log" | cut -c1-15)"
check_contains "tail -n 1 is the last record" '"a":2}' "$(tail -n 1 "$M/events/log")"
check_contains "printf without newline stored" '"type":"no-newline"' "$(cat "$M/events/log")"
check_eq "kind first, timestamp kept" '{"kind":"audit","who":"ops","timestamp":1700000000.5}' \
	"$(cat "$M/audits/log")"
check_contains "timestamp added" '{"kind":"dead_letter","timestamp":' "$(cat "$M/dead_letters/log")"
for f in records events/log audits/log dead_letters/log metrics/log; do
	check_eq "wc -c = stat size ($f)" "$(stat -c %s "$M/$f")" "$(wc -c <"$M/$f")"
done
check_eq "records = the file" "$(cat "$F")" "$(cat "$M/records")"
check_eq "events/log = event lines of the file" \
	"$(grep '^{"kind":"event"' "$F")" "$(cat "$M/events/log")"
check_eq "blank line ignored" 8 "$(wc -l <"$F")"

# reads at any offset, in small pieces
check_eq "dd in 7-byte blocks" "$(cat "$M/records")" \
	"$(dd if="$M/records" bs=7 2>/dev/null)"
size=$(stat -c %s "$M/records")
check_eq "read past the end" 0 "$(dd if="$M/records" bs=1 skip=$((size + 10)) 2>/dev/null | wc -c)"

# every record is valid for Papyra: an object with kind and numeric timestamp
check_eq "stored records valid" ok "$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert list(o)[0] == "kind", line
    assert isinstance(o["timestamp"], (int, float)), line
print("ok")' "$F")"

# --- one persistent descriptor: a record split across writes -----------------
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
os.write(fd, b"{\"part\":")
os.write(fd, b"\"one\"}\n{\"part\":\"tw")
os.write(fd, b"o\"}")
os.close(fd)' "$M/events/log"
check_eq "split records" 2 "$(grep -c '"part"' "$M/events/log")"

check_eq "scan healthy" "healthy" "$(cat "$M/scan/status")"
pfs_umount "$M"
check_eq "unmounted" no "$(is_mounted "$M" && echo yes || echo no)"
check_eq "CLI scan after unmount" 0 "$(scan_exit "$F")"

# --- daemonized mount --------------------------------------------------------
pfs_mount_daemon "$F" "$M"
check_eq "daemon serves the same file" 10 "$(wc -l <"$M/records")"
check_contains "lock held by the daemon itself" "$DAEMON_PID" \
	"$(awk '{ print $5 }' /proc/locks)"
check_eq "daemon detached from the session" "$DAEMON_PID" \
	"$(ps -o sid= -p "$DAEMON_PID" | tr -d ' ')"
pfs_umount "$M"
check_eq "daemon gone after unmount" no \
	"$(is_alive "$DAEMON_PID" && echo yes || echo no)"

finish
