"""MQTT 3.1.1 sections 3.3-3.11 and 4.3-4.7: publish at every QoS,
subscriptions, wildcards, retained messages, persistent sessions, the
in-flight window and the queue, with paho, mosquitto's clients and raw
bytes."""
import subprocess
import time

import mqttraw as raw
from conftest import run, timeout
from paho_util import Client


def test_qos0_1_2_round_trip_paho(broker):
    sub = Client(broker.tcp, client_id="sub")
    assert sub.subscribe("t/#", 2) == (2,)
    pub = Client(broker.tcp, client_id="pub")
    for qos in (0, 1, 2):
        pub.publish(f"t/{qos}", f"m{qos}".encode(), qos)
        m = sub.get()
        assert (m.topic, m.payload, m.qos) == (f"t/{qos}", f"m{qos}".encode(),
                                               qos)


def test_mosquitto_clients_over_tcp(broker, tmp_path):
    out = tmp_path / "sub.out"
    with open(out, "w") as f:
        sub = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.tcp),
             "-t", "mosq/#", "-v", "-C", "3", "-W", "10", "-q", "1"],
            stdout=f, stderr=subprocess.STDOUT)
        broker.wait_log(r"connected", count=1)
        time.sleep(0.2)
        for i in range(3):
            r = run(["mosquitto_pub", "-h", "127.0.0.1", "-p",
                     str(broker.tcp), "-t", f"mosq/{i}", "-m", f"v{i}",
                     "-q", str(i)])
            assert r.returncode == 0, r.stderr
        assert sub.wait(timeout(10)) == 0
    assert out.read_text().splitlines() == ["mosq/0 v0", "mosq/1 v1",
                                            "mosq/2 v2"]


def test_mqtt_3_3_4_1_qos1_puback(broker):
    r = raw.Raw(broker.tcp)
    r.connack(client_id="q1")
    r.send(raw.publish("a", b"x", qos=1, pid=7))
    p = r.expect(4)
    assert p.body == b"\x00\x07"


def test_mqtt_4_3_3_qos2_flow_and_no_duplicate(broker):
    sub = Client(broker.tcp, client_id="sub2")
    sub.subscribe("q2", 2)
    r = raw.Raw(broker.tcp)
    r.connack(client_id="q2pub")
    r.send(raw.publish("q2", b"once", qos=2, pid=9))
    assert r.expect(5).body == b"\x00\x09"          # PUBREC
    # the same PUBLISH again before PUBREL: acknowledged, not delivered
    r.send(raw.publish("q2", b"once", qos=2, pid=9, dup=True))
    assert r.expect(5).body == b"\x00\x09"
    r.send(raw.ack(6, 9))
    assert r.expect(7).body == b"\x00\x09"          # PUBCOMP
    assert sub.get().payload == b"once"
    assert sub.nothing(0.5)


def test_mqtt_4_3_3_broker_sends_qos2(broker):
    r = raw.Raw(broker.tcp)
    r.connack(client_id="rx2")
    r.send(raw.subscribe(1, ("in/#", 2)))
    assert r.expect(9).body == b"\x00\x01\x02"
    pub = Client(broker.tcp, client_id="tx2")
    pub.publish("in/x", b"hi", 2)
    p = r.expect(3)
    topic, pid, payload = p.publish_fields()
    assert (topic, p.qos, payload) == ("in/x", 2, b"hi")
    r.send(raw.ack(5, pid))                        # PUBREC
    assert r.expect(6).body == bytes([pid >> 8, pid & 255])
    r.send(raw.ack(7, pid))                        # PUBCOMP


def test_mqtt_3_8_4_6_granted_qos_is_capped(broker_factory):
    b = broker_factory("mqtt.max_qos_allowed = 1\n")
    r = raw.Raw(b.tcp)
    r.connack(client_id="cap")
    r.send(raw.subscribe(3, ("a", 2), ("b", 0)))
    assert r.expect(9).body == b"\x00\x03\x01\x00"


