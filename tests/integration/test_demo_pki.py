"""Tests of etc/demo-pki.sh and etc/demo-responder.py.

Every other integration test trusts these two: the certificates must carry
what the broker and fetcher read (AIA OCSP, CRL distribution points, EKUs),
the responder must give real, verifiable OpenSSL answers, and each
misbehaviour mode must really misbehave, or a test of the fetcher's error
handling would pass without exercising anything.  So the checks use
independent tools: `openssl verify`, `openssl ocsp`, `openssl crl` and
python3-cryptography.

Self-contained on purpose (no conftest.py): run with
    /usr/bin/python3 -m pytest -q tests/integration/test_demo_pki.py
"""

import base64
import datetime
import http.client
import json
import os
import selectors
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier

ROOT = Path(__file__).resolve().parents[2]
PKI_SCRIPT = ROOT / "etc" / "demo-pki.sh"
RESPONDER = ROOT / "etc" / "demo-responder.py"
PYTHON = "/usr/bin/python3"
# Every subprocess and socket waits at most this long (STAPLEMQ_TIMEOUT_MULT
# stretches it on slow machines, as nginx-tests' timeout multiplier does).
MULT = float(os.environ.get("STAPLEMQ_TIMEOUT_MULT", "1"))
TIMEOUT = 15 * MULT
OCSP_NOCHECK = ObjectIdentifier("1.3.6.1.5.5.7.48.1.5")

LEAVES = {
    "server-rsa-leaf.pem": "sslserver",
    "server-ec-leaf.pem": "sslserver",
    "client.pem": "sslclient",
    "client-revoked.pem": "sslclient",
    "ocsp-signer.pem": "ocsphelper",
}
KEYS = ["ca.key", "intermediate.key", "server-rsa.key", "server-ec.key",
        "ocsp-signer.key", "client.key", "client-revoked.key"]


# --- helpers -----------------------------------------------------------------

def run(cmd, env=None, check=True):
    """Run a command with a timeout; fail the test with its output."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run([str(c) for c in cmd], capture_output=True,
                          text=True, timeout=TIMEOUT, env=full_env,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        pytest.fail("%s exited %d\nstdout: %s\nstderr: %s" % (
            " ".join(map(str, cmd)), proc.returncode, proc.stdout,
            proc.stderr))
    return proc


def free_port():
    """A TCP port free on 127.0.0.1 now, for URLs that go into the
    certificates before the responder exists."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_pki(outdir, port, **env):
    """Run demo-pki.sh into outdir with URLs on port; the finished run."""
    knobs = {"OCSP_URL": "http://127.0.0.1:%d" % port,
             "CRL_BASE_URL": "http://127.0.0.1:%d/crl" % port}
    knobs.update(env)
    return run(["sh", PKI_SCRIPT, outdir], env=knobs)


def load_cert(path):
    """The first certificate of a PEM file."""
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def pem_count(path):
    """How many certificates a PEM file holds."""
    return Path(path).read_text().count("-----BEGIN CERTIFICATE-----")


def serial_hex(path):
    """A certificate's serial as openssl prints it: upper-case hex in
    whole bytes (a leading 0 nibble is kept)."""
    h = "%X" % load_cert(path).serial_number
    return h if len(h) % 2 == 0 else "0" + h


