"""Privilege separation and the sandbox (README "Deploying with systemd"):
the broker holds the keys and cannot reach out; fetcherd reaches out and
never opens a key; both drop root to their own users and install their
seccomp filters, and a failure of either stops the start.

The daemons run as root here, as a system manager would start them
without User=; the files live in a world-readable directory since
pytest's is root's own (privsep_util.World).
"""
import os
import re
import signal
import socket
import stat
from pathlib import Path

from conftest import BUILD, free_port, run, wait_port, wait_until
from privsep_util import (BROKER_USER, GROUP, NO_LEAK_CHECK_ENV,
                          mqtt_roundtrip, procs, s_client, stapled, world)

__all__ = ["procs", "world"]    # fixtures used by name

SANDBOX_ON = r"seccomp filter installed"


def ids(status, key):
    return [int(x) for x in status[key].split()]


def landlock_active(log):
    return "landlock: TCP connect denied" in log


# --- the broker ----------------------------------------------------------


def test_broker_drops_root_and_cannot_reach_out(world, procs):
    """Started as root: runs as staplemq:staplemq with no capability and
    its filter on; a TCP connection to a port that listens is refused by
    the sandbox (the debug hook of STAPLEMQ_TEST_HOOKS builds), also
    through a TCP socket it already holds; execve fails; MQTT works."""
    d = world.subdir("broker-drop")
    tcp = free_port()
    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen(4)
    target.settimeout(0.5)
    port = target.getsockname()[1]
    b = procs("staplemq-broker", world.conf(d, tcp_port=tcp),
              env={"STAPLEMQ_TEST_SANDBOX_CONNECT": f"127.0.0.1:{port}",
                   "STAPLEMQ_TEST_SANDBOX_EXEC": "/bin/true"})
    assert wait_port(tcp)
    log = b.log()
    assert (f"sandbox test: connect 127.0.0.1:{port}: Operation not "
            "permitted") in log, log
    assert "sandbox test: execve /bin/true: Operation not permitted" in log
    # connect(AF_UNSPEC) then connect() on a socket it holds: only
    # Landlock (Linux 6.7) sees that one.
    if landlock_active(log):
        assert (f"sandbox test: reconnect a listener to 127.0.0.1:{port}: "
                "Permission denied") in log, log
    else:
        assert "landlock network rules unavailable" in log, log
    try:
        conn, _ = target.accept()
        conn.close()
        raise AssertionError("the sandboxed broker reached a TCP port")
    except socket.timeout:
        pass
    finally:
        target.close()
    uid, _, gid = world.uids
    st = b.status()
    assert ids(st, "Uid") == [uid] * 4
    assert ids(st, "Gid") == [gid] * 4
    assert st["Groups"].split() == [str(gid)]
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
    assert st["Seccomp"].strip() == "2" and st["NoNewPrivs"].strip() == "1"
    assert re.search(rf"running as user {BROKER_USER} \(uid {uid}\), "
                     rf"group {GROUP} \(gid {gid}\)", log)
    assert mqtt_roundtrip(tcp) == "hello"


def test_broker_as_an_ordinary_user_keeps_its_user(world, procs):
    """Started as an ordinary user: no change of user, same filter."""
    d = world.subdir("broker-user")
    tcp = free_port()
    b = procs("staplemq-broker", world.conf(d, tcp_port=tcp),
              prefix=["setpriv", "--reuid=nobody", "--regid=nogroup",
                      "--clear-groups"],
              env={"STAPLEMQ_TEST_SANDBOX_CONNECT": "127.0.0.1:9"})
    assert wait_port(tcp)
    log = b.log()
    assert re.search(r"not started as root: running as uid 65534", log)
    assert "connect 127.0.0.1:9: Operation not permitted" in log
    assert b.status()["Seccomp"].strip() == "2"
    assert mqtt_roundtrip(tcp) == "hello"


