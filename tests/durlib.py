# Helpers for the durability tests (tests/dur_*.sh): mount a papyrafs in
# the foreground, drive files with single system calls so each errno is
# seen as the kernel returned it, check the backing file, count results.
# Every mount made here is cleared at exit, even when a check throws.
import atexit
import errno
import json
import os
import subprocess
import sys
import tempfile
import time

PAPYRAFS = os.environ["PAPYRAFS"]
PAPYRA = os.environ.get("PAPYRA") or os.path.join(
    os.path.dirname(PAPYRAFS), "..", "src", "papyra")
KINDS = ("event", "audit", "dead_letter", "metric")

passed = 0
failed = 0
_daemons = []


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s%s" % (what, (": " + detail) if detail else ""),
              file=sys.stderr, flush=True)
    return ok


def check_eq(what, want, got):
    return check(what, want == got, "expected %r, got %r" % (want, got))


def finish():
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(0 if failed == 0 else 1)


def errname(e):
    return errno.errorcode.get(e, str(e))


def is_mounted(mnt):
    with open("/proc/mounts") as f:
        return any(len(p) > 2 and p[1] == mnt and p[2] == "fuse.papyrafs"
                   for p in (line.split() for line in f))


def any_mount(mnt):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == mnt for line in f)


class Daemon:
    """papyrafs -f FILE MNT; start() returns False if it exited first."""

    def __init__(self, path, mnt, opts="", env=None, log=None):
        self.path, self.mnt, self.opts = path, mnt, opts
        self.env = dict(os.environ)
        self.env.pop("PAPYRA_FAULT", None)
        self.env.update(env or {})
        self.log = log
        self.proc = None
        os.makedirs(mnt, exist_ok=True)

    def start(self):
        args = [PAPYRAFS, "-f"] + (["-o", self.opts] if self.opts else [])
        self.proc = subprocess.Popen(args + [self.path, self.mnt],
                                     env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        _daemons.append(self)
        deadline = time.monotonic() + 20
        while not is_mounted(self.mnt):
            if self.proc.poll() is not None:
                self.stderr = self.proc.stderr.read().decode()
                return False
            if time.monotonic() > deadline:
                raise RuntimeError("papyrafs did not mount %s" % self.path)
            time.sleep(0.002)
        return True

    def stop(self):
        """Unmount; returns the daemon's exit status and its stderr."""
        subprocess.run(["fusermount3", "-u", self.mnt],
                       stderr=subprocess.DEVNULL)
        try:
            st = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            subprocess.run(["fusermount3", "-uz", self.mnt])
            self.proc.kill()
            st = self.proc.wait()
        self.stderr = self.proc.stderr.read().decode()
        _daemons.remove(self)
        return st


@atexit.register
def _cleanup():
    for d in list(_daemons):
        if any_mount(d.mnt):
            subprocess.run(["fusermount3", "-uz", d.mnt],
                           stderr=subprocess.DEVNULL)
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()


def write_file(path, data, flags=os.O_WRONLY | os.O_APPEND):
    """open, one write, close: "OK" or the errno name of the first failure
    (close counts: it is where a final line's error arrives)."""
    try:
        fd = os.open(path, flags)
    except OSError as e:
        return errname(e.errno)
    try:
        n = os.write(fd, data)
    except OSError as e:
        os.close(fd)
        return errname(e.errno)
    try:
        os.close(fd)
    except OSError as e:
        return errname(e.errno)
    if n != len(data):
        return "SHORT_WRITE_%d_OF_%d" % (n, len(data))
    return "OK"


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        return errname(e.errno)


def record(i, kind="event", pad=0):
    return (json.dumps({"kind": kind, "timestamp": 1700000000 + i,
                        "id": i, "pad": "p" * pad},
                       separators=(",", ":")) + "\n").encode()


def parse_lines(data):
    """(list of parsed records, torn tail bytes or b""); raises ValueError
    on a line that is not a JSON object with a known kind."""
    lines = data.split(b"\n")
    tail = lines.pop()
    recs = []
    for no, line in enumerate(lines, 1):
        try:
            r = json.loads(line)
        except ValueError:
            raise ValueError("line %d is not JSON: %r" % (no, line[:120]))
        if not isinstance(r, dict) or r.get("kind") not in KINDS:
            raise ValueError("line %d is not a record: %r" % (no, line[:120]))
        recs.append(r)
    return recs, tail


def scan_exit(path, env=None):
    e = dict(os.environ)
    e.pop("PAPYRA_FAULT", None)
    e.update(env or {})
    r = subprocess.run([PAPYRA, "persistence", "scan", "--path", path],
                       env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def papyra(args, env=None):
    e = dict(os.environ)
    e.pop("PAPYRA_FAULT", None)
    e.update(env or {})
    r = subprocess.run([PAPYRA] + args, env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return r.returncode, r.stdout.decode() + r.stderr.decode()


def workdir():
    return tempfile.mkdtemp(prefix="papyrafs-dur.",
                            dir=os.environ.get("TMPDIR", "/tmp"))