class Responder:
    """A running demo-responder.py, stopped by pid in a finalizer."""

    def __init__(self, request, tmp, *args):
        self.log_path = Path(tmp) / ("responder-%d.log" % time.monotonic_ns())
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [PYTHON, str(RESPONDER)] + [str(a) for a in args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self.log)
        request.addfinalizer(self.stop)
        self.port = self.read_port()

    def read_port(self):
        """The port from the `PORT <n>` line, waiting at most TIMEOUT."""
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        buf = b""
        deadline = time.monotonic() + TIMEOUT
        while b"\n" not in buf and time.monotonic() < deadline:
            if sel.select(timeout=deadline - time.monotonic()):
                chunk = os.read(self.proc.stdout.fileno(), 256)
                if not chunk:
                    break
                buf += chunk
        sel.close()
        line = buf.split(b"\n", 1)[0].decode()
        if not line.startswith("PORT "):
            pytest.fail("responder did not print its port (got %r); log:\n%s"
                        % (line, self.log_path.read_text()))
        return int(line.split()[1])

    def stop(self):
        """SIGTERM by pid, SIGKILL if it lingers; returns the exit code."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5 * MULT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5 * MULT)
        self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def http(self, method, path, body=None, headers=None, source=None):
        """(status, headers, body) of one request; no exception on 4xx/5xx."""
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=TIMEOUT,
            source_address=(source, 0) if source else None)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    def control(self, **settings):
        """POST /_control; the settings it reports back."""
        status, _, body = self.http("POST", "/_control",
                                    json.dumps(settings).encode(),
                                    {"Content-Type": "application/json"})
        assert status == 200, body
        return json.loads(body)

    def stats(self):
        """GET /_stats."""
        status, _, body = self.http("GET", "/_stats")
        assert status == 200
        return json.loads(body)

    def post_ocsp(self, req_der, path="/"):
        """(HTTP status, body) of an OCSP POST."""
        status, _, body = self.http(
            "POST", path, req_der,
            {"Content-Type": "application/ocsp-request"})
        return status, body


def ocsp_request(pki_dir, leaf, nonce=None):
    """DER OCSP request for leaf (SHA-1 CertID, as most clients send)."""
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        load_cert(pki_dir / leaf), load_cert(pki_dir / "intermediate.pem"),
        hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def openssl_ocsp(pki_dir, url, leaf, *extra):
    """`openssl ocsp` as a client (POST), verifying against the root."""
    return run(["openssl", "ocsp", "-issuer", pki_dir / "intermediate.pem",
                "-cert", pki_dir / leaf, "-url", url, "-CAfile",
                pki_dir / "ca.pem", "-timeout", "5"] + list(extra),
               check=False)


def verify_response_file(pki_dir, tmp, resp_der, leaf):
    """`openssl ocsp -respin` on a response: the finished run."""
    path = Path(tmp) / "resp.der"
    path.write_bytes(resp_der)
    return run(["openssl", "ocsp", "-respin", path, "-issuer",
                pki_dir / "intermediate.pem", "-cert", pki_dir / leaf,
                "-CAfile", pki_dir / "ca.pem", "-no_nonce"], check=False)


def listeners(port):
    """Local addresses listening on TCP port, from /proc/net/tcp{,6}."""
    found = []
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            lines = Path("/proc/net/" + name).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            addr, hexport = fields[1].split(":")
            if int(hexport, 16) != port or fields[3] != "0A":
                continue
            raw = bytes.fromhex(addr)
            # /proc prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.append(socket.inet_ntop(family, raw))
    return found


# --- fixtures ----------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """One PKI for the module, its URLs on a port picked now."""
    d = tmp_path_factory.mktemp("pki")
    port = free_port()
    t0 = time.monotonic()
    proc = make_pki(d, port)
    return {"dir": d, "port": port, "elapsed": time.monotonic() - t0,
            "stdout": proc.stdout}


@pytest.fixture(scope="module")
def responder_proc(request, pki, tmp_path_factory):
    """The responder for the module's PKI, on the port in its certificates."""
    r = Responder(request, tmp_path_factory.mktemp("resp"), "--pki",
                  pki["dir"], "--port", pki["port"], "--delay", "1")
    assert r.port == pki["port"]
    return r


@pytest.fixture
def responder(responder_proc):
    """The module's responder, back to normal and with zeroed counters."""
    responder_proc.control(mode="normal", crl_mode="normal", delay=1,
                           ndays=1, reset_stats=True)
    return responder_proc


# --- demo-pki.sh -------------------------------------------------------------

