"""MQTT over TLS against the real broker with real clients (mosquitto_sub
and mosquitto_pub, paho, openssl s_client, Python's ssl): certificate
selection by signature algorithm, versions, ciphers, client certificates,
the handshake timeout, renegotiation, and clients that do not speak TLS."""
import signal
import socket
import ssl
import subprocess
import time

import pytest

import mqttraw as raw
from conftest import run, timeout
from paho_util import Client


def s_client(b, *args, stdin=""):
    """openssl s_client -brief against the broker's ssl listener; returns
    (exit code, everything it printed)."""
    r = run(["openssl", "s_client", "-brief", "-connect",
             f"127.0.0.1:{b.ssl}", "-CAfile", str(b.pki / "ca.pem"),
             *args], input=stdin)
    return r.returncode, r.stdout + r.stderr


def established(out):
    return "CONNECTION ESTABLISHED" in out and "Verification: OK" in out


def tls_socket(b, cert=False, version=None, ciphers=None):
    """A TLS connection made by Python's ssl module, handshake done."""
    ctx = ssl.create_default_context(cafile=str(b.pki / "ca.pem"))
    if cert:
        ctx.load_cert_chain(str(b.pki / "client.pem"),
                            str(b.pki / "client.key"))
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    if ciphers:
        ctx.set_ciphers(ciphers)
    sock = socket.create_connection(("127.0.0.1", b.ssl), timeout(5))
    return ctx.wrap_socket(sock, server_hostname="127.0.0.1")


def mqtt_refused(make):
    """True when a TLS client never gets to talk MQTT: the handshake fails,
    or (TLS 1.3, where the client finishes first) the server's alert or
    close arrives instead of a CONNACK."""
    try:
        s = make()
        r = raw.Raw(None, sock=s)
        r.send(raw.connect(client_id="refused"))
        return r.sock.recv(4096) == b""
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True


def tls_connack(make, client_id):
    r = raw.Raw(None, sock=make())
    return r.connack(client_id=client_id)


@pytest.fixture
def tls_broker(broker_factory):
    return broker_factory(ssl=True)


# --- real clients -----------------------------------------------------------

def test_mosquitto_clients_over_tls(tls_broker, tmp_path):
    b = tls_broker
    tls = ["-h", "127.0.0.1", "-p", str(b.ssl), "--cafile",
           str(b.pki / "ca.pem")]
    out = tmp_path / "sub.out"
    with open(out, "w") as f:
        sub = subprocess.Popen(["mosquitto_sub", *tls, "-t", "tls/#", "-v",
                                "-C", "2", "-W", "15", "-q", "1",
                                "-i", "tlssub"],
                               stdout=f, stderr=subprocess.STDOUT)
        try:
            b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: tlssub connected")
            time.sleep(0.2)        # SUBSCRIBE follows the CONNACK
            for i in (1, 2):
                r = run(["mosquitto_pub", *tls, "-t", f"tls/{i}", "-m",
                         f"secure{i}", "-q", "1"])
                assert r.returncode == 0, r.stderr
            assert sub.wait(timeout(15)) == 0
        finally:
            if sub.poll() is None:
                sub.kill()
                sub.wait()
    assert out.read_text().splitlines() == ["tls/1 secure1", "tls/2 secure2"]


def test_qos0_publish_then_close_is_not_lost(tls_broker):
    """A QoS 0 PUBLISH and the TLS close_notify that follows it can be
    read in one wake-up: the PUBLISH must still be delivered."""
    b = tls_broker
    sub = Client(b.tcp, client_id="lossless")
    sub.subscribe("q0/#", 0)
    tls = ["-h", "127.0.0.1", "-p", str(b.ssl), "--cafile",
           str(b.pki / "ca.pem")]
    for i in range(30):
        r = run(["mosquitto_pub", *tls, "-t", f"q0/{i}", "-m", str(i),
                 "-q", "0"])
        assert r.returncode == 0, r.stderr
    got = sorted(int(sub.get(10).payload) for _ in range(30))
    assert got == list(range(30))


def test_mosquitto_pub_refuses_a_server_it_cannot_verify(tls_broker,
                                                        tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_text((tls_broker.pki / "client.pem").read_text())
    r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(tls_broker.ssl),
             "--cafile", str(other_ca), "-t", "x", "-m", "y"])
    assert r.returncode != 0
    tls_broker.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: closing: TLS "
                        r"handshake failed")
    assert " connected" not in tls_broker.log()


