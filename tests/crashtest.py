#!/usr/bin/env python3
# Crash test driver: kill -9 the papyrafs daemon at random points while
# writers append with sync=always, while a compaction runs under a
# retention policy and while a recovery repairs (or quarantines) a damaged
# file, then prove from the backing file and a fresh mount that every
# acknowledged append is there exactly once, that no record is torn or
# mangled, and that an interrupted rewrite left the old file or the new
# one, never a mix.  Every kill point comes from a seeded generator and is
# printed with its round when something fails, so it can be replayed with
# --seed S --first N --points 1.
#
# Usage: crashtest.py --points N [--seed S] [--first N] [--work DIR]
# Environment: PAPYRAFS (the daemon), PAPYRA (the CLI).
import argparse
import errno
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

PAPYRAFS = os.environ.get("PAPYRAFS")
PAPYRA = os.environ.get("PAPYRA")
KINDS = ("event", "audit", "dead_letter", "metric")
OLD_RECORDS = 4000   # records in the file a compaction or recovery rewrites
KEEP = 3000          # max_records for the compaction rounds
DAMAGE = [           # lines a recovery must drop (all or none after a kill)
    b'{"kind":"bogus","id":"dmg-unknown"}\n',
    b'this is not json dmg-corrupt\n',
    b'{"id":"dmg-structural","timestamp":1}\n',
    b'{"kind":"event","id":"dmg-torn"',  # torn; the first append seals it
]


class Failure(Exception):
    pass


def is_mounted(mnt):
    with open("/proc/mounts") as f:
        for line in f:
            p = line.split()
            if len(p) > 2 and p[1] == mnt and p[2] == "fuse.papyrafs":
                return True
    return False


def any_mount(mnt):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == mnt for line in f)


