#!/bin/sh
# Permissions: ctl files are writable only by their owner (0200/0600), and
# with -o allow_other,default_permissions another user can read the logs
# and reports but gets EACCES writing logs and ctl files or reading ctl
# reports.  Quarantine writes only inside the quarantine directory as it
# was resolved at mount: `..` and a symlink in quarantine_dir name the
# directory they lead to when mounting, and swapping the symlink later
# does not redirect quarantined files.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# nobody_errno OP PATH [DATA]: as uid 65534, "OK" or the errno name of
# open+read (OP read) or open+write+close (OP write)
nobody_errno() {
	$NOBODY "$PY" -c '
import errno, os, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "read":
        fd = os.open(path, os.O_RDONLY)
        os.read(fd, 65536)
        os.close(fd)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, sys.argv[3].encode())
        finally:
            os.close(fd)
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
' "$@"
}

chmod 755 "$WORK"
F="$WORK/perm.ndjson"
M="$WORK/mnt"
printf '{"kind":"event","timestamp":1,"id":1}\n' >"$F"
pfs_mount "$F" "$M" -o allow_other,default_permissions

# --- modes and owner ----------------------------------------------------------
for n in compact recover retention; do
	check_eq "mode of ctl/$n" 600 "$(stat -c %a "$M/ctl/$n")"
done
for n in sync snapshot reset_metrics; do
	check_eq "mode of ctl/$n" 200 "$(stat -c %a "$M/ctl/$n")"
done
for n in records events/log audits/log dead_letters/log metrics/log; do
	check_eq "mode of $n" 644 "$(stat -c %a "$M/$n")"
done
for n in README inspect metrics.txt metrics.prom scan/report scan/report.json scan/status; do
	check_eq "mode of $n" 444 "$(stat -c %a "$M/$n")"
done
check_eq "owner of ctl/compact" "$(id -u):$(id -g)" "$(stat -c %u:%g "$M/ctl/compact")"

# --- another user, with allow_other,default_permissions ------------------------
check_eq "nobody reads events/log" OK "$(nobody_errno read "$M/events/log")"
check_eq "nobody reads records" OK "$(nobody_errno read "$M/records")"
check_eq "nobody reads scan/report" OK "$(nobody_errno read "$M/scan/report")"
check_eq "nobody reads inspect" OK "$(nobody_errno read "$M/inspect")"
check_eq "nobody appends to events/log" EACCES \
	"$(nobody_errno write "$M/events/log" '{"id":"nobody"}
')"
check_eq "nobody appends to records" EACCES \
	"$(nobody_errno write "$M/records" '{"kind":"event","id":"nobody"}
')"
for n in compact recover retention sync snapshot reset_metrics; do
	check_eq "nobody writes ctl/$n" EACCES \
		"$(nobody_errno write "$M/ctl/$n" repair)"
done
for n in compact recover retention; do
	check_eq "nobody reads ctl/$n" EACCES "$(nobody_errno read "$M/ctl/$n")"
done
check_eq "the refused writes stored nothing" 1 "$(wc -l <"$F")"
check_eq "nothing refused was counted as written" 0 \
	"$(awk '$1 == "records_written" { print $2 }' "$M/metrics.txt")"

# --- the owner (root) still obeys the modes -----------------------------------
expect_errno "root writes scan/report" EACCES append "$M/scan/report" <<EOF2
x
EOF2
expect_errno "root reads ctl/snapshot" EACCES read "$M/ctl/snapshot" </dev/null
expect_errno "root appends to events/log" OK append "$M/events/log" <<EOF2
{"id":2}
EOF2
pfs_umount "$M"

# --- without allow_other nobody gets in at all ---------------------------------
pfs_mount "$F" "$M"
check_eq "nobody without allow_other" EACCES "$(nobody_errno read "$M/events/log")"
pfs_umount "$M"

# --- quarantine stays inside the quarantine directory --------------------------
damage() {
	printf '{"kind":"event","timestamp":1,"id":1}\nnot json\n' >"$F"
}
quarantined_in() {
	find "$1" -name 'perm.ndjson.quarantine.*' 2>/dev/null | wc -l | tr -d ' '
}

# `..` is resolved at mount: W/a/../q means W/q
mkdir -p "$WORK/a"
damage
pfs_mount "$F" "$M" -o "quarantine_dir=$WORK/a/../q"
expect_errno "quarantine through a/../q" OK write "$M/ctl/recover" <<EOF2
quarantine
EOF2
pfs_umount "$M"
check_eq "quarantined file in W/q" 1 "$(quarantined_in "$WORK/q")"
check_eq "nothing quarantined under W/a" 0 "$(quarantined_in "$WORK/a")"
check_eq "nothing quarantined in the log's directory" 0 \
	"$(find "$WORK" -maxdepth 1 -name 'perm.ndjson.quarantine.*' | wc -l | tr -d ' ')"

# a symlink is followed at mount; swapping it afterwards changes nothing
mkdir -p "$WORK/real" "$WORK/other"
ln -s "$WORK/real" "$WORK/qlink"
damage
pfs_mount "$F" "$M" -o "quarantine_dir=$WORK/qlink"
rm "$WORK/qlink"
ln -s "$WORK/other" "$WORK/qlink"
expect_errno "quarantine through a swapped symlink" OK write "$M/ctl/recover" <<EOF2
quarantine
EOF2
pfs_umount "$M"
check_eq "quarantined into the directory the symlink named at mount" 1 \
	"$(quarantined_in "$WORK/real")"
check_eq "nothing quarantined into the symlink's new target" 0 \
	"$(quarantined_in "$WORK/other")"

# a quarantine_dir that is a file: refused, the log untouched
damage
cp "$F" "$WORK/before"
: >"$WORK/notadir"
pfs_mount "$F" "$M" -o "quarantine_dir=$WORK/notadir"
expect_errno "quarantine into a regular file" ENOTDIR write "$M/ctl/recover" <<EOF2
quarantine
EOF2
pfs_umount "$M"
check_same_file "log untouched after a refused quarantine" "$WORK/before" "$F"
finish
