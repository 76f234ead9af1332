"""A byte-level MQTT 3.1.1 client for tests that must send what a good
client never would (malformed packets, a second CONNECT, no PINGREQ) or
see exactly what the broker sends (CONNACK codes, DUP flags)."""
import socket
import struct
import time


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def packet(ptype, flags, body):
    return bytes([(ptype << 4) | flags]) + varint(len(body)) + body


def connect(client_id="", clean=True, keepalive=60, will=None,
            username=None, password=None, level=4, name="MQTT"):
    """will = (topic, payload, qos, retain)"""
    flags = 0x02 if clean else 0
    payload = utf8(client_id)
    if will:
        topic, msg, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += utf8(topic) + utf8(msg)
    if username is not None:
        flags |= 0x80
        payload += utf8(username)
    if password is not None:
        flags |= 0x40
        payload += utf8(password)
    body = utf8(name) + bytes([level, flags]) + struct.pack("!H", keepalive)
    return packet(1, 0, body + payload)


def publish(topic, payload=b"", qos=0, retain=False, pid=1, dup=False):
    flags = (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
    body = utf8(topic) + (struct.pack("!H", pid) if qos else b"")
    return packet(3, flags, body + payload)


def subscribe(pid, *filters):
    """filters: (topic, qos) pairs"""
    body = struct.pack("!H", pid)
    for topic, qos in filters:
        body += utf8(topic) + bytes([qos])
    return packet(8, 2, body)


def unsubscribe(pid, *topics):
    return packet(10, 2, struct.pack("!H", pid) +
                  b"".join(utf8(t) for t in topics))


def ack(ptype, pid):
    """PUBACK 4, PUBREC 5, PUBREL 6 (flags 2), PUBCOMP 7."""
    return packet(ptype, 2 if ptype == 6 else 0, struct.pack("!H", pid))


PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"


class Packet:
    def __init__(self, first, body):
        self.type = first >> 4
        self.flags = first & 0x0F
        self.body = body

    @property
    def qos(self):
        return (self.flags >> 1) & 3

    @property
    def dup(self):
        return bool(self.flags & 8)

    @property
    def retain(self):
        return bool(self.flags & 1)

    def publish_fields(self):
        """(topic, packet id or None, payload) of a PUBLISH."""
        tlen = struct.unpack("!H", self.body[:2])[0]
        topic = self.body[2:2 + tlen].decode()
        rest = self.body[2 + tlen:]
        if self.qos:
            return topic, struct.unpack("!H", rest[:2])[0], rest[2:]
        return topic, None, rest

    def __repr__(self):
        return f"<Packet type={self.type} flags={self.flags:#x} {self.body!r}>"


class Raw:
    """One TCP connection speaking bytes."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0, sock=None):
        self.sock = sock or socket.create_connection((host, port), timeout)
        self.sock.settimeout(timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)
        return self

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the broker")
            self.buf += chunk

    def recv(self, timeout=5.0):
        """The next packet; ConnectionError when the broker closed."""
        deadline = time.monotonic() + timeout
        self._fill(2, deadline)
        mult, length, i = 1, 0, 1
        while True:
            self._fill(i + 1, deadline)
            b = self.buf[i]
            length += (b & 0x7F) * mult
            mult *= 128
            i += 1
            if not b & 0x80:
                break
        self._fill(i + length, deadline)
        p = Packet(self.buf[0], self.buf[i:i + length])
        self.buf = self.buf[i + length:]
        return p

    def expect(self, ptype, timeout=5.0):
        p = self.recv(timeout)
        assert p.type == ptype, p
        return p

    def connack(self, **kw):
        """CONNECT and return (session_present, return code)."""
        self.send(connect(**kw))
        p = self.expect(2)
        return bool(p.body[0] & 1), p.body[1]

    def closed(self, timeout=5.0):
        """True when the broker closes the connection within timeout."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        self.sock.close()
