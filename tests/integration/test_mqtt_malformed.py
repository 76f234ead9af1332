"""MQTT 3.1.1 malformed input against the real broker: each bad packet
closes only the connection that sent it, is logged once at info, and every
other client keeps working.  Tests are named for the normative statement
they check; tests/data/mqtt/malformed.txt is replayed too."""
import re
import socket
import struct
import time

import pytest

import mqttraw as raw
from conftest import ROOT, timeout

VECTORS = ROOT / "tests/data/mqtt/malformed.txt"


# --- helpers ----------------------------------------------------------------

class Bystander:
    """A client connected before the bad one; check() proves that it, the
    routing and the listener still work after the bad one was closed."""

    def __init__(self, port):
        self.port = port
        self.r = raw.Raw(port)
        assert self.r.connack(client_id="bystander") == (False, 0)
        self.r.send(raw.subscribe(1, ("by/#", 1)))
        assert self.r.expect(9).body == b"\x00\x01\x01"
        self.n = 0

    def check(self):
        self.n += 1
        payload = f"still here {self.n}".encode()
        # a message from a new client reaches the old one
        other = raw.Raw(self.port)
        assert other.connack(client_id=f"fresh{self.n}") == (False, 0)
        other.send(raw.publish("by/x", payload, qos=1, pid=5))
        assert other.expect(4).body == b"\x00\x05"
        p = self.r.expect(3)
        topic, pid, got = p.publish_fields()
        assert (topic, got) == ("by/x", payload)
        self.r.send(raw.ack(4, pid))
        self.r.send(raw.PINGREQ).expect(13)
        other.send(raw.DISCONNECT)
        other.close()


@pytest.fixture
def bystander(broker):
    return Bystander(broker.tcp)


def connected(port, client_id):
    r = raw.Raw(port)
    assert r.connack(client_id=client_id) == (False, 0)
    return r


def read_to_eof(r, secs=5.0):
    """Everything the broker sends until it closes; fails on a timeout."""
    data = b""
    deadline = time.monotonic() + timeout(secs)
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"connection still open; got {data!r}"
            r.sock.settimeout(left)
            chunk = r.sock.recv(65536)
            if not chunk:
                return r.buf + data
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        return r.buf + data


def closing_lines(broker, r):
    """The log lines that say this connection was closed."""
    port = r.sock.getsockname()[1]
    rx = re.compile(rf"127\.0\.0\.1:{port}\b.*closing: ")
    return [l for l in broker.log().splitlines() if rx.search(l)]


def assert_closed_alone(broker, r, reason, bystander, silent=False):
    """r was closed (without a byte when silent), the close was logged once
    at info with reason (a regex), and the bystander is unaffected."""
    got = read_to_eof(r)
    if silent:
        assert got == b"", f"broker answered {got!r}"
    port = r.sock.getsockname()[1]
    broker.wait_log(rf" info \S+: tcp:default: 127\.0\.0\.1:"
                    rf"{port}\b[^\n]*: closing: [^\n]*{reason}")
    bystander.check()
    lines = closing_lines(broker, r)
    assert len(lines) == 1, lines
    return lines[0]


def u16(n):
    return struct.pack("!H", n)


# --- fixed header -----------------------------------------------------------

def test_remaining_length_of_five_bytes_closes(broker, bystander):
    r = connected(broker.tcp, "longlen")
    r.send(b"\x30\xff\xff\xff\xff\x01")
    assert_closed_alone(broker, r, r"remaining length", bystander,
                        silent=True)


def test_mqtt_3_8_1_1_subscribe_reserved_flags_close(broker, bystander):
    r = connected(broker.tcp, "subflags")
    r.send(raw.packet(8, 0, u16(1) + raw.utf8("a") + b"\x00"))
    assert_closed_alone(broker, r, r"MQTT-3\.8\.1-1", bystander,
                        silent=True)


def test_mqtt_3_6_1_1_pubrel_reserved_flags_close(broker, bystander):
    r = connected(broker.tcp, "relflags")
    r.send(raw.publish("by/q2", b"x", qos=2, pid=3))
    assert r.expect(5).body == b"\x00\x03"              # PUBREC
    bystander.r.expect(3)        # delivered at once (method B)
    r.send(raw.packet(6, 0, u16(3)))                    # PUBREL, flags 0000
    assert_closed_alone(broker, r, r"MQTT-3\.6\.1-1", bystander,
                        silent=True)