def test_pki_is_fast_and_says_one_line(pki):
    """`make run` regenerates it each time: it must be quick and quiet."""
    assert pki["elapsed"] < 10 * MULT
    lines = pki["stdout"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("demo-pki: ")


def test_pki_files_and_modes(pki):
    """Every promised file is there; keys are private, the rest readable."""
    d = pki["dir"]
    for name in ["ca.pem", "intermediate.pem", "server-rsa.pem",
                 "server-ec.pem", "server-rsa-leaf.pem", "server-ec-leaf.pem",
                 "ocsp-signer.pem", "client.pem", "client-revoked.pem",
                 "client-fullchain.pem", "client-revoked-fullchain.pem",
                 "cacert.pem", "ocsp-issuer.pem", "index.txt",
                 "intermediate.crl.pem", "intermediate.crl.der",
                 "root.crl.pem"] + KEYS:
        assert (d / name).is_file(), name
    for key in KEYS:
        assert stat.S_IMODE((d / key).stat().st_mode) == 0o600, key
    assert stat.S_IMODE((d / "ca.pem").stat().st_mode) & 0o044 == 0o044


def test_chain_files(pki):
    """Chains are leaf then intermediate; cacert is root + intermediate."""
    d = pki["dir"]
    inter = (d / "intermediate.pem").read_text()
    for chain, leaf in [("server-rsa.pem", "server-rsa-leaf.pem"),
                        ("server-ec.pem", "server-ec-leaf.pem"),
                        ("client-fullchain.pem", "client.pem"),
                        ("client-revoked-fullchain.pem",
                         "client-revoked.pem")]:
        assert pem_count(d / chain) == 2, chain
        assert (d / chain).read_text() == (d / leaf).read_text() + inter
    assert (d / "cacert.pem").read_text() == (
        (d / "ca.pem").read_text() + inter)
    assert (d / "ocsp-issuer.pem").read_text() == inter


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaves_verify(pki, leaf):
    """Each leaf chains to the root through the intermediate, for its use."""
    d = pki["dir"]
    proc = run(["openssl", "verify", "-CAfile", d / "ca.pem", "-untrusted",
                d / "intermediate.pem", "-purpose", LEAVES[leaf], d / leaf])
    assert proc.stdout.strip() == "%s: OK" % (d / leaf)


def test_crl_check_rejects_only_the_revoked_client(pki):
    """The CRL really revokes device-revoked and nothing else."""
    d = pki["dir"]
    base = ["openssl", "verify", "-crl_check", "-CAfile", d / "ca.pem",
            "-untrusted", d / "intermediate.pem", "-CRLfile",
            d / "intermediate.crl.pem"]
    assert run(base + [d / "client.pem"]).returncode == 0
    bad = run(base + [d / "client-revoked.pem"], check=False)
    assert bad.returncode != 0
    assert "certificate revoked" in bad.stdout + bad.stderr


def test_ca_extensions(pki):
    """Root: CA critical, signs certificates and CRLs; intermediate:
    the same, pathlen 0."""
    d = pki["dir"]
    for name, pathlen in (("ca.pem", None), ("intermediate.pem", 0)):
        cert = load_cert(d / name)
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca and bc.value.path_length == pathlen
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert ku.key_cert_sign and ku.crl_sign
    root = load_cert(d / "ca.pem")
    assert root.issuer == root.subject
    assert load_cert(d / "intermediate.pem").issuer == root.subject


def aia_ocsp(cert):
    """The OCSP URIs of a certificate's AIA extension."""
    aia = cert.extensions.get_extension_for_class(
        x509.AuthorityInformationAccess).value
    return [a.access_location.value for a in aia
            if a.access_method == x509.AuthorityInformationAccessOID.OCSP]


def cdp_uris(cert):
    """The URIs of a certificate's CRL distribution points."""
    cdp = cert.extensions.get_extension_for_class(
        x509.CRLDistributionPoints).value
    return [n.value for dp in cdp for n in dp.full_name]


def eku(cert):
    """The extended key usages of a certificate."""
    return list(cert.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value)


@pytest.mark.parametrize("leaf,key_type,usage", [
    ("server-rsa-leaf.pem", "RSA", ExtendedKeyUsageOID.SERVER_AUTH),
    ("server-ec-leaf.pem", "EC", ExtendedKeyUsageOID.SERVER_AUTH),
    ("client.pem", "EC", ExtendedKeyUsageOID.CLIENT_AUTH),
    ("client-revoked.pem", "EC", ExtendedKeyUsageOID.CLIENT_AUTH)])
def test_leaf_extensions(pki, leaf, key_type, usage):
    """What the fetcher follows (AIA OCSP, CDP) points at this run's port."""
    d, port = pki["dir"], pki["port"]
    cert = load_cert(d / leaf)
    assert aia_ocsp(cert) == ["http://127.0.0.1:%d" % port]
    assert cdp_uris(cert) == [
        "http://127.0.0.1:%d/crl/intermediate.crl" % port]
    assert eku(cert) == [usage]
    key = cert.public_key()
    if key_type == "RSA":
        assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert key.curve.name == "secp256r1"
    assert cert.issuer == load_cert(d / "intermediate.pem").subject
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        san = cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == ["localhost"]
        assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] \
            == ["127.0.0.1"]


