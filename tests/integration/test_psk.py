"""TLS-PSK (psk_authentication) against the real broker with real clients:
mosquitto_pub and mosquitto_sub --psk, openssl s_client -psk over TLS 1.2
(PSK, RSA-PSK and ECDHE-PSK suites) and TLS 1.3 (external PSKs); wrong
keys, unknown identities, the identity file's checks, its reload on
SIGHUP, listeners serving certificate and PSK clients at once, and the
identity as the MQTT user name that ACLs and client-id mapping see."""
import re
import signal
import subprocess

import pytest

import mqttraw as raw
from conftest import BUILD, free_port, listener_block, run, timeout, wait_port

KEYS = {
    "alice": "8c701116e9127c57a99d5563709af3deaca75563e2c4dd0865701ae839fb6d79",
    "bob": "d1e617d3b963757bfc21dad3fea169716c3a2f053f23decaea5cdfaabd04bfc4",
    "carol": "5f0c3a9e7b21d4e68a90c1f2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6",
}
WRONG = "00" * 32

# EMQX's documented PSK list (RSA-PSK-RC4-SHA is dropped with a warning).
EMQX_PSK_CIPHERS = [
    "PSK-AES256-GCM-SHA384", "PSK-AES128-GCM-SHA256",
    "PSK-AES256-CBC-SHA384", "PSK-AES256-CBC-SHA", "PSK-AES128-CBC-SHA256",
    "PSK-AES128-CBC-SHA", "RSA-PSK-AES256-GCM-SHA384",
    "RSA-PSK-AES256-CBC-SHA384", "RSA-PSK-AES128-GCM-SHA256",
    "RSA-PSK-AES128-CBC-SHA256", "RSA-PSK-AES256-CBC-SHA",
    "RSA-PSK-AES128-CBC-SHA",
]
EMQX_CIPHERS = ",".join(EMQX_PSK_CIPHERS + ["RSA-PSK-RC4-SHA"])


def write_psk(path, names=("alice", "bob"), sep=":", mode=0o600,
              extra=""):
    text = "".join(f"{n}{sep}{KEYS[n]}\n" for n in names) + extra
    path.write_text(text)
    path.chmod(mode)
    return path


def psk_conf(path, sep=None):
    text = f'psk_authentication {{\n  enable = true\n  init_file = "{path}"\n'
    if sep is not None:
        text += f'  separator = "{sep}"\n'
    return text + "}\nlog.level = debug\n"


@pytest.fixture
def psk_factory(broker_factory, tmp_path):
    """A broker whose ssl listener takes PSK clients (and certificate
    clients) and refuses anonymous ones; .psk is the identity file."""
    def start(names=("alice", "bob"), extra="", ssl_extra=""):
        path = write_psk(tmp_path / "init.psk", names)
        b = broker_factory(psk_conf(path) + extra, ssl=True,
                           ssl_extra="  allow_anonymous = false\n" +
                           ssl_extra)
        assert wait_port(b.ssl)
        b.psk = path
        return b
    return start


def s_client(port, ident, key, *args, data=b""):
    """openssl s_client -psk; data goes to the broker once the handshake is
    done.  Returns (exit code, what the broker sent, stderr)."""
    r = subprocess.run(["openssl", "s_client", "-quiet", "-ign_eof",
                        "-connect", f"127.0.0.1:{port}", "-psk", key,
                        "-psk_identity", ident, *args],
                       input=data, capture_output=True,
                       timeout=timeout(20))
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def mqtt_over_psk(port, ident, key, *args, **connect):
    """CONNECT and DISCONNECT over a PSK session; the CONNACK code, or None
    when no CONNACK came (the handshake failed)."""
    connect.setdefault("client_id", f"sc-{ident}")
    _, out, err = s_client(port, ident, key, *args,
                           data=raw.connect(**connect) + raw.DISCONNECT)
    if len(out) >= 4 and out[0] == 0x20:
        return out[3]
    return None


# Publishers use QoS 1 and so wait for the PUBACK: a QoS 0 mosquitto_pub
# closes the TLS session right after its PUBLISH, and when the broker reads
# both in one wake-up it drops the PUBLISH (client.c; not a PSK matter).
def mosq(b, ident, key=None, port=None):
    return ["-h", "127.0.0.1", "-p", str(port or b.ssl), "--psk",
            key or KEYS[ident], "--psk-identity", ident]


