"""Listener options against the real broker: max_connections,
access_rules, the PROXY protocol (v1 and v2, on tcp and ssl listeners),
several listeners at once, and IPv6 with paho."""
import socket
import ssl
import struct
import threading
import time

import pytest

import mqttraw as raw
from conftest import STARTED, free_port, listener_block, timeout, wait_port
from paho_util import Client


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


def refused_at_once(port):
    """A new connection is closed without a byte, well within a second."""
    start = time.monotonic()
    r = raw.Raw(port)
    assert read_to_eof(r, 3) == b""
    assert time.monotonic() - start < timeout(1)
    return r


def proxy_v1(src, sport, dst="127.0.0.1", dport=1883):
    fam = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2(src, sport, dst="127.0.0.1", dport=1883, local=False):
    if local:
        return V2_SIG + b"\x20\x00" + struct.pack("!H", 0)
    if ":" in src:
        addrs = (socket.inet_pton(socket.AF_INET6, src) +
                 socket.inet_pton(socket.AF_INET6, dst if ":" in dst
                                  else "::1"))
        fam = 0x21
    else:
        addrs = socket.inet_aton(src) + socket.inet_aton(dst)
        fam = 0x11
    body = addrs + struct.pack("!HH", sport, dport)
    return V2_SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


# --- max_connections --------------------------------------------------------

def test_max_connections(broker_factory):
    b = broker_factory(tcp_extra="  max_connections = 2\n")
    # the fixture's own probe of the port has come and gone
    b.wait_log(r"closing: peer closed the connection")
    first = raw.Raw(b.tcp)
    assert first.connack(client_id="one") == (False, 0)
    second = raw.Raw(b.tcp)
    assert second.connack(client_id="two") == (False, 0)
    refused_at_once(b.tcp)
    b.wait_log(r" info \S+: tcp:default: connection refused: "
               r"max_connections 2 reached")
    # the two that are in keep working
    first.send(raw.PINGREQ).expect(13)
    second.send(raw.PINGREQ).expect(13)
    # one leaves: room for one more, and only one
    first.send(raw.DISCONNECT)
    assert read_to_eof(first) == b""
    third = raw.Raw(b.tcp)
    assert third.connack(client_id="three") == (False, 0)
    refused_at_once(b.tcp)
    b.wait_log(r"max_connections 2 reached", count=2)
    # a connection that never sent CONNECT counts too
    second.close()
    b.wait_log(r"two: closing: peer closed the connection")
    idle = raw.Raw(b.tcp)
    refused_at_once(b.tcp)
    idle.close()


def test_max_connections_is_per_listener(daemons, conf_factory):
    small, big = free_port(), free_port()
    conf = conf_factory(
        listener_block("tcp", "small", small,
                       extra="  max_connections = 1\n") +
        listener_block("tcp", "big", big))
    d = daemons("staplemq-broker", conf)
    assert wait_port(big)
    one = raw.Raw(small)
    assert one.connack(client_id="s1") == (False, 0)
    refused_at_once(small)
    d.wait_log(r"tcp:small: connection refused: max_connections 1 reached")
    others = [raw.Raw(big) for _ in range(3)]
    for i, r in enumerate(others):
        assert r.connack(client_id=f"b{i}") == (False, 0)


# --- tcp_options -------------------------------------------------------------

BIG = 900 * 1024       # under the default mqtt.max_packet_size of 1MB


def two_listeners(daemons, conf_factory, slow_extra=""):
    """A listener with default tcp_options and one with big buffers."""
    slow, fast = free_port(), free_port()
    conf = conf_factory(
        listener_block("tcp", "slow", slow, extra=slow_extra) +
        listener_block("tcp", "fast", fast,
                       extra="  tcp_options.buffer = 1MB\n"))
    daemons("staplemq-broker", conf)
    assert wait_port(slow) and wait_port(fast)
    return slow, fast


