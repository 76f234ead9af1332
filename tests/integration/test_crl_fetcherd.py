"""staplemq-fetcherd's side of client certificate revocation: CRLs from
crl_cache.urls and crl_cache.files, on-demand CRLs and client OCSP asked
for by a broker over the request socket, and what ends up in the snapshot
and its CRL tables, read back here byte by byte (layouts in
ipc/ipc_proto.h).

A real demo PKI (etc/demo-pki.sh) whose CDP and AIA name a running
etc/demo-responder.py (CRLs with ETag/Last-Modified and 304s, real
`openssl ocsp` answers), all on 127.0.0.1.  The broker's requests come
from tests/integration/ipc_req_client.c, built here with cc."""
import datetime
import hashlib
import os
import re
import signal
import struct
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import (BUILD, ROOT, free_port, listener_block, run, timeout)
from responder import Responder

SNAP_HDR = struct.Struct("<8sIIQqQIIIIIIII32s")
SNAP_CRL = struct.Struct("<32s32sqqqQ32sII")
SNAP_OCSP = struct.Struct("<32sqqqqIi")
TBL_HDR = struct.Struct("<8sIIQQqq32s20sB3s")
TBL_ENTRY = struct.Struct("<B20sB2sq")
CRL_OK, CRL_FAILED = 1, 2
OCSP_GOOD, OCSP_REVOKED, OCSP_UNKNOWN, OCSP_FAILED = 1, 2, 3, 4
ZERO = bytes(32)


# --- reading what fetcherd publishes ----------------------------------------

class Snapshot:
    """A v2 snapshot file: its CRL and client OCSP records."""

    def __init__(self, path):
        data = path.read_bytes()
        h = SNAP_HDR.unpack_from(data)
        assert h[0] == b"STMQSNAP" and h[1] == 2 and h[2] == SNAP_HDR.size
        assert h[5] == len(data)
        self.generation = h[3]
        crl_off, n_crls, ocsp_off, n_ocsp = h[8], h[9], h[10], h[11]
        self.crls = {}
        for i in range(n_crls):
            r = SNAP_CRL.unpack_from(data, crl_off + i * SNAP_CRL.size)
            self.crls[(r[0], r[1])] = dict(
                issuer=r[0], dp=r[1], this_update=r[2], next_update=r[3],
                fetched_at=r[4], count=r[5], table=r[6], state=r[7])
        self.ocsp = {}
        for i in range(n_ocsp):
            r = SNAP_OCSP.unpack_from(data, ocsp_off + i * SNAP_OCSP.size)
            self.ocsp[r[0]] = dict(this_update=r[1], next_update=r[2],
                                   expires=r[3], revoked_at=r[4],
                                   status=r[5], reason=r[6])

    def crl_by_dp(self, dp):
        found = [r for (i, d), r in self.crls.items() if d == dp]
        return found[0] if found else None


def read_table(directory, table_id):
    """A CRL table file: its header fields and {serial bytes: entry}."""
    path = directory / f"crl-{table_id.hex()}.tbl"
    data = path.read_bytes()
    assert hashlib.sha256(data).digest() == table_id
    h = TBL_HDR.unpack_from(data)
    assert h[0] == b"STMQCRLT" and h[1] == 2 and h[2] == TBL_HDR.size
    count = h[3]
    assert h[4] == len(data) == TBL_HDR.size + count * TBL_ENTRY.size
    entries = {}
    for i in range(count):
        e = TBL_ENTRY.unpack_from(data, TBL_HDR.size + i * TBL_ENTRY.size)
        entries[e[1][:e[0]]] = dict(reason=e[2], revoked_at=e[4])
    return dict(count=count, this_update=h[5], next_update=h[6],
                issuer=h[7], number=h[8][:h[9]]), entries


def sha256(b):
    return hashlib.sha256(b).digest()