def test_mqtt_3_9_3_refused_filter_gets_0x80(broker):
    r = raw.Raw(broker.tcp)
    r.connack(client_id="bad-filter")
    r.send(raw.subscribe(4, ("a/#/b", 0), ("ok/+", 1)))
    assert r.expect(9).body == b"\x00\x04\x80\x01"


def test_wildcard_subscription_off(broker_factory):
    b = broker_factory("mqtt.wildcard_subscription = false\n")
    r = raw.Raw(b.tcp)
    r.connack(client_id="nowild")
    r.send(raw.subscribe(5, ("a/+", 0), ("a/b", 0)))
    assert r.expect(9).body == b"\x00\x05\x80\x00"


def test_max_topic_levels(broker_factory):
    b = broker_factory("mqtt.max_topic_levels = 3\n")
    r = raw.Raw(b.tcp)
    r.connack(client_id="levels")
    r.send(raw.subscribe(6, ("a/b/c", 0), ("a/b/c/d", 0)))
    assert r.expect(9).body == b"\x00\x06\x00\x80"
    r.send(raw.publish("a/b/c/d", b"x"))
    assert r.closed()


def test_mqtt_4_7_wildcards_and_dollar_topics(broker):
    sub = Client(broker.tcp, client_id="wild")
    sub.subscribe("#", 0)
    sub.subscribe("+/x", 0)
    pub = Client(broker.tcp, client_id="wildpub")
    pub.publish("$SYSX/x", b"no")      # MQTT-4.7.2-1: not matched by # or +
    pub.publish("a/x", b"yes")
    m = sub.get()
    assert (m.topic, m.payload) == ("a/x", b"yes")
    # overlapping subscriptions deliver once (3.3.5)
    assert sub.nothing(0.5)


def test_mqtt_3_10_4_unsubscribe(broker):
    r = raw.Raw(broker.tcp)
    r.connack(client_id="unsub")
    r.send(raw.subscribe(1, ("u/#", 0)))
    r.expect(9)
    r.send(raw.unsubscribe(2, "u/#"))
    assert r.expect(11).body == b"\x00\x02"
    Client(broker.tcp, client_id="unsubpub").publish("u/1", b"x")
    r.send(raw.PINGREQ)
    assert r.expect(13)        # nothing else came first


def test_mqtt_3_3_1_5_retained_delivered_on_subscribe(broker):
    pub = Client(broker.tcp, client_id="rpub")
    pub.publish("r/1", b"kept", 1, retain=True)
    pub.publish("r/2", b"old", 1, retain=True)
    pub.publish("r/2", b"new", 1, retain=True)      # replaces
    sub = Client(broker.tcp, client_id="rsub")
    sub.subscribe("r/+", 1)
    got = {}
    for _ in range(2):
        m = sub.get()
        assert m.retain
        got[m.topic] = m.payload
    assert got == {"r/1": b"kept", "r/2": b"new"}
    # MQTT-3.3.1-9: a live message goes out with retain 0
    pub.publish("r/1", b"live", 0, retain=True)
    m = sub.get()
    assert (m.payload, m.retain) == (b"live", False)
    # MQTT-3.3.1-10/11: an empty retained payload clears the topic
    pub.publish("r/1", b"", 0, retain=True)
    sub.get()
    again = Client(broker.tcp, client_id="rsub2")
    again.subscribe("r/1")
    assert again.nothing(0.5)


def test_retain_available_false(broker_factory):
    b = broker_factory("mqtt.retain_available = false\n")
    r = raw.Raw(b.tcp)
    r.connack(client_id="noretain")
    r.send(raw.publish("x", b"y", retain=True))
    assert r.closed()


