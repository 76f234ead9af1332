"""Client certificates: CRL and OCSP checks, fetched by staplemq-fetcherd
(prefetched or on demand), shared through the snapshot, enforced by the
broker in the handshake and on live sessions.  Real `openssl ocsp`
(behind etc/demo-responder.py, which also serves the CRLs), real clients
(mosquitto_pub/_sub, openssl s_client, paho)."""
import os
import re
import signal
import ssl
import subprocess
import threading
import time

import pytest

import mqttraw as raw
from conftest import (ROOT, free_port, listener_block, run, timeout,
                      wait_port, wait_until)
from responder import Responder


@pytest.fixture
def rev(tmp_path, daemons, conf_factory):
    """A PKI whose AIA and CDP name a running responder, and helpers to
    start fetcherd and a broker with an mTLS listener."""
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
    e.pki, e.responder, e.port, e.ssl = pki, resp, port, free_port()
    e.crl_url = f"http://127.0.0.1:{port}/crl/intermediate.crl"

    def conf(ssl_extra="  ssl_options.enable_crl_check = true\n", extra=""):
        return conf_factory(listener_block(
            "ssl", "mtls", e.ssl, pki,
            "  ssl_options.verify = verify_peer\n"
            "  ssl_options.fail_if_no_peer_cert = true\n" + ssl_extra) +
            extra)

    def start(c, which=("fetcherd", "broker")):
        out = {}
        for name in which:
            out[name] = daemons(f"staplemq-{name}", c)
        if "broker" in which:
            assert wait_port(e.ssl, 15)
        return out

    cnf = str(pki / "intermediate-ca.cnf")

    def gencrl(secs=None):
        """Publish a new CRL of the intermediate, valid for secs seconds
        (the demo's default when None)."""
        valid = ["-crlsec", str(secs)] if secs else []
        for cmd in (["openssl", "ca", "-config", cnf, "-gencrl", *valid,
                     "-out", str(pki / "crl" / "intermediate.crl.pem")],
                    ["openssl", "crl", "-in",
                     str(pki / "crl" / "intermediate.crl.pem"), "-outform",
                     "DER", "-out", str(pki / "crl" / "intermediate.crl")]):
            r = run(cmd, cwd=pki)
            assert r.returncode == 0, r.stderr

    def revoke(name):
        """Revoke pki/NAME.pem in the index and publish a new CRL."""
        r = run(["openssl", "ca", "-config", cnf, "-revoke",
                 str(pki / f"{name}.pem"), "-crl_reason", "keyCompromise"],
                cwd=pki)
        assert r.returncode == 0, r.stderr
        gencrl()

    e.conf, e.start, e.revoke, e.gencrl = conf, start, revoke, gencrl
    yield e
    resp.stop()


def s_client(e, cert, key, *args):
    r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{e.ssl}",
             "-CAfile", str(e.pki / "ca.pem"), "-cert", str(cert),
             "-key", str(key), *args], input="", secs=20)
    return r.stdout + r.stderr


def mqtt_tls(e, cert, key, client_id):
    """A raw MQTT client over mTLS; returns (Raw, CONNACK code) or raises
    on a failed handshake."""
    ctx = ssl.create_default_context(cafile=str(e.pki / "ca.pem"))
    ctx.load_cert_chain(str(cert), str(key))
    sock = ctx.wrap_socket(__import__("socket").create_connection(
        ("127.0.0.1", e.ssl), timeout(20)), server_hostname="127.0.0.1")
    r = raw.Raw(e.ssl, sock=sock, timeout=timeout(20))
    return r, r.connack(client_id=client_id)


def good(e):
    return e.pki / "client-fullchain.pem", e.pki / "client.key"


def revoked(e):
    return e.pki / "client-revoked-fullchain.pem", e.pki / "client-revoked.key"


def crl_asked(e):
    """fetcherd has asked the responder for the intermediate's CRL."""
    return wait_until(lambda: e.responder.stats()["by_path"].get(
        "GET /crl/intermediate.crl", 0) >= 1, 10)


def waiting_device(e, client_id):
    """The good device connects in a thread while the CRL is slow; returns
    (thread, result) once fetcherd asked for the CRL: result gets "ack"
    (the CONNACK) or "error"."""
    result = {}

    def connect():
        try:
            result["ack"] = mqtt_tls(e, *good(e), client_id)[1]
        except Exception as exc:        # the test reports it
            result["error"] = exc

    t = threading.Thread(target=connect)
    t.start()
    assert crl_asked(e)
    return t, result


