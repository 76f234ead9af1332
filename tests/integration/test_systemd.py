"""The systemd side (systemd/, `make install`): the units pass
`systemd-analyze verify`, rate 2.0 or lower in `systemd-analyze security`,
carry the hardening they promise, and the daemons really run under the
units' SystemCallFilter= and speak the notify protocol.  systemd is not
PID 1 here: the units are checked offline and the syscall filter is
reproduced by tests/helpers/syscall_allow.c.
"""
import functools
import os
import re
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, free_port, run, wait_port
from privsep_util import (BROKER_USER, FETCH_USER, GROUP,
                          NO_LEAK_CHECK_ENV, mqtt_roundtrip, procs,
                          s_client, stapled, world)

__all__ = ["procs", "world"]    # fixtures used by name

SERVICES = ["staplemq-broker.service", "staplemq-fetcherd.service"]
UNITS = SERVICES + ["staplemq-broker.socket"]
MAX_EXPOSURE = 2.0


def unit_lines(path):
    """[(section, key, value)] in order, repeated keys kept."""
    out, section = [], None
    for ln in Path(path).read_text().splitlines():
        ln = ln.strip()
        if not ln or ln[0] in "#;":
            continue
        if ln.startswith("["):
            section = ln.strip("[]")
            continue
        key, _, value = ln.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


def unit_get(path, key):
    return [v for _, k, v in unit_lines(path) if k == key]


