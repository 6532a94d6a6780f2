# Helpers for the tests that mount a real papyrafs (tests/fs_*.sh).
#
# Sourced by each script, which then calls pfs_mount/pfs_umount, the
# check_* assertions and finally `finish`.  Environment: PAPYRAFS (the
# daemon) and PAPYRA (the CLI), as set by `make check`.  Every mount made
# here is cleared at exit even when a test fails half-way: a daemon left
# running would hold its file and a stale mountpoint would break the next
# run.

set -eu
LC_ALL=C
export LC_ALL

: "${PAPYRAFS:?PAPYRAFS must name the papyrafs binary}"
: "${PAPYRA:=$(dirname "$PAPYRAFS")/../src/papyra}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/papyrafs-test.XXXXXX")
PASSED=0
FAILED=0
MOUNTS=""      # every mountpoint used, cleared at exit
DAEMONS=""     # pids of daemons started here
DAEMON_PID=""  # the last one

cleanup() {
	set +e
	for m in $MOUNTS; do
		if grep -q " $m fuse" /proc/mounts 2>/dev/null; then
			fusermount3 -uz "$m" 2>/dev/null
		fi
	done
	for p in $DAEMONS; do
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- assertions ------------------------------------------------------------

pass() {
	PASSED=$((PASSED + 1))
}

fail() {
	echo "FAIL: $*" >&2
	FAILED=$((FAILED + 1))
}

# check_eq WHAT EXPECTED GOT
check_eq() {
	if [ "$2" = "$3" ]; then
		pass
	else
		fail "$1: expected '$2', got '$3'"
	fi
}

# check_contains WHAT NEEDLE HAYSTACK
check_contains() {
	case "$3" in
	*"$2"*) pass ;;
	*) fail "$1: expected text containing '$2', got '$3'" ;;
	esac
}

# check_status WHAT EXPECTED_EXIT_CODE COMMAND... (stdout in $WORK/out,
# stderr in $WORK/err; 124 when it ran over 60 s)
check_status() {
	what=$1
	want=$2
	shift 2
	set +e
	# a daemon that mounts when it should have refused would never return
	timeout 60 "$@" >"$WORK/out" 2>"$WORK/err"
	got=$?
	set -e
	if [ "$got" = "$want" ]; then
		pass
	else
		fail "$what: expected exit $want, got $got (stderr: $(head -c 400 "$WORK/err"))"
	fi
}

# check_same_file WHAT A B: byte-identical
check_same_file() {
	if cmp -s "$2" "$3"; then
		pass
	else
		fail "$1: expected '$3' byte-identical to '$2', $(cmp "$2" "$3" 2>&1 | head -n 1)"
	fi
}

# errno_of OP PATH < DATA: do one system call sequence on PATH with DATA from
# stdin and print OK or the errno name (ENOENT, EINVAL, ...) of the first
# call that failed.  OP: append (open O_WRONLY|O_APPEND, one write, close),
# write (O_WRONLY), trunc (O_WRONLY|O_TRUNC), rdwr, read (O_RDONLY, read),
# truncate (truncate(PATH, 0)), mkdir, unlink, create.
errno_of() {
	python3 -c '
import errno, os, sys
op, path = sys.argv[1], sys.argv[2]
flags = {"append": os.O_WRONLY | os.O_APPEND, "write": os.O_WRONLY,
         "trunc": os.O_WRONLY | os.O_TRUNC, "rdwr": os.O_RDWR,
         "read": os.O_RDONLY}
def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))
try:
    if op == "truncate":
        os.truncate(path, 0)
    elif op == "mkdir":
        os.mkdir(path)
    elif op == "unlink":
        os.unlink(path)
    elif op == "create":
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    else:
        fd = os.open(path, flags[op])
        try:
            if op == "read":
                os.read(fd, 4096)
            else:
                data = sys.stdin.buffer.read()
                if data:
                    n = os.write(fd, data)
                    if n != len(data):
                        print("SHORT_WRITE_%d_OF_%d" % (n, len(data)))
                        sys.exit(0)
        except OSError as e:
            print(name(e))
            try:
                os.close(fd)
            except OSError:
                pass
            sys.exit(0)
        os.close(fd)
except OSError as e:
    print(name(e))
    sys.exit(0)
print("OK")
' "$@"
}

# expect_errno WHAT ERRNO OP PATH < DATA
expect_errno() {
	what=$1
	want=$2
	shift 2
	got=$(errno_of "$@")
	check_eq "$what" "$want" "$got"
}