def test_paho_over_tls(tls_broker):
    b = tls_broker
    tls = {"ca": str(b.pki / "ca.pem")}
    sub = Client(b.ssl, client_id="pahosub", tls=tls)
    assert sub.subscribe("p/#", 2) == (2,)
    pub = Client(b.ssl, client_id="pahopub", tls=tls)
    for qos in (0, 1, 2):
        pub.publish(f"p/{qos}", f"q{qos}".encode(), qos)
        m = sub.get()
        assert (m.topic, m.payload, m.qos) == (f"p/{qos}", f"q{qos}".encode(),
                                               qos)
    # TLS and plain clients share one broker
    plain = Client(b.tcp, client_id="plainpub")
    plain.publish("p/plain", b"mixed", 1)
    assert sub.get().payload == b"mixed"
    for c in (sub, pub, plain):
        c.stop()
    b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: pahosub connected")


# --- what s_client sees -----------------------------------------------------

def test_s_client_sees_tls13_and_a_verified_chain(tls_broker):
    rc, out = s_client(tls_broker)
    assert rc == 0, out
    assert established(out), out
    assert "Protocol version: TLSv1.3" in out
    assert "Peer certificate: O = staplemq demo, CN = localhost" in out


def test_ecdsa_sigalgs_get_the_ec_certificate(tls_broker):
    rc, out = s_client(tls_broker, "-sigalgs", "ECDSA+SHA256")
    assert rc == 0 and established(out), out
    assert "Signature type: ECDSA" in out


@pytest.mark.parametrize("sigalgs", ["rsa_pss_rsae_sha256",
                                     "RSA-PSS+SHA256"])
def test_rsa_pss_sigalgs_get_the_rsa_certificate(tls_broker, sigalgs):
    rc, out = s_client(tls_broker, "-sigalgs", sigalgs)
    assert rc == 0 and established(out), out
    assert "Signature type: RSA-PSS" in out


def test_rsa_sigalgs_over_tls12(tls_broker):
    rc, out = s_client(tls_broker, "-tls1_2", "-sigalgs", "RSA+SHA256")
    assert rc == 0 and established(out), out
    assert "Protocol version: TLSv1.2" in out
    assert "Signature type: RSA" in out and "ECDSA" not in out


# --- versions and ciphers ---------------------------------------------------

def test_versions_tls12_only(broker_factory):
    b = broker_factory(ssl=True,
                       ssl_extra='  ssl_options.versions = ["tlsv1.2"]\n')
    rc, out = s_client(b, "-tls1_3")
    assert rc != 0 and "CONNECTION ESTABLISHED" not in out, out
    b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: closing: TLS handshake "
               r"failed")
    rc, out = s_client(b, "-tls1_2")
    assert rc == 0 and established(out), out
    assert "Protocol version: TLSv1.2" in out
    # a client that offers both gets 1.2 and talks MQTT
    s = tls_socket(b)
    assert s.version() == "TLSv1.2"
    assert raw.Raw(None, sock=s).connack(client_id="v12") == (False, 0)


def test_versions_tls13_only(broker_factory):
    b = broker_factory(ssl=True,
                       ssl_extra='  ssl_options.versions = ["tlsv1.3"]\n')
    rc, out = s_client(b, "-tls1_2")
    assert rc != 0 and "CONNECTION ESTABLISHED" not in out, out
    rc, out = s_client(b, "-tls1_3")
    assert rc == 0 and established(out), out


def test_ciphers_tls12(broker_factory):
    b = broker_factory(ssl=True, ssl_extra=(
        '  ssl_options.versions = ["tlsv1.2"]\n'
        '  ssl_options.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256"\n'))
    for other in ("ECDHE-RSA-AES128-GCM-SHA256",
                  "ECDHE-ECDSA-AES256-GCM-SHA384"):
        rc, out = s_client(b, "-tls1_2", "-cipher", other)
        assert rc != 0 and "CONNECTION ESTABLISHED" not in out, out
    rc, out = s_client(b, "-tls1_2", "-cipher",
                       "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert rc == 0 and established(out), out
    assert "Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256" in out
    # a client offering everything gets the one cipher
    rc, out = s_client(b)
    assert "Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256" in out, out


def test_ciphers_tls13_suite(broker_factory):
    b = broker_factory(ssl=True, ssl_extra=(
        '  ssl_options.ciphers = ["TLS_CHACHA20_POLY1305_SHA256"]\n'))
    rc, out = s_client(b, "-tls1_3", "-ciphersuites",
                       "TLS_AES_256_GCM_SHA384")
    assert rc != 0 and "CONNECTION ESTABLISHED" not in out, out
    rc, out = s_client(b, "-tls1_3", "-ciphersuites",
                       "TLS_CHACHA20_POLY1305_SHA256")
    assert rc == 0 and established(out), out
    assert "Ciphersuite: TLS_CHACHA20_POLY1305_SHA256" in out


# --- client certificates ----------------------------------------------------

VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]