def test_sandbox_false_is_loud_and_really_off(world, procs):
    d = world.subdir("broker-off")
    tcp = free_port()
    b = procs("staplemq-broker", world.conf(d, tcp_port=tcp,
                                            sandbox=False),
              env={"STAPLEMQ_TEST_SANDBOX_CONNECT": "127.0.0.1:9"})
    log = b.log()
    assert re.search(r" error sandbox_enter: node.sandbox = false: running "
                     r"WITHOUT the sandbox .*AS ROOT", log), log
    assert "sandbox test" not in log and SANDBOX_ON not in log
    st = b.status()
    assert st["Seccomp"].strip() == "0" and ids(st, "Uid")[1] == 0


def test_start_fails_closed(world):
    """A user that does not exist, or root, stops the start: neither
    daemon runs without its sandbox by accident."""
    d = world.subdir("fail-closed")
    for which, users, why in (
            ("broker", 'node.user = "no-such-user-staplemq"',
             r'node.user: no user "no-such-user-staplemq"'),
            ("fetcherd", 'node.fetcher_user = "no-such-user-staplemq"',
             r'node.fetcher_user: no user "no-such-user-staplemq"'),
            ("broker fetcherd", 'node.group = "no-such-group-staplemq"',
             r'node.group: no group "no-such-group-staplemq"'),
            ("broker", 'node.user = "root"', r"never runs as root"),
            ("fetcherd", 'node.fetcher_user = "root"',
             r"never runs as root"),
            ("broker fetcherd", 'node.group = "root"',
             r"never runs as root")):
        # World.conf's user lines come first; these override them.
        conf = world.conf(d, tcp_port=free_port(), text=users + "\n")
        for name in which.split():
            r = run([str(BUILD / f"staplemq-{name}"), "-f", "-c",
                     str(conf)], cwd=d)
            assert r.returncode == 1, (name, users, r.stderr)
            assert re.search(why, r.stderr), r.stderr
            assert " started" not in r.stderr
            assert SANDBOX_ON not in r.stderr


def test_fetcherd_gives_away_only_its_own_directories(world):
    """node.data_dir naming a directory that holds other files (a system
    directory by mistake) stops the start; the directory is untouched."""
    d = world.subdir("foreign-dir")
    foreign = d / "shared"
    foreign.mkdir(mode=0o755)
    (foreign / "someone-elses.txt").write_text("keep\n")
    conf = world.conf(d, ssl_port=free_port(),
                      text=f'node.data_dir = "{foreign}"\n')
    r = run([str(BUILD / "staplemq-fetcherd"), "-f", "-c", str(conf)],
            cwd=d)
    assert r.returncode == 1, r.stderr
    assert (f"{foreign} holds files that are not staplemq's: not giving "
            "it to staplemq-fetch:staplemq") in r.stderr
    st = foreign.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o755)


def test_reload_after_the_drop(world, procs):
    """SIGHUP after the drop re-reads the file, the certificates and the
    keys as staplemq: they must be readable by it (README).  A key only
    root can read is refused on reload; the broker keeps serving."""
    d = world.subdir("reload")
    tcp, ssl = free_port(), free_port()
    conf = world.conf(d, tcp_port=tcp, ssl_port=ssl, stapling=False)
    b = procs("staplemq-broker", conf)
    b.signal(signal.SIGHUP)
    b.wait_log(r"configuration reloaded")
    # The same files, with a key only root may read.
    keys = d / "keys"
    keys.mkdir(mode=0o755)
    for k in ("server-rsa.key", "server-ec.key"):
        (keys / k).write_bytes((world.pki / k).read_bytes())
        (keys / k).chmod(0o600)
    text = conf.read_text()
    conf.write_text(text.replace(f'"{world.pki}/server-rsa.key"',
                                 f'"{keys}/server-rsa.key"'))
    b.signal(signal.SIGHUP)
    b.wait_log(r"is not valid; still running on the previous "
               r"configuration")
    assert b.alive()
    assert mqtt_roundtrip(tcp) == "hello"
    assert "BEGIN CERTIFICATE" in s_client(ssl, world.pki)