def big_message(pub_port, sub_port, secs):
    """Publish a 900 KB QoS 1 message; returns (seconds until the
    PUBACK, seconds until the subscriber has it all), None for a wait
    longer than secs."""
    payload = bytes(range(256)) * (BIG // 256)
    sub = raw.Raw(sub_port)
    assert sub.connack(client_id="bigsub") == (False, 0)
    sub.send(raw.subscribe(1, ("big", 1)))
    sub.expect(9)
    pub = raw.Raw(pub_port)
    assert pub.connack(client_id="bigpub") == (False, 0)
    pkt = raw.publish("big", payload, qos=1, pid=1)

    def send():
        try:
            pub.send(pkt)
        except OSError:
            pass                # the broker went away first: reported below
    start = time.monotonic()
    threading.Thread(target=send, daemon=True).start()
    try:
        pub.expect(4, timeout=secs)
        acked = time.monotonic() - start
    except OSError:                                    # socket.timeout
        return None, None
    try:
        p = sub.expect(3, timeout=secs)
    except OSError:
        return acked, None
    assert p.publish_fields()[2] == payload
    return acked, time.monotonic() - start


# A healthy broker moves 900 KB over loopback in well under a second, even
# under sanitizers; a throttled one needs tens of seconds, whatever
# STAPLEMQ_TIMEOUT_MULT says, so the limit is not scaled beyond 10 s.
BIG_SECS = min(timeout(6), 10.0)


def test_large_message_upload_with_default_tcp_options(daemons,
                                                       conf_factory):
    slow, fast = two_listeners(daemons, conf_factory)
    acked, _ = big_message(slow, fast, BIG_SECS)
    assert acked is not None, \
        f"a 900 KB PUBLISH was not read within {BIG_SECS:.0f} s on a " \
        f"listener with the default tcp_options.buffer"


def test_large_message_delivery_with_default_tcp_options(daemons,
                                                         conf_factory):
    slow, fast = two_listeners(daemons, conf_factory)
    acked, delivered = big_message(fast, slow, BIG_SECS)
    assert acked is not None, "the 1MB-buffer listener did not read it"
    assert delivered is not None, \
        f"a 900 KB message was not delivered within {BIG_SECS:.0f} s to a " \
        f"subscriber on a listener with the default tcp_options.buffer"


# --- access_rules -----------------------------------------------------------

@pytest.mark.parametrize("rules,allowed", [
    (["deny 127.0.0.1", "allow all"], False),
    (["allow 127.0.0.1", "deny all"], True),
    (["deny 127.0.0.0/8", "allow all"], False),
    (["deny 10.0.0.0/8", "allow all"], True),
    (["allow 192.0.2.0/24", "deny all"], False),
    (["deny all"], False),
])
def test_access_rules(broker_factory, rules, allowed):
    quoted = ", ".join(f'"{r}"' for r in rules)
    b = broker_factory(tcp_extra=f"  access_rules = [{quoted}]\n",
                       wait_for=STARTED)
    if allowed:
        r = raw.Raw(b.tcp)
        assert r.connack(client_id="ok") == (False, 0)
        b.wait_log(r"ok connected")
        assert "access_rules" not in b.log()
    else:
        refused_at_once(b.tcp)
        b.wait_log(r" info \S+: tcp:default: connection denied by "
                   r"access_rules")
        assert " connected" not in b.log()


# --- PROXY protocol ---------------------------------------------------------

@pytest.fixture
def proxy_broker(broker_factory):
    return broker_factory(tcp_extra="  proxy_protocol = true\n"
                                    "  proxy_protocol_timeout = 1s\n")


def via_proxy(port, header, client_id, split=False):
    r = raw.Raw(port)
    if split:
        r.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        r.send(header[:9])
        time.sleep(0.1)
        r.send(header[9:])
        time.sleep(0.1)
        r.send(raw.connect(client_id=client_id))
    else:
        r.send(header + raw.connect(client_id=client_id))
    return r


@pytest.mark.parametrize("split", [False, True], ids=["one-send", "split"])
def test_proxy_v1(proxy_broker, split):
    b = proxy_broker
    r = via_proxy(b.tcp, proxy_v1("192.0.2.1", 5555), "pp1", split)
    assert r.expect(2).body == b"\x00\x00"
    b.wait_log(r" info \S+: tcp:default: 192\.0\.2\.1:5555: pp1 connected")
    r.send(raw.subscribe(1, ("pp/#", 0)))
    r.expect(9)
    r.send(raw.publish("pp/x", b"through"))
    assert r.expect(3).publish_fields()[2] == b"through"


def test_proxy_v1_ipv6_and_unknown(proxy_broker):
    b = proxy_broker
    r = via_proxy(b.tcp, proxy_v1("2001:db8::7", 7777, "::1"), "pp6")
    assert r.expect(2).body == b"\x00\x00"
    b.wait_log(r"tcp:default: \[2001:db8::7\]:7777: pp6 connected")
    # UNKNOWN: the proxy does not know; the real address stays
    r = via_proxy(b.tcp, b"PROXY UNKNOWN\r\n", "ppu")
    assert r.expect(2).body == b"\x00\x00"
    b.wait_log(r"tcp:default: 127\.0\.0\.1:\d+: ppu connected")


def test_proxy_v2(proxy_broker):
    b = proxy_broker
    r = via_proxy(b.tcp, proxy_v2("192.0.2.2", 6666), "pp2")
    assert r.expect(2).body == b"\x00\x00"
    b.wait_log(r" info \S+: tcp:default: 192\.0\.2\.2:6666: pp2 connected")
    r = via_proxy(b.tcp, proxy_v2("2001:db8::2", 6667, "::1"), "pp2v6")
    assert r.expect(2).body == b"\x00\x00"
    b.wait_log(r"tcp:default: \[2001:db8::2\]:6667: pp2v6 connected")
    # LOCAL (a health check from the proxy itself): the real address
    r = via_proxy(b.tcp, proxy_v2(None, 0, local=True), "pplocal")
    assert r.expect(2).body == b"\x00\x00"
    b.wait_log(r"tcp:default: 127\.0\.0\.1:\d+: pplocal connected")


def test_proxy_access_rules_apply_to_the_proxied_address(broker_factory):
    b = broker_factory(tcp_extra=(
        "  proxy_protocol = true\n"
        '  access_rules = ["deny 192.0.2.0/24", "deny 127.0.0.1", '
        '"allow all"]\n'))
    for header in (proxy_v1("192.0.2.1", 5555), proxy_v2("192.0.2.200", 1)):
        r = via_proxy(b.tcp, header, "denied")
        assert read_to_eof(r) == b""
    b.wait_log(r" info \S+: tcp:default: 192\.0\.2\.1:5555: closing: "
               r"denied by access_rules")
    b.wait_log(r"tcp:default: 192\.0\.2\.200:1: closing: denied by "
               r"access_rules")
    # the proxy itself is on 127.0.0.1, which is denied: what counts is
    # the address the header gives
    r = via_proxy(b.tcp, proxy_v1("198.51.100.7", 4000), "allowed")
    assert r.expect(2).body == b"\x00\x00"
    b.wait_log(r"198\.51\.100\.7:4000: allowed connected")
    assert "denied connected" not in b.log()


def test_proxy_header_missing_times_out(proxy_broker):
    b = proxy_broker
    r = raw.Raw(b.tcp)
    start = time.monotonic()
    assert read_to_eof(r, 6) == b""
    took = time.monotonic() - start
    assert 0.8 <= took < timeout(4), took
    port = r.sock.getsockname()[1]
    b.wait_log(rf" info \S+: tcp:default: 127\.0\.0\.1:{port}: closing: "
               rf"no PROXY protocol header in time")


def test_proxy_header_incomplete_times_out(proxy_broker):
    b = proxy_broker
    r = raw.Raw(b.tcp).send(b"PROXY TCP4 192.0.2.1 ")
    start = time.monotonic()
    assert read_to_eof(r, 6) == b""
    assert 0.8 <= time.monotonic() - start < timeout(4)
    b.wait_log(r"closing: no PROXY protocol header in time")


def test_mqtt_without_proxy_header_closed_at_once(broker_factory):
    # a header timeout far longer than "at once" may take
    b = broker_factory(tcp_extra="  proxy_protocol = true\n"
                                 "  proxy_protocol_timeout = 1m\n")
    start = time.monotonic()
    r = raw.Raw(b.tcp).send(raw.connect(client_id="direct"))
    assert read_to_eof(r, 3) == b""
    assert time.monotonic() - start < timeout(1)
    b.wait_log(r"127\.0\.0\.1:\d+: closing: bad PROXY header")
    assert "direct connected" not in b.log()
    # a proxied client right after is fine
    r = via_proxy(b.tcp, proxy_v1("192.0.2.3", 1234), "after")
    assert r.expect(2).body == b"\x00\x00"


@pytest.mark.parametrize("version", [1, 2])
def test_proxy_protocol_on_ssl_listener(broker_factory, version):
    b = broker_factory(ssl=True, ssl_extra="  proxy_protocol = true\n")
    header = (proxy_v1 if version == 1 else proxy_v2)("192.0.2.9", 4444)
    sock = socket.create_connection(("127.0.0.1", b.ssl), timeout(5))
    sock.sendall(header)
    ctx = ssl.create_default_context(cafile=str(b.pki / "ca.pem"))
    tls = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    r = raw.Raw(None, sock=tls)
    assert r.connack(client_id="ppssl") == (False, 0)
    b.wait_log(r" info \S+: ssl:default: 192\.0\.2\.9:4444: ppssl connected")
    r.send(raw.PINGREQ).expect(13)
    # the tcp listener of the same broker has no PROXY protocol
    assert raw.Raw(b.tcp).connack(client_id="plain") == (False, 0)
    # and TLS without the header is refused on the ssl one
    sock = socket.create_connection(("127.0.0.1", b.ssl), timeout(5))
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    b.wait_log(r"ssl:default: 127\.0\.0\.1:\d+: closing: bad PROXY header")


class MemoryTLS:
    """TLS over a socket by hand, so that the PROXY header and the
    ClientHello can leave in one segment, as a proxy would send them."""

    def __init__(self, sock, ctx, first=b""):
        self.sock = sock
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out,
                                server_hostname="127.0.0.1")
        pending = first
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pending += self.out.read()
                if pending:
                    self.sock.sendall(pending)
                    pending = b""
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed during the handshake")
                self.inc.write(data)
        self._flush()

    def _flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def settimeout(self, t):
        self.sock.settimeout(t)

    def sendall(self, data):
        self.obj.write(data)
        self._flush()

    def recv(self, n):
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                data = self.sock.recv(65536)
                if not data:
                    return b""
                self.inc.write(data)
                self._flush()

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("version", [1, 2])
def test_proxy_header_and_client_hello_in_one_segment(broker_factory,
                                                      version):
    b = broker_factory(ssl=True, ssl_extra="  proxy_protocol = true\n")
    header = (proxy_v1 if version == 1 else proxy_v2)("192.0.2.10", 4445)
    sock = socket.create_connection(("127.0.0.1", b.ssl), timeout(5))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ctx = ssl.create_default_context(cafile=str(b.pki / "ca.pem"))
    tls = MemoryTLS(sock, ctx, first=header)
    r = raw.Raw(None, sock=tls)
    assert r.connack(client_id="together") == (False, 0)
    b.wait_log(r"ssl:default: 192\.0\.2\.10:4445: together connected")
    r.send(raw.PINGREQ).expect(13)