def no_secret_in(text, *names):
    for n in names:
        assert KEYS[n] not in text
        assert KEYS[n][:16] not in text


# --- real clients, TLS 1.2 ----------------------------------------------------

def test_mosquitto_clients_tls12_psk_with_emqx_cipher_list(psk_factory,
                                                          tmp_path):
    """EMQX's example listener: TLS 1.2 only, its PSK cipher list."""
    b = psk_factory(ssl_extra='  ssl_options.versions = ["tlsv1.2"]\n'
                    f'  ssl_options.ciphers = "{EMQX_CIPHERS}"\n')
    b.wait_log(r'ssl:default: ssl_options\.ciphers: "RSA-PSK-RC4-SHA" '
               r'skipped')
    out = tmp_path / "sub.out"
    with open(out, "w") as f:
        sub = subprocess.Popen(["mosquitto_sub", *mosq(b, "alice"), "-t",
                                "psk/#", "-v", "-C", "2", "-W", "15", "-q",
                                "1", "-i", "psksub"],
                               stdout=f, stderr=subprocess.STDOUT)
        try:
            b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: psksub connected "
                       r"as alice")
            # Retained: delivered whether the SUBSCRIBE is in yet or not.
            for i in (1, 2):
                r = run(["mosquitto_pub", *mosq(b, "bob"), "-t", f"psk/{i}",
                         "-m", f"m{i}", "-q", "1", "-r", "-i", f"pub{i}"])
                assert r.returncode == 0, r.stderr
            assert sub.wait(timeout(15)) == 0
        finally:
            if sub.poll() is None:
                sub.kill()
                sub.wait()
    assert sorted(out.read_text().splitlines()) == ["psk/1 m1", "psk/2 m2"]
    b.wait_log(r"pub1 connected as bob")
    log = b.log()
    assert "TLSv1.2 PSK-AES256-GCM-SHA384" in log
    assert "TLSv1.3" not in log
    no_secret_in(log, "alice", "bob")


@pytest.mark.parametrize("cipher", EMQX_PSK_CIPHERS +
                         ["ECDHE-PSK-CHACHA20-POLY1305",
                          "ECDHE-PSK-AES128-CBC-SHA256"])
def test_openssl_tls12_psk_suites(psk_factory, cipher):
    b = psk_factory()
    assert mqtt_over_psk(b.ssl, "alice", KEYS["alice"], "-tls1_2",
                         "-cipher", cipher) == 0
    b.wait_log(rf"TLSv1\.2 {cipher}\b")
    b.wait_log(r"sc-alice connected as alice")


def test_tls12_psk_session_is_never_resumed(psk_factory, tmp_path):
    """A resumption would skip the identity lookup, and so a reload."""
    b = psk_factory()
    sess = tmp_path / "sess.pem"
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{b.ssl}",
            "-psk", KEYS["alice"], "-psk_identity", "alice", "-tls1_2",
            "-cipher", "PSK-AES128-GCM-SHA256"]
    r = run(args + ["-sess_out", str(sess)], input="")
    assert "New, TLSv1.2, Cipher is PSK-AES128-GCM-SHA256" in r.stdout
    r = run(args + ["-sess_in", str(sess)], input="")
    assert "New, TLSv1.2, Cipher is PSK-AES128-GCM-SHA256" in r.stdout
    assert "Reused" not in r.stdout


# --- TLS 1.3 external PSKs ----------------------------------------------------

@pytest.mark.parametrize("suites", [None, "TLS_AES_128_GCM_SHA256",
                                    "TLS_CHACHA20_POLY1305_SHA256"])
def test_openssl_tls13_external_psk(psk_factory, suites):
    b = psk_factory()
    args = ["-tls1_3"] + (["-ciphersuites", suites] if suites else [])
    assert mqtt_over_psk(b.ssl, "bob", KEYS["bob"], *args) == 0
    b.wait_log(r"sc-bob connected as bob")
    b.wait_log(r"TLSv1\.3 " + (suites or r"TLS_\w+_SHA256"))