def test_client_names(pki):
    """Tests tell the two devices apart by CN."""
    d = pki["dir"]
    cn = x509.oid.NameOID.COMMON_NAME
    assert load_cert(d / "client.pem").subject.get_attributes_for_oid(
        cn)[0].value == "device-good"
    assert load_cert(d / "client-revoked.pem").subject \
        .get_attributes_for_oid(cn)[0].value == "device-revoked"


def test_ocsp_signer_extensions(pki):
    """A delegated responder: OCSPSigning EKU and id-pkix-ocsp-nocheck."""
    cert = load_cert(pki["dir"] / "ocsp-signer.pem")
    assert eku(cert) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    cert.extensions.get_extension_for_oid(OCSP_NOCHECK)
    assert cert.issuer == load_cert(pki["dir"] / "intermediate.pem").subject


def test_index_and_crl_agree(pki):
    """index.txt marks exactly device-revoked R; the CRL lists its serial
    with a CRL number and verifies against the intermediate."""
    d = pki["dir"]
    rows = [line.split("\t") for line in
            (d / "index.txt").read_text().splitlines()]
    by_serial = {int(r[3], 16): r[0] for r in rows}
    revoked = load_cert(d / "client-revoked.pem").serial_number
    assert by_serial.pop(revoked) == "R"
    for leaf in ["server-rsa-leaf.pem", "server-ec-leaf.pem", "client.pem"]:
        assert by_serial[load_cert(d / leaf).serial_number] == "V"
    assert set(by_serial.values()) == {"V"}
    crl = x509.load_der_x509_crl((d / "intermediate.crl.der").read_bytes())
    assert [r.serial_number for r in crl] == [revoked]
    crl.extensions.get_extension_for_class(x509.CRLNumber)
    assert crl.is_signature_valid(
        load_cert(d / "intermediate.pem").public_key())
    assert crl.next_update > datetime.datetime.utcnow()
    root_crl = x509.load_pem_x509_crl((d / "root.crl.pem").read_bytes())
    assert root_crl.is_signature_valid(load_cert(d / "ca.pem").public_key())
    assert len(root_crl) == 0


def test_regenerates_from_scratch(tmp_path):
    """A second run replaces every product, keeps foreign files, and the
    knobs (SERVER_NAMES, DAYS) take effect."""
    out = tmp_path / "pki"
    make_pki(out, 1)
    first = load_cert(out / "ca.pem").serial_number
    (out / "notes.txt").write_text("mine")
    make_pki(out, 2, SERVER_NAMES="broker.test 10.1.2.3", DAYS="2")
    assert (out / "notes.txt").read_text() == "mine"
    assert load_cert(out / "ca.pem").serial_number != first
    assert len((out / "index.txt").read_text().splitlines()) == 5
    leaf = load_cert(out / "server-ec-leaf.pem")
    san = leaf.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["broker.test"]
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == [
        "10.1.2.3", "127.0.0.1"]
    assert aia_ocsp(leaf) == ["http://127.0.0.1:2"]
    life = leaf.not_valid_after - datetime.datetime.utcnow()
    assert datetime.timedelta(days=1) < life <= datetime.timedelta(days=2)
    run(["openssl", "verify", "-CAfile", out / "ca.pem", "-untrusted",
         out / "intermediate.pem", out / "server-ec-leaf.pem"])
    assert not [p for p in out.iterdir() if p.name.startswith(".demo-pki.")]


def test_script_refuses_bad_input(tmp_path):
    """No argument is a usage error; a bad knob fails before writing."""
    assert run(["sh", PKI_SCRIPT], check=False).returncode == 2
    out = tmp_path / "never"
    proc = run(["sh", PKI_SCRIPT, out], env={"DAYS": "soon"}, check=False)
    assert proc.returncode != 0 and "DAYS" in proc.stderr
    assert not out.exists()