def test_mqtt_3_1_2_4_persistent_session_and_queue(broker):
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="persist", clean=False) == (False, 0)
    r.send(raw.subscribe(1, ("p/#", 1)))
    r.expect(9)
    r.send(raw.DISCONNECT)
    assert r.closed()
    pub = Client(broker.tcp, client_id="ppub")
    for i in range(3):
        pub.publish(f"p/{i}", f"{i}".encode(), 1)
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="persist", clean=False) == (True, 0)
    for i in range(3):
        p = r.expect(3)
        topic, pid, payload = p.publish_fields()
        assert (topic, payload, p.qos) == (f"p/{i}", f"{i}".encode(), 1)
        r.send(raw.ack(4, pid))
    # clean session discards it (MQTT-3.1.2-6)
    r.send(raw.DISCONNECT)
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="persist", clean=True) == (False, 0)


def test_mqtt_4_4_0_1_redelivery_with_dup_after_reconnect(broker):
    r = raw.Raw(broker.tcp)
    r.connack(client_id="redeliver", clean=False)
    r.send(raw.subscribe(1, ("d", 1)))
    r.expect(9)
    Client(broker.tcp, client_id="dpub").publish("d", b"again", 1)
    p = r.expect(3)
    _, pid, _ = p.publish_fields()
    assert not p.dup
    r.close()                          # no PUBACK
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="redeliver", clean=False) == (True, 0)
    p = r.expect(3)
    topic, pid2, payload = p.publish_fields()
    assert p.dup and pid2 == pid and payload == b"again"
    r.send(raw.ack(4, pid2))


def test_max_inflight_window(broker_factory):
    b = broker_factory("mqtt.max_inflight = 2\n")
    r = raw.Raw(b.tcp)
    r.connack(client_id="window")
    r.send(raw.subscribe(1, ("w", 1)))
    r.expect(9)
    pub = Client(b.tcp, client_id="wpub")
    for i in range(4):
        pub.publish("w", f"{i}".encode(), 1)
    first = [r.expect(3) for _ in range(2)]
    # the window is full: nothing more until an acknowledgement
    r.send(raw.PINGREQ)
    assert r.expect(13)
    r.send(raw.ack(4, first[0].publish_fields()[1]))
    assert r.expect(3).publish_fields()[2] == b"2"


def test_max_mqueue_len_drops_oldest_qos0(broker_factory):
    b = broker_factory("mqtt.max_mqueue_len = 3\n")
    r = raw.Raw(b.tcp)
    r.connack(client_id="queued", clean=False)
    r.send(raw.subscribe(1, ("qq", 1)))
    r.expect(9)
    r.send(raw.DISCONNECT)
    pub = Client(b.tcp, client_id="qpub")
    pub.publish("qq", b"a", 0)
    pub.publish("qq", b"b", 1)
    pub.publish("qq", b"c", 0)
    pub.publish("qq", b"d", 1)        # queue full: oldest QoS 0 (a) goes
    time.sleep(0.2)
    r = raw.Raw(b.tcp)
    assert r.connack(client_id="queued", clean=False) == (True, 0)
    got = []
    for _ in range(3):
        p = r.expect(3)
        got.append(p.publish_fields()[2])
        if p.qos:
            r.send(raw.ack(4, p.publish_fields()[1]))
    assert got == [b"b", b"c", b"d"]


def test_sys_topics(broker_factory):
    b = broker_factory("sys_topics.sys_msg_interval = 1s\n")
    sub = Client(b.tcp, client_id="sys")
    sub.subscribe("$SYS/broker/clients/connected")
    m = sub.get(5)
    assert int(m.payload) >= 1
    sub.subscribe("$SYS/broker/uptime")
    assert sub.get(5).payload.endswith(b"seconds")


def test_client_cannot_publish_to_sys(broker):
    sub = Client(broker.tcp, client_id="sysw")
    sub.subscribe("$SYS/fake")
    Client(broker.tcp, client_id="faker").publish("$SYS/fake", b"x", 1)
    assert sub.nothing(0.5)
