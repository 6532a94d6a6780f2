#!/bin/sh
# Injected I/O faults (PAPYRA_FAULT) along an append, a compaction and a
# recovery, through the mount and through the CLI, and a real full disk:
# the writer or the ctl write gets the errno, the backing file holds the
# old bytes or exactly the acknowledged records, a failed fdatasync turns
# every write-side node to EROFS while reads keep working, a remount works
# again, and a full tmpfs leaves no partial record and recovers once space
# is freed.
set -eu
LC_ALL=C
export LC_ALL
: "${PAPYRAFS:?PAPYRAFS must name the papyrafs binary}"
TESTS_DIR=${TESTS_DIR:-$(dirname "$0")}
export TESTS_DIR
exec python3 - <<'PYEOF'
import os, shutil, subprocess, sys, time
sys.path.insert(0, os.environ["TESTS_DIR"])
from durlib import *

W = workdir()
MNT = os.path.join(W, "mnt")
injected = 0


def snapshot(n, pad=20):
    return b"".join(record(i, KINDS[i % 4], pad) for i in range(n))


LAST = {}


def mount(path, opts="", fault=None):
    d = Daemon(path, MNT, opts, env={"PAPYRA_FAULT": fault} if fault else None)
    LAST["d"] = d
    return d if d.start() else None


def temps(path):
    return [p for p in (path + ".compact.tmp", path + ".recover.tmp")
            if os.path.exists(p)]


# --- 1. appends: a failed write leaves exactly the acknowledged records ----
for err in ("ENOSPC", "EIO", "EFBIG"):
    for n in range(1, 5):
        F = os.path.join(W, "w.ndjson")
        base = snapshot(3)
        open(F, "wb").write(base)
        fault = "write:%d:%s" % (n, err)
        d = mount(F, "sync=always", fault)
        want = base
        for k in range(1, 6):
            rec = record(100 + k)
            got = write_file(os.path.join(MNT, "events/log"), rec)
            check_eq("%s: append %d" % (fault, k), err if k == n else "OK", got)
            if got == err:
                injected += 1
            if got == "OK":
                want += rec
        check_eq("%s: daemon exit" % fault, 0, d.stop())
        check("%s: file holds exactly the acknowledged records" % fault,
              open(F, "rb").read() == want)

# --- 2. a failed fdatasync latches: EROFS for writes, reads keep working ---
for n in range(1, 4):
    F = os.path.join(W, "s.ndjson")
    base = snapshot(3)
    open(F, "wb").write(base)
    fault = "fdatasync:%d:EIO" % n
    d = mount(F, "sync=always", fault)
    acked, failed_rec = [], None
    for k in range(1, 6):
        rec = record(200 + k)
        got = write_file(os.path.join(MNT, "events/log"), rec)
        want = "OK" if k < n else ("EIO" if k == n else "EROFS")
        check_eq("%s: append %d" % (fault, k), want, got)
        if got == "EIO":
            injected += 1
            failed_rec = rec
        if got == "OK":
            acked.append(rec)
    for node, text in (("ctl/snapshot", b"1\n"), ("ctl/compact", b"1\n"),
                       ("ctl/recover", b"repair\n"), ("records",
                       record(300, "audit")), ("audits/log", record(301, "audit"))):
        check_eq("%s: write to %s after the failed fdatasync" % (fault, node),
                 "EROFS", write_file(os.path.join(MNT, node), text,
                                     os.O_WRONLY | os.O_APPEND))
    view = read_file(os.path.join(MNT, "events/log"))
    check("%s: events/log still readable" % fault, isinstance(view, bytes),
          repr(view))
    if isinstance(view, bytes):
        check("%s: reads show every acknowledged record" % fault,
              all(r in view for r in acked))
    insp = read_file(os.path.join(MNT, "inspect"))
    check("%s: inspect says why writes are refused" % fault,
          isinstance(insp, bytes) and b"refuses writes" in insp, repr(insp)[:300])
    st = d.stop()
    check_eq("%s: daemon exit" % fault, 0, st)
    check("%s: the daemon said why on stderr" % fault,
          "fdatasync" in d.stderr or "sync" in d.stderr, d.stderr[:300])
    data = open(F, "rb").read()
    check("%s: file starts with the acknowledged records" % fault,
          data.startswith(base + b"".join(acked)))
    rest = data[len(base + b"".join(acked)):]
    check("%s: the failed append is there at most once, nothing else" % fault,
          rest in (b"", failed_rec), repr(rest))
    d = mount(F, "sync=always")
    check_eq("%s: append after remount" % fault, "OK",
             write_file(os.path.join(MNT, "events/log"), record(400)))
    check_eq("%s: daemon exit after remount" % fault, 0, d.stop())
    check("%s: remounted append stored" % fault,
          open(F, "rb").read() == data + record(400))

# --- 3. compaction and recovery under faults, through the mount -----------
DAMAGED = (snapshot(20)[:0] + b"".join(
    record(i) + (b"{\"kind\":\"nope\"}\nnot json\n" if i == 10 else b"")
    for i in range(40)) + b"{\"kind\":\"event\",")


