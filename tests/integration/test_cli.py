"""Command line, configuration check (-t), signals and PID files of both
daemons: what an operator sees before any client connects."""
import os
import re
import signal
import time

import pytest

from conftest import BUILD, ROOT, listener_block, run, timeout

DAEMONS = ["staplemq-broker", "staplemq-fetcherd"]


@pytest.mark.parametrize("name", DAEMONS)
def test_version_and_help(name):
    r = run([str(BUILD / name), "--version"])
    assert r.returncode == 0
    assert re.fullmatch(rf"{name} \d+\.\d+\.\d+\n", r.stdout)
    r = run([str(BUILD / name), "--help"])
    assert r.returncode == 0
    for opt in ("-c file", "-t", "-f", "-p pidfile", "--version"):
        assert opt in r.stdout
    r = run([str(BUILD / name), "--no-such-option"])
    assert r.returncode == 2
    assert "usage:" in r.stderr


def test_check_only_for_fetcherd():
    r = run([str(BUILD / "staplemq-broker"), "--check"])
    assert r.returncode == 2


@pytest.mark.parametrize("name", DAEMONS)
def test_t_accepts_a_good_configuration(name, conf_factory, pki):
    conf = conf_factory(listener_block("tcp", "default", 1883) +
                        listener_block("ssl", "default", 8883, pki))
    r = run([str(BUILD / name), "-t", "-c", str(conf)])
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{conf}: configuration OK\n"


@pytest.mark.parametrize("name", DAEMONS)
def test_t_names_file_line_and_suggests_key(name, conf_factory):
    conf = conf_factory(
        "listeners.ssl.default {\n"
        "  ssl_options {\n"
        "    ocsp {\n"
        "      enable_ocps_stapling = true\n"
        "    }\n"
        "  }\n"
        "}\n")
    r = run([str(BUILD / name), "-t", "-c", str(conf)])
    assert r.returncode == 1
    # two lines of node.* come first in conf_factory's files
    assert (f"{conf}:6: unknown key listeners.ssl.default.ssl_options.ocsp."
            "enable_ocps_stapling, did you mean enable_ocsp_stapling?"
            in r.stderr)
    assert "configuration OK" not in r.stdout


def test_t_reports_every_error(conf_factory):
    conf = conf_factory("log.level = loud\n"
                        "crl_cache.http_timeout = 15x\n"
                        "listeners.tcp.a.tcp_options.backlog = 0\n"
                        "mqqt.x = 1\n")
    r = run([str(BUILD / "staplemq-broker"), "-t", "-c", str(conf)])
    assert r.returncode == 1
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 4, r.stderr
    assert f"{conf}:3: log.level:" in errors[0]
    assert f"{conf}:4: crl_cache.http_timeout:" in errors[1]
    assert f"{conf}:5: listeners.tcp.a.tcp_options.backlog:" in errors[2]
    assert f"{conf}:6: unknown key mqqt, did you mean mqtt?" in errors[3]


def test_t_missing_file():
    r = run([str(BUILD / "staplemq-broker"), "-t", "-c", "/nonexistent.conf"])
    assert r.returncode == 1
    assert "/nonexistent.conf" in r.stderr


def test_t_refuses_readable_keyfile(conf_factory, pki, tmp_path):
    key = tmp_path / "loose.key"
    key.write_bytes((pki / "server-ec.key").read_bytes())
    key.chmod(0o644)
    conf = conf_factory(
        'listeners.ssl.x.bind = "127.0.0.1:8883"\n'
        f'listeners.ssl.x.ssl_options.certfile = "{pki}/server-ec.pem"\n'
        f'listeners.ssl.x.ssl_options.keyfile = "{key}"\n')
    r = run([str(BUILD / "staplemq-broker"), "-t", "-c", str(conf)])
    assert r.returncode == 1
    assert f"keyfile {key} is accessible by group or others" in r.stderr


def test_t_refuses_key_that_does_not_match(conf_factory, pki):
    conf = conf_factory(
        'listeners.ssl.x.bind = "127.0.0.1:8883"\n'
        f'listeners.ssl.x.ssl_options.certfile = "{pki}/server-ec.pem"\n'
        f'listeners.ssl.x.ssl_options.keyfile = "{pki}/server-rsa.key"\n')
    r = run([str(BUILD / "staplemq-broker"), "-t", "-c", str(conf)])
    assert r.returncode == 1
    assert "does not match certfile" in r.stderr