def cert(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def serial_bytes(c):
    n = c.serial_number
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def issuer_id(pki):
    return sha256(cert(pki / "intermediate.pem").subject.public_bytes())


def wait_for(pred, secs=15.0, what="condition"):
    deadline = time.monotonic() + timeout(secs)
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- fixtures ---------------------------------------------------------------

@pytest.fixture(scope="module")
def req_client(tmp_path_factory):
    """tests/integration/ipc_req_client.c, built against ipc/notify.c."""
    out = tmp_path_factory.mktemp("reqclient") / "ipc_req_client"
    r = run(["cc", "-std=c11", "-D_GNU_SOURCE", "-I", str(ROOT / "ipc"),
             "-I", str(ROOT / "common"), "-o", str(out),
             str(ROOT / "tests/integration/ipc_req_client.c"),
             str(ROOT / "ipc/notify.c"), str(ROOT / "common/log.c"),
             str(ROOT / "common/xmalloc.c"), "-lnng", "-lssl", "-lcrypto"],
            secs=120)
    assert r.returncode == 0, r.stderr
    return out


class Env:
    """One test's PKI, responder, configuration and daemon."""

    def __init__(self, tmp_path, daemons, conf_factory, req_client):
        self.tmp = tmp_path
        self.daemons, self.conf_factory = daemons, conf_factory
        self.req_client = req_client
        self.port = free_port()
        self.pki = tmp_path / "pki"
        env = dict(os.environ, OCSP_URL=f"http://127.0.0.1:{self.port}",
                   CRL_BASE_URL=f"http://127.0.0.1:{self.port}/crl")
        r = run([str(ROOT / "etc/demo-pki.sh"), str(self.pki)], env=env,
                secs=60)
        assert r.returncode == 0, r.stderr
        self.responder = Responder(self.pki, self.port,
                                   tmp_path / "responder.log")
        self.crl_url = f"http://127.0.0.1:{self.port}/crl/intermediate.crl"
        self.run_dir = tmp_path / "run"
        self.data_dir = tmp_path / "data"
        self.fetcherd = None

    def conf(self, listener="  ssl_options.enable_crl_check = true\n",
             extra="", urls=None):
        urls = [self.crl_url] if urls is None else urls
        text = listener_block("ssl", "mtls", free_port(), self.pki,
                              "  ssl_options.verify = verify_peer\n" +
                              listener)
        text += "crl_cache.urls = [%s]\n" % ", ".join(
            f'"{u}"' for u in urls)
        return self.conf_factory(text + extra)

    def start(self, conf):
        self.fetcherd = self.daemons("staplemq-fetcherd", conf)
        return self.fetcherd

    def snapshot(self, directory=None):
        return Snapshot((directory or self.run_dir) / "snapshot")

    def record(self, dp, state=CRL_OK, directory=None):
        """The CRL record of source dp once it is in state."""
        def ready():
            try:
                r = self.snapshot(directory).crl_by_dp(dp)
            except (OSError, AssertionError, struct.error):
                return None
            return r if r is not None and r["state"] == state else None
        return wait_for(ready, what=f"CRL record in state {state}")

    def hup(self):
        """SIGHUP: configured CRLs are asked for again at once."""
        n = self.fetcherd.log().count("configuration reloaded")
        self.fetcherd.signal(signal.SIGHUP)
        self.fetcherd.wait_log(r"configuration reloaded", count=n + 1)

    def request(self, kind, chain, url="", count=1):
        r = run([str(self.req_client), str(self.run_dir), kind, str(chain),
                 url, str(count)], secs=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.split()

    def serve_crl(self, der):
        """Replace what the responder serves as intermediate.crl."""
        path = self.pki / "crl" / "intermediate.crl"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(der)
        os.replace(tmp, path)

    def crl_stats(self):
        return self.responder.stats()["crl"]


@pytest.fixture
def crlenv(tmp_path, daemons, conf_factory, req_client):
    e = Env(tmp_path, daemons, conf_factory, req_client)
    yield e
    e.responder.stop()


def make_crl(pki, number, revoked=(), key=None, entries=0,
             next_update=datetime.timedelta(days=7)):
    """A CRL of the intermediate (or signed by another key with its
    name), with CRL number `number`, revoking the given certificates and
    `entries` made-up serials.  DER."""
    inter = cert(pki / "intermediate.pem")
    if key is None:
        key = serialization.load_pem_private_key(
            (pki / "intermediate.key").read_bytes(), password=None)
    now = datetime.datetime.utcnow()
    b = (x509.CertificateRevocationListBuilder()
         .issuer_name(inter.subject)
         .last_update(now - datetime.timedelta(minutes=5))
         .next_update(now + next_update)
         .add_extension(x509.CRLNumber(number), critical=False))
    serials = [cert(p).serial_number for p in revoked]
    serials += [0x7000000 + i for i in range(entries)]
    for s in serials:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(s)
            .revocation_date(now - datetime.timedelta(hours=1))
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise),
                           critical=False).build())
    return b.sign(key, hashes.SHA256()).public_bytes(
        serialization.Encoding.DER)