# --- OCSP through the responder ----------------------------------------------

@pytest.mark.parametrize("leaf", ["server-rsa-leaf.pem", "server-ec-leaf.pem",
                                  "client.pem"])
def test_openssl_post_good(pki, responder, leaf):
    """`openssl ocsp` (POST) gets a verified `good` for valid leaves."""
    proc = openssl_ocsp(pki["dir"], responder.url, leaf)
    assert proc.returncode == 0, proc.stderr
    assert "%s: good" % (pki["dir"] / leaf) in proc.stdout
    assert "Response verify OK" in proc.stderr
    assert responder.stats()["ocsp_post"] == 1


def test_openssl_post_revoked(pki, responder):
    """The revoked client is `revoked`, with the reason from the index."""
    proc = openssl_ocsp(pki["dir"], responder.url, "client-revoked.pem")
    assert proc.returncode == 0, proc.stderr
    assert "client-revoked.pem: revoked" in proc.stdout
    assert "Reason: keyCompromise" in proc.stdout
    assert "Response verify OK" in proc.stderr


@pytest.mark.parametrize("form", ["escaped", "raw", "prefixed"])
def test_get_request(pki, responder, tmp_path, form):
    """RFC 5019 GET, URL-escaped or not, at the root or under a path;
    the answer verifies with openssl and carries the request's nonce."""
    d = pki["dir"]
    nonce = b"\xff" * 16          # puts '/' into the base64
    req = ocsp_request(d, "server-ec-leaf.pem", nonce)
    b64 = base64.b64encode(req).decode()
    assert "/" in b64
    path = {"escaped": "/" + urllib.parse.quote(b64, safe=""),
            "raw": "/" + b64,
            "prefixed": "/ocsp/" + urllib.parse.quote(b64, safe="")}[form]
    with urllib.request.urlopen(responder.url + path,
                                timeout=TIMEOUT) as resp:
        assert resp.headers["Content-Type"] == "application/ocsp-response"
        body = resp.read()
    parsed = ocsp.load_der_ocsp_response(body)
    assert parsed.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert parsed.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert parsed.serial_number == load_cert(
        d / "server-ec-leaf.pem").serial_number
    assert parsed.extensions.get_extension_for_class(
        x509.OCSPNonce).value.nonce == nonce
    proc = verify_response_file(d, tmp_path, body, "server-ec-leaf.pem")
    assert proc.returncode == 0 and "Response verify OK" in proc.stderr
    assert ": good" in proc.stdout
    stats = responder.stats()
    assert stats["ocsp_get"] == 1 and stats["ocsp_post"] == 0
    assert stats["by_method"] == {"GET": 1}
    assert stats["by_path"] == {"GET /<ocsp-request>": 1}


def test_malformed_requests(pki, responder):
    """Bytes that are no OCSP request get malformedRequest, not a crash."""
    for status, body in [responder.post_ocsp(b"not a request"),
                         responder.http("GET", "/")[::2],
                         responder.http("GET", "/bm90IGRlcg==")[::2]]:
        assert status == 200
        assert ocsp.load_der_ocsp_response(body).response_status == \
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_validity_is_settable(pki, responder):
    """nmin at run time shortens nextUpdate (for staple refresh tests)."""
    responder.control(nmin=5)
    _, body = responder.post_ocsp(ocsp_request(pki["dir"], "client.pem"))
    resp = ocsp.load_der_ocsp_response(body)
    assert resp.next_update - resp.this_update == datetime.timedelta(minutes=5)


def test_stats_count_by_kind(pki, responder):
    """POST, GET and CRL requests are told apart, by method and path."""
    req = ocsp_request(pki["dir"], "client.pem")
    responder.post_ocsp(req, "/ocsp")
    responder.http("GET", "/" + urllib.parse.quote(
        base64.b64encode(req).decode(), safe=""))
    responder.http("GET", "/crl/intermediate.crl")
    s = responder.stats()
    counts = [s[k] for k in ("total", "ocsp_post", "ocsp_get", "crl")]
    assert counts == [3, 1, 1, 1]
    assert s["by_path"] == {"POST /ocsp": 1, "GET /<ocsp-request>": 1,
                            "GET /crl/intermediate.crl": 1}
    assert s["by_mode"] == {"normal": 2} and s["by_status"] == {"200": 2}


