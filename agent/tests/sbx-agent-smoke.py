#!/usr/bin/env python3
# Dev tool (not a meson test): speaks the sandboxd agent protocol to an agent
# and checks the basics end to end.
#
#   sbx-agent-smoke.py --listen-agent BUILDDIR/agent/sandboxd-agent
#       runs the agent in --listen mode on the host and tests it
#   sbx-agent-smoke.py --qemu IMAGEDIR [--boot-runs N]
#       boots IMAGEDIR/{vmlinuz,initrd.img,cmdline} under QEMU TCG with the
#       agent port on a unix socket, measures QEMU start -> HELLO_REPLY, tests
#   sbx-agent-smoke.py --socket PATH
#       tests an agent already reachable on PATH
#
# SPDX-License-Identifier: LGPL-2.1-or-later
import argparse
import hashlib
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

MAGIC = 0x50584253
HELLO, HELLO_REPLY, PING, PONG = 1, 2, 3, 4
EXEC, EXEC_STARTED, EXEC_FAILED, DATA, EOF, CREDIT, SIGNAL, EXIT = 16, 17, 18, 19, 20, 21, 22, 23
ERROR = 32
STDIN, STDOUT, STDERR = 0, 1, 2
F_STDIN, F_STDOUT, F_STDERR, F_MERGE, F_CLEAR_ENV, F_SET_USER, F_TIMEOUT = (
    1, 2, 4, 8, 16, 32, 64)
MAX_PAYLOAD = 64 * 1024


class Agent:
    def __init__(self, path, connect_timeout=60.0):
        deadline = time.monotonic() + connect_timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        self.buf = b""
        self.next_ch = 1

    def send(self, typ, ch, payload=b"", flags=0):
        self.s.sendall(struct.pack("<HHII", typ, flags, ch, len(payload)) + payload)

    def recv(self, timeout=30.0):
        self.s.settimeout(timeout)
        while True:
            if len(self.buf) >= 12:
                typ, flags, ch, ln = struct.unpack("<HHII", self.buf[:12])
                assert ln <= MAX_PAYLOAD, "oversized frame from agent: %d" % ln
                if len(self.buf) >= 12 + ln:
                    p = self.buf[12:12 + ln]
                    self.buf = self.buf[12 + ln:]
                    return typ, flags, ch, p
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError("agent closed the connection")
            self.buf += d

    def hello(self):
        self.send(HELLO, 0, struct.pack("<III", MAGIC, 1, 1))
        typ, _, ch, p = self.recv()
        assert typ == HELLO_REPLY and ch == 0, (typ, ch)
        magic, ver, feat = struct.unpack("<III", p[:12])
        assert magic == MAGIC and ver == 1
        return p[12:].decode()

    def exec_start(self, argv, flags=F_STDOUT | F_STDERR, env=(), cwd="", wout=256 * 1024,
                   werr=256 * 1024, timeout_ms=0, uid=0, gid=0):
        ch = self.next_ch
        self.next_ch += 1
        if timeout_ms:
            flags |= F_TIMEOUT
        p = struct.pack("<IIIIIII", flags, wout, werr, uid, gid, timeout_ms, len(argv))
        for a in argv:
            b = a.encode()
            p += struct.pack("<I", len(b)) + b
        p += struct.pack("<I", len(env))
        for e in env:
            b = e.encode()
            p += struct.pack("<I", len(b)) + b
        b = cwd.encode()
        p += struct.pack("<I", len(b)) + b
        self.send(EXEC, ch, p)
        return ch

    def run(self, argv, stdin=None, flags=None, topup=True, sink=None, **kw):
        """runs to completion; returns (exit_code, signal, flags, out, err)"""
        if flags is None:
            flags = F_STDOUT | F_STDERR | (F_STDIN if stdin is not None else 0)
        ch = self.exec_start(argv, flags=flags, **kw)
        out, err = [], []
        credit_in = 0
        sent = 0
        started = False
        while True:
            typ, fl, c, p = self.recv()
            if c != ch:
                raise AssertionError("frame %d for channel %d" % (typ, c))
            if typ == EXEC_FAILED:
                e, = struct.unpack("<i", p[:4])
                return ("failed", e, p[4:].decode())
            if typ == EXEC_STARTED:
                started = True
                pid, credit_in = struct.unpack("<II", p)
            elif typ == CREDIT:
                assert fl == STDIN
                credit_in += struct.unpack("<I", p)[0]
            elif typ == DATA:
                assert started and fl in (STDOUT, STDERR) and 1 <= len(p) <= MAX_PAYLOAD
                if sink is not None and fl == STDOUT:
                    sink(p)
                else:
                    (out if fl == STDOUT else err).append(p)
                if topup:
                    self.send(CREDIT, ch, struct.pack("<I", len(p)), flags=fl)
            elif typ == EOF:
                pass
            elif typ == EXIT:
                code, sig, xfl = struct.unpack("<iiI", p)
                return code, sig, xfl, b"".join(out), b"".join(err)
            elif typ == ERROR:
                raise AssertionError("ERROR from agent: %r" % p)
            # feed stdin within the granted credit
            if stdin is not None and started and sent <= len(stdin):
                while credit_in > 0 and sent < len(stdin):
                    n = min(credit_in, MAX_PAYLOAD, len(stdin) - sent)
                    self.send(DATA, ch, stdin[sent:sent + n], flags=STDIN)
                    sent += n
                    credit_in -= n
                if sent == len(stdin):
                    self.send(EOF, ch, flags=STDIN)
                    sent += 1