def test_mqtt_3_10_1_1_unsubscribe_reserved_flags_close(broker, bystander):
    r = connected(broker.tcp, "unsubflags")
    r.send(raw.packet(10, 0, u16(1) + raw.utf8("a")))
    assert_closed_alone(broker, r, r"MQTT-3\.10\.1-1",
                        bystander, silent=True)


@pytest.mark.parametrize("first", [0xc1, 0x41, 0xe2],
                         ids=["pingreq", "puback", "disconnect"])
def test_mqtt_2_2_2_2_invalid_flags_close(broker, bystander, first):
    r = connected(broker.tcp, f"flags{first:x}")
    body = u16(1) if first >> 4 == 4 else b""
    r.send(bytes([first, len(body)]) + body)
    assert_closed_alone(broker, r, r"MQTT-(2\.2\.2-2|3\.14\.1-1)",
                        bystander, silent=True)


# --- PUBLISH ----------------------------------------------------------------

def test_mqtt_3_3_1_4_publish_qos_3_closes(broker, bystander):
    r = connected(broker.tcp, "qos3")
    r.send(raw.packet(3, 0x06, raw.utf8("by/x") + u16(1) + b"x"))
    # nothing was routed: check() finds its own message first
    assert_closed_alone(broker, r, r"MQTT-3\.3\.1-4", bystander,
                        silent=True)


def test_mqtt_3_3_1_2_dup_on_qos0_closes(broker, bystander):
    r = connected(broker.tcp, "dup0")
    r.send(raw.packet(3, 0x08, raw.utf8("by/x") + b"x"))
    assert_closed_alone(broker, r, r"MQTT-3\.3\.1-2",
                        bystander, silent=True)


ILL_FORMED = [b"by/\xff", b"by/\xc0\xaf", b"by/\xed\xa0\x80",
              b"by/\xf4\x90\x80\x80", b"by/\xe2\x82"]


def with_string(port, kind, bad):
    """A connection that has sent bad as the string of the given kind."""
    if kind in ("client-id", "will-topic", "username"):
        r = raw.Raw(port)
        r.send({"client-id": raw.connect(client_id=bad),
                "will-topic": raw.connect(client_id="w",
                                          will=(bad, b"x", 0, False)),
                "username": raw.connect(client_id="u", username=bad),
                }[kind])
        return r
    r = connected(port, f"str{kind}")
    r.send({"publish": raw.packet(3, 0, raw.utf8(bad) + b"payload"),
            "subscribe": raw.packet(8, 2, u16(1) + raw.utf8(bad) + b"\x00"),
            "unsubscribe": raw.packet(10, 2, u16(1) + raw.utf8(bad)),
            }[kind])
    return r


STRING_KINDS = ["publish", "subscribe", "unsubscribe", "client-id",
                "will-topic", "username"]


# MQTT-3.3.2-1, 3.8.3-1, 3.10.3-1, 3.1.3-4, 3.1.3-10, 3.1.3-11: each of
# these strings is UTF-8 as 1.5.3 defines it
@pytest.mark.parametrize("bad", ILL_FORMED,
                         ids=["ff", "overlong", "surrogate", "above-10ffff",
                              "truncated"])
@pytest.mark.parametrize("kind", STRING_KINDS)
def test_mqtt_1_5_3_1_ill_formed_utf8_closes(broker, bystander, bad, kind):
    r = with_string(broker.tcp, kind, bad)
    assert_closed_alone(broker, r, r"MQTT-1\.5\.3-1", bystander,
                        silent=True)


@pytest.mark.parametrize("kind", STRING_KINDS)
def test_mqtt_1_5_3_2_nul_character_closes(broker, bystander, kind):
    r = with_string(broker.tcp, kind, b"by/a\x00b")
    assert_closed_alone(broker, r, r"MQTT-1\.5\.3-2", bystander, silent=True)


@pytest.mark.parametrize("topic", ["by/+", "by/#", "+", "#", "by/+/x"])
def test_mqtt_3_3_2_2_wildcard_in_publish_topic_closes(broker, bystander,
                                                      topic):
    r = connected(broker.tcp, "wildpub")
    r.send(raw.publish(topic, b"x", qos=1, pid=2))
    assert_closed_alone(broker, r, r"MQTT-3\.3\.2-2",
                        bystander, silent=True)


def test_mqtt_4_7_3_1_empty_topic_name_closes(broker, bystander):
    r = connected(broker.tcp, "emptytopic")
    r.send(raw.packet(3, 0, raw.utf8("") + b"x"))
    assert_closed_alone(broker, r, r"MQTT-4\.7\.3-1", bystander,
                        silent=True)


