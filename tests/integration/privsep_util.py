"""What test_privsep.py and test_systemd.py share: a world-readable
directory (pytest's own is root's, mode 0700, and the daemons drop root),
the system users of systemd/staplemq.sysusers, a demo PKI with its OCSP
responder, and daemons started with a command prefix (setpriv, strace)
and extra environment.

The users are made with systemd-sysusers from the file `make install`
ships, exactly as a package would, only when absent, and are left in
place: other runs may be using them.
"""
import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (BUILD, ROOT, STARTED, Daemon, free_port,
                      listener_block, run, timeout, wait_port)

BROKER_USER, FETCH_USER, GROUP = "staplemq", "staplemq-fetch", "staplemq"
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
# LeakSanitizer stops the world with ptrace at exit, which it cannot do
# under strace or under a syscall filter that denies ptrace (a unit's
# SystemCallFilter=); for those runs only (ASan builds) it is off, the
# other tests check for leaks.
NO_LEAK_CHECK_ENV = {"ASAN_OPTIONS": "detect_leaks=0"}


def ensure_users():
    """staplemq, staplemq-fetch and group staplemq, from the shipped
    sysusers.d file; returns (broker uid, fetcher uid, gid)."""
    r = run(["systemd-sysusers", str(ROOT / "systemd/staplemq.sysusers")])
    assert r.returncode == 0, r.stderr
    return (pwd.getpwnam(BROKER_USER).pw_uid,
            pwd.getpwnam(FETCH_USER).pw_uid, grp.getgrnam(GROUP).gr_gid)


class Responder:
    """etc/demo-responder.py for one PKI on 127.0.0.1:port."""

    def __init__(self, pki, port, logpath):
        self.port = port
        self.log = open(logpath, "ab")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(ROOT / "etc/demo-responder.py"),
             "--pki", str(pki), "--port", str(port)],
            stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        assert wait_port(port, 10), "responder did not start"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout(10))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class World:
    """A world-readable directory with a PKI whose AIA names a running
    responder.  Keys are owned by the broker's user, mode 0600, as the
    README says to deploy them."""

    def __init__(self):
        self.uids = ensure_users()
        self.dir = Path(tempfile.mkdtemp(prefix="staplemq-privsep-",
                                         dir="/tmp"))
        self.dir.chmod(0o755)
        self.port = free_port()
        self.pki = self.dir / "pki"
        env = dict(os.environ, OCSP_URL=f"http://127.0.0.1:{self.port}",
                   CRL_BASE_URL=f"http://127.0.0.1:{self.port}/crl")
        r = run([str(ROOT / "etc/demo-pki.sh"), str(self.pki)], env=env,
                secs=60)
        assert r.returncode == 0, r.stderr
        for p in [self.pki] + [p for p in self.pki.rglob("*")
                               if p.is_dir()]:
            p.chmod(0o755)
        for key in self.pki.glob("*.key"):
            os.chown(key, self.uids[0], self.uids[2])
            key.chmod(0o600)
        self.responder = Responder(self.pki, self.port,
                                   self.dir / "responder.log")
        self.n = 0

    def subdir(self, name):
        """A fresh world-readable directory for one test."""
        self.n += 1
        d = self.dir / f"{self.n:03d}-{name}"[:60]
        d.mkdir()
        d.chmod(0o755)
        return d

    def conf(self, d, text="", ssl_port=None, tcp_port=None,
             sandbox=True, users=True, stapling=True):
        """A configuration in d with a tcp listener and a stapling ssl
        listener; returns the path (mode 0644)."""
        text = (f'node.runtime_dir = "{d}/run"\n'
                f'node.data_dir = "{d}/data"\n'
                f'node.sandbox = {"true" if sandbox else "false"}\n' +
                (f'node.user = "{BROKER_USER}"\n'
                 f'node.fetcher_user = "{FETCH_USER}"\n'
                 f'node.group = "{GROUP}"\n' if users else "") +
                text)
        if tcp_port:
            text += listener_block("tcp", "default", tcp_port)
        if ssl_port:
            text += listener_block(
                "ssl", "default", ssl_port, self.pki,
                "  ssl_options.ocsp.enable_ocsp_stapling = true\n"
                if stapling else "")
        path = d / "staplemq.conf"
        path.write_text(text)
        path.chmod(0o644)
        return path

    def close(self):
        self.responder.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def world():
    w = World()
    yield w
    w.close()


