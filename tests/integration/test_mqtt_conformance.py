"""Server statements of MQTT 3.1.1 that the other files left out:
retained messages across sessions, will flags, DUP handling, and
UNSUBSCRIBE details.  Raw bytes on one side, so that what the broker
sends is seen exactly."""
import socket

import mqttraw as raw


def sub(broker, cid, *filters, clean=True):
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id=cid, clean=clean)[1] == 0
    r.send(raw.subscribe(1, *filters))
    r.expect(9)
    return r


def nothing(r, secs=0.5):
    """True when nothing but our PINGRESP comes back."""
    r.send(raw.PINGREQ)
    return r.recv(secs + 5).type == 13


def test_mqtt_3_1_2_7_retained_outlives_the_session(broker):
    p = raw.Raw(broker.tcp)
    p.connack(client_id="gone")
    p.send(raw.publish("keep/1", b"kept", qos=1, retain=True, pid=1))
    p.expect(4)
    p.send(raw.DISCONNECT)
    assert p.closed()
    s = sub(broker, "later", ("keep/#", 0))
    m = s.expect(3)
    assert m.retain and m.publish_fields()[2] == b"kept"


def test_mqtt_3_1_2_12_no_will_without_will_flag(broker):
    s = sub(broker, "watch12", ("#", 0))
    r = raw.Raw(broker.tcp)
    r.connack(client_id="nowill")
    r.sock.shutdown(socket.SHUT_RDWR)
    r.close()
    broker.wait_log(r"nowill: closing")
    assert nothing(s)


def test_mqtt_3_1_2_16_will_retain_0_is_not_retained(broker):
    s = sub(broker, "watch16", ("w16/#", 0))
    r = raw.Raw(broker.tcp)
    r.connack(client_id="w16", will=("w16/x", b"bye", 0, False))
    r.sock.shutdown(socket.SHUT_RDWR)
    r.close()
    m = s.expect(3)
    assert not m.retain and m.publish_fields()[2] == b"bye"
    late = sub(broker, "late16", ("w16/#", 0))
    assert nothing(late)


def test_mqtt_3_3_1_3_outgoing_dup_is_the_brokers_own(broker):
    s = sub(broker, "dupsub", ("d3/#", 1))
    p = raw.Raw(broker.tcp)
    p.connack(client_id="duppub")
    p.send(raw.publish("d3/x", b"again", qos=1, pid=5, dup=True))
    p.expect(4)
    m = s.expect(3)
    assert m.qos == 1 and not m.dup


def test_mqtt_3_3_1_7_retained_qos0_replaces(broker):
    p = raw.Raw(broker.tcp)
    p.connack(client_id="r7")
    p.send(raw.publish("r7", b"first", qos=0, retain=True))
    p.send(raw.publish("r7", b"second", qos=0, retain=True))
    p.send(raw.PINGREQ)
    p.expect(13)
    s = sub(broker, "r7sub", ("r7", 0))
    m = s.expect(3)
    assert m.retain and m.publish_fields()[2] == b"second"
    assert nothing(s)


def test_mqtt_3_3_1_12_retain_0_keeps_the_retained_message(broker):
    p = raw.Raw(broker.tcp)
    p.connack(client_id="r12")
    p.send(raw.publish("r12", b"keep", qos=0, retain=True))
    p.send(raw.publish("r12", b"live", qos=0, retain=False))
    p.send(raw.PINGREQ)
    p.expect(13)
    s = sub(broker, "r12sub", ("r12", 0))
    m = s.expect(3)
    assert m.retain and m.publish_fields()[2] == b"keep"


def test_mqtt_3_1_2_5_offline_qos2_kept(broker):
    r = sub(broker, "off2", ("q2off", 2), clean=False)
    r.send(raw.DISCONNECT)
    assert r.closed()
    p = raw.Raw(broker.tcp)
    p.connack(client_id="off2pub")
    p.send(raw.publish("q2off", b"exactly once", qos=2, pid=3))
    p.expect(5)
    p.send(raw.ack(6, 3))
    p.expect(7)
    r = raw.Raw(broker.tcp)
    assert r.connack(client_id="off2", clean=False) == (True, 0)
    m = r.expect(3)
    assert m.qos == 2 and m.publish_fields()[2] == b"exactly once"


def test_mqtt_3_10_4_3_started_delivery_completes(broker):
    s = sub(broker, "u3", ("u3/#", 1))
    p = raw.Raw(broker.tcp)
    p.connack(client_id="u3pub")
    p.send(raw.publish("u3/x", b"in flight", qos=1, pid=1))
    p.expect(4)
    m = s.expect(3)
    pid = m.publish_fields()[1]
    s.send(raw.unsubscribe(2, "u3/#"))
    assert s.expect(11).body == b"\x00\x02"
    s.send(raw.ack(4, pid))          # the started delivery completes
    assert nothing(s)


def test_mqtt_3_10_4_5_unsuback_when_nothing_deleted(broker):
    r = raw.Raw(broker.tcp)
    r.connack(client_id="u5")
    r.send(raw.unsubscribe(9, "never/subscribed"))
    assert r.expect(11).body == b"\x00\x09"


def test_mqtt_3_10_4_6_several_filters_one_unsuback(broker):
    s = sub(broker, "u6", ("a6", 0), ("b6", 0))
    s.send(raw.unsubscribe(7, "a6", "b6"))
    assert s.expect(11).body == b"\x00\x07"
    p = raw.Raw(broker.tcp)
    p.connack(client_id="u6pub")
    p.send(raw.publish("a6", b"x"))
    p.send(raw.publish("b6", b"y"))
    p.send(raw.PINGREQ)
    p.expect(13)
    assert nothing(s)
