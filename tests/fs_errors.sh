#!/bin/sh
# Bad input through the tree (SPEC §4): each refused with its errno, nothing
# of the request stored (the backing file byte-identical afterwards), the
# daemon still serving.  Also the errnos of operations the tree refuses.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

F="$WORK/log.ndjson"
M="$WORK/mnt"
pfs_mount "$F" "$M" -o max_record=200
echo '{"n":1}' >>"$M/events/log"
echo '{"kind":"audit","n":2}' >>"$M/records"
cp "$F" "$WORK/before"

# refused WHAT ERRNO NODE DATA: one write of DATA, the file unchanged after
refused() {
	printf "%b" "$4" | expect_errno "$1" "$2" append "$M/$3"
	check_same_file "$1: file unchanged" "$WORK/before" "$F"
}

refused "not JSON" EINVAL events/log 'not json\n'
refused "truncated JSON" EINVAL events/log '{"a":\n'
refused "not an object" EINVAL events/log '[1,2]\n'
refused "a string" EINVAL events/log '"x"\n'
refused "wrong kind" EINVAL events/log '{"kind":"audit"}\n'
refused "unknown kind" EINVAL records '{"kind":"bogus"}\n'
refused "no kind in records" EINVAL records '{"a":1}\n'
refused "kind not a string" EINVAL records '{"kind":1}\n'
refused "string timestamp" EINVAL events/log '{"timestamp":"now"}\n'
refused "null timestamp" EINVAL events/log '{"timestamp":null}\n'
refused "NaN" EINVAL events/log '{"x":NaN}\n'
refused "trailing comma" EINVAL events/log '{"x":1,}\n'
refused "NUL byte" EINVAL events/log '{"x":"a\0"}\n'
refused "bad UTF-8" EINVAL events/log '{"x":"\0377"}\n'
refused "over max_record" EMSGSIZE events/log \
	"{\"pad\":\"$(head -c 300 /dev/zero | tr '\0' x)\"}\n"
refused "one bad line among good ones" EINVAL events/log \
	'{"good":1}\n{"good":2}\nnope\n{"good":3}\n'
refused "unterminated bad final line (close)" EINVAL events/log '{"x":'
refused "unterminated tail over max_record" EMSGSIZE events/log \
	"{\"pad\":\"$(head -c 300 /dev/zero | tr '\0' x)"

rejected=$(awk '$1 == "records_rejected" { print $2 }' "$M/metrics.txt")
check_eq "records_rejected counts every refusal" yes \
	"$([ "${rejected:-0}" -ge 18 ] && echo yes || echo "no ($rejected)")"
check_eq "still serving after refusals" 2 "$(wc -l <"$M/records")"

# a good write after refusals on the same descriptor is stored
python3 -c '
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
try:
    os.write(fd, b"junk\n")
except OSError as e:
    assert e.errno == errno.EINVAL, e
os.write(fd, b"{\"after\":1}\n")
os.close(fd)' "$M/events/log"
check_contains "good write after a refused one" '"after":1' "$(cat "$M/events/log")"
cp "$F" "$WORK/before"

# --- refused operations ------------------------------------------------------
expect_errno "> on a log (O_TRUNC)" EPERM trunc "$M/events/log" </dev/null
expect_errno "truncate a log" EPERM truncate "$M/records" </dev/null
expect_errno "write a report" EACCES append "$M/scan/report" </dev/null
expect_errno "write README" EACCES append "$M/README" </dev/null
expect_errno "write metrics.txt" EACCES append "$M/metrics.txt" </dev/null
expect_errno "read ctl/sync" EACCES read "$M/ctl/sync" </dev/null
expect_errno "create a file" EACCES create "$M/events/new" </dev/null
expect_errno "mkdir" EACCES mkdir "$M/newdir" </dev/null
expect_errno "unlink a log" EACCES unlink "$M/events/log" </dev/null
expect_errno "open a missing node" ENOENT read "$M/events/nope" </dev/null
expect_errno "write a directory" EISDIR append "$M/events" </dev/null
check_same_file "refused operations change nothing" "$WORK/before" "$F"
check_eq "shell > on a log fails" refused \
	"$(sh -c "echo '{}' > '$M/events/log'" 2>/dev/null && echo accepted || echo refused)"
check_status "shell >> on a log works" 0 sh -c "echo '{}' >> '$M/events/log'"

pfs_umount "$M"
check_eq "file healthy" 0 "$(scan_exit "$F")"
finish