def test_mqtt_4_7_3_1_empty_topic_filter_closes(broker, bystander):
    r = connected(broker.tcp, "emptyfilter")
    r.send(raw.subscribe(1, ("", 0)))
    assert_closed_alone(broker, r, r"MQTT-4\.7\.3-1", bystander,
                        silent=True)


def test_mqtt_1_5_3_3_bom_and_4_7_3_4_no_normalisation(broker):
    """U+FEFF is kept, and topics are compared byte for byte: no case
    folding, no Unicode normalisation."""
    sub = connected(broker.tcp, "exact")
    filters = ["\ufeffbom/x", "Case/X", "cafe\u0301"]
    sub.send(raw.subscribe(1, *[(f, 0) for f in filters]))
    assert sub.expect(9).body == b"\x00\x01\x00\x00\x00"
    pub = connected(broker.tcp, "exactpub")
    for topic in ["bom/x", "case/x", "CASE/X", "caf\u00e9",      # no match
                  "\ufeffbom/x", "Case/X", "cafe\u0301"]:       # matches
        pub.send(raw.publish(topic, topic.encode()))
    got = [sub.expect(3).publish_fields() for _ in range(3)]
    assert [(t, p.decode()) for t, _, p in got] == [(f, f) for f in filters]
    sub.send(raw.PINGREQ).expect(13)      # and nothing else came


# --- SUBSCRIBE and UNSUBSCRIBE ----------------------------------------------

def test_mqtt_3_8_3_3_subscribe_without_filters_closes(broker, bystander):
    r = connected(broker.tcp, "nofilter")
    r.send(raw.packet(8, 2, u16(1)))
    assert_closed_alone(broker, r, r"MQTT-3\.8\.3-3",
                        bystander, silent=True)


def test_mqtt_3_10_3_2_unsubscribe_without_filters_closes(broker, bystander):
    r = connected(broker.tcp, "nounfilter")
    r.send(raw.packet(10, 2, u16(1)))
    assert_closed_alone(broker, r, r"MQTT-3\.10\.3-2",
                        bystander, silent=True)


@pytest.mark.parametrize("options", [3, 4, 0x81],
                         ids=["qos3", "reserved-bit", "high-bit"])
def test_mqtt_3_8_3_4_bad_requested_qos_closes(broker, bystander, options):
    r = connected(broker.tcp, "subqos")
    r.send(raw.packet(8, 2, u16(1) + raw.utf8("by/x") + bytes([options])))
    assert_closed_alone(broker, r, r"MQTT-3\.8\.3-4", bystander, silent=True)


# --- packet identifiers -----------------------------------------------------

@pytest.mark.parametrize("pkt", [
    raw.subscribe(0, ("by/x", 0)),
    raw.unsubscribe(0, "by/x"),
    raw.publish("by/x", b"x", qos=1, pid=0),
    raw.publish("by/x", b"x", qos=2, pid=0),
], ids=["subscribe", "unsubscribe", "publish-qos1", "publish-qos2"])
def test_mqtt_2_3_1_1_packet_identifier_zero_closes(broker, bystander, pkt):
    r = connected(broker.tcp, "pid0")
    r.send(pkt)
    assert_closed_alone(broker, r, r"MQTT-2\.3\.1-1", bystander,
                        silent=True)


def test_mqtt_2_3_1_4_server_packet_ids_nonzero_and_unused(broker):
    """The broker's own QoS 1 and 2 PUBLISHes in flight at once carry
    distinct, non-zero packet identifiers, kept on re-delivery."""
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="ids", clean=False) == (False, 0)
    r.send(raw.subscribe(1, ("ids/#", 2)))
    r.expect(9)
    pub = connected(broker.tcp, "idspub")
    n = 20
    for i in range(n):
        pub.send(raw.publish(f"ids/{i}", b"x", qos=1 + i % 2, pid=i + 1))
    ids = []
    for i in range(n):
        p = r.expect(3)
        assert p.publish_fields()[0] == f"ids/{i}"       # in order (4.6.0-6)
        assert p.qos == 1 + i % 2 and not p.dup
        ids.append(p.publish_fields()[1])
    assert 0 not in ids
    assert len(set(ids)) == n, ids
    # nothing acknowledged: a reconnect re-sends each with its own id
    r.close()
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="ids", clean=False) == (True, 0)
    again = [r.expect(3) for _ in range(n)]
    assert [p.publish_fields()[1] for p in again] == ids
    assert all(p.dup for p in again)


# --- size -------------------------------------------------------------------

