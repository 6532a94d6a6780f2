#!/bin/sh
# Concurrency: several writer processes on each of the four kind logs and
# on records at once (sync=always), readers cat-ing the logs, scanners
# reading scan/report and scan/status, and a compaction (no retention
# policy, so nothing may go) in the middle.  Every line a reader sees is a
# whole JSON record, every acknowledged append is stored exactly once and
# in its writer's order, and the file scans healthy at the end.
set -eu
LC_ALL=C
export LC_ALL
: "${PAPYRAFS:?PAPYRAFS must name the papyrafs binary}"
TESTS_DIR=${TESTS_DIR:-$(dirname "$0")}
export TESTS_DIR
exec python3 - <<'PYEOF'
import json, multiprocessing as mp, os, shutil, subprocess, sys, time
sys.path.insert(0, os.environ["TESTS_DIR"])
from durlib import *

W = workdir()
MNT = os.path.join(W, "mnt")
F = os.path.join(W, "c.ndjson")
PER_WRITER = 120
NODES = [("events/log", None), ("audits/log", None),
         ("dead_letters/log", None), ("metrics/log", None),
         ("records", "any")]
# two damaged lines, so the compaction has something to rewrite
open(F, "wb").write(record(1, "event") + b"not json\n" + record(2, "audit") +
                    b'{"kind":"bogus"}\n')
d = Daemon(F, MNT, "sync=always")
check("mount", d.start())


def writer(node, any_kind, wid, ackfile):
    path = os.path.join(MNT, node)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    with open(ackfile, "w") as acks:
        for n in range(PER_WRITER):
            rec = {"w": wid, "n": n, "pad": "z" * (n % 97)}
            if any_kind:
                rec = dict(kind=KINDS[n % 4], **rec)
            data = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
            try:
                if os.write(fd, data) != len(data):
                    break
            except OSError as e:
                acks.write("ERR %s\n" % errname(e.errno))
                break
            acks.write("%s %d\n" % (wid, n))
            acks.flush()
    os.close(fd)


def reader(node, stop, out):
    bad = 0
    rounds = 0
    while not stop.is_set() or rounds == 0:
        r = subprocess.run(["cat", os.path.join(MNT, node)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rounds += 1
        if r.returncode != 0:
            bad += 1
            out.put("cat %s exited %d: %s" % (node, r.returncode, r.stderr[:200]))
            continue
        if r.stdout and not r.stdout.endswith(b"\n"):
            bad += 1
            out.put("cat %s ended in a torn line: %r" % (node, r.stdout[-100:]))
        for line in r.stdout.split(b"\n")[:-1]:
            try:
                rec = json.loads(line)
                assert isinstance(rec, dict) and rec["kind"] in KINDS
            except Exception:
                bad += 1
                out.put("cat %s returned a torn line: %r" % (node, line[:200]))
                break
    out.put("ROUNDS %s %d" % (node, rounds))


def scanner(stop, out):
    rounds = 0
    while not stop.is_set() or rounds == 0:
        rounds += 1
        rep = read_file(os.path.join(MNT, "scan/report"))
        st = read_file(os.path.join(MNT, "scan/status"))
        if not isinstance(rep, bytes) or not isinstance(st, bytes):
            out.put("scan read failed: %r %r" % (rep, st))
        elif st not in (b"healthy\n", b"anomalies 2\n"):
            out.put("scan/status during the run: %r" % st)
        js = read_file(os.path.join(MNT, "scan/report.json"))
        try:
            json.loads(js)
        except Exception:
            out.put("scan/report.json is not JSON: %r" % js[:200])
    out.put("ROUNDS scan %d" % rounds)


ctx = mp.get_context("fork")
stop = ctx.Event()
out = ctx.Queue()
procs, acks = [], []
for node, any_kind in NODES:
    for k in range(2):
        wid = "%s#%d" % (node, k)
        ackfile = os.path.join(W, "acks.%d" % len(acks))
        acks.append(ackfile)
        procs.append(ctx.Process(target=writer,
                                 args=(node, any_kind, wid, ackfile)))
watchers = [ctx.Process(target=reader, args=(n, stop, out))
            for n in ("events/log", "records", "metrics/log")]
watchers.append(ctx.Process(target=scanner, args=(stop, out)))
for p in procs + watchers:
    p.start()

# the compaction, once the writers are under way
def acked_so_far():
    total = 0
    for a in acks:
        try:
            total += sum(1 for _ in open(a))
        except OSError:
            pass
    return total
t0 = time.monotonic()
while acked_so_far() < 200 and time.monotonic() - t0 < 30:
    time.sleep(0.01)
check("writers under way before the compaction", acked_so_far() >= 200)
check_eq("compaction in the middle", "OK",
         write_file(os.path.join(MNT, "ctl/compact"), b"1\n", os.O_WRONLY))
rep = read_file(os.path.join(MNT, "ctl/compact"))
check("compaction rewrote the file (removed the 2 damaged lines)",
      isinstance(rep, bytes) and b"2" in rep, repr(rep)[:300])
for p in procs:
    p.join(120)
    check_eq("writer exit status", 0, p.exitcode)
stop.set()
for p in watchers:
    p.join(120)
    check_eq("reader exit status", 0, p.exitcode)
msgs = []
while not out.empty():
    msgs.append(out.get())
rounds = [m for m in msgs if m.startswith("ROUNDS")]
errors = [m for m in msgs if not m.startswith("ROUNDS")]
check_eq("readers and scanners saw only whole records", [], errors[:5])
check_eq("every reader reported", 4, len(rounds))

acked = []
for a in acks:
    for line in open(a):
        check("writer %s got no error" % a, not line.startswith("ERR"), line)
        if not line.startswith("ERR"):
            wid, n = line.rsplit(" ", 1)
            acked.append((wid, int(n)))
check_eq("acknowledged appends", 10 * PER_WRITER, len(acked))

def check_set(what, data):
    try:
        recs, tail = parse_lines(data)
    except ValueError as e:
        check(what + ": every line a record", False, str(e))
        return
    check_eq(what + ": no torn tail", b"", tail)
    pos = {}
    dup = 0
    for i, r in enumerate(recs):
        if "w" in r:
            key = (r["w"], r["n"])
            dup += key in pos
            pos[key] = i
    check_eq(what + ": duplicates", 0, dup)
    missing = [k for k in acked if k not in pos]
    check_eq(what + ": acknowledged records missing", [], missing[:5])
    order = all(pos[(w, n)] < pos[(w, n + 1)] for (w, n) in acked
                if (w, n + 1) in pos)
    check(what + ": each writer's records in order", order)
    check_eq(what + ": records besides the acknowledged ones", 2,
             len(recs) - len(acked))

check_set("through the mount", read_file(os.path.join(MNT, "records")))
check_eq("scan/status at the end", b"healthy\n",
         read_file(os.path.join(MNT, "scan/status")))
check_eq("daemon exit", 0, d.stop())
check_set("in the file", open(F, "rb").read())
rc, txt = scan_exit(F)
check_eq("papyra scan of the file at the end", 0, rc)
print(", ".join(m[len("ROUNDS "):] for m in rounds) + " read rounds")
shutil.rmtree(W, ignore_errors=True)
finish()
PYEOF