def self_signed_with_cdp(tmp_path, url):
    """A self-signed client certificate whose CDP names url: its chain
    verifies against nothing fetcherd trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intruder")])
    now = datetime.datetime.utcnow()
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
         .public_key(key.public_key()).serial_number(4242)
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
             full_name=[x509.UniformResourceIdentifier(url)],
             relative_name=None, reasons=None, crl_issuer=None)]), False)
         .sign(key, hashes.SHA256()))
    path = tmp_path / "intruder.pem"
    path.write_bytes(c.public_bytes(serialization.Encoding.PEM))
    return path


# --- configured CRL URLs -----------------------------------------------------

def test_01_configured_crl_is_published_with_its_table(crlenv):
    e = crlenv
    e.start(e.conf())
    rec = e.record(sha256(e.crl_url.encode()))
    assert rec["issuer"] == issuer_id(e.pki)
    assert rec["count"] == 1 and rec["table"] != ZERO
    assert rec["next_update"] > rec["this_update"] > 0
    assert abs(rec["fetched_at"] - time.time()) < 60
    hdr, entries = read_table(e.run_dir, rec["table"])
    assert hdr["issuer"] == issuer_id(e.pki)
    assert hdr["number"] == b"\x01"
    assert (hdr["this_update"], hdr["next_update"]) == (
        rec["this_update"], rec["next_update"])
    revoked = serial_bytes(cert(e.pki / "client-revoked.pem"))
    assert revoked in entries and entries[revoked]["reason"] == 1
    assert serial_bytes(cert(e.pki / "client.pem")) not in entries
    # persisted: the data directory has the snapshot and the table
    wait_for(lambda: (e.data_dir / f"crl-{rec['table'].hex()}.tbl")
             .exists(), what="the table in the data directory")
    read_table(e.data_dir, rec["table"])
    e.fetcherd.wait_log(r"intermediate.crl: verified CRL of .*intermediate "
                        r"CA, 1 entry,")


def test_02_refresh_is_a_conditional_request(crlenv):
    e = crlenv
    e.start(e.conf())
    dp = sha256(e.crl_url.encode())
    first = e.record(dp)
    time.sleep(1.1)                       # so fetched_at can move
    e.hup()
    second = wait_for(lambda: (lambda r: r if r and r["fetched_at"] >
                               first["fetched_at"] else None)(
        e.snapshot().crl_by_dp(dp)), what="a refreshed fetched_at")
    assert second["table"] == first["table"]
    assert second["this_update"] == first["this_update"]
    log = (e.tmp / "responder.log").read_text()
    assert re.search(r'"GET /crl/intermediate.crl" 200', log), log
    assert re.search(r'"GET /crl/intermediate.crl" 304', log), log
    assert e.crl_stats() == 2


@pytest.mark.parametrize("bad", ["garbage", "http500", "down",
                                 "wrong_signer", "older_number",
                                 "oversized"])
def test_03_bad_crls_never_replace_a_good_one(crlenv, bad):
    e = crlenv
    extra = "crl_cache.max_size = 1KB\n" if bad == "oversized" else ""
    e.start(e.conf(extra=extra))
    dp = sha256(e.crl_url.encode())
    if bad == "older_number":
        # number 10 first, then 9
        e.serve_crl(make_crl(e.pki, 10))
        e.hup()
        wait_for(lambda: read_table(e.run_dir, e.snapshot().crl_by_dp(dp)
                                    ["table"])[0]["number"] == b"\x0a",
                 what="CRL number 10 in use")
    good = e.record(dp)
    warnings = e.fetcherd.log().count("warning")
    if bad in ("garbage", "http500", "down"):
        e.responder.control(crl_mode=bad)
    elif bad == "wrong_signer":
        e.serve_crl(make_crl(e.pki, 50, key=ec.generate_private_key(
            ec.SECP256R1())))
    elif bad == "older_number":
        e.serve_crl(make_crl(e.pki, 9))
    else:
        der = make_crl(e.pki, 50, entries=60)
        assert len(der) > 1024
        e.serve_crl(der)
    e.hup()
    why = {"garbage": "not a DER or PEM CRL", "http500": "HTTP status 500",
           "down": r"(Empty reply|Recv failure|connection)",
           "wrong_signer": "signature does not verify",
           "older_number": "CRL number lower than the one in use",
           "oversized": "larger than 1024 bytes"}[bad]
    e.fetcherd.wait_log(r"warning.*intermediate.crl: .*" + why +
                        r".*the CRL in use is kept")
    assert e.fetcherd.log().count("warning") > warnings
    time.sleep(0.3)                       # nothing else gets published
    now = e.snapshot().crl_by_dp(dp)
    assert now["table"] == good["table"] and now["state"] == CRL_OK
    assert (e.run_dir / f"crl-{good['table'].hex()}.tbl").exists()


def test_04_new_crl_replaces_and_lists_a_new_revocation(crlenv):
    e = crlenv
    e.start(e.conf())
    dp = sha256(e.crl_url.encode())
    first = e.record(dp)
    e.serve_crl(make_crl(e.pki, 2, revoked=[e.pki / "client-revoked.pem",
                                            e.pki / "client.pem"]))
    e.hup()
    second = wait_for(lambda: (lambda r: r if r and r["table"] !=
                               first["table"] else None)(
        e.snapshot().crl_by_dp(dp)), what="the new table")
    assert second["count"] == 2
    _, entries = read_table(e.run_dir, second["table"])
    assert serial_bytes(cert(e.pki / "client.pem")) in entries
    # the new table is persisted too; the old one stays for the grace
    # period (a broker may still be opening it)
    wait_for(lambda: (e.data_dir / f"crl-{second['table'].hex()}.tbl")
             .exists(), what="the new table in the data directory")
    assert (e.run_dir / f"crl-{first['table'].hex()}.tbl").exists()


def test_05_crl_file_is_read_again_when_it_changes(crlenv):
    e = crlenv
    path = e.tmp / "local.crl"
    path.write_bytes((e.pki / "intermediate.crl.pem").read_bytes())
    e.start(e.conf(urls=[], extra=f'crl_cache.files = ["{path}"]\n'))
    dp = sha256(b"file:" + str(path).encode())
    first = e.record(dp)
    assert first["count"] == 1
    tmp = e.tmp / "local.crl.new"
    tmp.write_bytes(make_crl(e.pki, 7, revoked=[e.pki / "client.pem"]))
    os.replace(tmp, path)
    second = wait_for(lambda: (lambda r: r if r and r["table"] !=
                               first["table"] else None)(
        e.snapshot().crl_by_dp(dp)), secs=20, what="the file read again")
    _, entries = read_table(e.run_dir, second["table"])
    assert list(entries) == [serial_bytes(cert(e.pki / "client.pem"))]
    e.fetcherd.wait_log(r"local.crl: new CRL of .*, 1 entry,")
    # a file that no longer verifies keeps the CRL in use
    path.write_bytes(b"not a CRL")
    e.fetcherd.wait_log(r"local.crl: not a DER or PEM CRL; the CRL in use "
                        r"is kept", secs=20)
    assert e.snapshot().crl_by_dp(dp)["table"] == second["table"]
    assert e.crl_stats() == 0


def test_06_check_reports_crl_sources(crlenv):
    e = crlenv
    path = e.tmp / "local.crl"
    path.write_bytes((e.pki / "intermediate.crl.der").read_bytes())
    c = e.conf(extra=f'crl_cache.files = ["{path}"]\n')
    r = run([str(BUILD / "staplemq-fetcherd"), "--check", "-c", str(c)])
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["CRL", "SOURCE", "ISSUER"]
    url_line = [ln for ln in lines if ln.startswith(e.crl_url)][0]
    assert re.search(r"intermediate CA\s+200\s+01\s+\d{4}-\d\d-\d\dT.*Z\s+"
                     r"\d{4}-.*Z\s+1\s+verified$", url_line), url_line
    file_line = [ln for ln in lines if ln.startswith(str(path))][0]
    assert file_line.endswith("verified")
    assert lines[-1] == "2 CRL sources, 2 verified"
    assert not (e.run_dir / "snapshot").exists()
    # a CRL that does not verify: the line says why, the exit code 1
    e.responder.control(crl_mode="garbage")
    r = run([str(BUILD / "staplemq-fetcherd"), "--check", "-c", str(c)])
    assert r.returncode == 1
    assert "not a DER or PEM CRL" in r.stdout
    assert r.stdout.splitlines()[-1] == "2 CRL sources, 1 verified"
    # --publish: the verified one is in the snapshot
    r = run([str(BUILD / "staplemq-fetcherd"), "--check", "--publish",
             "-c", str(c)])
    assert r.returncode == 1
    rec = Snapshot(e.run_dir / "snapshot").crl_by_dp(
        sha256(b"file:" + str(path).encode()))
    assert rec["state"] == CRL_OK and rec["count"] == 1


def test_07_restart_serves_the_persisted_crl_at_once(crlenv):
    e = crlenv
    c = e.conf()
    d = e.start(c)
    dp = sha256(e.crl_url.encode())
    rec = e.record(dp)
    wait_for(lambda: (e.data_dir / f"crl-{rec['table'].hex()}.tbl")
             .exists(), what="the persisted table")
    assert d.stop() == 0
    for p in e.run_dir.glob("crl-*.tbl"):
        p.unlink()
    (e.run_dir / "snapshot").unlink()
    e.responder.control(crl_mode="down")
    d = e.start(c)
    d.wait_log(r"restored 1 CRL")
    again = e.record(dp)
    assert again["table"] == rec["table"]
    read_table(e.run_dir, rec["table"])


# --- requests from brokers -------------------------------------------------

def test_08_on_demand_crl_from_the_certificate(crlenv):
    e = crlenv
    e.start(e.conf(urls=[]))
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     e.crl_url) == ["ACCEPTED"]
    rec = e.record(sha256(e.crl_url.encode()))
    assert rec["issuer"] == issuer_id(e.pki)
    _, entries = read_table(e.run_dir, rec["table"])
    assert serial_bytes(cert(e.pki / "client-revoked.pem")) in entries
    assert e.crl_stats() == 1
    # known now: accepted without another download
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     e.crl_url) == ["ACCEPTED"]
    time.sleep(0.3)
    assert e.crl_stats() == 1
    e.fetcherd.wait_log(r"intermediate.crl: fetching on demand")


def test_09_open_proxy_url_not_in_the_certificate_is_refused(crlenv):
    e = crlenv
    e.start(e.conf(urls=[]))
    other = f"http://127.0.0.1:{e.port}/crl/root.crl"
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     other) == ["REFUSED"]
    # a URL the certificate does not name, even on the same server, and
    # an internal service: never fetched
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     "http://127.0.0.1:1/admin") == ["REFUSED"]
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     e.crl_url + "?x") == ["REFUSED"]
    time.sleep(0.5)
    assert e.crl_stats() == 0
    e.fetcherd.wait_log(r"warning.*CN ?= ?device-good.*root.crl: request "
                        r"refused: not a CRL distribution point")
    assert not (e.run_dir / "snapshot").exists() or \
        e.snapshot().crl_by_dp(sha256(other.encode())) is None


def test_10_open_proxy_chain_that_does_not_verify_is_refused(crlenv):
    e = crlenv
    e.start(e.conf(listener="  ssl_options.enable_crl_check = true\n"
                            "  ssl_options.ocsp.client_check = leaf\n",
                   urls=[]))
    intruder = self_signed_with_cdp(e.tmp, e.crl_url)
    assert e.request("crl", intruder, e.crl_url) == ["REFUSED"]
    # the intermediate's own CDP (root.crl) with crl_check = leaf: no
    root_url = f"http://127.0.0.1:{e.port}/crl/root.crl"
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     root_url) == ["REFUSED"]
    assert e.request("ocsp", intruder) == ["REFUSED"]
    time.sleep(0.5)
    assert e.crl_stats() == 0
    assert e.responder.stats()["total"] == 0
    e.fetcherd.wait_log(r"CN ?= ?intruder: .*intermediate.crl: request "
                        r"refused: self.signed certificate")
    e.fetcherd.wait_log(r"CN ?= ?intruder: OCSP: request refused: "
                        r"self.signed certificate")
    # logged once per URL and minute
    assert e.request("crl", intruder, e.crl_url) == ["REFUSED"]
    time.sleep(0.2)
    assert len(re.findall(r"CN ?= ?intruder: \S*intermediate.crl",
                          e.fetcherd.log())) == 1


def test_11_crl_check_chain_allows_the_cas_distribution_points(crlenv):
    e = crlenv
    e.start(e.conf(listener="  ssl_options.enable_crl_check = true\n"
                            "  ssl_options.crl_check = chain\n", urls=[]))
    root_url = f"http://127.0.0.1:{e.port}/crl/root.crl"
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     root_url) == ["ACCEPTED"]
    rec = e.record(sha256(root_url.encode()))
    assert rec["issuer"] == sha256(cert(e.pki / "ca.pem").subject
                                   .public_bytes())


def test_12_requests_are_rate_limited(crlenv):
    e = crlenv
    e.start(e.conf(urls=[], extra="crl_cache.request_rate = 1\n"))
    got = e.request("crl", e.pki / "client-fullchain.pem", e.crl_url, 9)
    assert got[:5] == ["ACCEPTED"] * 5, got      # burst: 5 x rate
    assert "RATE_LIMITED" in got[5:], got
    e.fetcherd.wait_log(r"more than 1 fetches a second")
    time.sleep(1.1)
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     e.crl_url) == ["ACCEPTED"]


def test_13_on_demand_crl_that_cannot_be_had_is_published_failed(crlenv):
    e = crlenv
    e.responder.control(crl_mode="http500")
    e.start(e.conf(urls=[]))
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     e.crl_url) == ["ACCEPTED"]
    rec = e.record(sha256(e.crl_url.encode()), state=CRL_FAILED)
    assert rec["issuer"] == issuer_id(e.pki)
    assert rec["table"] == ZERO and rec["count"] == 0


def ocsp_conf(e, extra=""):
    return e.conf(listener="  ssl_options.ocsp.client_check = leaf\n"
                           "  ssl_options.ocsp.client_cache_ttl = 5m\n",
                  urls=[], extra=extra)


def test_14_client_ocsp_good_and_revoked(crlenv):
    e = crlenv
    e.start(ocsp_conf(e))
    for name, status in (("client", OCSP_GOOD),
                         ("client-revoked", OCSP_REVOKED)):
        assert e.request("ocsp", e.pki / f"{name}-fullchain.pem") == \
            ["ACCEPTED"]
        cid = sha256(cert(e.pki / f"{name}.pem").public_bytes(
            serialization.Encoding.DER))
        rec = wait_for(lambda: (lambda s: s.ocsp.get(cid) if s else None)(
            e.snapshot() if (e.run_dir / "snapshot").exists() else None),
            what=f"the OCSP record of {name}")
        assert rec["status"] == status, rec
        now = time.time()
        assert rec["this_update"] <= now + 60 < rec["next_update"] + 60
        assert rec["expires"] == min(rec["next_update"], rec["expires"])
        assert now < rec["expires"] <= now + 300 + 5
        if status == OCSP_REVOKED:
            assert rec["reason"] == 1 and 0 < rec["revoked_at"] <= now
        else:
            assert rec["reason"] == -1 and rec["revoked_at"] == 0
    # cached: asking again fetches nothing
    before = e.responder.stats()["total"]
    assert e.request("ocsp", e.pki / "client-fullchain.pem") == ["ACCEPTED"]
    time.sleep(0.3)
    assert e.responder.stats()["total"] == before


def test_15_client_ocsp_failure_is_published_failed(crlenv):
    e = crlenv
    e.responder.control(mode="http500")
    e.start(ocsp_conf(e))
    assert e.request("ocsp", e.pki / "client-fullchain.pem") == ["ACCEPTED"]
    cid = sha256(cert(e.pki / "client.pem").public_bytes(
        serialization.Encoding.DER))
    rec = wait_for(lambda: (e.run_dir / "snapshot").exists() and
                   e.snapshot().ocsp.get(cid), what="a FAILED record")
    assert rec["status"] == OCSP_FAILED
    assert time.time() < rec["expires"] <= time.time() + 61


def test_16_configured_client_responder_url_wins(crlenv):
    e = crlenv
    # the AIA points at the responder; the configured URL at nothing
    dead = f"http://127.0.0.1:{free_port()}/"
    e.start(e.conf(
        listener="  ssl_options.ocsp.client_check = leaf\n"
                 f'  ssl_options.ocsp.client_responder_url = "{dead}"\n',
        urls=[]))
    assert e.request("ocsp", e.pki / "client-fullchain.pem") == ["ACCEPTED"]
    cid = sha256(cert(e.pki / "client.pem").public_bytes(
        serialization.Encoding.DER))
    rec = wait_for(lambda: (e.run_dir / "snapshot").exists() and
                   e.snapshot().ocsp.get(cid), what="the OCSP record")
    assert rec["status"] == OCSP_FAILED
    assert e.responder.stats()["total"] == 0
    e.fetcherd.wait_log(re.escape(dead))


def test_17_sighup_keeps_caches_and_fetches_new_urls(crlenv):
    e = crlenv
    c = e.conf(listener="  ssl_options.enable_crl_check = true\n"
                        "  ssl_options.ocsp.client_check = leaf\n", urls=[])
    e.start(c)
    assert e.request("ocsp", e.pki / "client-fullchain.pem") == ["ACCEPTED"]
    cid = sha256(cert(e.pki / "client.pem").public_bytes(
        serialization.Encoding.DER))
    wait_for(lambda: (e.run_dir / "snapshot").exists() and
             e.snapshot().ocsp.get(cid), what="the OCSP record")
    root_url = f"http://127.0.0.1:{e.port}/crl/root.crl"
    c.write_text(c.read_text().replace("crl_cache.urls = []",
                                       f'crl_cache.urls = ["{root_url}"]'))
    e.hup()
    e.record(sha256(root_url.encode()))
    assert e.snapshot().ocsp.get(cid)["status"] == OCSP_GOOD


def test_18_restored_on_demand_crl_is_served_then_refreshed(crlenv):
    """An on-demand CRL comes back from the data directory at once after a
    restart, without its URL (only a verified request may name one); the
    next request for the URL makes it a source again, fetched anew."""
    e = crlenv
    c = e.conf(urls=[])
    d = e.start(c)
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     e.crl_url) == ["ACCEPTED"]
    dp = sha256(e.crl_url.encode())
    first = e.record(dp)
    wait_for(lambda: (e.data_dir / f"crl-{first['table'].hex()}.tbl")
             .exists(), what="the persisted table")
    assert d.stop() == 0
    e.serve_crl(make_crl(e.pki, 9, revoked=[e.pki / "client.pem"]))
    d = e.start(c)
    d.wait_log(r"restored 1 CRL")
    assert e.record(dp)["table"] == first["table"]
    assert e.crl_stats() == 1             # nothing fetched by itself
    assert e.request("crl", e.pki / "client-fullchain.pem",
                     e.crl_url) == ["ACCEPTED"]
    second = wait_for(lambda: (lambda r: r if r and r["table"] !=
                               first["table"] else None)(
        e.snapshot().crl_by_dp(dp)), what="the refreshed CRL")
    _, entries = read_table(e.run_dir, second["table"])
    assert serial_bytes(cert(e.pki / "client.pem")) in entries