@pytest.mark.parametrize("version", VERSIONS, ids=["tls12", "tls13"])
def test_verify_peer_fail_if_no_peer_cert(broker_factory, version):
    b = broker_factory(ssl=True, ssl_extra=(
        "  ssl_options.verify = verify_peer\n"
        "  ssl_options.fail_if_no_peer_cert = true\n"))
    assert mqtt_refused(lambda: tls_socket(b, version=version))
    b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: closing: TLS handshake "
               r"failed: .*peer did not return a certificate")
    assert tls_connack(lambda: tls_socket(b, cert=True, version=version),
                       "withcert") == (False, 0)
    b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: withcert connected")


def test_verify_peer_with_a_certificate_from_another_ca(broker_factory,
                                                        tmp_path):
    # a self-signed client certificate that no configured CA vouches for
    key, crt = tmp_path / "rogue.key", tmp_path / "rogue.pem"
    r = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key),
             "-out", str(crt), "-days", "1", "-subj", "/CN=device-good"])
    assert r.returncode == 0, r.stderr
    b = broker_factory(ssl=True, ssl_extra=(
        "  ssl_options.verify = verify_peer\n"))

    def rogue():
        ctx = ssl.create_default_context(cafile=str(b.pki / "ca.pem"))
        ctx.load_cert_chain(str(crt), str(key))
        sock = socket.create_connection(("127.0.0.1", b.ssl), timeout(5))
        return ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    assert mqtt_refused(rogue)
    b.wait_log(r"closing: TLS handshake failed: .*certificate")


def test_verify_peer_without_fail_if_no_peer_cert(broker_factory):
    b = broker_factory(ssl=True, ssl_extra=(
        "  ssl_options.verify = verify_peer\n"))
    assert tls_connack(lambda: tls_socket(b), "nocert") == (False, 0)
    assert tls_connack(lambda: tls_socket(b, cert=True), "cert") == \
        (False, 0)
    # and with real clients
    tls = {"ca": str(b.pki / "ca.pem")}
    Client(b.ssl, client_id="paho-nocert", tls=tls).stop()
    tls.update(cert=str(b.pki / "client.pem"), key=str(b.pki / "client.key"))
    Client(b.ssl, client_id="paho-cert", tls=tls).stop()
    b.wait_log(r"paho-cert connected")


# --- timeouts, renegotiation, non-TLS clients -------------------------------

def test_handshake_timeout(broker_factory):
    b = broker_factory(ssl=True,
                       ssl_extra="  ssl_options.handshake_timeout = 1s\n")
    r = raw.Raw(b.ssl)
    start = time.monotonic()
    assert r.closed(timeout=timeout(6))
    took = time.monotonic() - start
    assert 0.8 <= took < timeout(4), took
    port = r.sock.getsockname()[1]
    b.wait_log(rf" info \S+: ssl:default: 127\.0\.0\.1:{port}: "
               rf"closing: TLS handshake timed out")
    # a client that does handshake is not hurried
    assert tls_connack(lambda: tls_socket(b), "prompt") == (False, 0)


def renegotiate(b, tmp_path):
    """s_client over TLS 1.2, then "R" on its standard input; returns the
    process and the file its output goes to."""
    out = tmp_path / f"s_client-{time.monotonic_ns()}.out"
    f = open(out, "w")
    p = subprocess.Popen(["openssl", "s_client", "-connect",
                          f"127.0.0.1:{b.ssl}", "-CAfile",
                          str(b.pki / "ca.pem"), "-tls1_2"],
                         stdin=subprocess.PIPE, stdout=f,
                         stderr=subprocess.STDOUT, text=True)
    f.close()
    p.stdin.write("R\n")
    p.stdin.flush()
    return p, out


def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait(timeout(5))
    p.stdin.close()


def test_client_renegotiation_refused(tls_broker, tmp_path):
    b = tls_broker
    p, out = renegotiate(b, tmp_path)
    try:
        # the broker's no_renegotiation alert ends s_client on its own,
        # with its standard input still open
        rc = p.wait(timeout(10))
    finally:
        stop(p)
    text = out.read_text()
    assert "RENEGOTIATING" in text, text
    assert "no renegotiation" in text, text
    assert rc != 0
    b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: closing: TLS")
    assert b.alive()
    assert tls_connack(lambda: tls_socket(b), "after-reneg") == (False, 0)


def test_client_renegotiation_allowed_when_configured(broker_factory,
                                                      tmp_path):
    b = broker_factory(ssl=True, ssl_extra=(
        "  ssl_options.client_renegotiation = true\n"))
    p, out = renegotiate(b, tmp_path)
    try:
        # the second handshake verifies the chain a second time
        deadline = time.monotonic() + timeout(10)
        while out.read_text().count("depth=0") < 2:
            assert p.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.05)
        assert p.poll() is None
    finally:
        stop(p)
    assert "no renegotiation" not in out.read_text()