class Proc(Daemon):
    """A daemon run with a command prefix (setpriv, strace, a helper) and
    extra environment; the log is in its directory."""

    def __init__(self, name, conf, workdir, args=(), prefix=(), env=None):
        super().__init__(name, conf, workdir, args)
        self.prefix = [str(p) for p in prefix]
        self.env = dict(os.environ, **(env or {}))
        # A restarted daemon gets a log of its own, so that nothing in
        # the previous one's is taken for its.
        n = 1
        while self.logpath.exists():
            n += 1
            self.logpath = self.workdir / f"{name}-{n}.log"

    def start(self, wait_for=STARTED):
        self.logfile = open(self.logpath, "ab")
        cmd = self.prefix + [str(BUILD / self.name), "-f", "-c",
                             str(self.conf)] + self.args
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, env=self.env,
                                     stdout=self.logfile,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        if wait_for:
            self.wait_log(wait_for)
        return self

    def pid(self):
        """The daemon's pid, also behind a prefix that forks (strace)."""
        if not self.prefix:
            return self.proc.pid
        m = re.search(rf"{self.name}\[(\d+)\]", self.log())
        return int(m.group(1)) if m else self.proc.pid

    def signal(self, sig):
        """To the daemon itself: strace would take it for itself."""
        try:
            os.kill(self.pid(), sig)
        except ProcessLookupError:
            pass

    def stop(self, secs=10.0):
        """SIGTERM to the daemon (not to strace, which would detach and
        leave it running), then wait for the whole command."""
        if self.proc is None:
            return None
        pid = self.pid()
        if self.proc.poll() is None and pid != self.proc.pid:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout(secs))
            except subprocess.TimeoutExpired:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return super().stop(secs)

    def status(self):
        """/proc/PID/status of the daemon as a dict."""
        text = Path(f"/proc/{self.pid()}/status").read_text()
        return dict(ln.split(":\t", 1) for ln in text.splitlines()
                    if ":\t" in ln)


@pytest.fixture
def procs():
    """Factory for Proc daemons, stopped after the test; a sanitizer
    report in a log fails the test, as in conftest's daemons."""
    started = []

    def make(name, conf, args=(), prefix=(), env=None, wait_for=STARTED,
             workdir=None):
        d = Proc(name, conf, workdir or Path(conf).parent, args, prefix,
                 env)
        started.append(d)
        return d.start(wait_for)

    yield make
    for d in started:
        d.stop()
    for d in started:
        log = d.log()
        for marker in SANITIZER_MARKERS:
            assert marker not in log, f"{d.name}: {marker}:\n{log}"


def s_client(port, pki, *args):
    r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
             "-status", "-CAfile", str(pki / "ca.pem"), *args],
            input="", secs=15)
    return r.stdout + r.stderr


def stapled(text):
    return ("OCSP Response Status: successful" in text and
            "Cert Status: good" in text)


def mqtt_roundtrip(port, topic="privsep/x", message="hello", tls_pki=None):
    """mosquitto_sub, then mosquitto_pub until it hears; the received
    message, or "" when nothing came through in time.  A subscriber that
    ends early (its connection refused under load) is started again."""
    tls = ["--cafile", str(tls_pki / "ca.pem")] if tls_pki else []
    deadline = time.monotonic() + timeout(30)
    while time.monotonic() < deadline:
        sub = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-t",
             topic, "-C", "1", "-W", str(int(timeout(10)))] + tls,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(timeout(0.3))
        try:
            while time.monotonic() < deadline:
                run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port),
                     "-t", topic, "-m", message] + tls)
                try:
                    out, _ = sub.communicate(timeout=timeout(1))
                except subprocess.TimeoutExpired:
                    continue
                if out.strip():
                    return out.strip()
                break           # it ended without a message: again
        finally:
            if sub.poll() is None:
                sub.kill()
                sub.communicate()
        time.sleep(0.2)
    return ""