def test_tls13_psk_is_chosen_over_the_servers_sha384_preference(
        psk_factory):
    """The server prefers TLS_AES_256_GCM_SHA384 for certificate clients;
    a PSK client gets a SHA-256 suite, or its PSK would be ignored."""
    b = psk_factory(ssl_extra='  ssl_options.ciphers = ["TLS_AES_256_GCM_'
                    'SHA384", "TLS_AES_128_GCM_SHA256"]\n')
    r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{b.ssl}",
             "-psk", KEYS["alice"], "-psk_identity", "alice", "-tls1_3"],
            input="")
    assert "Reused, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256" in r.stdout
    r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{b.ssl}",
             "-tls1_3"], input="")
    assert "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" in r.stdout


def test_mosquitto_clients_tls13_psk(psk_factory):
    b = psk_factory()
    r = run(["mosquitto_pub", *mosq(b, "alice"), "-t", "t", "-m", "x",
             "-i", "m13"])
    assert r.returncode == 0, r.stderr
    b.wait_log(r"TLSv1\.3 TLS_\w+_SHA256")
    b.wait_log(r"m13 connected as alice")


# --- refusals -------------------------------------------------------------------

@pytest.mark.parametrize("version", [["-tls1_2", "-cipher",
                                      "PSK-AES128-GCM-SHA256"], ["-tls1_3"]])
def test_wrong_key_fails_the_handshake(psk_factory, version):
    b = psk_factory()
    assert mqtt_over_psk(b.ssl, "alice", WRONG, *version) is None
    b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: closing: TLS handshake "
               r"failed")
    assert " connected" not in b.log()


def test_wrong_key_mosquitto(psk_factory):
    b = psk_factory()
    r = run(["mosquitto_pub", *mosq(b, "alice", WRONG), "-t", "t", "-m",
             "x"])
    assert r.returncode != 0
    b.wait_log(r"closing: TLS handshake failed")
    assert " connected" not in b.log()


def test_unknown_identity_tls12_fails(psk_factory):
    b = psk_factory()
    assert mqtt_over_psk(b.ssl, "carol", KEYS["carol"], "-tls1_2",
                         "-cipher", "PSK-AES128-GCM-SHA256") is None
    b.wait_log(r'unknown PSK identity "carol"')
    b.wait_log(r"closing: TLS handshake failed")
    no_secret_in(b.log(), "carol")


def test_unknown_identity_tls13_is_not_authenticated(psk_factory):
    """TLS 1.3 falls back to the certificate: the client is then anonymous,
    which this listener refuses."""
    b = psk_factory()
    assert mqtt_over_psk(b.ssl, "carol", KEYS["carol"], "-tls1_3") == 5
    b.wait_log(r'unknown PSK identity "carol"')
    b.wait_log(r"closing: anonymous clients are not allowed")
    assert "connected as carol" not in b.log()


def test_psk_user_needs_no_password_and_connect_user_is_ignored(
        psk_factory, tmp_path):
    """The handshake proved who the client is: the password file and the
    CONNECT user name do not apply (as mosquitto's use_identity_as_username).
    """
    pw = tmp_path / "passwd"
    r = subprocess.run([str(BUILD / "staplemq-passwd"), "-c", "-i", "1000",
                        str(pw), "mallory"], input="x\n",
                       capture_output=True, text=True, timeout=timeout(20))
    assert r.returncode == 0, r.stderr
    b = psk_factory(extra=f'authentication.password_file = "{pw}"\n')
    assert mqtt_over_psk(b.ssl, "alice", KEYS["alice"], "-tls1_3",
                         client_id="u1", username="mallory",
                         password="wrong") == 0
    b.wait_log(r"u1 connected as alice")
    assert "as mallory" not in b.log()


def test_psk_off_by_default(broker_factory):
    b = broker_factory(ssl=True)
    assert wait_port(b.ssl)
    assert mqtt_over_psk(b.ssl, "alice", KEYS["alice"], "-tls1_2",
                         "-cipher", "PSK-AES128-GCM-SHA256") is None
    assert "connected as alice" not in b.log()


# --- the identity file ------------------------------------------------------------

