#!/bin/sh
# Following a log: `tail -f` and `tail -F` on a mounted log see every record
# appended after they started, in order, and `less`-style re-reads from the
# start see the same bytes as the backing file's records.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

F="$WORK/follow.ndjson"
M="$WORK/mnt"
pfs_mount "$F" "$M" -o sync=none

echo '{"n":0}' >>"$M/events/log"

# wait_lines FILE N: up to ~10 s for FILE to hold N lines
wait_lines() {
	i=0
	while [ "$(wc -l <"$1")" -lt "$2" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

for mode in -f -F; do
	out="$WORK/tail$mode.out"
	: >"$out"
	tail -n +1 $mode "$M/events/log" >"$out" &
	tail_pid=$!
	wait_lines "$out" 1
	n=1
	while [ $n -le 5 ]; do
		echo "{\"n\":$n}" >>"$M/events/log"
		# an audit in between must not show up in events/log
		echo '{"other":true}' >>"$M/audits/log"
		n=$((n + 1))
	done
	wait_lines "$out" 6
	kill "$tail_pid" 2>/dev/null || true
	wait "$tail_pid" 2>/dev/null || true
	check_eq "tail $mode sees every event in order" "0 1 2 3 4 5" \
		"$(sed 's/.*"n":\([0-9]*\).*/\1/' "$out" | tr '\n' ' ' | sed 's/ $//')"
	# the next round starts from a fresh log
	pfs_umount "$M"
	rm -f "$F"
	pfs_mount "$F" "$M" -o sync=none
	echo '{"n":0}' >>"$M/events/log"
done

# tail -n on a log equals tail -n of the stored event lines
i=1
while [ $i -le 50 ]; do
	printf '{"i":%d}\n' $i
	i=$((i + 1))
done >>"$M/events/log"
check_eq "tail -n 3 equals the last 3 stored events" \
	"$(grep '"kind":"event"' "$F" | tail -n 3)" "$(tail -n 3 "$M/events/log")"
check_eq "head -c 100 equals the first 100 bytes of the events view" \
	"$(grep '"kind":"event"' "$F" | head -c 100)" "$(head -c 100 "$M/events/log")"

pfs_umount "$M"
finish
