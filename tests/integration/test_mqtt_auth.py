"""Authentication and authorization against the real broker: anonymous
clients, the password file made by staplemq-passwd, mosquitto's acl_file
format, their reload on SIGHUP, and client certificates as user name or
client id.  CONNACK codes are MQTT 3.1.1's (3.2.2.3): 4 bad user name or
password, 5 not authorized."""
import os
import re
import signal
import subprocess
import time

import pytest

import mqttraw as raw
from conftest import BUILD, free_port, listener_block, run, timeout, wait_port
from paho_util import Client

PASSWD = BUILD / "staplemq-passwd"

ACL = """\
# global: every client
topic read public/#

user alice
topic readwrite alice/#
topic write public/#

user watcher
topic read #
topic deny secret/#

user writer
topic write #

pattern read devices/%c/#
pattern readwrite users/%u/#
"""


def add_user(path, user, password, create=False):
    args = [str(PASSWD)] + (["-c"] if create else []) + \
        ["-i", "1000", str(path), user]
    r = subprocess.run(args, input=f"{password}\n", capture_output=True,
                       text=True, timeout=timeout(20))
    assert r.returncode == 0, r.stderr
    return path


def read_to_eof(r, secs=5.0):
    """Everything the broker sends until it closes the connection."""
    data, deadline = b"", time.monotonic() + timeout(secs)
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"connection still open; got {data!r}"
            r.sock.settimeout(left)
            chunk = r.sock.recv(4096)
            if not chunk:
                return r.buf + data
            data += chunk
    except ConnectionResetError:
        return r.buf + data


def connack(port, **kw):
    """CONNECT; return the CONNACK code, having checked that a refusal is
    followed by the close (MQTT-3.2.2-5)."""
    r = raw.Raw(port)
    present, code = r.connack(**kw)
    assert not present
    if code != 0:
        assert read_to_eof(r) == b""
    return code


def suback(r, pid, *filters):
    r.send(raw.subscribe(pid, *filters))
    p = r.expect(9)
    assert p.body[:2] == bytes([pid >> 8, pid & 255])
    return list(p.body[2:])


def user(port, name, client_id=None):
    r = raw.Raw(port)
    assert r.connack(client_id=client_id or name, username=name) == \
        (False, 0)
    return r


@pytest.fixture
def acl_broker(broker_factory, tmp_path):
    path = tmp_path / "acl"
    path.write_text(ACL)
    b = broker_factory(f'authorization.acl_file = "{path}"\n')
    b.acl = path
    return b


# --- anonymous clients ------------------------------------------------------

def test_allow_anonymous_false_refuses_with_connack_5(broker_factory):
    b = broker_factory(tcp_extra="  allow_anonymous = false\n")
    assert connack(b.tcp, client_id="anon") == 5
    b.wait_log(r" info \S+: tcp:default: 127\.0\.0\.1:\d+ anon: "
               r"closing: anonymous clients are not allowed")
    assert "anon connected" not in b.log()
    assert connack(b.tcp, client_id="named", username="bob") == 0
    b.wait_log(r"named connected as bob")
    # a real client sees the refusal too
    r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(b.tcp), "-t", "x",
             "-m", "y"])
    assert r.returncode != 0
    assert "not authori" in (r.stderr + r.stdout).lower()


def test_allow_anonymous_is_per_listener(daemons, conf_factory):
    open_port, closed_port = free_port(), free_port()
    conf = conf_factory(
        listener_block("tcp", "open", open_port) +
        listener_block("tcp", "closed", closed_port,
                       extra="  allow_anonymous = false\n"))
    daemons("staplemq-broker", conf)
    assert wait_port(open_port) and wait_port(closed_port)
    assert connack(open_port, client_id="a1") == 0
    assert connack(closed_port, client_id="a2") == 5


# --- the password file ------------------------------------------------------

@pytest.fixture
def pw_broker(broker_factory, tmp_path):
    path = add_user(tmp_path / "passwd", "alice", "secret", create=True)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    b = broker_factory(f'authentication.password_file = "{path}"\n')
    b.passwd = path
    return b