def test_t_refuses_unknown_cipher_and_version(conf_factory, pki):
    conf = conf_factory(listener_block(
        "ssl", "x", 8883, pki,
        '  ssl_options.ciphers = "ECDHE-RSA-AES128-GCM-SHA256,NOPE-CIPHER"\n'
        '  ssl_options.versions = ["tlsv1.3", "sslv3"]\n'))
    r = run([str(BUILD / "staplemq-broker"), "-t", "-c", str(conf)])
    assert r.returncode == 1
    assert 'unknown cipher "NOPE-CIPHER"' in r.stderr
    conf = conf_factory(listener_block(
        "ssl", "x", 8883, pki, '  ssl_options.versions = ["sslv3"]\n'))
    r = run([str(BUILD / "staplemq-broker"), "-t", "-c", str(conf)])
    assert r.returncode == 1
    assert 'unknown version "sslv3"' in r.stderr


def test_t_refuses_bad_bind(conf_factory):
    conf = conf_factory('listeners.tcp.x.bind = "localhost:99999"\n')
    r = run([str(BUILD / "staplemq-broker"), "-t", "-c", str(conf)])
    assert r.returncode == 1
    assert 'tcp:x: bind "localhost:99999" is not an address:port' in r.stderr


@pytest.mark.parametrize("name", DAEMONS)
def test_sighup_with_broken_file_keeps_running(name, daemons,
                                               conf_factory):
    conf = conf_factory("log.level = info\n")
    d = daemons(name, conf)
    conf.write_text(conf.read_text() + "log.level = loud\nbogus = 1\n")
    d.signal(signal.SIGHUP)
    d.wait_log(r"still running on the previous configuration")
    assert d.alive()
    assert re.search(r"log\.level: .*loud", d.log())
    assert "unknown key bogus" in d.log()
    # a good file is taken, and its log level applies at once
    conf.write_text(conf.read_text().replace("log.level = loud\nbogus = 1\n",
                                             "log.level = debug\n"))
    d.signal(signal.SIGHUP)
    d.wait_log(r"configuration reloaded")
    assert d.stop() == 0
    assert "stopped" in d.log()


@pytest.mark.parametrize("name", DAEMONS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_and_removes_pidfile(name, sig, daemons,
                                                  conf_factory, tmp_path):
    pidfile = tmp_path / f"{name}.pid"
    d = daemons(name, conf_factory(""), args=["-p", str(pidfile)])
    assert int(pidfile.read_text()) == d.proc.pid
    d.signal(sig)
    assert d.proc.wait(timeout(10)) == 0
    assert f"caught signal {int(sig)}, stopping" in d.log()
    assert not pidfile.exists()


def test_detaches_without_f(conf_factory, tmp_path):
    """Without -f the broker detaches and logs to syslog; the PID file
    names the detached process, which stops on SIGTERM."""
    pidfile = tmp_path / "broker.pid"
    conf = conf_factory("")
    r = run([str(BUILD / "staplemq-broker"), "-c", str(conf),
             "-p", str(pidfile)], cwd=tmp_path)
    assert r.returncode == 0
    deadline = time.monotonic() + timeout(5)
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = int(pidfile.read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout(5)
    while pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pidfile.exists()


def test_readme_reference_matches_key_table():
    """README.md's configuration reference is the key table, row for row."""
    r = run([str(BUILD / "staplemq-broker"), "--keys"])
    assert r.returncode == 0
    table = [ln for ln in r.stdout.splitlines() if ln.startswith("| `")]
    assert len(table) > 40
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- generated by")[1].split(
        "<!-- end of generated table -->")[0]
    documented = [ln for ln in block.splitlines() if ln.startswith("| `")]
    assert documented == table


def test_sample_configuration_documents_every_key():
    """etc/staplemq.conf shows every key of the table."""
    sample = (ROOT / "etc/staplemq.conf").read_text()
    r = run([str(BUILD / "staplemq-broker"), "--keys"])
    for ln in r.stdout.splitlines():
        m = re.match(r"\| `([^`]+)`", ln)
        if m:
            leaf = m.group(1).rsplit(".", 1)[-1]
            assert re.search(rf"\b{re.escape(leaf)}\b", sample), leaf