# --- mounting --------------------------------------------------------------

# is_mounted MNT: MNT is a papyrafs mount in /proc/mounts
is_mounted() {
	awk -v m="$1" '$2 == m && $3 == "fuse.papyrafs" { found = 1 }
		END { exit !found }' /proc/mounts
}

# wait_mounted MNT PID: wait until MNT is mounted while PID (the daemon)
# lives.  Returns 1 if the daemon died first or nothing came in 20 s.
wait_mounted() {
	i=0
	while ! is_mounted "$1"; do
		if [ -n "$2" ] && ! is_alive "$2"; then
			return 1
		fi
		i=$((i + 1))
		[ $i -lt 400 ] || return 1
		sleep 0.05
	done
	return 0
}

# pfs_mount FILE MNT [OPTIONS...]: run the daemon in the foreground (-f) in
# the background and wait for the mount.  Fails the script when it does not
# come up.  DAEMON_PID gets its pid; its stderr goes to $WORK/daemon.log.
pfs_mount() {
	file=$1
	mnt=$2
	shift 2
	mkdir -p "$mnt"
	MOUNTS="$MOUNTS $mnt"
	"$PAPYRAFS" -f "$@" "$file" "$mnt" 2>>"$WORK/daemon.log" &
	DAEMON_PID=$!
	DAEMONS="$DAEMONS $DAEMON_PID"
	if ! wait_mounted "$mnt" "$DAEMON_PID"; then
		echo "papyrafs did not mount $file on $mnt; its log:" >&2
		cat "$WORK/daemon.log" >&2
		exit 1
	fi
}

# pfs_mount_daemon FILE MNT [OPTIONS...]: the daemonizing form; it must exit
# 0 with the mount in place.  DAEMON_PID gets the daemon's pid.
pfs_mount_daemon() {
	file=$1
	mnt=$2
	shift 2
	mkdir -p "$mnt"
	MOUNTS="$MOUNTS $mnt"
	if ! "$PAPYRAFS" "$@" "$file" "$mnt" 2>>"$WORK/daemon.log"; then
		echo "papyrafs $file $mnt failed:" >&2
		cat "$WORK/daemon.log" >&2
		exit 1
	fi
	is_mounted "$mnt" || { echo "papyrafs exited 0 but $mnt is not mounted" >&2; exit 1; }
	DAEMON_PID=$(daemon_pid_of "$mnt")
	DAEMONS="$DAEMONS $DAEMON_PID"
}

# daemon_pid_of MNT: the papyrafs process whose command line names MNT
daemon_pid_of() {
	for p in /proc/[0-9]*; do
		[ -r "$p/cmdline" ] || continue
		cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		case "$cmd" in
		"$PAPYRAFS "*" $1 "* | "$PAPYRAFS "*" $1")
			echo "${p#/proc/}"
			return 0 ;;
		esac
	done
	return 1
}

# pfs_umount MNT [PID]: fusermount3 -u must succeed and the foreground
# daemon PID (default DAEMON_PID) must exit 0.
pfs_umount() {
	mnt=$1
	pid=${2:-$DAEMON_PID}
	if fusermount3 -u "$mnt"; then
		pass
	else
		fail "fusermount3 -u $mnt: expected exit 0"
		return 0
	fi
	if [ -n "$pid" ]; then
		set +e
		wait_gone "$pid"
		if wait "$pid" 2>/dev/null; then
			st=0
		else
			st=$?
		fi
		set -e
		# a daemonized pid is not our child: wait says 127, the pid
		# being gone is all there is to check
		if [ "$st" = 127 ]; then
			st=0
		fi
		check_eq "daemon exit status after unmount" 0 "$st"
	fi
}

# is_alive PID: the process runs (a zombie has exited: not alive)
is_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	case $(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) in
	Z | "") return 1 ;;
	esac
	return 0
}

# wait_gone PID: wait (up to 20 s) for PID to exit
wait_gone() {
	i=0
	while is_alive "$1"; do
		i=$((i + 1))
		[ $i -lt 400 ] || return 1
		sleep 0.05
	done
}

# scan_status FILE: "healthy" or "anomalies N" from the CLI (its exit code
# 0/2 ignored here, checked by callers that care).
scan_exit() {
	set +e
	"$PAPYRA" persistence scan --path "$1" >"$WORK/scan.out" 2>&1
	echo $?
	set -e
}

finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}