# --- CRLs through the responder ----------------------------------------------

def test_crl_served_and_verifies(pki, responder, tmp_path):
    """/crl/intermediate.crl.pem lists the revoked serial and verifies;
    the DER at the certificates' CDP is the same CRL."""
    d = pki["dir"]
    status, headers, body = responder.http("GET", "/crl/intermediate.crl.pem")
    assert status == 200 and body == (d / "intermediate.crl.pem").read_bytes()
    path = tmp_path / "fetched.crl.pem"
    path.write_bytes(body)
    text = run(["openssl", "crl", "-in", path, "-noout", "-text"]).stdout
    assert "Serial Number: %s" % serial_hex(d / "client-revoked.pem") in text
    assert "X509v3 CRL Number" in text
    proc = run(["openssl", "crl", "-in", path, "-CAfile", d / "cacert.pem",
                "-noout"])
    assert "verify OK" in proc.stdout + proc.stderr
    cdp_path = urllib.parse.urlsplit(
        cdp_uris(load_cert(d / "client.pem"))[0]).path
    status, headers, der = responder.http("GET", cdp_path)
    assert status == 200 and der == (d / "intermediate.crl.der").read_bytes()
    assert headers["Content-Type"] == "application/pkix-crl"


def test_crl_conditional_get(responder):
    """ETag and Last-Modified validators give 304; stale ones give 200."""
    path = "/crl/intermediate.crl.pem"
    status, headers, _ = responder.http("GET", path)
    assert status == 200
    etag, lm = headers["ETag"], headers["Last-Modified"]
    assert etag and lm
    status, headers, body = responder.http("GET", path,
                                           headers={"If-None-Match": etag})
    assert status == 304 and body == b"" and headers["ETag"] == etag
    assert responder.http("GET", path, headers={
        "If-Modified-Since": lm})[0] == 304
    assert responder.http("GET", path, headers={
        "If-None-Match": '"other"'})[0] == 200
    assert responder.http("GET", path, headers={
        "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    assert responder.http("GET", path, headers={
        "If-None-Match": '"other"', "If-Modified-Since": lm})[0] == 200


@pytest.mark.parametrize("path", ["/crl/../ca.key", "/crl/%2e%2e%2fca.key",
                                  "/crl/missing.crl", "/crl/"])
def test_crl_serves_only_its_directory(responder, path):
    """No path escapes --crl-dir; missing files are 404."""
    assert responder.http("GET", path)[0] == 404


# --- misbehaviour modes ------------------------------------------------------

def test_mode_garbage(pki, responder):
    """garbage: 200 with bytes no parser accepts; openssl ocsp fails."""
    responder.control(mode="garbage")
    status, body = responder.post_ocsp(ocsp_request(pki["dir"], "client.pem"))
    assert status == 200 and body
    with pytest.raises(ValueError):
        ocsp.load_der_ocsp_response(body)
    assert openssl_ocsp(pki["dir"], responder.url,
                        "client.pem").returncode != 0


@pytest.mark.parametrize("mode,expected", [
    ("trylater", ocsp.OCSPResponseStatus.TRY_LATER),
    ("unauthorized", ocsp.OCSPResponseStatus.UNAUTHORIZED),
    ("internalerror", ocsp.OCSPResponseStatus.INTERNAL_ERROR)])
def test_mode_error_status(pki, responder, mode, expected):
    """Error statuses are real OCSPResponses with that status."""
    responder.control(mode=mode)
    status, body = responder.post_ocsp(ocsp_request(pki["dir"], "client.pem"))
    assert status == 200
    assert ocsp.load_der_ocsp_response(body).response_status == expected
    if mode == "trylater":
        assert body == bytes.fromhex("30030a0103")
        proc = openssl_ocsp(pki["dir"], responder.url, "client.pem")
        assert "Responder Error: trylater (3)" in proc.stdout + proc.stderr