def test_max_packet_size_refused_on_the_fixed_header(broker_factory):
    b = broker_factory("mqtt.max_packet_size = 1KB\n")
    by = Bystander(b.tcp)
    # a packet of exactly 1024 bytes is fine
    ok = connected(b.tcp, "fits")
    topic = raw.utf8("by/big") + u16(9)
    body = topic + b"x" * (1024 - 3 - len(topic))
    pkt = raw.packet(3, 2, body)
    assert len(pkt) == 1024
    ok.send(pkt)
    assert ok.expect(4).body == b"\x00\x09"
    assert by.r.expect(3).publish_fields()[2] == b"x" * (1024 - 3 -
                                                        len(topic))
    # only the fixed header of a 100 MB PUBLISH: closed without the body
    r = connected(b.tcp, "huge")
    r.send(b"\x32" + raw.varint(100 * 1024 * 1024))
    start = time.monotonic()
    assert read_to_eof(r, 3) == b""
    assert time.monotonic() - start < timeout(2)
    port = r.sock.getsockname()[1]
    b.wait_log(rf" info \S+: tcp:default: 127\.0\.0\.1:{port} huge:"
               rf" closing: PUBLISH of 104857605 bytes is over "
               rf"mqtt\.max_packet_size")
    # one byte over the limit is refused the same way
    r2 = connected(b.tcp, "over")
    r2.send(raw.packet(3, 0, raw.utf8("by/x") + b"x" * (1025 - 3 - 6)))
    assert read_to_eof(r2) == b""
    b.wait_log(r"over: closing: PUBLISH of 1025 bytes is over")
    by.check()
    assert len(closing_lines(b, r)) == 1


# --- CONNECT ----------------------------------------------------------------

def connect_bytes(flags, payload):
    body = raw.utf8("MQTT") + bytes([4, flags]) + u16(60)
    return raw.packet(1, 0, body + payload)


def test_mqtt_3_1_2_22_password_without_username_closes(broker, bystander):
    r = raw.Raw(broker.tcp)
    r.send(connect_bytes(0x02 | 0x40, raw.utf8("nopwuser") + raw.utf8("pw")))
    assert_closed_alone(broker, r, r"MQTT-3\.1\.2-22", bystander, silent=True)
    assert "nopwuser connected" not in broker.log()


def test_mqtt_3_1_2_13_will_qos_without_will_flag_closes(broker, bystander):
    r = raw.Raw(broker.tcp)
    r.send(connect_bytes(0x02 | 0x08, raw.utf8("willqos")))
    assert_closed_alone(broker, r, r"MQTT-3\.1\.2-13",
                        bystander, silent=True)


def test_mqtt_3_1_2_15_will_retain_without_will_flag_closes(broker,
                                                           bystander):
    r = raw.Raw(broker.tcp)
    r.send(connect_bytes(0x02 | 0x20, raw.utf8("willretain")))
    assert_closed_alone(broker, r, r"MQTT-3\.1\.2-15", bystander, silent=True)


def test_mqtt_3_1_2_14_will_qos_3_closes(broker, bystander):
    r = raw.Raw(broker.tcp)
    r.send(connect_bytes(0x02 | 0x04 | 0x18, raw.utf8("willqos3") +
                         raw.utf8("by/will") + raw.utf8("x")))
    assert_closed_alone(broker, r, r"MQTT-3\.1\.2-14", bystander, silent=True)


def test_mqtt_4_7_1_1_wildcard_in_will_topic_closes(broker, bystander):
    r = raw.Raw(broker.tcp)
    r.send(raw.connect(client_id="willwild", will=("by/#", b"x", 0, False)))
    assert_closed_alone(broker, r, r"MQTT-4\.7\.1-1",
                        bystander, silent=True)


def test_connect_split_byte_by_byte(broker, bystander):
    r = raw.Raw(broker.tcp)
    r.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pkt = raw.connect(client_id="dribble", username="u", password="p",
                      will=("by/will", b"w", 1, False))
    pkt += raw.subscribe(7, ("by/#", 1))
    for i in range(len(pkt)):
        r.send(pkt[i:i + 1])
        time.sleep(0.003)
    p = r.expect(2)
    assert p.body == b"\x00\x00"
    assert r.expect(9).body == b"\x00\x07\x01"
    broker.wait_log(r"dribble connected as u")
    # the connection works normally afterwards
    bystander.check()
    p = r.expect(3)
    assert p.publish_fields()[0] == "by/x"