def test_crl_good_accepted_revoked_refused(rev):
    c = rev.conf(extra=f'crl_cache.urls = ["{rev.crl_url}"]\n')
    d = rev.start(c)
    d["broker"].wait_log(r"stapl|started")
    # good device: MQTT works
    r, ack = mqtt_tls(rev, *good(rev), "dev-good")
    assert ack == (False, 0)
    # revoked device: the handshake fails with certificate_revoked
    out = s_client(rev, *revoked(rev), "-ign_eof")
    assert re.search(r"alert certificate revoked", out), out
    d["broker"].wait_log(r"CN ?= ?device-revoked serial .* refused: "
                         r"listed in the CRL")


def test_first_connection_waits_for_an_on_demand_crl(rev):
    """No CRL configured: the first handshake of a device makes the broker
    ask fetcherd for the CRL its certificate names, and go on once the
    snapshot holds it."""
    c = rev.conf()
    d = rev.start(c)
    r, ack = mqtt_tls(rev, *good(rev), "first")
    assert ack == (False, 0)
    d["broker"].wait_log(r"revocation status known: good")
    out = s_client(rev, *revoked(rev), "-ign_eof")
    assert "certificate revoked" in out, out


def test_first_handshake_of_a_revoked_device_fails_with_the_alert(rev):
    """The CRL was never fetched: the revoked device's very first handshake
    pauses until fetcherd publishes it, then fails with certificate_revoked
    (no handshake completes first)."""
    c = rev.conf()
    d = rev.start(c)
    out = s_client(rev, *revoked(rev), "-ign_eof")
    assert re.search(r"alert certificate revoked", out), out
    d["broker"].wait_log(r"CN ?= ?device-revoked serial .* refused: "
                         r"listed in the CRL")
    assert crl_asked(rev)


def test_paused_handshake_holds_up_no_one_else(rev):
    """While one device waits for a slow CRL server, a client on another
    listener and a device of known status on the same one are served."""
    rev.responder.control(crl_mode="slow", delay=4)
    tcp = free_port()
    c = rev.conf(extra="crl_cache.fetch_timeout = 20s\n" +
                 listener_block("tcp", "plain", tcp))
    d = rev.start(c)
    t, result = waiting_device(rev, "slow-crl")
    # while the device waits in its handshake, a plain client connects
    r = raw.Raw(tcp, timeout=timeout(10))
    assert r.connack(client_id="meanwhile") == (False, 0)
    assert t.is_alive(), "the paused handshake ended before the CRL came"
    t.join(timeout(30))
    assert result.get("ack") == (False, 0), result
    d["broker"].wait_log(r"device-good serial .* accepted: revocation "
                         r"status known: good")


def test_revocation_disconnects_live_session_and_later_handshakes(rev):
    c = rev.conf(extra=f'crl_cache.urls = ["{rev.crl_url}"]\n')
    d = rev.start(c)
    r, ack = mqtt_tls(rev, *good(rev), "victim")
    assert ack == (False, 0)
    rev.revoke("client")
    d["fetcherd"].signal(signal.SIGHUP)          # refresh now
    assert r.closed(timeout=20)
    d["broker"].wait_log(r"CN ?= ?device-good serial .* disconnected: "
                         r"revoked while connected")
    out = s_client(rev, *good(rev), "-ign_eof")
    assert "certificate revoked" in out, out


def test_refresh_at_next_update_disconnects_without_a_signal(rev):
    """No SIGHUP: fetcherd refreshes the CRL at its nextUpdate (5 s here,
    then within its 10-40 s spread), and the broker drops the device that
    the new CRL revokes."""
    rev.gencrl(5)
    c = rev.conf(extra=f'crl_cache.urls = ["{rev.crl_url}"]\n')
    d = rev.start(c)
    r, ack = mqtt_tls(rev, *good(rev), "scheduled")
    assert ack == (False, 0)
    rev.revoke("client")
    assert r.closed(timeout=60)
    d["broker"].wait_log(r"CN ?= ?device-good serial .* disconnected: "
                         r"revoked while connected")
    out = s_client(rev, *good(rev), "-ign_eof")
    assert "certificate revoked" in out, out


