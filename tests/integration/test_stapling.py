"""OCSP stapling end to end: a real `openssl ocsp` responder (behind
etc/demo-responder.py), staplemq-fetcherd fetching and verifying, the
snapshot, and staplemq-broker stapling what `openssl s_client -status`
sees."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import (BUILD, ROOT, free_port, listener_block, run, timeout,
                      wait_port, wait_until)
from responder import Responder


@pytest.fixture
def stapling(tmp_path, daemons, conf_factory):
    """A PKI whose AIA names a running responder, and a configuration
    with one stapling ssl listener (RSA and ECDSA certificates)."""
    port = free_port()
    pki = tmp_path / "pki"
    env = dict(os.environ, OCSP_URL=f"http://127.0.0.1:{port}",
               CRL_BASE_URL=f"http://127.0.0.1:{port}/crl")
    r = run([str(ROOT / "etc/demo-pki.sh"), str(pki)], env=env, secs=60)
    assert r.returncode == 0, r.stderr
    resp = Responder(pki, port, tmp_path / "responder.log")

    class Env:
        pass

    e = Env()
    e.pki, e.responder, e.ssl = pki, resp, free_port()

    def conf(extra="", ocsp=""):
        return conf_factory(listener_block(
            "ssl", "default", e.ssl, pki,
            "  ssl_options.ocsp.enable_ocsp_stapling = true\n" + ocsp) +
            extra)

    def start(which=("fetcherd", "broker"), c=None):
        c = c or conf()
        out = {}
        if "fetcherd" in which:
            out["fetcherd"] = daemons("staplemq-fetcherd", c)
        if "broker" in which:
            out["broker"] = daemons("staplemq-broker", c)
        return out

    e.conf, e.start = conf, start
    yield e
    resp.stop()


def s_client(port, pki, *args):
    r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
             "-status", "-CAfile", str(pki / "ca.pem"), *args],
            input="", secs=15)
    return r.stdout + r.stderr


def stapled(text):
    return ("OCSP Response Status: successful" in text and
            "Cert Status: good" in text)


def serial_of(pem):
    r = run(["openssl", "x509", "-in", str(pem), "-noout", "-serial"])
    return r.stdout.strip().split("=")[1]


def test_first_handshake_is_stapled(stapling):
    d = stapling.start()
    assert wait_port(stapling.ssl, 15)
    out = s_client(stapling.ssl, stapling.pki)
    assert stapled(out), out
    d["broker"].wait_log(r"accepting connections \(staples ready\)")


def test_rsa_and_ecdsa_get_their_own_staple(stapling):
    stapling.start()
    assert wait_port(stapling.ssl, 15)
    for sigalgs, pem in (("ECDSA+SHA256", "server-ec-leaf.pem"),
                         ("RSA-PSS+SHA256:RSA+SHA256",
                          "server-rsa-leaf.pem")):
        out = s_client(stapling.ssl, stapling.pki, "-sigalgs", sigalgs)
        assert stapled(out), out
        serial = serial_of(stapling.pki / pem)
        assert re.search(rf"Serial Number: 0*{serial}", out, re.I), out


def test_get_for_short_urls_and_post_for_long_ones(stapling):
    d = stapling.start()
    assert wait_port(stapling.ssl, 15)
    assert stapled(s_client(stapling.ssl, stapling.pki))
    assert stapling.responder.stats()["ocsp_get"] >= 2
    # A long responder URL pushes the GET form past 255 bytes (RFC 5019).
    d["fetcherd"].stop()
    long_url = f"http://127.0.0.1:{stapling.responder.port}/" + "x" * 200
    stapling.responder.control(reset_stats=True)
    c = stapling.conf(ocsp=f'  ssl_options.ocsp.responder_url = '
                      f'"{long_url}"\n', )
    r = run([str(BUILD / "staplemq-fetcherd"), "--check", "-c", str(c)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert stapling.responder.stats()["ocsp_post"] >= 2
    assert "POST" in r.stdout


def test_check_table_and_exit_codes(stapling):
    c = stapling.conf()
    r = run([str(BUILD / "staplemq-fetcherd"), "--check", "-c", str(c)])
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["CERTIFICATE", "SERIAL", "RESPONDER"]
    assert sum("verified" in ln and " good " in ln for ln in lines) == 2
    assert lines[-1] == "2 certificates, 2 good"
    # --check publishes nothing unless asked
    assert not (c.parent / "run" / "snapshot").exists()
    stapling.responder.control(mode="trylater")
    r = run([str(BUILD / "staplemq-fetcherd"), "--check", "-c", str(c)])
    assert r.returncode == 1
    assert "tryLater" in r.stdout or "trylater" in r.stdout.lower()
    assert r.stdout.splitlines()[-1] == "2 certificates, 0 good"
    stapling.responder.control(mode="normal")
    r = run([str(BUILD / "staplemq-fetcherd"), "--check", "--publish",
             "-c", str(c)])
    assert r.returncode == 0
    assert (c.parent / "run" / "snapshot").exists()


@pytest.mark.parametrize("mode", ["garbage", "wrongsigner", "unknown",
                                  "trylater", "http500", "expired"])
def test_bad_answers_never_replace_a_good_staple(stapling, mode):
    d = stapling.start()
    assert wait_port(stapling.ssl, 15)
    assert stapled(s_client(stapling.ssl, stapling.pki))
    stapling.responder.control(mode=mode)
    d["fetcherd"].signal(signal.SIGHUP)     # refetch everything now
    d["fetcherd"].wait_log(r"configuration reloaded")
    d["fetcherd"].wait_log(r"staplemq-fetcherd.*warning", count=2)
    out = s_client(stapling.ssl, stapling.pki)
    assert stapled(out), out


def test_revoked_certificate_withdraws_the_staple(stapling):
    d = stapling.start()
    assert wait_port(stapling.ssl, 15)
    assert stapled(s_client(stapling.ssl, stapling.pki))
    r = run(["openssl", "ca", "-config",
             str(stapling.pki / "intermediate-ca.cnf"), "-revoke",
             str(stapling.pki / "server-ec-leaf.pem"),
             "-crl_reason", "keyCompromise"], cwd=stapling.pki)
    assert r.returncode == 0, r.stderr
    d["fetcherd"].signal(signal.SIGHUP)
    d["fetcherd"].wait_log(r"error .*REVOKED")
    d["broker"].wait_log(r"error .*server-ec\.pem is REVOKED")
    out = s_client(stapling.ssl, stapling.pki, "-sigalgs", "ECDSA+SHA256")
    assert "OCSP response: no response sent" in out, out
    # the other certificate keeps its staple
    out = s_client(stapling.ssl, stapling.pki, "-sigalgs",
                   "RSA-PSS+SHA256:RSA+SHA256")
    assert stapled(out), out


def test_responder_down_staple_served_until_next_update(stapling):
    stapling.responder.control(mode="short", short_secs=8)
    d = stapling.start()
    assert wait_port(stapling.ssl, 15)
    assert stapled(s_client(stapling.ssl, stapling.pki))
    stapling.responder.stop()
    # still stapled while valid...
    assert stapled(s_client(stapling.ssl, stapling.pki))
    # ...and never past nextUpdate
    assert wait_until(lambda: "no response sent" in
                      s_client(stapling.ssl, stapling.pki), 30)
    d["broker"].wait_log(r"past its nextUpdate")


def test_fetcherd_stopped_broker_keeps_serving(stapling):
    d = stapling.start()
    assert wait_port(stapling.ssl, 15)
    assert stapled(s_client(stapling.ssl, stapling.pki))
    assert d["fetcherd"].stop() == 0
    assert stapled(s_client(stapling.ssl, stapling.pki))


def test_broker_restart_with_fetcherd_down_staples_from_persisted(stapling):
    c = stapling.conf()
    d = stapling.start(c=c)
    assert wait_port(stapling.ssl, 15)
    assert stapled(s_client(stapling.ssl, stapling.pki))
    d["fetcherd"].stop()
    d["broker"].stop()
    stapling.responder.control(mode="down")
    # the runtime directory is gone after a reboot; data_dir remains
    (c.parent / "run" / "snapshot").unlink()
    b = stapling.start(which=("broker",), c=c)["broker"]
    assert wait_port(stapling.ssl, 15)
    out = s_client(stapling.ssl, stapling.pki)
    assert stapled(out), out
    b.wait_log(r"staples ready")


def test_fetcherd_restart_republishes_persisted_staples(stapling):
    c = stapling.conf()
    d = stapling.start(which=("fetcherd",), c=c)
    d["fetcherd"].wait_log(r"staple fetched", count=2)
    d["fetcherd"].stop()
    stapling.responder.control(mode="down")
    (c.parent / "run" / "snapshot").unlink()
    f = stapling.start(which=("fetcherd",), c=c)["fetcherd"]
    f.wait_log(r"restored 2 staples")
    stapling.start(which=("broker",), c=c)
    assert wait_port(stapling.ssl, 15)
    assert stapled(s_client(stapling.ssl, stapling.pki))


def test_cold_start_without_fetcherd_waits_then_accepts(stapling):
    c = stapling.conf(ocsp="  ssl_options.ocsp.startup_wait = 1s\n")
    b = stapling.start(which=("broker",), c=c)["broker"]
    b.wait_log(r"gave up waiting for staples", secs=10)
    out = s_client(stapling.ssl, stapling.pki)
    assert "no response sent" in out, out


def test_broker_starts_before_fetcherd_and_gets_first_staple(stapling):
    c = stapling.conf()
    b = stapling.start(which=("broker",), c=c)["broker"]
    time.sleep(0.5)
    stapling.start(which=("fetcherd",), c=c)
    b.wait_log(r"accepting connections \(staples ready\)")
    assert stapled(s_client(stapling.ssl, stapling.pki))


def test_https_responder_verified_with_responder_cafile(stapling, tmp_path):
    """An https responder is trusted through ocsp.responder_cafile, and
    refused when its certificate does not verify."""
    pki, port = stapling.pki, free_port()
    key = tmp_path / "tls.key"
    key.write_bytes((pki / "server-ec.key").read_bytes())
    key.chmod(0o600)
    log = open(tmp_path / "https-responder.log", "ab")
    proc = subprocess.Popen(
        ["/usr/bin/python3", str(ROOT / "etc/demo-responder.py"), "--pki",
         str(pki), "--port", str(port), "--tls-cert",
         str(pki / "server-ec.pem"), "--tls-key", str(key)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        assert wait_port(port, 10)
        url = f"https://127.0.0.1:{port}"
        good = stapling.conf(ocsp=f'  ssl_options.ocsp.responder_url = '
                             f'"{url}"\n  ssl_options.ocsp.responder_cafile'
                             f' = "{pki}/ca.pem"\n')
        r = run([str(BUILD / "staplemq-fetcherd"), "--check", "-c",
                 str(good)])
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.splitlines()[-1] == "2 certificates, 2 good"
        bad = stapling.conf(ocsp=f'  ssl_options.ocsp.responder_url = '
                            f'"{url}"\n')
        r = run([str(BUILD / "staplemq-fetcherd"), "--check", "-c",
                 str(bad)])
        assert r.returncode == 1
        assert "certificate" in (r.stdout + r.stderr).lower()
    finally:
        proc.terminate()
        proc.wait(timeout(10))
        log.close()


def make_must_staple(pki, tmp_path):
    """A Must-Staple (RFC 7633 TLS Feature status_request) server
    certificate from the demo intermediate: (chain, key)."""
    ext = tmp_path / "must.cnf"
    port = re.search(r"OCSP;URI:(\S+)", (pki / "intermediate-ca.cnf")
                     .read_text()).group(1)
    ext.write_text("[ must ]\nbasicConstraints = critical, CA:false\n"
                   "keyUsage = critical, digitalSignature\n"
                   "extendedKeyUsage = serverAuth\n"
                   "subjectAltName = IP:127.0.0.1\n"
                   f"authorityInfoAccess = OCSP;URI:{port}\n"
                   "tlsfeature = status_request\n")
    key, csr = tmp_path / "must.key", tmp_path / "must.csr"
    leaf, chain = tmp_path / "must-leaf.pem", tmp_path / "must.pem"
    for cmd in (["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-out", str(key)],
                ["openssl", "req", "-new", "-key", str(key), "-subj",
                 "/CN=must-staple", "-out", str(csr)],
                ["openssl", "ca", "-batch", "-notext", "-config",
                 str(pki / "intermediate-ca.cnf"), "-extfile", str(ext),
                 "-extensions", "must", "-in", str(csr), "-out",
                 str(leaf)]):
        r = run(cmd, cwd=pki)
        assert r.returncode == 0, r.stderr
    key.chmod(0o600)
    chain.write_bytes(leaf.read_bytes() + (pki / "intermediate.pem")
                      .read_bytes())
    return chain, key


def must_conf(stapling, conf_factory, chain, key, waits):
    return conf_factory(
        f'listeners.ssl.must {{\n  bind = "127.0.0.1:{stapling.ssl}"\n'
        f'  ssl_options.certfile = "{chain}"\n'
        f'  ssl_options.keyfile = "{key}"\n'
        "  ssl_options.ocsp.enable_ocsp_stapling = true\n" + waits + "}\n")


def test_must_staple_waits_for_a_valid_staple(stapling, conf_factory,
                                               tmp_path):
    chain, key = make_must_staple(stapling.pki, tmp_path)
    c = must_conf(stapling, conf_factory, chain, key,
                  "  ssl_options.ocsp.startup_wait = 1s\n"
                  "  ssl_options.ocsp.must_staple_wait = 30s\n")
    b = stapling.start(which=("broker",), c=c)["broker"]
    b.wait_log(r"is Must-Staple")
    # past startup_wait, still not accepting: Must-Staple waits longer
    time.sleep(1.5)
    assert "accepting connections" not in b.log()
    stapling.start(which=("fetcherd",), c=c)
    b.wait_log(r"ssl:must: accepting connections \(staples ready\)")
    assert stapled(s_client(stapling.ssl, stapling.pki))


def test_must_staple_without_staple_warns_loudly(stapling, conf_factory,
                                                  tmp_path):
    chain, key = make_must_staple(stapling.pki, tmp_path)
    c = must_conf(stapling, conf_factory, chain, key,
                  "  ssl_options.ocsp.startup_wait = 1s\n"
                  "  ssl_options.ocsp.must_staple_wait = 2s\n")
    b = stapling.start(which=("broker",), c=c)["broker"]
    b.wait_log(r"error .*Must-Staple and has NO valid staple")
    b.wait_log(r"gave up waiting for staples")


def test_corrupt_snapshot_keeps_the_previous_one(stapling):
    c = stapling.conf()
    d = stapling.start(c=c)
    assert wait_port(stapling.ssl, 15)
    assert stapled(s_client(stapling.ssl, stapling.pki))
    d["fetcherd"].stop()
    snap = c.parent / "run" / "snapshot"
    bad = c.parent / "run" / "bad"
    data = bytearray(snap.read_bytes())
    data[200] ^= 0xFF
    bad.write_bytes(bytes(data))
    os.rename(bad, snap)
    d["broker"].wait_log(r"checksum mismatch; keeping the previous "
                         r"snapshot")
    assert stapled(s_client(stapling.ssl, stapling.pki))
    assert d["broker"].alive()


def test_fetcherd_stops_cleanly_with_fetches_in_flight(stapling):
    """SIGTERM while responders are slow: the fetches are cancelled, the
    process exits 0 (and, under `make asan`, without a report)."""
    stapling.responder.control(mode="slow", delay=5)
    f = stapling.start(which=("fetcherd",))["fetcherd"]
    time.sleep(0.5)
    assert f.stop() == 0
    assert "stopped" in f.log()


def test_broker_reload_keeps_stapling(stapling):
    d = stapling.start()
    assert wait_port(stapling.ssl, 15)
    assert stapled(s_client(stapling.ssl, stapling.pki))
    d["broker"].signal(signal.SIGHUP)
    d["broker"].wait_log(r"ssl:default: reloaded")
    for sigalgs in ("ECDSA+SHA256", "RSA-PSS+SHA256:RSA+SHA256"):
        out = s_client(stapling.ssl, stapling.pki, "-sigalgs", sigalgs)
        assert stapled(out), out