def test_mode_wrongsigner(pki, responder):
    """wrongsigner: well formed, but openssl refuses its signature."""
    responder.control(mode="wrongsigner")
    proc = openssl_ocsp(pki["dir"], responder.url, "server-rsa-leaf.pem")
    assert proc.returncode != 0
    assert "Response Verify Failure" in proc.stderr
    _, body = responder.post_ocsp(ocsp_request(pki["dir"],
                                               "server-rsa-leaf.pem"))
    signer = ocsp.load_der_ocsp_response(body).certificates[0]
    assert signer.issuer != load_cert(pki["dir"] / "intermediate.pem").subject


def test_mode_expired(pki, responder, tmp_path):
    """expired: signed and verifiable, but nextUpdate is in the past, and
    the status still comes from the index."""
    responder.control(mode="expired")
    d = pki["dir"]
    for leaf, status in [("server-rsa-leaf.pem", ocsp.OCSPCertStatus.GOOD),
                         ("client-revoked.pem", ocsp.OCSPCertStatus.REVOKED)]:
        _, body = responder.post_ocsp(ocsp_request(d, leaf))
        resp = ocsp.load_der_ocsp_response(body)
        assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
        assert resp.certificate_status == status
        assert resp.next_update < datetime.datetime.utcnow()
        assert resp.this_update < resp.next_update
        proc = verify_response_file(d, tmp_path, body, leaf)
        assert "Response verify OK" in proc.stderr
        assert "Status times invalid" in proc.stdout + proc.stderr
    assert resp.revocation_reason == x509.ReasonFlags.key_compromise


def test_mode_unknown(pki, responder):
    """unknown: a valid, signed answer saying `unknown`, nonce echoed."""
    responder.control(mode="unknown")
    proc = openssl_ocsp(pki["dir"], responder.url, "server-ec-leaf.pem")
    assert "server-ec-leaf.pem: unknown" in proc.stdout
    assert "Response verify OK" in proc.stderr
    assert "WARNING" not in proc.stderr


def test_mode_http500(pki, responder):
    """http500: an HTTP error, no OCSP body."""
    responder.control(mode="http500")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(
            responder.url + "/", data=ocsp_request(pki["dir"], "client.pem"),
            headers={"Content-Type": "application/ocsp-request"}),
            timeout=TIMEOUT)
    assert err.value.code == 500


def test_mode_slow(pki, responder):
    """slow: a good answer, `delay` seconds late, set at run time."""
    responder.control(mode="slow", delay=0.8)
    t0 = time.monotonic()
    status, body = responder.post_ocsp(ocsp_request(pki["dir"], "client.pem"))
    assert time.monotonic() - t0 >= 0.75
    assert ocsp.load_der_ocsp_response(body).certificate_status == \
        ocsp.OCSPCertStatus.GOOD


def test_slow_request_does_not_block_others(pki, responder):
    """A request held by `slow` must not stall the next client (what
    makes `openssl ocsp -port` unusable): stats answer at once."""
    responder.control(mode="slow", delay=1.5)
    conn = http.client.HTTPConnection("127.0.0.1", responder.port,
                                      timeout=TIMEOUT)
    try:
        conn.request("POST", "/", ocsp_request(pki["dir"], "client.pem"))
        t0 = time.monotonic()
        responder.stats()
        assert time.monotonic() - t0 < 1.0
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_mode_down(pki, responder):
    """down: the connection closes with no answer at all."""
    responder.control(mode="down")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        responder.post_ocsp(ocsp_request(pki["dir"], "client.pem"))
    assert openssl_ocsp(pki["dir"], responder.url,
                        "client.pem").returncode != 0


@pytest.mark.parametrize("mode", ["http500", "down", "garbage"])
def test_crl_modes(responder, mode):
    """The CRL side misbehaves on its own switch, OCSP stays normal."""
    responder.control(crl_mode=mode)
    path = "/crl/intermediate.crl"
    if mode == "down":
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            responder.http("GET", path)
        return
    status, _, body = responder.http("GET", path)
    if mode == "http500":
        assert status == 500
    else:
        with pytest.raises(ValueError):
            x509.load_der_x509_crl(body)
    assert responder.control()["mode"] == "normal"


