#!/bin/sh
# Mounting: the command line (--help, --version, missing FILE, bad option
# values), startup modes, the lock (a second mount and the CLI's rewrites
# refused naming the holder), mount(8) with -t fuse.papyrafs.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

F="$WORK/log.ndjson"
M="$WORK/mnt"
mkdir -p "$M"

# --- the command line ----------------------------------------------------------
check_status "--help exits 0" 0 "$PAPYRAFS" --help
check_contains "--help: usage" "usage: papyrafs [options] FILE MOUNTPOINT" "$(cat "$WORK/out")"
check_contains "--help: own options" "sync=MODE" "$(cat "$WORK/out")"
check_contains "--help: libfuse options" "allow_other" "$(cat "$WORK/out")"
check_status "--version exits 0" 0 "$PAPYRAFS" --version
check_contains "--version: papyrafs" "papyrafs version" "$(cat "$WORK/out")"
check_contains "--version: libfuse" "FUSE library version" "$(cat "$WORK/out")"
check_status "no arguments" 1 "$PAPYRAFS"
check_eq "missing FILE message" "papyrafs: missing FILE
see 'papyrafs --help' for usage" "$(cat "$WORK/err")"
check_status "missing MOUNTPOINT" 1 "$PAPYRAFS" "$F"
check_contains "missing MOUNTPOINT message" "missing MOUNTPOINT" "$(cat "$WORK/err")"

# bad_option OPTION=VALUE EXPECTED_TEXT
bad_option() {
	check_status "bad $1 exits 1" 1 "$PAPYRAFS" -f -o "$1" "$F" "$M"
	check_eq "bad $1 message" "papyrafs: bad value for option '${1%%=*}': '${1#*=}' (expected $2)" \
		"$(cat "$WORK/err")"
}
bad_option sync=sometimes "always, interval or none"
bad_option startup=maybe "ignore, scan_only, recover or fail_on_anomaly"
bad_option recovery=fix "repair or quarantine"
bad_option max_records=-3 "a non-negative integer or none"
bad_option max_age=old "non-negative seconds or none"
bad_option max_bytes=12Q "a size in bytes, with an optional k, M or G suffix, or none"
bad_option sync_ms=0 "a positive number of milliseconds"
bad_option max_record=big "a size in bytes, with an optional k, M or G suffix"
check_eq "bad options created nothing" no "$([ -e "$F" ] && echo yes || echo no)"
check_status "unknown option refused" 1 "$PAPYRAFS" -f -o frobnicate "$F" "$M"
check_eq "nothing left mounted" no "$(is_mounted "$M" && echo yes || echo no)"

# --- startup modes --------------------------------------------------------------
printf '{"kind":"event","timestamp":1}\nbroken\n{"kind":"audit","timestamp":2}\n' >"$F"
cp "$F" "$WORK/damaged"
check_status "fail_on_anomaly refuses to mount" 1 "$PAPYRAFS" -f -o startup=fail_on_anomaly "$F" "$M"
check_contains "fail_on_anomaly prints the anomalies" CORRUPTED_LINE "$(cat "$WORK/err")"
check_eq "fail_on_anomaly: not mounted" no "$(is_mounted "$M" && echo yes || echo no)"
check_same_file "fail_on_anomaly: file untouched" "$WORK/damaged" "$F"
check_status "fail_on_anomaly daemonized exits 1" 1 "$PAPYRAFS" -o startup=fail_on_anomaly "$F" "$M"
check_contains "daemonized: reason on stderr" CORRUPTED_LINE "$(cat "$WORK/err")"

pfs_mount "$F" "$M" -o startup=scan_only
check_eq "scan_only serves a damaged file" "anomalies 1" "$(cat "$M/scan/status")"
pfs_umount "$M"
check_same_file "scan_only: file untouched" "$WORK/damaged" "$F"

pfs_mount "$F" "$M" -o startup=recover
check_eq "recover at mount" healthy "$(cat "$M/scan/status")"
check_eq "recover at mount kept the records" 2 "$(wc -l <"$M/records")"
check_contains "startup recovery report in ctl/recover" "kept" "$(cat "$M/ctl/recover")"
pfs_umount "$M"
check_eq "file healthy after startup recover" 0 "$(scan_exit "$F")"

# --- the lock --------------------------------------------------------------------
pfs_mount_daemon "$F" "$M"
check_eq "the daemon holds the lock" "$DAEMON_PID" \
	"$(awk '$2 == "FLOCK" { print $5 }' /proc/locks | grep -x "$DAEMON_PID" || echo none)"
M2="$WORK/mnt2"
mkdir -p "$M2"
check_status "second mount of the same file refused" 1 "$PAPYRAFS" -f "$F" "$M2"
check_contains "refusal names the pid" "$DAEMON_PID" "$(cat "$WORK/err")"
check_contains "refusal names the mountpoint" "$M" "$(cat "$WORK/err")"
check_eq "second mountpoint not mounted" no "$(is_mounted "$M2" && echo yes || echo no)"
check_status "CLI recover on a mounted file refused" 1 "$PAPYRA" persistence recover --path "$F"
check_contains "CLI names the mountpoint" "$M" "$(cat "$WORK/err")"
check_status "CLI compact on a mounted file refused" 1 "$PAPYRA" persistence compact --path "$F"
check_status "CLI scan on a mounted file works" 0 "$PAPYRA" persistence scan --path "$F"
check_status "CLI inspect on a mounted file works" 0 "$PAPYRA" persistence inspect --path "$F"
echo max_records=1 >"$M/ctl/retention"
echo now >"$M/ctl/compact"
check_eq "lock follows the file through a rewrite" 1 \
	"$("$PAPYRAFS" -f "$F" "$M2" 2>&1 >/dev/null | grep -c "$DAEMON_PID")"
pfs_umount "$M"

# --- mount(8), fstab options, SIGTERM ------------------------------------------------
# mount(8) -t fuse.papyrafs and fstab lines run mount.fuse3 exactly like
# this (mount(8) itself clears PATH, so it finds an installed papyrafs
# only; the helper is run directly here with PATH naming the build).
BIN="$WORK/bin"
mkdir -p "$BIN"
ln -s "$PAPYRAFS" "$BIN/papyrafs"
check_status "mount.fuse3 -t fuse.papyrafs (mount(8)'s helper)" 0 env PATH="$BIN:$PATH" \
	mount.fuse3 "$F" "$M" -o rw,dev,suid,sync=none,noauto,_netdev,nofail,defaults,nosuid,nodev \
	-t fuse.papyrafs
check_eq "mount(8): mounted" yes "$(is_mounted "$M" && echo yes || echo no)"
check_eq "mount(8): serves the file" 1 "$(wc -l <"$M/records" 2>/dev/null || echo error)"
check_contains "mount(8): nosuid passed on" nosuid \
	"$(awk -v m="$M" '$2 == m { print $4 }' /proc/mounts)"
pid=$(daemon_pid_of "$M" || true)
DAEMONS="$DAEMONS $pid"
check_status "umount" 0 umount "$M"
wait_gone "$pid" || true

pfs_mount "$F" "$M"
kill -TERM "$DAEMON_PID"
set +e
wait "$DAEMON_PID"
st=$?
set -e
check_eq "SIGTERM: exit 0" 0 "$st"
check_eq "SIGTERM: unmounted" no "$(is_mounted "$M" && echo yes || echo no)"
check_eq "SIGTERM: file healthy" 0 "$(scan_exit "$F")"
pfs_mount "$F" "$M"
check_eq "remount after SIGTERM" 1 "$(wc -l <"$M/records")"
pfs_umount "$M"
finish