def test_password_file_right_password_accepted(pw_broker):
    assert connack(pw_broker.tcp, client_id="c1", username="alice",
                   password="secret") == 0
    pw_broker.wait_log(r"c1 connected as alice")
    c = Client(pw_broker.tcp, client_id="c1paho", username="alice",
               password="secret")
    assert c.subscribe("x") == (0,)
    c.stop()


def test_password_file_wrong_password_gets_4(pw_broker):
    assert connack(pw_broker.tcp, client_id="c2", username="alice",
                   password="Secret") == 4
    pw_broker.wait_log(r"c2: closing: bad user name or password")
    r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(pw_broker.tcp),
             "-t", "x", "-m", "y", "-u", "alice", "-P", "wrong"])
    assert r.returncode != 0
    assert "bad user name or password" in (r.stderr + r.stdout).lower()


def test_password_file_unknown_user_gets_4(pw_broker):
    assert connack(pw_broker.tcp, client_id="c3", username="mallory",
                   password="secret") == 4
    assert "connected as mallory" not in pw_broker.log()


def test_password_file_user_without_password_gets_4(pw_broker):
    assert connack(pw_broker.tcp, client_id="c4", username="alice") == 4
    assert connack(pw_broker.tcp, client_id="c5", username="alice",
                   password="") == 4


def test_password_file_and_no_anonymous(broker_factory, tmp_path):
    path = add_user(tmp_path / "passwd", "alice", "secret", create=True)
    b = broker_factory(f'authentication.password_file = "{path}"\n',
                       tcp_extra="  allow_anonymous = false\n")
    assert connack(b.tcp, client_id="anon") == 5
    assert connack(b.tcp, client_id="ok", username="alice",
                   password="secret") == 0


def test_password_file_readable_by_others_refuses_start(daemons,
                                                        conf_factory,
                                                        tmp_path):
    path = add_user(tmp_path / "passwd", "alice", "secret", create=True)
    os.chmod(path, 0o644)
    conf = conf_factory(listener_block("tcp", "default", free_port()) +
                        f'authentication.password_file = "{path}"\n')
    d = daemons("staplemq-broker", conf, wait_for=None)
    assert d.proc.wait(timeout(10)) == 1
    assert str(path) in d.log()
    assert "0644" in d.log()
    assert "started" not in d.log()
    r = run([str(BUILD / "staplemq-broker"), "-t", "-c", str(conf)])
    assert r.returncode == 1
    assert str(path) in r.stdout + r.stderr
    os.chmod(path, 0o600)
    r = run([str(BUILD / "staplemq-broker"), "-t", "-c", str(conf)])
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("refusal", ["bad-password", "anonymous"])
def test_mqtt_3_1_4_5_nothing_processed_after_a_refused_connect(
        broker_factory, tmp_path, refusal):
    path = add_user(tmp_path / "passwd", "alice", "secret", create=True)
    b = broker_factory(f'authentication.password_file = "{path}"\n',
                       tcp_extra="  allow_anonymous = false\n")
    watcher = Client(b.tcp, client_id="w", username="alice",
                     password="secret")
    watcher.subscribe("after/#", 1)
    creds = {"username": "alice", "password": "guess"} \
        if refusal == "bad-password" else {}
    r = raw.Raw(b.tcp)
    # CONNECT and, without waiting for the CONNACK, more packets
    r.send(raw.connect(client_id="eager", **creds) +
           raw.subscribe(1, ("after/#", 1)) +
           raw.publish("after/sneaky", b"x", qos=1, pid=2) +
           raw.PINGREQ)
    assert r.recv().body == bytes([0, 4 if creds else 5])      # CONNACK
    assert read_to_eof(r) == b""               # no SUBACK, PUBACK, PINGRESP
    marker = Client(b.tcp, client_id="m", username="alice",
                    password="secret")
    marker.publish("after/marker", b"m", 1)
    assert watcher.get().topic == "after/marker"
    assert "eager connected" not in b.log()
    for c in (watcher, marker):
        c.stop()


# --- the ACL file -----------------------------------------------------------