def test_strace_shows_no_internet_socket_after_start(world, procs):
    """A whole session under strace: tcp and TLS clients, a stapled
    handshake, the fetcher's notes.  The broker creates internet sockets
    only to listen, before its filter is installed, and never connects
    one."""
    d = world.subdir("strace")
    tcp, ssl = free_port(), free_port()
    conf = world.conf(d, tcp_port=tcp, ssl_port=ssl)
    procs("staplemq-fetcherd", conf)
    trace = d / "broker.strace"
    b = procs("staplemq-broker", conf, env=NO_LEAK_CHECK_ENV,
              prefix=["strace", "-f", "-qq", "-o", trace, "-e",
                      "trace=socket,connect,socketpair,seccomp"])
    assert wait_port(tcp, 15) and wait_port(ssl, 15)
    assert stapled(s_client(ssl, world.pki))
    assert mqtt_roundtrip(tcp) == "hello"
    assert mqtt_roundtrip(ssl, tls_pki=world.pki) == "hello"
    b.stop()
    lines = trace.read_text().splitlines()
    loads = [i for i, ln in enumerate(lines) if "seccomp(" in ln and
             "SECCOMP_SET_MODE_FILTER" in ln]
    assert loads, "\n".join(lines)
    inet = re.compile(r"AF_INET6?\b")
    before = [ln for ln in lines[:loads[0]] if "socket(" in ln and
              inet.search(ln)]
    assert len(before) >= 2, "the listeners were created before the filter"
    after = [ln for ln in lines[loads[0]:]
             if re.search(r"\b(socket|socketpair)\(", ln) and
             inet.search(ln)]
    assert after == [], after
    connects = [ln for ln in lines if "connect(" in ln]
    assert [ln for ln in connects if inet.search(ln)] == [], connects
    # nng's note from the fetcher: an AF_UNIX connection it did make
    assert any("AF_UNIX" in ln for ln in connects), connects


def test_broker_never_links_libcurl():
    broker = str(BUILD / "staplemq-broker")
    r = run(["ldd", broker])
    assert r.returncode == 0 and "libcurl" not in r.stdout, r.stdout
    r = run(["nm", "-D", broker])
    assert r.returncode == 0
    assert not re.search(r"\bcurl_", r.stdout)
    assert "libseccomp" in run(["ldd", broker]).stdout
    # and the fetcher is the one that does
    assert "libcurl" in run(["ldd", str(BUILD / "staplemq-fetcherd")]).stdout


# --- fetcherd --------------------------------------------------------------


def test_fetcherd_drops_root_and_owns_its_directories(world, procs):
    """Runtime and data directories 0750 staplemq-fetch:staplemq, the
    notification socket 0660 in the broker's group; fetcherd runs as
    staplemq-fetch, filter on, cannot execve; the broker staples what it
    published."""
    d = world.subdir("fetcherd-drop")
    ssl = free_port()
    conf = world.conf(d, ssl_port=ssl)
    f = procs("staplemq-fetcherd", conf,
              env={"STAPLEMQ_TEST_SANDBOX_EXEC": "/bin/true"})
    log = f.log()
    assert "sandbox test: execve /bin/true: Operation not permitted" in log
    _, fuid, gid = world.uids
    st = f.status()
    assert ids(st, "Uid") == [fuid] * 4 and ids(st, "Gid") == [gid] * 4
    assert st["Seccomp"].strip() == "2"
    assert int(st["CapEff"], 16) == 0
    for sub in ("run", "data"):
        s = (d / sub).stat()
        assert (s.st_uid, s.st_gid) == (fuid, gid), sub
        assert stat.S_IMODE(s.st_mode) == 0o750, oct(s.st_mode)
    socks = [p for p in (d / "run").iterdir() if p.is_socket()]
    assert socks, list((d / "run").iterdir())
    for p in socks:
        s = p.stat()
        assert stat.S_IMODE(s.st_mode) == 0o660 and s.st_gid == gid
    procs("staplemq-broker", conf)
    assert wait_port(ssl, 15)
    assert stapled(s_client(ssl, world.pki))