def test_expired_and_unknown_ca_refused(rev, tmp_path):
    c = rev.conf(extra=f'crl_cache.urls = ["{rev.crl_url}"]\n')
    rev.start(c)
    key = tmp_path / "self.key"
    cert = tmp_path / "self.pem"
    r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=stranger",
             "-keyout", str(key), "-out", str(cert), "-days", "1"])
    assert r.returncode == 0, r.stderr
    out = s_client(rev, cert, key, "-ign_eof")
    assert re.search(r"alert (unknown ca|certificate unknown|bad "
                     r"certificate)", out), out
    # expired: issued by the intermediate with dates in the past
    ekey, ecsr, ecert = (tmp_path / "exp.key", tmp_path / "exp.csr",
                         tmp_path / "exp.pem")
    for cmd in (["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-out", str(ekey)],
                ["openssl", "req", "-new", "-key", str(ekey), "-subj",
                 "/CN=expired", "-out", str(ecsr)],
                ["openssl", "ca", "-batch", "-notext", "-config",
                 str(rev.pki / "intermediate-ca.cnf"), "-extensions",
                 "client", "-startdate", "20200101000000Z", "-enddate",
                 "20200201000000Z", "-in", str(ecsr), "-out", str(ecert)]):
        r = run(cmd, cwd=rev.pki)
        assert r.returncode == 0, r.stderr
    chain = tmp_path / "exp-chain.pem"
    chain.write_bytes(ecert.read_bytes() +
                      (rev.pki / "intermediate.pem").read_bytes())
    out = s_client(rev, chain, ekey, "-ign_eof")
    assert "certificate expired" in out, out


def test_crl_server_down_fails_closed_by_default(rev):
    rev.responder.control(crl_mode="down")
    c = rev.conf(extra="crl_cache.fetch_timeout = 2s\n")
    d = rev.start(c)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        r, ack = mqtt_tls(rev, *good(rev), "closed")
        r.send(raw.PINGREQ).expect(13)
    d["broker"].wait_log(r"device-good serial .* refused")
    # the alert tells the device why: its status could not be learnt
    out = s_client(rev, *good(rev), "-ign_eof")
    assert "alert certificate unknown" in out, out


def test_crl_server_down_fail_open_accepts_with_warning(rev):
    rev.responder.control(crl_mode="down")
    c = rev.conf(extra="crl_cache.fetch_timeout = 2s\n"
                       "crl_cache.fail_open = true\n")
    d = rev.start(c)
    r, ack = mqtt_tls(rev, *good(rev), "open")
    assert ack == (False, 0)
    d["broker"].wait_log(r"device-good serial .* accepted "
                         r"\(crl_cache.fail_open\)")


def test_stale_crl_grace_then_refusal(rev):
    """A CRL past its nextUpdate is used for stale_grace, then refused."""
    rev.gencrl(3)
    c = rev.conf(extra=f'crl_cache.urls = ["{rev.crl_url}"]\n'
                       "crl_cache.stale_grace = 4s\n")
    d = rev.start(c)
    d["fetcherd"].wait_log(r"intermediate\.crl")
    time.sleep(4)               # past nextUpdate, within the grace
    r, ack = mqtt_tls(rev, *good(rev), "grace")
    assert ack == (False, 0)
    rev.responder.control(crl_mode="down")
    time.sleep(4)               # past the grace
    out = s_client(rev, *good(rev), "-ign_eof")
    assert "alert certificate unknown" in out, out
    d["broker"].wait_log(r"refused: the CRL is past its nextUpdate")


def test_client_ocsp_good_revoked_and_responder_down(rev):
    c = rev.conf(ssl_extra="  ssl_options.ocsp.client_check = leaf\n",
                 extra="crl_cache.fetch_timeout = 3s\n")
    d = rev.start(c)
    r, ack = mqtt_tls(rev, *good(rev), "ocsp-good")
    assert ack == (False, 0)
    # first attempt: the handshake waits for fetcherd's OCSP answer and
    # then fails with the alert
    out = s_client(rev, *revoked(rev), "-ign_eof")
    assert "certificate revoked" in out, out
    d["broker"].wait_log(r"device-revoked serial .* refused: revoked "
                         r"according to OCSP")
    # now known: refused at once, from the snapshot
    out = s_client(rev, *revoked(rev), "-ign_eof")
    assert "certificate revoked" in out, out
    rev.responder.stop()
    d["broker"].stop()
    d["fetcherd"].stop()


def test_client_ocsp_responder_down_fails_closed(rev):
    rev.responder.control(mode="down")
    c = rev.conf(ssl_extra="  ssl_options.ocsp.client_check = leaf\n",
                 extra="crl_cache.fetch_timeout = 3s\n")
    d = rev.start(c)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError,
                        AssertionError)):
        r, ack = mqtt_tls(rev, *good(rev), "down")
        r.send(raw.PINGREQ).expect(13)
    d["broker"].wait_log(r"device-good serial .* refused")