def make_install(dest, *args):
    """`make install` of the binaries under test, as built: -o all, so
    that nothing is rebuilt under the feet of other tests (and an ASan
    build is not relinked without its flags)."""
    return run(["make", "-s", "-C", str(ROOT), "-o", "all", "install",
                f"DESTDIR={dest}", f"BUILD={BUILD}", *args], secs=120)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`make install DESTDIR=...` of the build under test."""
    dest = tmp_path_factory.mktemp("destdir")
    r = make_install(dest)
    assert r.returncode == 0, r.stdout + r.stderr
    return dest


def test_make_install_puts_everything_in_place(installed):
    for rel, mode in (
            ("usr/local/sbin/staplemq-broker", 0o755),
            ("usr/local/sbin/staplemq-fetcherd", 0o755),
            ("usr/local/sbin/staplemq-passwd", 0o755),
            ("etc/staplemq/staplemq.conf.sample", 0o644),
            ("lib/systemd/system/staplemq-broker.service", 0o644),
            ("lib/systemd/system/staplemq-broker.socket", 0o644),
            ("lib/systemd/system/staplemq-fetcherd.service", 0o644),
            ("usr/lib/sysusers.d/staplemq.conf", 0o644),
            ("usr/lib/tmpfiles.d/staplemq.conf", 0o644),
            ("usr/local/share/man/man8/staplemq-broker.8", 0o644),
            ("usr/local/share/man/man8/staplemq-fetcherd.8", 0o644),
            ("usr/local/share/man/man5/staplemq.conf.5", 0o644)):
        p = installed / rel
        assert p.is_file(), rel
        assert stat.S_IMODE(p.stat().st_mode) == mode, rel
    unit = installed / "lib/systemd/system/staplemq-broker.service"
    assert unit_get(unit, "ExecStart")[0].startswith(
        "/usr/local/sbin/staplemq-broker -f ")
    # The man pages are valid roff.
    for page in (installed / "usr/local/share/man").rglob("*.[58]"):
        r = run(["man", "--warnings", "-l", str(page)],
                env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8"))
        assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


def test_install_honours_prefix(tmp_path):
    r = make_install(tmp_path, "PREFIX=/usr")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "usr/sbin/staplemq-fetcherd").is_file()
    unit = tmp_path / "lib/systemd/system/staplemq-fetcherd.service"
    assert unit_get(unit, "ExecStart") == [
        "/usr/sbin/staplemq-fetcherd -f -c /etc/staplemq/staplemq.conf"]
    assert (tmp_path / "usr/share/man/man8/staplemq-broker.8").is_file()


@pytest.fixture(scope="module")
def units(installed, tmp_path_factory):
    """The installed units, ExecStart= pointing into DESTDIR so that
    verify finds the binaries."""
    d = tmp_path_factory.mktemp("units")
    for u in UNITS:
        text = (installed / "lib/systemd/system" / u).read_text()
        (d / u).write_text(text.replace("/usr/local/sbin",
                                        f"{installed}/usr/local/sbin"))
    return d


def test_systemd_analyze_verify(units, installed):
    """Also checks Documentation=: the installed man pages must open."""
    env = dict(os.environ, MANPATH=f"{installed}/usr/local/share/man:")
    r = run(["systemd-analyze", "verify"] + [str(units / u) for u in UNITS],
            env=env, secs=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout + r.stderr == "", r.stdout + r.stderr


@pytest.mark.parametrize("unit", SERVICES)
def test_systemd_analyze_security(units, unit):
    r = run(["systemd-analyze", "security", "--offline=true",
             f"--threshold={int(MAX_EXPOSURE * 10)}", "--no-pager",
             str(units / unit)], secs=60)
    m = re.search(rf"Overall exposure level for {re.escape(unit)}: "
                  r"(\d+\.\d+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= MAX_EXPOSURE, r.stdout
    assert r.returncode == 0, r.stdout + r.stderr


COMMON = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict",
    "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
    "ProtectClock": "yes", "ProtectHostname": "yes",
    "RestrictNamespaces": "yes", "RestrictRealtime": "yes",
    "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native",
    "CapabilityBoundingSet": "", "AmbientCapabilities": "",
    "UMask": "0027", "Type": "notify", "Group": GROUP,
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
}


@pytest.mark.parametrize("unit", SERVICES)
def test_unit_hardening(unit):
    path = ROOT / "systemd" / unit
    for key, want in COMMON.items():
        assert unit_get(path, key) == [want], key
    filters = unit_get(path, "SystemCallFilter")
    assert filters[0].split()[0] == "@system-service"
    assert "seccomp" in filters[0].split()     # the daemon's own filter
    assert any(f.startswith("~") and "@privileged" in f for f in filters)
    if unit == "staplemq-broker.service":
        assert unit_get(path, "User") == [BROKER_USER]
        assert unit_get(path, "IPAddressAllow") == ["any"]
        assert "staplemq-fetcherd.service" in unit_get(path, "After")[0]
        assert unit_get(path, "Wants") == ["staplemq-fetcherd.service"]
        # Not Requires=: it serves the persisted snapshot without it.
        assert unit_get(path, "Requires") == []
        # It writes nothing; declaring the fetcher's directories would
        # chown them to the broker.
        assert unit_get(path, "ReadWritePaths") == []
        assert unit_get(path, "RuntimeDirectory") == []
    else:
        assert unit_get(path, "User") == [FETCH_USER]
        assert unit_get(path, "RuntimeDirectory") == ["staplemq"]
        assert unit_get(path, "RuntimeDirectoryPreserve") == ["yes"]
        assert unit_get(path, "RuntimeDirectoryMode") == ["0750"]
        assert unit_get(path, "StateDirectory") == ["staplemq"]
        assert unit_get(path, "ReadWritePaths") == [
            "/run/staplemq /var/lib/staplemq"]


def test_socket_unit_names_the_default_listeners():
    path = ROOT / "systemd/staplemq-broker.socket"
    assert unit_get(path, "ListenStream") == ["0.0.0.0:1883",
                                              "0.0.0.0:8883"]
    assert unit_get(path, "Service") == ["staplemq-broker.service"]


def test_sysusers_and_tmpfiles_offline(tmp_path):
    """The shipped files make two users sharing the group staplemq, and
    the two directories 0750 staplemq-fetch:staplemq."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    r = subprocess.run(["systemd-sysusers", f"--root={root}", "-"],
                       input=(ROOT / "systemd/staplemq.sysusers")
                       .read_bytes(), capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    users = {ln.split(":")[0]: ln.split(":") for ln in
             (root / "etc/passwd").read_text().splitlines()}
    groups = {ln.split(":")[0]: ln.split(":") for ln in
              (root / "etc/group").read_text().splitlines()}
    gid = groups[GROUP][2]
    assert users[BROKER_USER][3] == gid and users[FETCH_USER][3] == gid
    assert users[BROKER_USER][2] != users[FETCH_USER][2]
    assert users[FETCH_USER][6] == "/usr/sbin/nologin"
    conf = tmp_path / "staplemq.conf"
    conf.write_bytes((ROOT / "systemd/staplemq.tmpfiles").read_bytes())
    r = run(["systemd-tmpfiles", "--create", f"--root={root}", str(conf)])
    assert r.returncode == 0, r.stderr
    for d in ("run/staplemq", "var/lib/staplemq"):
        s = (root / d).stat()
        assert stat.S_IMODE(s.st_mode) == 0o750, d
        assert (str(s.st_uid), str(s.st_gid)) == (users[FETCH_USER][2],
                                                  gid), d