def test_sandboxed_broker_follows_the_fetcher(world, procs):
    """The broker starts first, with the fetcher down, and drops root;
    the fetcher comes up later: through its group the broker still reads
    the runtime directory and staples.  After a reboot (/run emptied) with
    the fetcher down, it staples from the persisted copy."""
    d = world.subdir("broker-first")
    ssl = free_port()
    conf = world.conf(d, ssl_port=ssl, text="listeners.ssl.default."
                      "ssl_options.ocsp.startup_wait = 0s\n")
    b = procs("staplemq-broker", conf)
    assert "seccomp filter installed" in b.log()
    f = procs("staplemq-fetcherd", conf)
    b.wait_log(r"stapling .*server-ec.pem", secs=15)
    assert wait_until(lambda: stapled(s_client(ssl, world.pki)))
    f.stop()
    b.stop()
    (d / "run" / "snapshot").unlink()
    b2 = procs("staplemq-broker", conf)
    assert "stapling" in b2.log()
    assert wait_port(ssl, 15)
    assert stapled(s_client(ssl, world.pki))


def fetcherd_trace(world, procs, name, extra=""):
    """fetcherd under strace with a configuration that names keys and a
    PSK file, through a fetch and a reload; returns (dir, trace lines)."""
    d = world.subdir(name)
    psk = d / "init.psk"
    psk.write_text("device1:00112233445566778899aabbccddeeff\n")
    os.chown(psk, world.uids[0], world.uids[2])
    psk.chmod(0o600)
    conf = world.conf(d, ssl_port=free_port(), text=(
        f'psk_authentication {{ enable = true, init_file = "{psk}" }}\n' +
        extra))
    trace = d / "fetcherd.strace"
    f = procs("staplemq-fetcherd", conf, args=["-d"], env=NO_LEAK_CHECK_ENV,
              prefix=["strace", "-f", "-qq", "-o", trace, "-e",
                      "trace=%file,%desc"])
    f.wait_log(r"staple fetched", count=2)
    f.signal(signal.SIGHUP)
    f.wait_log(r"configuration reloaded")
    # Stop once the reload's fetches are done, not in their middle.
    f.wait_log(r"staple refreshed", count=2)
    f.stop()
    return d, trace.read_text().splitlines()


def test_fetcherd_never_opens_a_key_or_psk_file(world, procs):
    d, lines = fetcherd_trace(world, procs, "fetcherd-keys")
    secrets = [str(world.pki / "server-rsa.key"),
               str(world.pki / "server-ec.key"), str(d / "init.psk")]
    opened = [ln for ln in lines if re.search(r"\bopen(at2?)?\(", ln)]
    assert any("server-rsa.pem" in ln for ln in opened), "trace works"
    for path in secrets:
        assert not [ln for ln in lines if path in ln], path