def check(name, cond, detail=""):
    print("%-44s %s %s" % (name, "ok" if cond else "FAIL", detail if not cond else ""))
    if not cond:
        check.failed += 1


check.failed = 0


def run_tests(a, tmpdir):
    ver = a.hello()
    check("handshake (agent %s)" % ver, True)
    a.send(PING, 0, b"hi")
    typ, _, _, p = a.recv()
    check("ping", typ == PONG and p == b"hi")

    r = a.run(["uname", "-a"])
    check("uname -a", r[0] == 0 and r[3].startswith(b"Linux"), r)
    print("   ", r[3].decode().strip())
    for code in (0, 1, 42):
        r = a.run(["sh", "-c", "exit %d" % code])
        check("exit code %d" % code, r[:3] == (code, 0, 0), r)
    r = a.run(["sh", "-c", "kill -9 $$"])
    check("signal death", r[0] == -1 and r[1] == 9, r)
    r = a.run(["sh", "-c", "echo out; echo err >&2"])
    check("stdout/stderr apart", r[3] == b"out\n" and r[4] == b"err\n", r)
    r = a.run(["sh", "-c", "echo out; echo err >&2"], flags=F_STDOUT | F_MERGE)
    check("stderr merged", r[3] == b"out\nerr\n" and r[4] == b"", r)
    r = a.run(["sh", "-c", 'echo "$FOO:$HOME:$PATH"'], env=["FOO=bar"])
    check("env", r[3] == b"bar:/root:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
          b"/sbin:/bin\n", r)
    r = a.run(["/bin/sh", "-c", 'echo "[$HOME]"'], flags=F_STDOUT | F_CLEAR_ENV)
    check("clear env", r[3] == b"[]\n", r)
    r = a.run(["pwd"], cwd="/tmp")
    check("cwd", r[3] == b"/tmp\n", r)
    r = a.run(["no-such-command-xyz"])
    check("not found -> EXEC_FAILED ENOENT", r[0] == "failed" and r[1] == 2, r)
    r = a.run(["true"], cwd="/no/such/dir")
    check("bad cwd -> EXEC_FAILED", r[0] == "failed" and r[1] == 2, r)

    data = os.urandom(3 * 1024 * 1024 + 17)
    r = a.run(["cat"], stdin=data)
    check("stdin through cat (3 MB)", r[0] == 0 and r[3] == data, (r[0], len(r[3])))
    r = a.run(["sh", "-c", "head -c 5 >/dev/null; echo done"], stdin=b"x" * 1000000)
    check("stdin reader exits early", r[0] == 0 and r[3] == b"done\n", r[:3])

    big = os.path.join(tmpdir, "sbx-smoke-big")
    size = 20 * 1024 * 1024
    r = a.run(["sh", "-c", "head -c %d /dev/urandom > %s && sha256sum %s" % (size, big, big)])
    want = r[3].split()[0].decode() if r[0] == 0 else "?"
    h = hashlib.sha256()
    got = [0]

    def sink(p):
        h.update(p)
        got[0] += len(p)
    t0 = time.monotonic()
    r = a.run(["cat", big], sink=sink, wout=64 * 1024)
    dt = time.monotonic() - t0
    check("20 MB stdout, sha256 matches", r[0] == 0 and got[0] == size and h.hexdigest() == want,
          (r[:3], got[0]))
    print("    %.1f MB/s" % (size / dt / 1e6))
    a.run(["rm", "-f", big])

    r = a.run(["sleep", "10"], timeout_ms=300)
    check("timeout kills the group", r[1] == 9 and r[2] == 1, r)

    # backpressure: a flood with no credit top-ups must not stop PINGs
    ch = a.exec_start(["yes"], wout=4096)
    seen = 0
    a.send(PING, 0, b"p1")
    deadline = time.monotonic() + 10
    pong = False
    while time.monotonic() < deadline and not pong:
        typ, fl, c, p = a.recv()
        if typ == DATA:
            seen += len(p)
        pong = typ == PONG
    check("flood without credit stays within window", pong and seen <= 4096, seen)
    a.send(SIGNAL, ch, struct.pack("<iI", 15, 1))
    while True:
        typ, fl, c, p = a.recv()
        if typ == DATA:
            a.send(CREDIT, ch, struct.pack("<I", 1 << 20), flags=STDOUT)
        if typ == EXIT:
            break
    check("SIGNAL ends the flood", struct.unpack("<iiI", p)[1] == 15, p)

    # protocol violations
    a.send(CREDIT, 999, struct.pack("<I", 1), flags=STDOUT)
    typ, fl, c, p = a.recv()
    check("unknown channel -> ERROR", typ == ERROR and c == 999 and p[:4] == b"\x02\0\0\0")
    ch = a.exec_start(["sleep", "5"])
    typ, _, c, _ = a.recv()
    a.send(EXEC, ch, b"\0" * 8)
    typ, _, c, p = a.recv()
    check("duplicate channel -> ERROR", typ == ERROR and c == ch, (typ, p))
    # nobody reads stdin: at most window + one pipe buffer can be granted
    ch = a.exec_start(["sleep", "5"], flags=F_STDIN | F_STDOUT)
    typ, _, c, p = a.recv()
    for _ in range(32):
        a.send(DATA, ch, b"x" * MAX_PAYLOAD, flags=STDIN)
    typ = None
    while typ != ERROR:
        typ, _, c, p = a.recv()
    check("stdin over credit -> ERROR", c == ch and p[:4] == b"\x04\0\0\0", p)
    a.s.sendall(b"\xff" * 40)
    typ, _, c, p = a.recv()
    check("garbage on channel 0 -> ERROR", typ == ERROR and c == 0, p)
    ver = a.hello()
    r = a.run(["echo", "again"])
    check("new HELLO after garbage works", r[3] == b"again\n", r)