class Daemon:
    def __init__(self, path, mnt, opts, log):
        args = [PAPYRAFS, "-f"]
        if opts:
            args += ["-o", opts]
        self.mnt = mnt
        self.proc = subprocess.Popen(args + [path, mnt], stderr=log,
                                     stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not is_mounted(mnt):
            if self.proc.poll() is not None:
                raise Failure("papyrafs %s exited %d before mounting"
                              % (path, self.proc.returncode))
            if time.monotonic() > deadline:
                raise Failure("papyrafs %s did not mount in 20 s" % path)
            time.sleep(0.002)

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        # the stale mount stays until cleared, as for a real crash
        subprocess.run(["fusermount3", "-uz", self.mnt], check=True,
                       stderr=subprocess.DEVNULL)

    def umount(self):
        r = subprocess.run(["fusermount3", "-u", self.mnt],
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise Failure("fusermount3 -u %s: expected exit 0, got %d: %s"
                          % (self.mnt, r.returncode, r.stderr.decode()))
        st = self.proc.wait(timeout=20)
        if st != 0:
            raise Failure("papyrafs: expected exit 0 after unmount, got %d"
                          % st)


class Writer(threading.Thread):
    """Appends records until the mount goes away; acked holds the ids whose
    write() returned success, in order."""

    def __init__(self, mnt, node, name, rng, kind=None):
        super().__init__(daemon=True)
        self.path = os.path.join(mnt, node)
        self.name_ = name
        self.kind = kind
        self.rng = random.Random(rng.random())
        self.acked = []
        self.error = None
        self.stop = False

    def line(self, n):
        rec = {"id": "%s-%d" % (self.name_, n), "n": n,
               "pad": "x" * self.rng.randrange(0, 200)}
        if self.kind:
            rec = dict(kind=KINDS[n % 4], **rec)
        return json.dumps(rec, separators=(",", ":")).encode() + b"\n"

    def run(self):
        n = 0
        fd = -1
        try:
            while not self.stop:
                if fd < 0:
                    fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
                # one record per write, sometimes a batch of three
                batch = 3 if self.rng.random() < 0.2 else 1
                ids = list(range(n + 1, n + 1 + batch))
                data = b"".join(self.line(i) for i in ids)
                got = os.write(fd, data)
                if got != len(data):
                    self.error = "short write %d of %d" % (got, len(data))
                    return
                self.acked += ["%s-%d" % (self.name_, i) for i in ids]
                n += batch
                if self.rng.random() < 0.1:
                    # close() releases the fd even when it fails: forget
                    # it first so it is never closed twice
                    fd, old = -1, fd
                    os.close(old)
        except OSError as e:
            # the daemon was killed: ENOTCONN, ECONNABORTED, ENOENT ...
            self.error = e
        finally:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass


def ctl_write(path, text, result):
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, text)
        except OSError:
            os.close(fd)
            raise
        os.close(fd)
        result.append("ok")
    except OSError as e:
        result.append(errno.errorcode.get(e.errno, str(e.errno)))


def old_record(i):
    return json.dumps({"kind": KINDS[i % 4], "timestamp": 1700000000 + i,
                       "id": "old-%d" % i, "pad": "o" * (i % 50)},
                      separators=(",", ":")).encode() + b"\n"


def parse_file(path, allowed_junk):
    """The lines of the file: (records as list of ids, junk lines found,
    torn tail or None).  A line that is neither a record of ours nor an
    expected damage line is a failure: a torn or mangled record."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last '\n': empty, or a torn line
    ids, junk = [], []
    for no, line in enumerate(lines, 1):
        if line + b"\n" in allowed_junk or line in allowed_junk:
            junk.append(line)
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            raise Failure("line %d is torn or mangled: %r" % (no, line[:200]))
        if (not isinstance(rec, dict) or rec.get("kind") not in KINDS
                or "id" not in rec
                or not isinstance(rec.get("timestamp"), (int, float))):
            raise Failure("line %d is not a complete record: %r"
                          % (no, line[:200]))
        ids.append(rec["id"])
    return ids, junk, (tail if tail else None)


def check_unacked_tail(tail, writers, where):
    """A SIGKILL in the middle of a write of more than a page stops the
    kernel's copy at a page boundary (generic_perform_write checks for a
    fatal signal between pages), so the front of the batch being written
    may end the file, as after a power loss.  That write never returned:
    the torn line must belong to a record nobody was told was stored."""
    m = re.search(rb'"id":"([^"]+)"', tail)
    if not tail.startswith(b"{"):
        raise Failure("%s: torn final line is no record's start: %r"
                      % (where, tail[:100]))
    if m:
        rid = m.group(1).decode()
        for w in writers:
            if rid in w.acked:
                raise Failure("%s: acknowledged record %s is torn: %r"
                              % (where, rid, tail[:100]))


def check_acked(ids, writers, where):
    seen = {}
    for i in ids:
        if i in seen:
            raise Failure("%s: record %s present twice" % (where, i))
        seen[i] = len(seen)
    count = 0
    for w in writers:
        last = -1
        for i in w.acked:
            if i not in seen:
                raise Failure("%s: acknowledged record %s is missing"
                              % (where, i))
            if seen[i] < last:
                raise Failure("%s: acknowledged record %s out of order"
                              % (where, i))
            last = seen[i]
            count += 1
    return count


class Run:
    def __init__(self, args):
        self.args = args
        self.work = args.work or tempfile.mkdtemp(prefix="papyrafs-crash.")
        self.mnt = os.path.join(self.work, "mnt")
        self.qdir = os.path.join(self.work, "quarantine")
        os.makedirs(self.mnt, exist_ok=True)
        self.log = open(os.path.join(self.work, "daemon.log"), "ab")
        self.points = 0
        self.checked = 0
        self.failures = 0
        self.states = {}  # what the kill left: old, new, temp file present

    def note(self, what):
        self.states[what] = self.states.get(what, 0) + 1

    def round(self, no):
        rng = random.Random("%d:%d" % (self.args.seed, no))
        mode = ("append", "compact", "repair", "quarantine")[no % 4]
        path = os.path.join(self.work, "r%d.ndjson" % no)
        olds = []
        junk = []
        with open(path, "wb") as f:
            if mode == "append":
                olds = list(range(rng.randrange(0, 300)))
            else:
                olds = list(range(OLD_RECORDS))
            for i in olds:
                f.write(old_record(i))
                if mode in ("repair", "quarantine") and i in (100, 2000, 3000):
                    d = DAMAGE[len(junk)]
                    f.write(d)
                    junk.append(d)
            if mode in ("repair", "quarantine"):
                f.write(DAMAGE[3])
                junk.append(DAMAGE[3])
        old_ids = ["old-%d" % i for i in olds]

        opts = "sync=always"
        if mode == "quarantine":
            opts += ",quarantine_dir=" + self.qdir
        d = Daemon(path, self.mnt, opts, self.log)
        writers = [Writer(self.mnt, "events/log", "%d-e" % no, rng),
                   Writer(self.mnt, "audits/log", "%d-a" % no, rng),
                   Writer(self.mnt, "records", "%d-r" % no, rng, kind=True)]
        ctl = []
        action = []  # "ok" once the ctl write returned: must be the new file
        t = None
        if mode == "compact":
            ctl_write(os.path.join(self.mnt, "ctl/retention"),
                      b"max_records=%d\n" % KEEP, ctl)
        for w in writers:
            w.start()
        if mode == "append":
            delay = rng.uniform(0.001, 0.060)
            time.sleep(delay)
        else:
            time.sleep(rng.uniform(0, 0.005))
            node = "ctl/compact" if mode == "compact" else "ctl/recover"
            text = b"1\n" if mode == "compact" else mode.encode() + b"\n"
            t = threading.Thread(target=ctl_write,
                                 args=(os.path.join(self.mnt, node), text,
                                       action))
            t.start()
            delay = rng.uniform(0, self.args.window)
            time.sleep(delay)
        where = "round %d (%s, seed %d, kill after %.4f s)" % (
            no, mode, self.args.seed, delay)
        d.kill()
        for w in writers:
            w.stop = True
            w.join()
            if isinstance(w.error, str):
                raise Failure("%s: writer %s: %s" % (where, w.name_, w.error))
        if t:
            t.join()
        if mode == "compact" and ctl != ["ok"]:
            raise Failure("%s: setting the retention policy: %s" % (where, ctl))
        if action == ["ok"]:
            self.note("ctl returned")
        self.points += 1

        # --- the file as the kill left it --------------------------------
        temps = [p for p in (path + ".compact.tmp", path + ".recover.tmp")
                 if os.path.exists(p)]
        if temps:
            self.note("temp file left")
        ids, found_junk, tail = parse_file(path, junk)
        if tail is not None:
            self.note("torn final line")
        n = check_acked(ids, writers, where)
        olds_present = [i for i in ids if i.startswith("old-")]
        if mode == "compact":
            if olds_present == old_ids and action == ["ok"]:
                raise Failure("%s: ctl/compact returned but the file is the "
                              "old one" % where)
            elif olds_present == old_ids:
                self.note("compact: old file")
            elif (len(olds_present) <= KEEP
                  and olds_present == old_ids[len(old_ids) - len(olds_present):]):
                self.note("compact: new file")
            else:
                raise Failure("%s: old records are neither all %d nor the "
                              "newest <= %d: %d present, first %s"
                              % (where, len(old_ids), KEEP, len(olds_present),
                                 olds_present[:1]))
        else:
            if olds_present != old_ids:
                raise Failure("%s: expected the %d old records in order, "
                              "found %d" % (where, len(old_ids),
                                            len(olds_present)))
        if mode in ("repair", "quarantine"):
            # the torn damage line is sealed by the first append, so it
            # may show as a line of its own or as the unterminated tail
            if tail == DAMAGE[3]:
                found_junk.append(tail)
            if len(found_junk) == len(junk) and action == ["ok"]:
                raise Failure("%s: ctl/recover returned but the file is the "
                              "old one" % where)
            elif len(found_junk) == len(junk):
                self.note("recover: old file")
            elif not found_junk:
                self.note("recover: new file")
            else:
                raise Failure("%s: a mix of old and new: %d of the %d damaged "
                              "lines present" % (where, len(found_junk),
                                                 len(junk)))
        elif tail is not None:
            check_unacked_tail(tail, writers, where)

        # --- a fresh mount: leftovers gone, every ack readable once --------
        d = Daemon(path, self.mnt, "", self.log)
        for tmp in temps:
            if os.path.exists(tmp):
                raise Failure("%s: leftover %s still there after the next "
                              "mount" % (where, tmp))
        with open(os.path.join(self.mnt, "records"), "rb") as f:
            view = f.read()
        vids = [json.loads(x)["id"] for x in view.split(b"\n") if x]
        check_acked(vids, writers, where + ", through the mount")
        d.umount()
        if mode == "quarantine" and os.path.isdir(self.qdir):
            for q in os.listdir(self.qdir):
                qp = os.path.join(self.qdir, q)
                if q.startswith(".") and q.endswith(".tmp"):
                    # a copy cut short keeps its temporary name; the
                    # next quarantine removes it once its pid is gone
                    self.note("quarantine: temp copy left")
                    os.unlink(qp)
                    continue
                _, qjunk, qtail = parse_file(qp, junk)
                if qtail == DAMAGE[3]:
                    qjunk.append(qtail)
                if len(qjunk) != len(junk):
                    raise Failure("%s: quarantined %s does not hold the "
                                  "damaged file" % (where, q))
                os.unlink(qp)
        self.checked += n
        os.unlink(path)

    def run(self):
        start = time.monotonic()
        for no in range(self.args.first, self.args.first + self.args.points):
            try:
                self.round(no)
            except Failure as e:
                self.failures += 1
                print("FAIL: %s" % e, file=sys.stderr)
                print("replay: %s --seed %d --first %d --points 1"
                      % (sys.argv[0], self.args.seed, no), file=sys.stderr)
                if any_mount(self.mnt):
                    subprocess.run(["fusermount3", "-uz", self.mnt])
        took = time.monotonic() - start
        for k in sorted(self.states):
            print("  %-20s %d" % (k, self.states[k]))
        print("seed %d, %.1f s, %.1f ms per crash point"
              % (self.args.seed, took,
                 1000 * took / max(1, self.points)))
        print("crash points: %d, acknowledged records checked: %d, "
              "failures: %d" % (self.points, self.checked, self.failures))
        self.log.close()
        if self.failures == 0 and not self.args.work:
            shutil.rmtree(self.work, ignore_errors=True)
        elif self.failures:
            print("work dir kept: %s" % self.work, file=sys.stderr)
        return self.failures == 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--seed", type=int,
                    default=int.from_bytes(os.urandom(4), "little"))
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--window", type=float, default=0.008,
                    help="kill within this many seconds of a ctl write")
    ap.add_argument("--work")
    args = ap.parse_args()
    if not PAPYRAFS:
        sys.exit("PAPYRAFS must name the papyrafs binary")
    print("crashtest: seed %d, %d points from %d"
          % (args.seed, args.points, args.first), flush=True)
    ok = Run(args).run()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