def expected(action, data):
    """What the CLI makes of data with no fault: the new file."""
    p = os.path.join(W, "expect.ndjson")
    open(p, "wb").write(data)
    if action == "compact":
        rc, out = papyra(["persistence", "compact", "--path", p,
                          "--max-records", "30"])
    else:
        rc, out = papyra(["persistence", "recover", "--path", p])
    check_eq("CLI %s without faults" % action, 0, rc)
    return open(p, "rb").read()


ERR = {"open": "ENOSPC", "write": "ENOSPC", "fsync": "EIO", "rename": "EIO",
       "read": "EIO", "ftruncate": "EIO", "fdatasync": "EIO"}
CASES = [("compact", snapshot(50), "max_records=30", b"1\n",
          ("open", "write", "fsync", "rename", "ftruncate", "fdatasync")),
         ("repair", DAMAGED, "", b"repair\n",
          ("open", "write", "fsync", "rename", "ftruncate", "fdatasync")),
         ("quarantine", DAMAGED, "quarantine_dir=" + os.path.join(W, "q"),
          b"quarantine\n", ("open", "read", "write", "fsync", "rename"))]
for action, old, opts, text, ops in CASES:
    new = expected("compact" if action == "compact" else "recover", old)
    check("%s changes the file" % action, new != old)
    node = "ctl/compact" if action == "compact" else "ctl/recover"
    for op in ops:
        for n in range(1, 9):
            F = os.path.join(W, "m.ndjson")
            shutil.rmtree(os.path.join(W, "q"), ignore_errors=True)
            open(F, "wb").write(old)
            fault = "%s:%d:%s" % (op, n, ERR[op])
            what = "%s under %s" % (action, fault)
            d = mount(F, opts, fault)
            if d is None:
                # the fault hit the mount itself: refused, nothing touched
                check_eq("%s: refused mount exit status" % what, 1,
                         LAST["d"].proc.returncode)
                check("%s: refused mount says why" % what,
                      os.strerror(getattr(__import__("errno"), ERR[op]))
                      in LAST["d"].stderr, LAST["d"].stderr[:300])
                check("%s: file untouched by the refused mount" % what,
                      open(F, "rb").read() == old)
                injected += 1
                continue
            got = write_file(os.path.join(MNT, node), text, os.O_WRONLY)
            data = open(F, "rb").read()
            tmp_left = temps(F)
            latched = b"refuses writes" in (read_file(os.path.join(MNT, "inspect")) or b"")
            after = write_file(os.path.join(MNT, "events/log"), record(999))
            st = d.stop()
            check_eq("%s: daemon exit" % what, 0, st)
            check_eq("%s: no temporary file left" % what, [], tmp_left)
            if got == "OK":
                check("%s: succeeded with the new file" % what, data == new)
                # the fault point lies beyond this action: it hits the
                # append that follows, or nothing
                check("%s: append after success" % what,
                      after in ("OK", ERR[op]), after)
                if after != "OK":
                    injected += 1
                break
            injected += 1
            check_eq("%s: ctl write errno" % what, ERR[op], got)
            if data == old:
                check_eq("%s: append after the refused action" % what,
                         "OK", after)
                check("%s: file is the old one plus that append" % what,
                      open(F, "rb").read() in (old + record(999),
                                               old + b"\n" + record(999)))
            else:
                # only a failure after the rename (directory fsync) may
                # leave the new file, and then the log is latched
                check("%s: file is the old or the new one" % what,
                      data == new, "%d bytes" % len(data))
                check("%s: new file kept after the rename: latched" % what,
                      latched and after == "EROFS", "after=%s" % after)
            q = os.path.join(W, "q")
            if data == old and os.path.isdir(q):
                check_eq("%s: nothing left in the quarantine dir" % what,
                         [], os.listdir(q))
        else:
            check("%s: %s loop ended with a successful action" % (action, op),
                  False)

# --- 3b. the directory fsync of a compaction fails under live appenders:
# the new file stays but the log latches; no writer may be told OK for a
# record that only the failed rename would have made durable
import threading
F = os.path.join(W, "race.ndjson")
old = b"".join(record(i) for i in range(20000)) + b"junk\n"
open(F, "wb").write(old)
d = mount(F, "sync=always", "fsync:2:EIO")
res = {}


def racer(k):
    out = []
    for n in range(100000):
        rec = record(1000000 * (k + 1) + n)
        r = write_file(os.path.join(MNT, "events/log"), rec)
        out.append((r, rec))
        if r != "OK":
            break
    res[k] = out


ts = [threading.Thread(target=racer, args=(k,)) for k in range(8)]
for t in ts:
    t.start()
time.sleep(0.05)
got = write_file(os.path.join(MNT, "ctl/compact"), b"1\n", os.O_WRONLY)
for t in ts:
    t.join()