def test_many_packets_in_one_send(broker, bystander):
    r = raw.Raw(broker.tcp)
    n = 50
    burst = raw.connect(client_id="burst") + raw.subscribe(1, ("by/#", 1))
    for i in range(n):
        burst += raw.publish(f"by/{i}", f"{i}".encode(), qos=1, pid=100 + i)
    burst += raw.PINGREQ
    r.send(burst)
    assert r.expect(2).body == b"\x00\x00"
    assert r.expect(9).body == b"\x00\x01\x01"
    # PUBACKs, the messages coming back (past the in-flight window of 32
    # only as they are acknowledged) and the PINGRESP, in any interleaving
    pubacks, delivered, pong = [], [], False
    while len(pubacks) < n or len(delivered) < n or not pong:
        p = r.recv()
        if p.type == 13:
            pong = True
        elif p.type == 4:
            pubacks.append(struct.unpack("!H", p.body)[0])
        else:
            assert p.type == 3, p
            topic, pid, payload = p.publish_fields()
            delivered.append(payload)
            r.send(raw.ack(4, pid))
    assert pubacks == [100 + i for i in range(n)]
    assert delivered == [f"{i}".encode() for i in range(n)]
    for i in range(n):
        p = bystander.r.expect(3)
        assert p.publish_fields()[2] == f"{i}".encode()
        bystander.r.send(raw.ack(4, p.publish_fields()[1]))
    r.send(raw.DISCONNECT)
    assert read_to_eof(r) == b""
    bystander.check()


def test_garbage_after_a_valid_connect_closes(broker, bystander):
    r = raw.Raw(broker.tcp)
    r.send(raw.connect(client_id="garbage") + b"\x00\x00garbage here")
    p = r.expect(2)
    assert p.body == b"\x00\x00"
    assert_closed_alone(broker, r, "reserved packet type", bystander,
                        silent=True)


# --- the shared vectors -----------------------------------------------------

def vectors():
    """(expect, statement, packet bytes, note) of every 3.1.1 client vector
    that a server must refuse."""
    out, note = [], ""
    for line in VECTORS.read_text().splitlines():
        if line.startswith("#"):
            note = line[1:].strip()
            continue
        if not line.strip():
            continue
        expect, stmt, level, sender, *hexbytes = line.split()
        if level == "4" and sender == "client" and expect != "ok":
            out.append((expect, stmt, bytes.fromhex("".join(hexbytes)),
                        note))
    assert len(out) >= 30
    return out


def replay(b, expect, pkt, i):
    """Send one vector; returns the raw connection once it is closed."""
    if pkt[0] >> 4 == 1:
        r = raw.Raw(b.tcp).send(pkt)
    else:
        r = connected(b.tcp, f"vector{i}")
        r.send(pkt)
    got = read_to_eof(r)
    if expect == "bad-version":
        assert got == b"\x20\x02\x00\x01", got      # CONNACK 1, then close
    else:
        assert got == b"", got
    return r


def test_malformed_vectors_close_only_their_connection(broker, bystander):
    for i, (expect, stmt, pkt, note) in enumerate(vectors()):
        r = replay(broker, expect, pkt, i)
        port = r.sock.getsockname()[1]
        broker.wait_log(rf" info \S+: tcp:default: 127\.0\.0\.1:"
                        rf"{port}\b[^\n]*: closing: ")
        assert len(closing_lines(broker, r)) == 1, note
    bystander.check()


def test_malformed_vectors_log_their_statement(broker):
    """The vector file says a live broker must log the statement that a
    refused packet breaks; the close line names it."""
    missing = []
    for i, (expect, stmt, pkt, note) in enumerate(vectors()):
        if stmt == "-":
            continue
        r = replay(broker, expect, pkt, i)
        port = r.sock.getsockname()[1]
        broker.wait_log(rf"127\.0\.0\.1:{port}\b[^\n]*: closing: ")
        line = closing_lines(broker, r)[0]
        if stmt not in line:
            missing.append(f"{stmt} ({note}): {line.split('closing: ')[1]}")
    assert not missing, "close reasons without their statement:\n" + \
        "\n".join(missing)


def test_reset_with_output_pending_does_not_crash(broker):
    """A client that resets (RST) right after CONNECT, while the CONNACK
    is still queued, only closes its own connection; seen as a stack
    overflow once (close -> flush -> close ...)."""
    import struct as _struct
    for i in range(50):
        s = socket.create_connection(("127.0.0.1", broker.tcp), 5)
        s.sendall(raw.connect(client_id=f"rst{i}"))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     _struct.pack("ii", 1, 0))
        s.close()
    assert broker.alive()
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="after") == (False, 0)
