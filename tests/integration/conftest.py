"""Fixtures for staplemq's integration tests.

Every test runs the real daemons on 127.0.0.1 with ports picked at run
time, in its own temporary directory, and stops what it started by pid.
Environment switches (as nginx-tests has them):
  STAPLEMQ_BUILD         directory holding the binaries (default ./build)
  STAPLEMQ_TIMEOUT_MULT  multiply every wait, e.g. 4 under sanitizers
"""
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("STAPLEMQ_BUILD", ROOT / "build"))
MULT = float(os.environ.get("STAPLEMQ_TIMEOUT_MULT", "1"))
# The daemon's own "staplemq-broker 0.1.0 started" line, which comes after
# the sandbox; a bare "started" would also match "not started as root".
STARTED = r"staplemq-\w+ \S+ started"


def timeout(seconds):
    """Scale a wait for slow builds (sanitizers) in one place."""
    return seconds * MULT


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred, secs=15.0):
    """Poll pred until it is true (True) or the time is up (False)."""
    deadline = time.monotonic() + timeout(secs)
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def wait_port(port, secs=5.0):
    """Wait until something accepts on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout(secs)
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def run(args, secs=20, **kw):
    """Run a command to completion, bounded in time, text output."""
    return subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout(secs), **kw)


class Daemon:
    """One staplemq daemon in the foreground with its log in a file."""

    def __init__(self, name, conf, workdir, args=()):
        self.name = name
        self.conf = conf
        self.workdir = Path(workdir)
        self.logpath = self.workdir / f"{name}.log"
        self.args = list(args)
        self.proc = None

    def start(self, wait_for=STARTED):
        self.logfile = open(self.logpath, "ab")
        cmd = [str(BUILD / self.name), "-f", "-c", str(self.conf)]
        self.proc = subprocess.Popen(cmd + self.args, cwd=self.workdir,
                                     stdout=self.logfile,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        if wait_for:
            self.wait_log(wait_for)
        return self

    def log(self):
        return self.logpath.read_text(errors="replace")

    def wait_log(self, pattern, secs=10.0, count=1):
        """Wait until pattern appears count times in the log."""
        deadline = time.monotonic() + timeout(secs)
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            if len(rx.findall(self.log())) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"{self.name}: no /{pattern}/ in log "
                             f"(exit {self.proc.poll()}):\n{self.log()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, secs=10.0):
        """SIGTERM, wait, and return the exit code (SIGKILL if stuck)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout(secs))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()
        return self.proc.returncode


@pytest.fixture
def daemons(tmp_path):
    """Factory for daemons; stops every one of them after the test."""
    started = []

    def make(name, conf, args=(), wait_for=STARTED):
        d = Daemon(name, conf, tmp_path, args)
        started.append(d)
        return d.start(wait_for)

    yield make
    for d in started:
        d.stop()
    # Under `make asan` a sanitizer report is a failure of the test.
    for d in started:
        log = d.log()
        for marker in ("AddressSanitizer", "LeakSanitizer",
                       "runtime error:"):
            assert marker not in log, f"{d.name}: {marker}:\n{log}"


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The demo PKI, made once per run by etc/demo-pki.sh."""
    out = tmp_path_factory.mktemp("pki")
    env = dict(os.environ, OCSP_URL=f"http://127.0.0.1:{free_port()}",
               CRL_BASE_URL=f"http://127.0.0.1:{free_port()}/crl")
    r = run([str(ROOT / "etc/demo-pki.sh"), str(out)], env=env, secs=60)
    assert r.returncode == 0, r.stderr
    return out


def listener_block(kind, name, port, pki=None, extra=""):
    """One listener in staplemq.conf syntax."""
    text = f'listeners.{kind}.{name} {{\n  bind = "127.0.0.1:{port}"\n'
    if kind == "ssl":
        text += (f'  ssl_options.certfile = ["{pki}/server-rsa.pem", '
                 f'"{pki}/server-ec.pem"]\n'
                 f'  ssl_options.keyfile = ["{pki}/server-rsa.key", '
                 f'"{pki}/server-ec.key"]\n'
                 f'  ssl_options.cacertfile = "{pki}/cacert.pem"\n')
    return text + extra + "}\n"


@pytest.fixture
def conf_factory(tmp_path):
    """Write a configuration into the test's directory; returns its path.

    The tests run as root and re-read root-owned 0600 files on SIGHUP, so
    the daemons run without their sandbox (node.sandbox = false, added at
    the end to keep line numbers) unless a test asks for it: the sandbox
    has its own tests, test_privsep.py."""
    def write(text, name="staplemq.conf", sandbox=False):
        path = tmp_path / name
        base = (f'node.runtime_dir = "{tmp_path}/run"\n'
                f'node.data_dir = "{tmp_path}/data"\n')
        tail = "" if sandbox else "\nnode.sandbox = false\n"
        path.write_text(base + text + tail)
        return path
    return write


@pytest.fixture
def broker_factory(daemons, conf_factory, pki):
    """Start a broker with a tcp listener (and an ssl one if asked);
    the daemon gets .tcp and .ssl port attributes."""
    def start(extra="", ssl=False, tcp_extra="", ssl_extra="",
              wait_for=STARTED):
        tcp_port, ssl_port = free_port(), free_port()
        text = listener_block("tcp", "default", tcp_port, extra=tcp_extra)
        if ssl:
            text += listener_block("ssl", "default", ssl_port, pki,
                                   extra=ssl_extra)
        d = daemons("staplemq-broker", conf_factory(text + extra),
                    wait_for=wait_for)
        d.tcp, d.ssl, d.pki = tcp_port, ssl_port, pki
        if wait_for:
            assert wait_port(tcp_port)
        return d
    return start


@pytest.fixture
def broker(broker_factory):
    return broker_factory()