def test_mosquitto_clients_with_client_certificates(rev, tmp_path):
    c = rev.conf(extra=f'crl_cache.urls = ["{rev.crl_url}"]\n')
    rev.start(c)
    cert, key = good(rev)
    out = tmp_path / "sub.out"
    with open(out, "w") as f:
        sub = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(rev.ssl),
             "--cafile", str(rev.pki / "ca.pem"), "--cert", str(cert),
             "--key", str(key), "-t", "dev/#", "-C", "1", "-W", "15"],
            stdout=f, stderr=subprocess.STDOUT)
        time.sleep(1.0)
        r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(rev.ssl),
                 "--cafile", str(rev.pki / "ca.pem"), "--cert", str(cert),
                 "--key", str(key), "-t", "dev/x", "-m", "hello"])
        assert r.returncode == 0, r.stdout + r.stderr
        assert sub.wait(timeout(20)) == 0
    assert out.read_text().strip() == "hello"
    bcert, bkey = revoked(rev)
    r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(rev.ssl),
             "--cafile", str(rev.pki / "ca.pem"), "--cert", str(bcert),
             "--key", str(bkey), "-t", "dev/x", "-m", "no"])
    assert r.returncode != 0


def test_no_resumption_past_the_revocation_check(rev):
    """A resumed TLS session skips certificate verification, so listeners
    that check revocation issue no tickets: a device cannot come back on
    a ticket after its certificate was revoked."""
    c = rev.conf(extra=f'crl_cache.urls = ["{rev.crl_url}"]\n')
    rev.start(c)
    r, ack = mqtt_tls(rev, *good(rev), "ticketless")
    assert ack == (False, 0)
    r.send(raw.PINGREQ).expect(13)      # tickets would have arrived
    assert not r.sock.session.has_ticket
    assert not r.sock.session_reused


def test_paused_handshakes_end_cleanly_on_close_and_stop(rev):
    """A device that gives up while its handshake waits, and a broker
    stopped with handshakes waiting: nothing is left behind (under `make
    asan` a leaked pause is a LeakSanitizer report, a failure)."""
    rev.responder.control(crl_mode="slow", delay=30)
    c = rev.conf(extra="crl_cache.fetch_timeout = 60s\n")
    d = rev.start(c)
    quitter = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{rev.ssl}",
         "-CAfile", str(rev.pki / "ca.pem"), "-cert", str(good(rev)[0]),
         "-key", str(good(rev)[1])], stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    waiter = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{rev.ssl}",
         "-CAfile", str(rev.pki / "ca.pem"), "-cert", str(revoked(rev)[0]),
         "-key", str(revoked(rev)[1])], stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert crl_asked(rev)
        quitter.kill()
        quitter.wait(timeout(10))
        assert d["broker"].alive()
        assert d["broker"].stop() == 0
    finally:
        for p in (quitter, waiter):
            if p.poll() is None:
                p.kill()
            p.wait(timeout(10))


def test_past_max_waiting_a_handshake_is_judged_at_once(rev):
    """crl_cache.max_waiting = 1: while one handshake waits, a second
    device of unknown status cannot wait; it is refused at once (fail
    closed), its CRL is asked for anyway, and the waiting one goes on."""
    rev.responder.control(crl_mode="slow", delay=4)
    c = rev.conf(extra="crl_cache.fetch_timeout = 20s\n"
                       "crl_cache.max_waiting = 1\n")
    d = rev.start(c)
    t, result = waiting_device(rev, "waits")
    out = s_client(rev, *revoked(rev), "-ign_eof")
    assert "alert certificate unknown" in out, out
    d["broker"].wait_log(r"device-revoked serial .* refused: too many "
                         r"handshakes are already waiting")
    assert t.is_alive(), "the waiting handshake ended before its CRL came"
    t.join(timeout(30))
    assert result.get("ack") == (False, 0), result
    # the CRL is in the snapshot now: the revoked device gets the reason
    out = s_client(rev, *revoked(rev), "-ign_eof")
    assert "certificate revoked" in out, out


def test_many_devices_wait_for_one_crl_and_all_go_on(rev):
    """A fleet reconnecting at once while its CRL is slow to come: every
    handshake waits, one request reaches fetcherd's responder, and all of
    them go on when the CRL is published; the revoked one is refused."""
    rev.responder.control(crl_mode="slow", delay=3)
    c = rev.conf(extra="crl_cache.fetch_timeout = 30s\n")
    d = rev.start(c)
    results = [None] * 40

    def device(i):
        try:
            r, ack = mqtt_tls(rev, *good(rev), f"fleet-{i}")
            results[i] = ack
            r.send(raw.PINGREQ).expect(13)
        except Exception as exc:        # counted below
            results[i] = exc

    threads = [threading.Thread(target=device, args=(i,))
               for i in range(len(results))]
    for t in threads:
        t.start()
    out = s_client(rev, *revoked(rev), "-ign_eof")
    for t in threads:
        t.join(timeout(60))
    assert results == [(False, 0)] * len(results), results
    assert "certificate revoked" in out, out
    assert rev.responder.stats()["by_path"].get(
        "GET /crl/intermediate.crl") == 1
    assert d["broker"].alive()