def test_control_rejects_bad_settings(responder):
    """Typos in a test's control request fail loudly and change nothing."""
    for body in [b'{"mode": "broken"}', b'{"mood": "garbage"}', b"[1]",
                 b"not json", b'{"delay": -1}', b'{"nmin": 0}']:
        status, _, reply = responder.http("POST", "/_control", body)
        assert status == 400, body
        assert "error" in json.loads(reply)
    assert responder.control()["mode"] == "normal"


# --- how it listens ----------------------------------------------------------

def test_bound_to_loopback_only(responder):
    """The listening socket is 127.0.0.1:PORT, nothing wider."""
    assert listeners(responder.port) == ["127.0.0.1"]


def test_control_only_from_127_0_0_1(pki, responder):
    """Any loopback client gets OCSP, but only 127.0.0.1 itself may
    change the mode; 127.0.0.1 is refused nothing."""
    req = ocsp_request(pki["dir"], "client.pem")
    status, _, body = responder.http("POST", "/", req, source="127.0.0.2")
    assert status == 200
    assert ocsp.load_der_ocsp_response(body).certificate_status == \
        ocsp.OCSPCertStatus.GOOD
    assert responder.http("POST", "/_control", b'{"mode": "down"}',
                          source="127.0.0.2")[0] == 403
    assert responder.http("GET", "/_stats", source="127.0.0.2")[0] == 403
    assert responder.control()["mode"] == "normal"


def test_port_zero_and_start_mode(request, pki, tmp_path):
    """--port 0 picks a port and prints it; --mode applies from the start
    and /_control switches it back."""
    r = Responder(request, tmp_path, "--pki", pki["dir"], "--port", "0",
                  "--mode", "trylater")
    assert r.port not in (0, pki["port"])
    assert listeners(r.port) == ["127.0.0.1"]
    req = ocsp_request(pki["dir"], "client.pem")
    assert ocsp.load_der_ocsp_response(r.post_ocsp(req)[1]).response_status \
        == ocsp.OCSPResponseStatus.TRY_LATER
    r.control(mode="normal")
    assert ocsp.load_der_ocsp_response(r.post_ocsp(req)[1]) \
        .certificate_status == ocsp.OCSPCertStatus.GOOD


def test_sign_with_issuer(request, pki, tmp_path):
    """--sign-with-issuer: the intermediate signs; clients still verify."""
    d = pki["dir"]
    r = Responder(request, tmp_path, "--pki", d, "--port", "0",
                  "--sign-with-issuer")
    proc = openssl_ocsp(d, r.url, "server-rsa-leaf.pem")
    assert "server-rsa-leaf.pem: good" in proc.stdout
    assert "Response verify OK" in proc.stderr
    _, body = r.post_ocsp(ocsp_request(d, "server-rsa-leaf.pem"))
    assert ocsp.load_der_ocsp_response(body).responder_name == \
        load_cert(d / "intermediate.pem").subject


def test_revocation_shows_at_once(request, tmp_path):
    """Revoking with the kept CA config shows at the next request: the
    index is read per request, and the config works in place."""
    d = tmp_path / "pki"
    make_pki(d, 1)
    r = Responder(request, tmp_path, "--pki", d, "--port", "0")
    assert "client.pem: good" in openssl_ocsp(d, r.url, "client.pem").stdout
    run(["openssl", "ca", "-config", d / "intermediate-ca.cnf", "-revoke",
         d / "client.pem", "-crl_reason", "superseded"])
    proc = openssl_ocsp(d, r.url, "client.pem")
    assert "client.pem: revoked" in proc.stdout
    assert "Reason: superseded" in proc.stdout


def test_sigterm_exits_cleanly_mid_request(request, pki, tmp_path):
    """SIGTERM ends it at once with status 0, even with a slow request
    in flight, and the port is free again."""
    r = Responder(request, tmp_path, "--pki", pki["dir"], "--port", "0",
                  "--mode", "slow", "--delay", "30")
    conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=TIMEOUT)
    conn.request("POST", "/", ocsp_request(pki["dir"], "client.pem"))
    time.sleep(0.2)
    t0 = time.monotonic()
    assert r.stop() == 0
    assert time.monotonic() - t0 < 3
    conn.close()
    assert listeners(r.port) == []
    assert "stopped" in r.log_path.read_text()
