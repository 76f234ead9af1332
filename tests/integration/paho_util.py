"""paho-mqtt clients for tests: connect synchronously, collect messages."""
import queue
import ssl
import threading

import paho.mqtt.client as mqtt

from conftest import timeout


class Client:
    """A paho client whose events land in queues the test can wait on."""

    def __init__(self, port, client_id="", clean=True, keepalive=60,
                 username=None, password=None, will=None, tls=None,
                 connect=True, protocol=mqtt.MQTTv311):
        self.messages = queue.Queue()
        self.subacks = queue.Queue()
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.rc = None
        self.session_present = None
        self.c = mqtt.Client(client_id=client_id, clean_session=clean,
                             protocol=protocol)
        if username is not None:
            self.c.username_pw_set(username, password)
        if will:
            self.c.will_set(*will)
        if tls:
            self.c.tls_set(ca_certs=tls.get("ca"), certfile=tls.get("cert"),
                           keyfile=tls.get("key"),
                           cert_reqs=ssl.CERT_REQUIRED)
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_subscribe = lambda c, u, mid, q: self.subacks.put(q)
        self.c.on_disconnect = lambda c, u, rc: self.disconnected.set()
        self.port = port
        self.keepalive = keepalive
        if connect:
            self.connect()

    def _on_connect(self, c, u, flags, rc):
        self.rc = rc
        self.session_present = flags.get("session present")
        self.connected.set()

    def connect(self, expect_rc=0):
        self.c.connect("127.0.0.1", self.port, self.keepalive)
        self.c.loop_start()
        assert self.connected.wait(timeout(5)), "no CONNACK"
        assert self.rc == expect_rc, f"CONNACK {self.rc}"
        return self

    def subscribe(self, topic, qos=0):
        self.c.subscribe(topic, qos)
        return self.subacks.get(timeout=timeout(5))

    def publish(self, topic, payload=b"", qos=0, retain=False):
        info = self.c.publish(topic, payload, qos, retain)
        info.wait_for_publish()
        return info

    def get(self, secs=5.0):
        return self.messages.get(timeout=timeout(secs))

    def nothing(self, secs=0.5):
        """True when no message arrives within secs."""
        try:
            m = self.messages.get(timeout=timeout(secs))
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected message on {m.topic}")

    def stop(self):
        self.c.disconnect()
        self.c.loop_stop()