def test_plain_mqtt_to_the_tls_port_is_closed(tls_broker):
    b = tls_broker
    tls = {"ca": str(b.pki / "ca.pem")}
    sub = Client(b.ssl, client_id="tlsfirst", tls=tls)
    sub.subscribe("t/#", 1)
    r = raw.Raw(b.ssl).send(raw.connect(client_id="plaintext"))
    data = b""
    try:
        while True:
            chunk = r.sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    assert not data.startswith(b"\x20"), data          # no CONNACK
    port = r.sock.getsockname()[1]
    b.wait_log(rf" info \S+: ssl:default: 127\.0\.0\.1:{port}: "
               rf"closing: TLS handshake failed")
    assert "plaintext connected" not in b.log()
    # the TLS client that was there and a new one are unaffected
    pub = Client(b.ssl, client_id="tlssecond", tls=tls)
    pub.publish("t/1", b"fine", 1)
    assert sub.get().payload == b"fine"
    for c in (sub, pub):
        c.stop()


def test_sighup_reloads_certificates_without_dropping_clients(tls_broker):
    """A new certificate is served from the next handshake after SIGHUP;
    a client connected before keeps its session."""
    b = tls_broker
    pki = b.pki
    live = Client(b.ssl, client_id="live",
                  tls={"ca": str(pki / "ca.pem")})
    live.subscribe("reload/#", 1)
    text = b.conf.read_text()
    text = text.replace(f'["{pki}/server-rsa.pem", "{pki}/server-ec.pem"]',
                        f'"{pki}/server-ec.pem"')
    text = text.replace(f'["{pki}/server-rsa.key", "{pki}/server-ec.key"]',
                        f'"{pki}/server-ec.key"')
    assert "server-rsa" not in text
    b.conf.write_text(text)
    b.signal(signal.SIGHUP)
    b.wait_log(r"ssl:default: reloaded")
    # RSA signature algorithms only: the RSA certificate is gone
    rc, out = s_client(b, "-tls1_2", "-sigalgs", "RSA+SHA256")
    assert not established(out), out
    rc, out = s_client(b, "-sigalgs", "ECDSA+SHA256")
    assert established(out), out
    Client(b.tcp, client_id="pub").publish("reload/x", b"still here", 1)
    assert live.get().payload == b"still here"


@pytest.mark.parametrize("reuse", [True, False])
def test_reuse_sessions(broker_factory, reuse):
    """EMQX's ssl_options.reuse_sessions: on (the default), a client gets
    a ticket and resumes on it; off, there is nothing to resume on."""
    b = broker_factory(ssl=True, ssl_extra=(
        "" if reuse else "  ssl_options.reuse_sessions = false\n"))
    ctx = ssl.create_default_context(cafile=str(b.pki / "ca.pem"))
    first = ctx.wrap_socket(socket.create_connection(
        ("127.0.0.1", b.ssl), timeout(5)), server_hostname="127.0.0.1")
    r = raw.Raw(None, sock=first)
    assert r.connack(client_id="first") == (False, 0)
    r.send(raw.PINGREQ).expect(13)      # TLS 1.3 tickets come before this
    session = first.session
    first.close()
    assert session.has_ticket == reuse
    again = ctx.wrap_socket(socket.create_connection(
        ("127.0.0.1", b.ssl), timeout(5)), server_hostname="127.0.0.1",
        session=session)
    assert again.session_reused == reuse
    assert raw.Raw(None, sock=again).connack(client_id="again") == \
        (False, 0)


def test_a_burst_of_a_whole_read_budget_is_read_to_its_end(broker_factory):
    """16 full TLS records (exactly the broker's 256 KiB read budget per
    wake-up) and a PINGREQ record wait in the socket of a stopped broker:
    once it runs, everything is read (OpenSSL reads ahead, and what it
    holds when the budget is spent has no read event of its own; the
    broker reads it again), the PINGREQ answered, nothing lost."""
    b = broker_factory(ssl=True, ssl_extra="  tcp_options.recbuf = 4MB\n")
    sub = Client(b.tcp, client_id="budget-sub")
    sub.subscribe("budget/#", 0)
    pub = raw.Raw(None, sock=tls_socket(b), timeout=timeout(10))
    assert pub.connack(client_id="budget-pub") == (False, 0)
    # type octet, 2 remaining-length octets, topic length and topic
    payload = b"y" * (16384 - 1 - 2 - 2 - len("budget/x"))
    burst = raw.publish("budget/x", payload)
    assert len(burst) == 16384
    b.proc.send_signal(signal.SIGSTOP)
    try:
        pub.send(burst * 16)                    # 16 records of 16 KiB
        pub.send(raw.PINGREQ)                   # a record of its own
        time.sleep(0.3)
    finally:
        b.proc.send_signal(signal.SIGCONT)
    pub.expect(13, timeout(10))
    for _ in range(16):
        assert sub.get(10).payload == payload