check_eq("compaction whose directory fsync fails", "EIO", got)
injected += 1
check_eq("daemon exit", 0, d.stop())
data = open(F, "rb").read()
check("the rewritten file was kept (junk line gone)", b"junk" not in data)
for k, out in res.items():
    check("appender %d ends with EIO or EROFS" % k,
          out[-1][0] in ("EIO", "EROFS"), out[-1][0])
    acked = [rec for r, rec in out if r == "OK"]
    check("appender %d: every acknowledged record stored once" % k,
          all(data.count(rec) == 1 for rec in acked))

# --- 4. the same through the CLI -------------------------------------------
for action, old, args, ops in (
        ("compact", snapshot(50), ["--max-records", "30"],
         ("open", "write", "fsync", "rename")),
        ("recover", DAMAGED, [], ("open", "write", "fsync", "rename")),
        ("recover", DAMAGED, ["--mode", "quarantine", "--quarantine-dir",
                              os.path.join(W, "cq")],
         ("open", "read", "write", "fsync", "rename"))):
    new = expected(action, old)
    for op in ops:
        for n in range(1, 9):
            F = os.path.join(W, "c.ndjson")
            shutil.rmtree(os.path.join(W, "cq"), ignore_errors=True)
            open(F, "wb").write(old)
            fault = "%s:%d:%s" % (op, n, ERR[op])
            what = "papyra %s %s under %s" % (action, " ".join(args[:2]), fault)
            rc, out = papyra(["persistence", action, "--path", F] + args,
                             {"PAPYRA_FAULT": fault})
            data = open(F, "rb").read()
            check_eq("%s: no temporary file left" % what, [], temps(F))
            if rc == 0:
                check("%s: exit 0 with the new file" % what, data == new)
                break
            injected += 1
            check_eq("%s: exit status" % what, 1, rc)
            check("%s: says what failed" % what,
                  os.strerror(getattr(__import__("errno"), ERR[op])) in out,
                  out[:300])
            check("%s: file is the old one" % what, data == old
                  or (op == "fsync" and data == new), "%d bytes" % len(data))
        else:
            check("%s: loop ended with success" % what, False)

# --- 5. a real full disk: a 512 KiB tmpfs -----------------------------------
T = os.path.join(W, "tiny")
os.makedirs(T)
if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", T],
                  stderr=subprocess.DEVNULL).returncode != 0:
    print("skipping the full-disk part: cannot mount a tmpfs", file=sys.stderr)
else:
    try:
        filler = os.path.join(T, "filler")
        open(filler, "wb").write(b"x" * 96 * 1024)
        F = os.path.join(T, "full.ndjson")
        d = mount(F, "sync=always")
        acked, got, i = [], "OK", 0
        while got == "OK" and i < 2000:
            rec = record(i, "event", 900)
            got = write_file(os.path.join(MNT, "events/log"), rec)
            if got == "OK":
                acked.append(rec)
            i += 1
        check_eq("full tmpfs: the append that does not fit", "ENOSPC", got)
        injected += 1
        check("full tmpfs: appends were acknowledged before", len(acked) > 100)
        # a batch too large for what is left fails whole
        got2 = write_file(os.path.join(MNT, "events/log"),
                          b"".join(record(5000 + j, "event", 900)
                                   for j in range(3)))
        check_eq("full tmpfs: a batch that does not fit", "ENOSPC", got2)
        data = open(F, "rb").read()
        check("full tmpfs: file holds exactly the acknowledged records",
              data == b"".join(acked), "%d bytes, %d expected"
              % (len(data), len(b"".join(acked))))
        rc, out = scan_exit(F)
        check_eq("full tmpfs: scan healthy (" + out.strip()[:200] + ")", 0, rc)
        status = read_file(os.path.join(MNT, "scan/status"))
        check_eq("full tmpfs: scan/status", b"healthy\n", status)
        # compaction needs room for its temporary file: refused, untouched
        write_file(os.path.join(MNT, "ctl/retention"), b"max_records=10\n",
                   os.O_WRONLY)
        got = write_file(os.path.join(MNT, "ctl/compact"), b"1\n", os.O_WRONLY)
        if got != "OK":
            check_eq("full tmpfs: compaction errno", "ENOSPC", got)
            check("full tmpfs: failed compaction left the file",
                  open(F, "rb").read() == data)
            check_eq("full tmpfs: no temporary file", [], temps(F))
        write_file(os.path.join(MNT, "ctl/retention"), b"max_records=none\n",
                   os.O_WRONLY)
        os.unlink(filler)
        rec = record(9999, "event", 900)
        check_eq("full tmpfs: append after freeing space", "OK",
                 write_file(os.path.join(MNT, "events/log"), rec))
        check_eq("full tmpfs: daemon exit", 0, d.stop())
        data2 = open(F, "rb").read()
        check("full tmpfs: new record stored after the old ones",
              data2.endswith(rec) and data2.count(b"\n") ==
              data.count(b"\n") + 1 or got == "OK")
        rc, out = scan_exit(F)
        check_eq("full tmpfs: scan healthy at the end", 0, rc)
    finally:
        for x in list(_daemons) if False else []:
            pass
        subprocess.run(["umount", "-l", T], stderr=subprocess.DEVNULL)

print("faults injected: %d" % injected)
shutil.rmtree(W, ignore_errors=True)
finish()
PYEOF
