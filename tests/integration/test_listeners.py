"""Listeners: the broker binds every configured tcp and ssl listener,
IPv4 and IPv6, and logs each connection; fetcherd finds its staple
targets in the same file."""
import socket

import mqttraw as raw
from conftest import free_port, listener_block, wait_port


def test_binds_every_listener_and_logs_connections(daemons, conf_factory,
                                                   pki):
    tcp, tcp2, ssl = free_port(), free_port(), free_port()
    conf = conf_factory(listener_block("tcp", "default", tcp) +
                        listener_block("tcp", "internal", tcp2) +
                        listener_block("ssl", "default", ssl, pki))
    d = daemons("staplemq-broker", conf)
    for port in (tcp, tcp2, ssl):
        assert wait_port(port)
    d.wait_log(rf"tcp:default: listening on 127\.0\.0\.1:{tcp}")
    d.wait_log(rf"tcp:internal: listening on 127\.0\.0\.1:{tcp2}")
    d.wait_log(rf"ssl:default: listening on 127\.0\.0\.1:{ssl}")
    for port in (tcp, tcp2):
        assert raw.Raw(port).connack(client_id=f"c{port}") == (False, 0)
    d.wait_log(r"tcp:internal: 127\.0\.0\.1:\d+: c\d+ connected")


def test_disabled_listener_is_not_bound(daemons, conf_factory):
    on, off = free_port(), free_port()
    conf = conf_factory(listener_block("tcp", "on", on) +
                        listener_block("tcp", "off", off, extra="enable = false\n"))
    daemons("staplemq-broker", conf)
    assert wait_port(on)
    assert not wait_port(off, 0.3)


def test_ipv6_listener(daemons, conf_factory):
    port = free_port()
    conf = conf_factory(f'listeners.tcp.v6.bind = "[::1]:{port}"\n')
    d = daemons("staplemq-broker", conf)
    d.wait_log(rf"tcp:v6: listening on \[::1\]:{port}")
    sock = socket.create_connection(("::1", port), 2)
    assert raw.Raw(port, sock=sock).connack(client_id="six") == (False, 0)
    d.wait_log(r"tcp:v6: \[::1\]:\d+: six connected")


def test_port_in_use_stops_start(daemons, conf_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        conf = conf_factory(listener_block("tcp", "busy", port))
        d = daemons("staplemq-broker", conf, wait_for=None)
        assert d.proc.wait(10) == 1
        assert "tcp:busy: cannot listen" in d.log()


def test_fetcherd_finds_staple_targets(daemons, conf_factory, pki):
    conf = conf_factory(listener_block(
        "ssl", "default", free_port(), pki,
        "  ssl_options.ocsp.enable_ocsp_stapling = true\n"
        '  ssl_options.ocsp.responder_url = "http://127.0.0.1:9/"\n'))
    d = daemons("staplemq-fetcherd", conf)
    d.wait_log(r"ssl:default: staple target .*server-rsa\.pem, responder "
               r"http://127\.0\.0\.1:9/")
    d.wait_log(r"ssl:default: staple target .*server-ec\.pem")
    assert (conf.parent / "run").is_dir()
    assert (conf.parent / "data").is_dir()