def fuzz(path, rounds, seed=1):
    """random and mutated frames; the agent must survive and answer a new HELLO"""
    import random
    rng = random.Random(seed)
    for i in range(rounds):
        a = Agent(path)
        a.hello()
        for _ in range(50):
            kind = rng.randrange(4)
            if kind == 0:
                a.s.sendall(os.urandom(rng.randrange(1, 200)))
            else:
                typ = rng.choice([HELLO, PING, PONG, EXEC, DATA, EOF, CREDIT, SIGNAL, ERROR,
                                  EXIT, 99])
                ch = rng.choice([0, 1, 2, 7, 0xffffffff])
                if typ == EXEC and rng.randrange(2):
                    argv = rng.choice([["true"], ["cat"], ["yes"], ["sleep", "1"]])
                    b = struct.pack("<IIIIIII", rng.randrange(128), rng.randrange(1 << 17),
                                    rng.randrange(1 << 17), 0, 0, rng.randrange(300), len(argv))
                    for x in argv:
                        b += struct.pack("<I", len(x)) + x.encode()
                    b += struct.pack("<II", 0, 0)
                    if rng.randrange(3) == 0:
                        b = bytearray(b)
                        b[rng.randrange(len(b))] = rng.randrange(256)
                        b = bytes(b)
                else:
                    b = os.urandom(rng.choice([0, 1, 4, 8, 12, 100]))
                a.send(typ, ch, b, flags=rng.randrange(4))
            # drain whatever came back without blocking long
            a.s.settimeout(0.001)
            try:
                while a.s.recv(1 << 20):
                    pass
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                break
        a.s.close()
    a = Agent(path)
    a.buf = b""
    a.hello()
    r = a.run(["echo", "alive"])
    check("agent alive after %d fuzz rounds" % rounds, r[3] == b"alive\n", r)