def test_acl_refused_subscribe_gets_0x80_and_is_logged(acl_broker):
    r = user(acl_broker.tcp, "alice")
    assert suback(r, 1, ("alice/#", 1), ("secret/x", 1), ("public/#", 0),
                  ("bob/+", 2)) == [1, 0x80, 0, 0x80]
    acl_broker.wait_log(r" info \S+: tcp:default: "
                        r"127\.0\.0\.1:\d+: alice: SUBSCRIBE secret/x not "
                        r"authorized")
    acl_broker.wait_log(r"alice: SUBSCRIBE bob/\+ not authorized")
    # the refused filter delivers nothing, the granted one does
    w = user(acl_broker.tcp, "writer")
    w.send(raw.publish("secret/x", b"no", qos=1, pid=1))
    w.expect(4)
    w.send(raw.publish("alice/1", b"yes", qos=1, pid=2))
    w.expect(4)
    p = r.expect(3)
    assert p.publish_fields()[0::2] == ("alice/1", b"yes")


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_acl_refused_publish_is_acknowledged_and_dropped(acl_broker, qos):
    watcher = Client(acl_broker.tcp, client_id="watcher", username="watcher")
    assert watcher.subscribe("#", 2) == (2,)
    r = user(acl_broker.tcp, "alice")
    r.send(raw.publish("bob/x", b"forbidden", qos=qos, pid=7))
    if qos == 1:
        assert r.expect(4).body == b"\x00\x07"              # PUBACK
    elif qos == 2:
        assert r.expect(5).body == b"\x00\x07"              # PUBREC
        r.send(raw.ack(6, 7))
        assert r.expect(7).body == b"\x00\x07"              # PUBCOMP
    acl_broker.wait_log(r" info \S+: tcp:default: 127\.0\.0\.1:"
                        r"\d+: alice: PUBLISH to bob/x not authorized, "
                        r"dropped")
    # the connection stays up and an allowed message still flows
    r.send(raw.publish("alice/x", b"allowed", qos=1, pid=8))
    assert r.expect(4).body == b"\x00\x08"
    m = watcher.get()
    assert (m.topic, m.payload) == ("alice/x", b"allowed")
    assert watcher.nothing(0.3)
    watcher.stop()


def test_acl_pattern_client_id(acl_broker):
    d1 = raw.Raw(acl_broker.tcp)
    assert d1.connack(client_id="dev1") == (False, 0)          # anonymous
    assert suback(d1, 1, ("devices/dev1/#", 1), ("devices/dev2/#", 1),
                  ("devices/+/temp", 1)) == [1, 0x80, 0x80]
    d2 = raw.Raw(acl_broker.tcp)
    assert d2.connack(client_id="dev2", username="someone") == (False, 0)
    assert suback(d2, 1, ("devices/dev2/#", 0)) == [0]
    # %c grants read only: the device may not publish there
    d2.send(raw.publish("devices/dev2/cmd", b"x", qos=1, pid=3))
    d2.expect(4)
    acl_broker.wait_log(r"dev2: PUBLISH to devices/dev2/cmd not authorized")
    w = user(acl_broker.tcp, "writer")
    w.send(raw.publish("devices/dev1/cmd", b"one", qos=1, pid=1))
    w.send(raw.publish("devices/dev2/cmd", b"two", qos=1, pid=2))
    assert d1.expect(3).publish_fields()[2] == b"one"
    assert d2.expect(3).publish_fields()[2] == b"two"


def test_acl_pattern_username(acl_broker):
    a = user(acl_broker.tcp, "alice", client_id="phone")
    assert suback(a, 1, ("users/alice/#", 1), ("users/bob/#", 1),
                  ("users/#", 1)) == [1, 0x80, 0x80]
    a.send(raw.publish("users/alice/note", b"mine", qos=1, pid=2))
    assert a.expect(3).publish_fields()[2] == b"mine"    # read back
    a.expect(4)
    # an anonymous client gets nothing from a %u pattern
    anon = raw.Raw(acl_broker.tcp)
    assert anon.connack(client_id="anon") == (False, 0)
    assert suback(anon, 1, ("users/alice/#", 0), ("public/x", 0)) == \
        [0x80, 0]