def test_fetcherd_writes_only_its_two_directories(world, procs):
    d, lines = fetcherd_trace(world, procs, "fetcherd-writes")
    allowed = (f"{d}/run", f"{d}/data")
    writes = []
    for ln in lines:
        m = re.search(r'\b(open|openat|openat2|creat)\(.*?"([^"]+)",\s*'
                      r'([A-Z_|]+)', ln)
        if m and re.search(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC", m.group(3)):
            writes.append(m.group(2))
        m = re.search(r'\b(mkdir|mkdirat|unlink|unlinkat|rename|renameat2?|'
                      r'chmod|fchmodat|chown|fchownat|truncate|link|'
                      r'linkat|symlink|symlinkat|mknod|mknodat)\((.*)',
                      ln)
        if m:
            writes += re.findall(r'"([^"]+)"', m.group(2))
    assert any(w.startswith(allowed[0]) for w in writes), writes
    assert any(w.startswith(allowed[1]) for w in writes), writes
    # mkdir -p walks the parents: EEXIST, nothing written there.  nng
    # names its threads through /proc/self/task/TID/comm.
    outside = [w for w in writes if not w.startswith(allowed) and
               not any(w == p for p in map(str, Path(allowed[0]).parents))
               and not re.match(r"/proc/self/task/\d+/comm$", w)]
    assert outside == [], outside


def test_fetcherd_works_with_the_keys_unreadable(world, procs):
    """Keys chmod 000 and owned by another user: fetcherd, as
    staplemq-fetch, fetches and publishes all the same."""
    d = world.subdir("fetcherd-nokey")
    keys = d / "keys"
    keys.mkdir(mode=0o755)
    names = []
    for k in ("server-rsa.key", "server-ec.key"):
        (keys / k).write_bytes(b"not even a key\n")
        os.chown(keys / k, world.uids[0], world.uids[2])
        (keys / k).chmod(0)
        names.append(f'"{keys}/{k}"')
    conf = world.conf(d, ssl_port=free_port())
    text = conf.read_text()
    text = re.sub(r"ssl_options.keyfile = \[.*\]",
                  f"ssl_options.keyfile = [{', '.join(names)}]", text)
    conf.write_text(text)
    f = procs("staplemq-fetcherd", conf)
    f.wait_log(r"staple fetched", count=2)
    assert wait_until(lambda: (d / "run" / "snapshot").exists())


def test_fetcherd_check_as_nobody(world):
    """--check needs only the configuration and the certificates: as
    nobody, with the sandbox on, it prints the table and exits 0."""
    d = world.subdir("check-nobody")
    conf = world.conf(d, ssl_port=free_port(), users=False)
    r = run(["setpriv", "--reuid=nobody", "--regid=nogroup",
             "--clear-groups", str(BUILD / "staplemq-fetcherd"), "--check",
             "-c", str(conf)], cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["CERTIFICATE", "SERIAL", "RESPONDER"]
    assert lines[-1] == "2 certificates, 2 good"
    assert "not started as root: running as uid 65534" in r.stderr
    assert SANDBOX_ON in r.stderr


def test_socket_activation_in_a_network_namespace(world, procs):
    """The broker takes its listener from systemd's socket activation
    (systemd-socket-activate here) and serves from a network namespace
    of its own, as with PrivateNetwork=yes: it cannot reach anything."""
    d = world.subdir("socket-activation")
    tcp = free_port()
    conf = world.conf(d, tcp_port=tcp)
    b = procs("staplemq-broker", conf, wait_for=None,
              prefix=["systemd-socket-activate", "-l", f"127.0.0.1:{tcp}",
                      "--fdname=tcp.default", "unshare", "-n"])
    # systemd-socket-activate starts the broker at the first connection.
    b.wait_log(rf"Listening on 127.0.0.1:{tcp} as 3")
    assert mqtt_roundtrip(tcp) == "hello", b.log()
    b.wait_log(r"tcp:default: socket-activated \(fd 3\)")
    b.wait_log(r"started")
    assert b.status()["Seccomp"].strip() == "2"
    netns = os.readlink(f"/proc/{b.proc.pid}/ns/net")
    assert netns != os.readlink("/proc/self/ns/net")
    # Its namespace has a loopback device and nothing else.
    devs = [ln.split(":")[0].strip() for ln in Path(
        f"/proc/{b.proc.pid}/net/dev").read_text().splitlines()[2:]]
    assert devs == ["lo"], devs


def test_sandboxed_client_checks_pause_and_refuse(world, procs):
    """Client revocation under the real deployment: both daemons as their
    own users with their seccomp filters. The first handshake of a
    revoked device pauses while the broker asks fetcherd over nng for the
    CRL its certificate names and the OCSP answer, then fails with
    certificate_revoked; a good device gets its CONNACK."""
    d = world.subdir("client-checks")
    ssl = free_port()
    conf = world.conf(d, ssl_port=ssl, stapling=False, text=(
        "listeners.ssl.default.ssl_options {\n"
        "  verify = verify_peer\n  fail_if_no_peer_cert = true\n"
        "  enable_crl_check = true\n  ocsp.client_check = leaf\n}\n"))
    procs("staplemq-fetcherd", conf)
    b = procs("staplemq-broker", conf)
    assert "seccomp filter installed" in b.log()
    assert wait_port(ssl, 15)
    out = s_client(ssl, world.pki, "-cert",
                   str(world.pki / "client-revoked-fullchain.pem"), "-key",
                   str(world.pki / "client-revoked.key"), "-ign_eof")
    assert "alert certificate revoked" in out, out
    b.wait_log(r"device-revoked serial .* refused: (listed in the CRL|"
               r"revoked according to OCSP)")
    out = s_client(ssl, world.pki, "-cert",
                   str(world.pki / "client-fullchain.pem"), "-key",
                   str(world.pki / "client.key"))
    assert "Verify return code: 0 (ok)" in out, out
    assert "alert" not in out, out
    b.wait_log(r"device-good serial .* accepted: revocation status "
               r"known: good")