def boot_qemu(imagedir, sock, log, memory=1024, vcpus=2, kernel="vmlinuz", append=None,
              machine="pc", bios=None):
    cmdline = append or open(os.path.join(imagedir, "cmdline")).read().strip()
    kernel = os.path.join(imagedir, kernel)
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-M", machine, "-m", str(memory),
           "-smp", str(vcpus), "-nographic", "-nodefaults", "-no-user-config", "-no-reboot",
           "-kernel", kernel, "-initrd", os.path.join(imagedir, "initrd.img"),
           "-append", cmdline, "-serial", "file:" + log,
           "-device", "virtio-serial", "-chardev",
           "socket,id=a,path=%s,server=on,wait=off" % sock,
           "-device", "virtserialport,chardev=a,name=org.sandboxd.agent.0"]
    if bios:
        cmd += ["-bios", bios]
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket")
    ap.add_argument("--listen-agent")
    ap.add_argument("--qemu")
    ap.add_argument("--boot-runs", type=int, default=1)
    ap.add_argument("--vcpus", type=int, default=2)
    ap.add_argument("--kernel", default="vmlinuz", help="vmlinuz or vmlinux (PVH)")
    ap.add_argument("--append", help="kernel command line instead of IMAGEDIR/cmdline")
    ap.add_argument("--machine", default="pc")
    ap.add_argument("--bios", help="firmware, e.g. /usr/share/qemu/qboot.rom")
    ap.add_argument("--no-tests", action="store_true", help="only measure boot time")
    ap.add_argument("--fuzz", type=int, default=0, help="also run N rounds of random frames")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sbx-smoke-")
    sock = os.path.join(tmp, "agent.sock")
    proc = None
    try:
        if args.listen_agent:
            proc = subprocess.Popen([args.listen_agent, "--listen", sock])
            run_tests(Agent(sock), tmp)
            if args.fuzz:
                fuzz(sock, args.fuzz)
        elif args.qemu:
            times = []
            cpu = []
            for i in range(args.boot_runs):
                log = os.path.join(tmp, "console.log")
                t0 = time.monotonic()
                proc = boot_qemu(args.qemu, sock, log, vcpus=args.vcpus, kernel=args.kernel,
                                 append=args.append, machine=args.machine, bios=args.bios)
                a = Agent(sock)
                a.hello()
                times.append(time.monotonic() - t0)
                # CPU time is less disturbed than wall time on a busy host
                st = open("/proc/%d/stat" % proc.pid).read().rsplit(")", 1)[1].split()
                cpu.append((int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK"))
                if i == args.boot_runs - 1 and args.no_tests:
                    n = a.run(["nproc"])
                    print("    guest nproc:", n[3].decode().strip())
                if i == args.boot_runs - 1 and not args.no_tests:
                    a.s.close()
                    # a new connection must get a fresh session
                    run_tests(Agent(sock), "/tmp")
                    r = Agent(sock)
                    r.hello()
                    n = r.run(["nproc"])
                    print("    guest nproc:", n[3].decode().strip())
                proc.terminate()
                proc.wait()
                proc = None
                if os.path.exists(sock):
                    os.unlink(sock)
            times.sort()
            cpu.sort()
            print("boot to HELLO_REPLY: runs=%d min=%.2fs median=%.2fs max=%.2fs "
                  "(qemu cpu median %.2fs)" %
                  (len(times), times[0], times[len(times) // 2], times[-1], cpu[len(cpu) // 2]))
        else:
            run_tests(Agent(args.socket), "/tmp")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
        if args.qemu and os.path.exists(os.path.join(tmp, "console.log")):
            print("console log tail:")
            print("".join(open(os.path.join(tmp, "console.log"), errors="replace")
                          .readlines()[-5:]))
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    print("%d failed" % check.failed)
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