def broker_test(conf):
    return run([str(BUILD / "staplemq-broker"), "-t", "-c", str(conf)])


def test_malformed_file_refused_naming_file_and_line(conf_factory, pki,
                                                    tmp_path, daemons):
    path = tmp_path / "bad.psk"
    path.write_text(
        f"alice:{KEYS['alice']}\n"
        f"bob{KEYS['bob']}\n"                   # 2: no separator
        f"carol:{KEYS['carol'][:-1]}\n"         # 3: odd length
        f"dave:{KEYS['alice'][:-2]}zz\n"        # 4: not hex
        f":{KEYS['bob']}\n"                     # 5: empty identity
        f"{'x' * 129}:{KEYS['bob']}\n"          # 6: identity too long
        f"erin:{KEYS['carol'] * 3}\n"           # 7: secret too long
        f"alice:{KEYS['carol']}\n"              # 8: duplicate
        "\n# comments and blank lines are fine\n")
    path.chmod(0o600)
    conf = conf_factory(listener_block("ssl", "default", free_port(), pki) +
                        psk_conf(path))
    r = broker_test(conf)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    for line, why in ((2, "no separator"), (3, "odd number of hex digits"),
                      (4, "not hexadecimal"), (5, "empty identity"),
                      (6, "identity longer than 128 bytes"),
                      (7, "secret longer than 64 bytes"),
                      (8, r"duplicate identity \(first on line 1\)")):
        assert re.search(rf"{path}:{line}: .*{why}", out), out
    assert "configuration OK" not in out
    no_secret_in(out, "alice", "bob", "carol")
    # and the daemon itself will not start
    d = daemons("staplemq-broker", conf, wait_for=None)
    assert d.proc.wait(timeout(10)) != 0
    log = d.log()
    assert f"{path}:2: no separator" in log
    no_secret_in(log, "alice", "bob", "carol")


def test_other_separator(broker_factory, tmp_path):
    path = write_psk(tmp_path / "semi.psk", sep=";;")
    b = broker_factory(psk_conf(path, sep=";;"), ssl=True)
    assert wait_port(b.ssl)
    assert mqtt_over_psk(b.ssl, "bob", KEYS["bob"], "-tls1_3") == 0
    b.wait_log(r"connected as bob")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_loose_mode_refused(conf_factory, pki, tmp_path, mode):
    path = write_psk(tmp_path / "loose.psk", mode=mode)
    conf = conf_factory(listener_block("ssl", "default", free_port(), pki) +
                        psk_conf(path))
    r = broker_test(conf)
    out = r.stdout + r.stderr
    assert r.returncode == 1
    assert f"{path}: mode {mode:04o} lets group or others in" in out
    no_secret_in(out, "alice", "bob")