def test_acl_wide_subscription_skips_denied_topics(acl_broker):
    watcher = Client(acl_broker.tcp, client_id="watcher", username="watcher")
    assert watcher.subscribe("#", 1) == (1,)
    assert watcher.subscribe("secret/#", 1) == (128,)
    w = user(acl_broker.tcp, "writer")
    for i, topic in enumerate(["secret/a", "open/a", "secret/b/c",
                               "open/b"]):
        w.send(raw.publish(topic, b"m", qos=1, pid=i + 1))
        w.expect(4)
    got = [watcher.get().topic, watcher.get().topic]
    assert got == ["open/a", "open/b"]
    assert watcher.nothing(0.3)
    watcher.stop()


def test_acl_wide_subscription_skips_denied_retained(acl_broker):
    w = user(acl_broker.tcp, "writer")
    for i, topic in enumerate(["secret/kept", "open/kept"]):
        w.send(raw.publish(topic, b"retained", qos=1, pid=i + 1,
                           retain=True))
        w.expect(4)
    watcher = Client(acl_broker.tcp, client_id="watcher", username="watcher")
    assert watcher.subscribe("#", 1) == (1,)
    # retained messages come right after the SUBACK, so before this one
    w.send(raw.publish("open/end", b"live", qos=1, pid=9))
    got = []
    while not got or got[-1] != "open/end":
        got.append(watcher.get().topic)
    assert "secret/kept" not in got, f"denied retained message sent: {got}"
    assert got == ["open/kept", "open/end"]
    watcher.stop()


def test_acl_will_topic_must_be_writable(acl_broker):
    assert connack(acl_broker.tcp, client_id="w1", username="alice",
                   will=("bob/will", b"x", 0, False)) == 5
    acl_broker.wait_log(r"w1: closing: will topic not authorized")
    watcher = Client(acl_broker.tcp, client_id="watcher", username="watcher")
    watcher.subscribe("#", 0)
    r = raw.Raw(acl_broker.tcp)
    assert r.connack(client_id="w2", username="alice",
                     will=("alice/will", b"gone", 0, False)) == (False, 0)
    r.close()                             # abnormal: the will goes out
    m = watcher.get()
    assert (m.topic, m.payload) == ("alice/will", b"gone")
    watcher.stop()


# --- SIGHUP -----------------------------------------------------------------

def reload(b, n):
    """SIGHUP and wait for the nth reload to finish either way."""
    b.signal(signal.SIGHUP)
    b.wait_log(r"(configuration reloaded|still running on the previous)",
               count=n)


def test_sighup_reloads_password_file(pw_broker):
    assert connack(pw_broker.tcp, client_id="b1", username="bob",
                   password="hunter2") == 4
    add_user(pw_broker.passwd, "bob", "hunter2")
    reload(pw_broker, 1)
    assert "configuration reloaded" in pw_broker.log()
    assert connack(pw_broker.tcp, client_id="b2", username="bob",
                   password="hunter2") == 0
    assert connack(pw_broker.tcp, client_id="a1", username="alice",
                   password="secret") == 0
    # and a removed user is out after the next one
    r = subprocess.run([str(PASSWD), "-D", str(pw_broker.passwd), "alice"],
                       capture_output=True, timeout=timeout(20))
    assert r.returncode == 0, r.stderr
    reload(pw_broker, 2)
    assert connack(pw_broker.tcp, client_id="a2", username="alice",
                   password="secret") == 4


def test_sighup_reloads_acl(acl_broker):
    r = user(acl_broker.tcp, "alice")
    assert suback(r, 1, ("news/#", 0)) == [0x80]
    acl_broker.acl.write_text(ACL + "user alice\ntopic read news/#\n")
    reload(acl_broker, 1)
    assert "configuration reloaded" in acl_broker.log()
    # on the connection that was already there, and on a new one
    assert suback(r, 2, ("news/#", 0)) == [0]
    r2 = user(acl_broker.tcp, "alice", client_id="alice2")
    assert suback(r2, 1, ("news/#", 0)) == [0]