# --- the daemons under the units' conditions ------------------------------


@functools.lru_cache(maxsize=None)
def syscall_set(name):
    """A system call, or every one of a @group, recursively."""
    if not name.startswith("@"):
        return frozenset([name])
    r = run(["systemd-analyze", "syscall-filter", "--no-pager", name])
    assert r.returncode == 0, r.stderr
    out = set()
    for ln in r.stdout.splitlines():
        t = ln.strip()
        if ln[:1] in (" ", "\t") and t and not t.startswith("#"):
            out |= syscall_set(t)
    return frozenset(out)


def unit_syscalls(unit):
    """What SystemCallFilter= of unit lets through: an allow-list (with
    @default, as systemd adds it) minus the ~ lines."""
    filters = unit_get(ROOT / "systemd" / unit, "SystemCallFilter")
    assert not filters[0].startswith("~")
    allowed = set(syscall_set("@default"))
    for name in filters[0].split():
        allowed |= syscall_set(name)
    for f in filters[1:]:
        assert f.startswith("~")
        for name in f[1:].split():
            allowed -= syscall_set(name)
    return allowed


def test_daemons_run_under_the_units_syscall_filters(world, procs):
    """As the units start them: as their users (no root to drop), under
    their SystemCallFilter=, in directories systemd made.  Both start,
    install their own filters, and serve a stapled handshake."""
    helper = BUILD / "tests/syscall_allow"
    assert helper.exists(), "make integration builds tests/syscall_allow"
    d = world.subdir("unit-filters")
    buid, fuid, gid = world.uids
    for sub in ("run", "data"):         # RuntimeDirectory=, StateDirectory=
        (d / sub).mkdir(mode=0o750)
        os.chown(d / sub, fuid, gid)
    lists = {}
    for unit in SERVICES:
        lists[unit] = d / f"{unit}.syscalls"
        lists[unit].write_text("\n".join(sorted(unit_syscalls(unit))))
        assert "seccomp" in lists[unit].read_text()
        assert "setresuid" not in lists[unit].read_text().split()
    tcp, ssl = free_port(), free_port()
    conf = world.conf(d, tcp_port=tcp, ssl_port=ssl)
    as_user = ["setpriv", f"--regid={gid}", "--clear-groups"]
    f = procs("staplemq-fetcherd", conf, env=NO_LEAK_CHECK_ENV,
              prefix=as_user + [f"--reuid={fuid}", helper,
                                lists["staplemq-fetcherd.service"]])
    f.wait_log(r"staple fetched")
    b = procs("staplemq-broker", conf, env=NO_LEAK_CHECK_ENV,
              prefix=as_user + [f"--reuid={buid}", helper,
                                lists["staplemq-broker.service"]])
    for p in (f, b):
        # "started" (what procs waits for) also matches "not started as
        # root", logged before the filter: wait for the filter itself.
        p.wait_log(r"seccomp filter installed")
        log = p.log()
        assert "not started as root" in log
        assert "landlock: " in log
        assert "unavailable" not in log, log     # landlock was allowed
    assert wait_port(ssl, 15)
    assert stapled(s_client(ssl, world.pki))
    assert mqtt_roundtrip(tcp) == "hello"


def test_ready_and_stopping_notifications(world, procs):
    """Type=notify: READY=1 once the daemon is up and sandboxed, on
    $NOTIFY_SOCKET, and STOPPING=1 on the way out."""
    d = world.subdir("notify")
    path = d / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    path.chmod(0o777)       # as systemd's: the daemon has dropped root
    sock.settimeout(10)
    conf = world.conf(d, tcp_port=free_port(), ssl_port=free_port())
    try:
        for name in ("staplemq-fetcherd", "staplemq-broker"):
            p = procs(name, conf, env={"NOTIFY_SOCKET": str(path)},
                      wait_for=None)
            assert sock.recv(256) == b"READY=1"
            p.wait_log(r"started")
            assert "seccomp filter installed" in p.log()
            if name == "staplemq-fetcherd":     # not in mid-fetch
                p.wait_log(r"staple fetched", count=2)
            p.stop()
            assert sock.recv(256) == b"STOPPING=1"
    finally:
        sock.close()