def test_fetcherd_never_reads_the_psk_file(conf_factory, pki, tmp_path):
    """The key file is the broker's alone: fetcherd accepts the keys and
    does not open the file (here unreadable garbage with a loose mode)."""
    path = tmp_path / "garbage.psk"
    path.write_text("not a psk line\n")
    path.chmod(0o644)
    conf = conf_factory(listener_block("ssl", "default", free_port(), pki) +
                        psk_conf(path))
    r = run([str(BUILD / "staplemq-fetcherd"), "-t", "-c", str(conf)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert broker_test(conf).returncode == 1


# --- reload ---------------------------------------------------------------------

def test_reload_adds_removes_and_disconnects(psk_factory, tmp_path):
    b = psk_factory(names=("alice", "bob"))
    subs = {}
    try:
        for name in ("alice", "bob"):
            subs[name] = subprocess.Popen(
                ["mosquitto_sub", *mosq(b, name), "-t", "r/#", "-v", "-i",
                 f"live-{name}", "-W", "30"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            b.wait_log(rf"live-{name} connected as {name}")
        assert mqtt_over_psk(b.ssl, "carol", KEYS["carol"], "-tls1_2",
                             "-cipher", "PSK-AES128-GCM-SHA256") is None
        write_psk(b.psk, names=("alice", "carol"))
        b.signal(signal.SIGHUP)
        b.wait_log(r'ssl:default: 127\.0\.0\.1:\d+: PSK identity "bob" '
                   r'removed; disconnecting')
        b.wait_log(r"live-bob: closing: PSK identity withdrawn")
        b.wait_log(r"2 PSK identities in use; 1 clients disconnected")
        # new identities work, removed ones do not, for new handshakes
        assert mqtt_over_psk(b.ssl, "carol", KEYS["carol"], "-tls1_2",
                             "-cipher", "PSK-AES128-GCM-SHA256") == 0
        assert mqtt_over_psk(b.ssl, "carol", KEYS["carol"], "-tls1_3") == 0
        assert mqtt_over_psk(b.ssl, "bob", KEYS["bob"], "-tls1_2",
                             "-cipher", "PSK-AES128-GCM-SHA256") is None
        assert mqtt_over_psk(b.ssl, "bob", KEYS["bob"], "-tls1_3") == 5
        # alice's live session was left alone
        r = run(["mosquitto_pub", *mosq(b, "carol"), "-t", "r/1", "-m",
                 "after", "-r", "-q", "1"])
        assert r.returncode == 0, r.stderr
        line = subs["alice"].stdout.readline()
        assert line == b"r/1 after\n"
        assert "live-alice: closing" not in b.log()
    finally:
        for p in subs.values():
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()
    no_secret_in(b.log(), "alice", "bob", "carol")


def test_reload_with_new_secret_disconnects(psk_factory):
    b = psk_factory(names=("alice",))
    sub = subprocess.Popen(["mosquitto_sub", *mosq(b, "alice"), "-t", "x",
                            "-i", "rekeyed", "-W", "30"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        b.wait_log(r"rekeyed connected as alice")
        b.psk.write_text(f"alice:{KEYS['carol']}\n")
        b.signal(signal.SIGHUP)
        b.wait_log(r'PSK identity "alice" has a new secret; disconnecting')
        assert mqtt_over_psk(b.ssl, "alice", KEYS["carol"], "-tls1_3") == 0
        assert mqtt_over_psk(b.ssl, "alice", KEYS["alice"], "-tls1_2",
                             "-cipher", "PSK-AES128-GCM-SHA256") is None
    finally:
        sub.kill()
        sub.wait()


def test_reload_with_invalid_file_keeps_the_table(psk_factory):
    b = psk_factory(names=("alice", "bob"))
    b.psk.write_text(f"alice:{KEYS['alice']}\nbob={KEYS['bob']}\n"
                     f"carol:{KEYS['carol']}0\n")
    b.signal(signal.SIGHUP)
    b.wait_log(rf"{b.psk}:2: no separator")
    b.wait_log(rf"{b.psk}:3: secret has an odd number")
    b.wait_log(r"PSK file not valid; still running on the previous "
               r"configuration")
    assert mqtt_over_psk(b.ssl, "bob", KEYS["bob"], "-tls1_3") == 0
    assert mqtt_over_psk(b.ssl, "carol", KEYS["carol"], "-tls1_3") == 5
    # loose modes are refused on reload too
    write_psk(b.psk, names=("alice",), mode=0o644)
    b.signal(signal.SIGHUP)
    b.wait_log(r"mode 0644 lets group or others in")
    b.wait_log(r"PSK file not valid", count=2)
    assert mqtt_over_psk(b.ssl, "bob", KEYS["bob"], "-tls1_2", "-cipher",
                         "PSK-AES128-GCM-SHA256") == 0
    assert b.alive()
    no_secret_in(b.log(), "alice", "bob", "carol")


# --- one listener, two kinds of clients; identity as user and client id ---------

def test_certificate_and_psk_clients_on_one_listener(psk_factory, tmp_path):
    b = psk_factory(ssl_extra="  allow_anonymous = true\n")
    out = tmp_path / "sub.out"
    cert = ["-h", "127.0.0.1", "-p", str(b.ssl), "--cafile",
            str(b.pki / "ca.pem")]
    with open(out, "w") as f:
        sub = subprocess.Popen(["mosquitto_sub", *cert, "-t", "mix/#", "-v",
                                "-C", "2", "-W", "15", "-i", "certsub"],
                               stdout=f, stderr=subprocess.STDOUT)
        psksub = subprocess.Popen(["mosquitto_sub", *mosq(b, "alice"), "-t",
                                   "mix/#", "-v", "-C", "2", "-W", "15",
                                   "-i", "psksub"],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        try:
            b.wait_log(r"certsub connected, keepalive")
            b.wait_log(r"psksub connected as alice")
            # Retained: delivered whether the SUBSCRIBE is in yet or not.
            r = run(["mosquitto_pub", *mosq(b, "bob"), "-t", "mix/psk",
                     "-m", "from-psk", "-r", "-q", "1"])
            assert r.returncode == 0, r.stderr
            r = run(["mosquitto_pub", *cert, "-t", "mix/cert", "-m",
                     "from-cert", "-r", "-q", "1"])
            assert r.returncode == 0, r.stderr
            assert sub.wait(timeout(15)) == 0
            assert psksub.wait(timeout(15)) == 0
            got = psksub.stdout.read().decode().splitlines()
        finally:
            for p in (sub, psksub):
                if p.poll() is None:
                    p.kill()
                p.wait()
            psksub.stdout.close()
    want = ["mix/cert from-cert", "mix/psk from-psk"]
    assert sorted(out.read_text().splitlines()) == want
    assert sorted(got) == want
    assert "Verification" not in out.read_text()


def test_psk_on_a_listener_that_requires_certificates(psk_factory):
    """The key authenticates a PSK client; verify_peer and
    fail_if_no_peer_cert still hold for everyone else."""
    b = psk_factory(ssl_extra="  ssl_options.verify = verify_peer\n"
                    "  ssl_options.fail_if_no_peer_cert = true\n")
    assert mqtt_over_psk(b.ssl, "alice", KEYS["alice"], "-tls1_2",
                         "-cipher", "PSK-AES128-GCM-SHA256") == 0
    assert mqtt_over_psk(b.ssl, "bob", KEYS["bob"], "-tls1_3") == 0
    b.wait_log(r"sc-alice connected as alice")
    b.wait_log(r"sc-bob connected as bob")
    # neither a certificate nor a known identity: refused in the handshake
    assert mqtt_over_psk(b.ssl, "carol", KEYS["carol"], "-tls1_3") is None
    b.wait_log(r"closing: TLS handshake failed: .*peer did not return a "
               r"certificate")


def test_acl_user_block_applies_to_the_psk_identity(psk_factory, tmp_path):
    acl = tmp_path / "acl"
    acl.write_text("topic write #\n\nuser alice\ntopic read alice/#\n")
    b = psk_factory(extra=f'authorization.acl_file = "{acl}"\n')
    sub = subprocess.Popen(["mosquitto_sub", *mosq(b, "alice"), "-t",
                            "alice/in", "-t", "bob/in", "-v", "-C", "1",
                            "-W", "15", "-i", "aclsub"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        b.wait_log(r"aclsub: SUBSCRIBE bob/in not authorized")
        for topic in ("bob/in", "alice/in"):
            r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.tcp),
                     "-t", topic, "-m", topic, "-q", "1"])
            assert r.returncode == 0, r.stderr
        assert sub.wait(timeout(15)) == 0
        assert sub.stdout.read() == b"alice/in alice/in\n"
    finally:
        if sub.poll() is None:
            sub.kill()
        sub.wait()
        sub.stdout.close()
    b.wait_log(r"aclsub connected as alice")


@pytest.mark.parametrize("key", ["peer_cert_as_clientid",
                                 "peer_cert_as_username"])
def test_identity_stands_in_for_the_certificate_cn(psk_factory, key):
    b = psk_factory(extra=f"mqtt.{key} = cn\n")
    assert mqtt_over_psk(b.ssl, "alice", KEYS["alice"], "-tls1_3",
                         client_id="given") == 0
    if key == "peer_cert_as_clientid":
        b.wait_log(r": alice connected as alice")
    else:
        b.wait_log(r": given connected as alice")


def test_tcp_listener_knows_no_psk(psk_factory):
    """Only ssl listeners speak TLS, so only they take PSK clients."""
    b = psk_factory()
    r = run(["mosquitto_pub", *mosq(b, "alice", port=b.tcp), "-t", "t",
             "-m", "x"])
    assert r.returncode != 0
    assert "connected as alice" not in b.log()