@pytest.mark.parametrize("broken", ["acl", "passwd"])
def test_sighup_with_broken_auth_file_keeps_the_old_one(broker_factory,
                                                       tmp_path, broken):
    pw = add_user(tmp_path / "passwd", "alice", "secret", create=True)
    acl = tmp_path / "acl"
    acl.write_text(ACL)
    b = broker_factory(f'authentication.password_file = "{pw}"\n'
                       f'authorization.acl_file = "{acl}"\n')
    if broken == "acl":
        acl.write_text(ACL + "user bob\ntopic readwrite bob/#\n"
                       "topic sometimes bob/x\n")
    else:
        add_user(pw, "bob", "pw")
        os.chmod(pw, 0o644)
    reload(b, 1)
    b.wait_log(r" error \S+: \S+ is not valid; still running on the "
               r"previous configuration")
    assert "configuration reloaded" not in b.log()
    b.wait_log(re.escape(str(pw if broken == "passwd" else acl)))
    assert b.alive()
    # the old files still rule: alice in, bob out, old grants
    r = raw.Raw(b.tcp)
    assert r.connack(client_id="a", username="alice",
                     password="secret") == (False, 0)
    assert suback(r, 1, ("alice/#", 0), ("bob/#", 0)) == [0, 0x80]
    assert connack(b.tcp, client_id="b", username="bob", password="pw") == 4


# --- client certificates ----------------------------------------------------

def mtls_broker(broker_factory, tmp_path, extra):
    acl = tmp_path / "acl"
    acl.write_text(ACL + "user device-good\ntopic readwrite "
                   "devices/good/#\n")
    return broker_factory(f'authorization.acl_file = "{acl}"\n' + extra,
                          ssl=True,
                          ssl_extra="  ssl_options.verify = verify_peer\n"
                                    "  ssl_options.fail_if_no_peer_cert = "
                                    "true\n")


def tls_client(b, **kw):
    return Client(b.ssl, tls={"ca": str(b.pki / "ca.pem"),
                              "cert": str(b.pki / "client.pem"),
                              "key": str(b.pki / "client.key")}, **kw)


def test_peer_cert_as_username_cn(broker_factory, tmp_path):
    b = mtls_broker(broker_factory, tmp_path,
                    "mqtt.peer_cert_as_username = cn\n")
    # the certificate wins over the user name in CONNECT
    c = tls_client(b, client_id="board7", username="watcher")
    b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: board7 connected as "
               r"device-good")
    assert c.subscribe("devices/good/#", 1) == (1,)
    assert c.subscribe("#", 1) == (128,)         # watcher's right, not its
    c.publish("devices/good/temp", b"21", 1)
    m = c.get()
    assert (m.topic, m.payload) == ("devices/good/temp", b"21")
    c.stop()


def test_peer_cert_as_clientid_cn(broker_factory, tmp_path):
    b = mtls_broker(broker_factory, tmp_path,
                    "mqtt.peer_cert_as_clientid = cn\n")
    c = tls_client(b, client_id="whatever")
    b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: device-good connected")
    assert "whatever connected" not in b.log()
    # the %c pattern sees the certificate's name
    assert c.subscribe("devices/device-good/#", 1) == (1,)
    assert c.subscribe("devices/whatever/#", 1) == (128,)
    c.stop()


def test_peer_cert_as_username_on_a_listener_without_anonymous(
        broker_factory):
    b = broker_factory("mqtt.peer_cert_as_username = cn\n", ssl=True,
                       ssl_extra="  ssl_options.verify = verify_peer\n"
                                 "  allow_anonymous = false\n")
    # a verified certificate names the user: not anonymous
    c = tls_client(b, client_id="named-by-cert")
    b.wait_log(r"named-by-cert connected as device-good")
    c.stop()
    # no certificate and no user name: anonymous, refused
    ca = {"ca": str(b.pki / "ca.pem")}
    anon = Client(b.ssl, client_id="nocert", tls=ca, connect=False)
    anon.connect(expect_rc=5)
    anon.stop()
    b.wait_log(r"nocert: closing: anonymous clients are not allowed")