# --- several listeners ------------------------------------------------------

def test_two_tcp_listeners_and_one_ssl(daemons, conf_factory, pki):
    a, bport, s = free_port(), free_port(), free_port()
    conf = conf_factory(listener_block("tcp", "a", a) +
                        listener_block("tcp", "b", bport) +
                        listener_block("ssl", "s", s, pki))
    d = daemons("staplemq-broker", conf)
    for port in (a, bport, s):
        assert wait_port(port)
    tls = {"ca": str(pki / "ca.pem")}
    on_a = Client(a, client_id="on-a")
    on_s = Client(s, client_id="on-s", tls=tls)
    for c in (on_a, on_s):
        assert c.subscribe("multi/#", 1) == (1,)
    on_b = Client(bport, client_id="on-b")
    on_b.publish("multi/1", b"from b", 1)
    for c in (on_a, on_s):
        m = c.get()
        assert (m.topic, m.payload) == ("multi/1", b"from b")
    on_s.publish("multi/2", b"from s", 1)
    assert on_a.get().payload == b"from s"
    assert on_s.get().payload == b"from s"
    d.wait_log(r"tcp:a: 127\.0\.0\.1:\d+: on-a connected")
    d.wait_log(r"tcp:b: 127\.0\.0\.1:\d+: on-b connected")
    d.wait_log(r"ssl:s: 127\.0\.0\.1:\d+: on-s connected")
    for c in (on_a, on_s, on_b):
        c.stop()
    # one client id across listeners: the newer connection takes over
    old = raw.Raw(a)
    assert old.connack(client_id="roamer") == (False, 0)
    new = raw.Raw(s, sock=ssl.create_default_context(
        cafile=str(pki / "ca.pem")).wrap_socket(
            socket.create_connection(("127.0.0.1", s), timeout(5)),
            server_hostname="127.0.0.1"))
    assert new.connack(client_id="roamer") == (False, 0)
    assert read_to_eof(old) == b""
    d.wait_log(r"tcp:a: 127\.0\.0\.1:\d+: client id roamer taken over")
    new.send(raw.PINGREQ).expect(13)


def test_ipv6_listener_with_paho(daemons, conf_factory):
    port = free_port()
    v4 = free_port()
    conf = conf_factory(f'listeners.tcp.v6.bind = "[::1]:{port}"\n' +
                        listener_block("tcp", "v4", v4))
    d = daemons("staplemq-broker", conf)
    d.wait_log(rf"tcp:v6: listening on \[::1\]:{port}")
    clients = []
    for cid in ("six-sub", "six-pub"):
        c = Client(port, client_id=cid, connect=False)
        c.c.connect("::1", port, 60)
        c.c.loop_start()
        assert c.connected.wait(timeout(5)) and c.rc == 0
        clients.append(c)
    sub, pub = clients
    assert sub.subscribe("v6/#", 1) == (1,)
    pub.publish("v6/x", b"over ipv6", 1)
    m = sub.get()
    assert (m.topic, m.payload) == ("v6/x", b"over ipv6")
    # IPv4 and IPv6 clients meet
    four = Client(v4, client_id="four")
    four.publish("v6/y", b"over ipv4", 1)
    assert sub.get().payload == b"over ipv4"
    four.stop()
    d.wait_log(r"tcp:v6: \[::1\]:\d+: six-sub connected")
    for c in clients:
        c.stop()
