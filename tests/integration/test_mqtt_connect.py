"""MQTT 3.1.1 section 3.1 and 3.2 (CONNECT, CONNACK), 3.12-3.14 (PING,
DISCONNECT) and the will, against the real broker.  Each test is named
for the normative statement it checks."""
import socket
import time

import mqttraw as raw
from paho_util import Client


def test_mqtt_3_1_0_1_first_packet_must_be_connect(broker):
    r = raw.Raw(broker.tcp).send(raw.PINGREQ)
    assert r.closed()
    broker.wait_log(r"MQTT-3\.1\.0-1")


def test_mqtt_3_1_0_2_second_connect_closes(broker):
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="twice") == (False, 0)
    r.send(raw.connect(client_id="twice"))
    assert r.closed()
    broker.wait_log(r"MQTT-3\.1\.0-2")


def test_mqtt_3_1_2_1_bad_protocol_name_closes(broker):
    r = raw.Raw(broker.tcp).send(raw.connect(name="MQTX"))
    assert r.closed()


def test_mqtt_3_1_2_2_unsupported_level_gets_connack_1(broker):
    r = raw.Raw(broker.tcp).send(raw.connect(level=6))
    p = r.expect(2)
    assert p.body[1] == 0x01
    assert r.closed()


def test_mqtt_3_1_2_3_reserved_flag_closes(broker):
    pkt = bytearray(raw.connect(client_id="x"))
    pkt[9] |= 0x01          # connect flags byte, reserved bit
    r = raw.Raw(broker.tcp).send(bytes(pkt))
    assert r.closed()


def test_mqtt_3_1_3_6_empty_client_id_is_assigned(broker):
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="", clean=True) == (False, 0)
    broker.wait_log(r"staplemq-[0-9a-f]{16} connected")


def test_mqtt_3_1_3_8_empty_client_id_without_clean_session_refused(broker):
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="", clean=False) == (False, 0x02)
    assert r.closed()


def test_max_clientid_len_refused_with_2(broker_factory):
    b = broker_factory("mqtt.max_clientid_len = 23\n")
    r = raw.Raw(b.tcp)
    assert r.connack(client_id="x" * 24) == (False, 0x02)
    r = raw.Raw(b.tcp)
    assert r.connack(client_id="x" * 23) == (False, 0)


def test_mqtt_3_1_4_2_same_client_id_takes_over(broker):
    first = raw.Raw(broker.tcp)
    assert first.connack(client_id="dup") == (False, 0)
    second = raw.Raw(broker.tcp)
    assert second.connack(client_id="dup") == (False, 0)
    assert first.closed()
    second.send(raw.PINGREQ).expect(13)
    broker.wait_log(r"client id dup taken over")


def test_mqtt_3_12_4_1_pingresp(broker):
    r = raw.Raw(broker.tcp)
    r.connack(client_id="ping")
    r.send(raw.PINGREQ)
    assert r.expect(13).body == b""


def test_mqtt_3_1_2_24_keepalive_timeout(broker):
    r = raw.Raw(broker.tcp)
    r.connack(client_id="sleepy", keepalive=1)
    start = time.monotonic()
    assert r.closed(timeout=5)
    took = time.monotonic() - start
    assert 1.4 <= took < 4, took
    broker.wait_log(r"sleepy: closing: MQTT-3\.1\.2-24")


def test_keepalive_kept_by_pings(broker):
    r = raw.Raw(broker.tcp)
    r.connack(client_id="awake", keepalive=1)
    for _ in range(4):
        time.sleep(0.6)
        r.send(raw.PINGREQ).expect(13)


def test_no_connect_in_time_closes(broker_factory):
    b = broker_factory("mqtt.idle_timeout = 500ms\n")
    r = raw.Raw(b.tcp)
    assert r.closed(timeout=3)
    b.wait_log(r"no CONNECT in time")


def test_mqtt_3_1_2_8_will_on_abnormal_disconnect(broker):
    sub = Client(broker.tcp, client_id="watcher")
    sub.subscribe("wills/#", 1)
    r = raw.Raw(broker.tcp)
    r.connack(client_id="dying", will=("wills/dying", b"gone", 1, False))
    r.sock.shutdown(socket.SHUT_RDWR)
    r.close()
    m = sub.get()
    assert (m.topic, m.payload, m.qos) == ("wills/dying", b"gone", 1)


def test_mqtt_3_1_2_10_no_will_after_disconnect(broker):
    sub = Client(broker.tcp, client_id="watcher2")
    sub.subscribe("wills/#", 0)
    r = raw.Raw(broker.tcp)
    r.connack(client_id="polite", will=("wills/polite", b"gone", 0, False))
    r.send(raw.DISCONNECT)
    assert r.closed()
    assert sub.nothing(1.0)


def test_will_published_when_protocol_error_closes(broker):
    sub = Client(broker.tcp, client_id="watcher3")
    sub.subscribe("wills/#", 0)
    r = raw.Raw(broker.tcp)
    r.connack(client_id="broken", will=("wills/broken", b"x", 0, False))
    r.send(b"\x30\xff\xff\xff\xff\x7f")          # 5-byte remaining length
    assert r.closed()
    assert sub.get().topic == "wills/broken"


def test_retained_will(broker):
    r = raw.Raw(broker.tcp)
    r.connack(client_id="rw", will=("wills/rw", b"last", 0, True))
    r.close()
    time.sleep(0.3)
    late = Client(broker.tcp, client_id="late")
    late.subscribe("wills/rw")
    m = late.get()
    assert m.payload == b"last" and m.retain
