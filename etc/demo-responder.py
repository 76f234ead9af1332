#!/usr/bin/python3
"""demo-responder: the OCSP responder and CRL server of the demo and the tests.

`openssl ocsp -port N` (OpenSSL 3.0) listens on every interface and stops
answering after a connection that sends no request (see DESIGN.md), so this
small HTTP front end, bound to 127.0.0.1 only, runs

    openssl ocsp -index INDEX -CA CA -rsigner SIGNER -rkey KEY
                 -reqin FILE -respout FILE -ndays N | -nmin N

once per request: the answers are real OpenSSL answers from the `openssl ca`
database that etc/demo-pki.sh writes, and a revocation recorded in index.txt
shows at the next request.  Requests come as POST bodies or as GET paths
(`/<url-escaped base64 of the DER request>`, RFC 6960 appendix A, RFC 5019).
It also serves the CRLs of a directory under /crl/, with ETag and
Last-Modified and conditional requests.

For tests it can misbehave on purpose (--mode at start, or at run time with
`POST /_control {"mode": "..."}`): see MODES.  With --port 0 it picks a
free port and prints `PORT <n>` on stdout; everything else goes to stderr,
one line per request.

Test endpoints, answered only to 127.0.0.1 itself (403 to 127.0.0.2 etc.):
  POST /_control  JSON object with any of
                  mode (MODES), crl_mode (CRL_MODES), delay (seconds, for
                  the slow modes), nmin | ndays (validity of the answers),
                  reset_stats (true); unknown keys or bad values: 400 and
                  nothing changes.  Answers the settings now in force.
  GET /_control   the settings now in force.
  GET /_stats     {"total", "ocsp_post", "ocsp_get", "crl": counts of served
                  requests; "by_method": {"GET": n, ...}; "by_path":
                  {"POST /": n, "GET /<ocsp-request>": n,
                  "GET /crl/intermediate.crl": n}; "by_mode" and
                  "by_status": OCSP answers by mode and HTTP status}.
                  Counted before the answer is sent.

Standard library and Debian's python3-cryptography only.
"""

import argparse
import base64
import datetime
import email.utils
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

BIND_ADDRESS = "127.0.0.1"
OPENSSL_TIMEOUT = 10          # seconds for one `openssl ocsp` run
MAX_REQUEST = 64 * 1024       # bytes; an OCSP request is a few hundred
CONNECTION_TIMEOUT = 30       # seconds an idle keep-alive connection lives

# OCSPResponse with no responseBytes: SEQUENCE { ENUMERATED status }.
MALFORMED_REQUEST = bytes.fromhex("3003 0a01 01")
INTERNAL_ERROR = bytes.fromhex("3003 0a01 02")
TRY_LATER = bytes.fromhex("3003 0a01 03")
UNAUTHORIZED = bytes.fromhex("3003 0a01 06")

MODES = {
    "normal": "real answers from `openssl ocsp`",
    "garbage": "random bytes that do not parse as an OCSPResponse",
    "trylater": "OCSPResponse with status tryLater (3)",
    "internalerror": "OCSPResponse with status internalError (2)",
    "unauthorized": "OCSPResponse with status unauthorized (6)",
    "http500": "HTTP 500, no OCSP response",
    "slow": "sleep `delay` seconds, then answer as normal",
    "down": "close the connection without answering",
    "wrongsigner": "signed by a key the CA never certified",
    "expired": "thisUpdate now-2h, nextUpdate now-1h, status from the index",
    "unknown": "a signed answer with certStatus unknown",
    "short": "status from the index, valid for `short_secs` seconds only",
}
CRL_MODES = ("normal", "garbage", "http500", "slow", "down")

REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "keycompromise": x509.ReasonFlags.key_compromise,
    "cacompromise": x509.ReasonFlags.ca_compromise,
    "affiliationchanged": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessationofoperation": x509.ReasonFlags.cessation_of_operation,
    "certificatehold": x509.ReasonFlags.certificate_hold,
    "removefromcrl": x509.ReasonFlags.remove_from_crl,
}


def log(msg):
    """One line on stderr, the only log this program writes."""
    sys.stderr.write("demo-responder: %s\n" % msg)
    sys.stderr.flush()


def utcnow():
    """Aware UTC now: cryptography converts it, and it compares safely."""
    return datetime.datetime.now(datetime.timezone.utc)


# --- the PKI it answers for --------------------------------------------------

def load_cert(path):
    """One PEM certificate (the first of the file)."""
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def load_key(path):
    """An unencrypted PEM private key, as the demo PKI writes them."""
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def make_wrong_signer(workdir):
    """A self-signed OCSP signer the CA never certified, for `wrongsigner`.

    Written as PEM files because `openssl ocsp` signs with it: the response
    is well formed and only its signer is wrong, which is what a client's
    verification must catch.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "staplemq demo"),
        x509.NameAttribute(NameOID.COMMON_NAME, "not the OCSP responder"),
    ])
    now = utcnow()
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.OCSP_SIGNING]), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path = os.path.join(workdir, "wrong-signer.pem")
    key_path = os.path.join(workdir, "wrong-signer.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path, key


def parse_index_time(text):
    """An index.txt date (UTCTime or GeneralizedTime) as aware UTC."""
    fmt = "%y%m%d%H%M%SZ" if len(text) == 13 else "%Y%m%d%H%M%SZ"
    return datetime.datetime.strptime(text, fmt).replace(
        tzinfo=datetime.timezone.utc)


def index_lookup(index_path, serial):
    """(status, revocation time, reason) of serial in an `openssl ca` index.

    Read on every call, like `openssl ocsp` does here, so a certificate
    revoked with `openssl ca -revoke` shows at once.  Status is "V", "R",
    "E" or None when the serial is not in the index.
    """
    with open(index_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 4 or not cols[3]:
                continue
            try:
                if int(cols[3], 16) != serial:
                    continue
            except ValueError:
                continue
            if cols[0] != "R":
                return cols[0], None, None
            when, _, reason = cols[2].partition(",")
            return ("R", parse_index_time(when),
                    REASONS.get(reason.lower()))
    return None, None, None


# --- answering OCSP requests -------------------------------------------------

class Responder:
    """What answers OCSP requests: files, keys, the current mode, counters.

    Handler threads share one Responder; `lock` guards the mutable parts
    (mode, delay, validity, stats).
    """

    def __init__(self, args, workdir):
        self.index = args.index
        self.ca_path = args.ca
        self.rsigner = args.rsigner
        self.rkey = args.rkey
        self.crl_dir = args.crl_dir
        self.workdir = workdir
        self.openssl = args.openssl
        self.ca_cert = load_cert(args.ca)
        self.signer_cert = load_cert(args.rsigner)
        self.signer_key = load_key(args.rkey)
        (self.wrong_cert_path, self.wrong_key_path,
         self.scratch_key) = make_wrong_signer(workdir)
        self.lock = threading.Lock()
        self.mode = args.mode
        self.crl_mode = args.crl_mode
        self.delay = args.delay
        self.nmin = args.nmin
        self.short_secs = 10
        self.ndays = args.ndays if args.nmin is None else None
        self.stats = new_stats()

    def state(self):
        """The run-time settings, as /_control reports them."""
        with self.lock:
            return {"mode": self.mode, "crl_mode": self.crl_mode,
                    "delay": self.delay, "nmin": self.nmin,
                    "ndays": self.ndays, "signer": self.rsigner}

    def validity(self):
        """The validity of a response in seconds (its nextUpdate - now)."""
        with self.lock:
            if self.nmin is not None:
                return self.nmin * 60
            return self.ndays * 86400

    def run_openssl(self, req_der, rsigner, rkey):
        """The DER answer of `openssl ocsp` to req_der, signed by rsigner.

        A request openssl cannot read gets malformedRequest; any other
        failure internalError, with openssl's words in the log.
        """
        with self.lock:
            period = (["-nmin", str(self.nmin)] if self.nmin is not None
                      else ["-ndays", str(self.ndays)])
        fd, req_path = tempfile.mkstemp(dir=self.workdir, suffix=".req")
        resp_path = req_path[:-4] + ".resp"
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(req_der)
            cmd = [self.openssl, "ocsp", "-index", self.index,
                   "-CA", self.ca_path, "-rsigner", rsigner, "-rkey", rkey,
                   "-rmd", "sha256", "-reqin", req_path,
                   "-respout", resp_path] + period
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                                  capture_output=True,
                                  timeout=OPENSSL_TIMEOUT)
            if proc.returncode == 0 and os.path.exists(resp_path):
                with open(resp_path, "rb") as f:
                    return f.read()
            err = proc.stderr.decode(errors="replace").strip()
            log("openssl ocsp failed (%d): %s" % (
                proc.returncode, err.splitlines()[0] if err else "?"))
            if "Error reading OCSP request" in err:
                return MALFORMED_REQUEST
            return INTERNAL_ERROR
        except subprocess.TimeoutExpired:
            log("openssl ocsp timed out after %ds" % OPENSSL_TIMEOUT)
            return INTERNAL_ERROR
        finally:
            for p in (req_path, resp_path):
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass

    def placeholder_cert(self, serial):
        """A certificate with the CA as issuer and the requested serial.

        cryptography 38 builds a CertID only from a certificate and its
        issuer, and the request carries just hashes and a serial; the
        CertID uses nothing else of the certificate, so a stand-in signed
        by a scratch key gives the requested CertID.
        """
        now = utcnow()
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(
                    NameOID.COMMON_NAME, "CertID placeholder")]))
                .issuer_name(self.ca_cert.subject)
                .public_key(self.scratch_key.public_key())
                .serial_number(serial)
                .not_valid_before(now)
                .not_valid_after(now + datetime.timedelta(days=1))
                .sign(self.scratch_key, hashes.SHA256()))

    def build_response(self, req_der, forced_status, this_update,
                       next_update):
        """A signed response built with cryptography, for what openssl
        will not make: an already expired one, or status unknown.

        forced_status None means "as the index says".  Requests naming
        another issuer get unauthorized, as RFC 6960 2.3 suggests.
        """
        try:
            req = ocsp.load_der_ocsp_request(req_der)
        except (ValueError, NotImplementedError) as e:
            log("cannot build a response to this request: %s" % e)
            return MALFORMED_REQUEST
        try:
            stand_in = self.placeholder_cert(req.serial_number)
        except ValueError:
            return UNAUTHORIZED
        own = ocsp.OCSPRequestBuilder().add_certificate(
            stand_in, self.ca_cert, req.hash_algorithm).build()
        if (own.issuer_name_hash != req.issuer_name_hash
                or own.issuer_key_hash != req.issuer_key_hash):
            return UNAUTHORIZED
        status, rev_time, reason = forced_status, None, None
        if status is None:
            status, rev_time, reason = self.status_from_index(
                req.serial_number)
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=stand_in, issuer=self.ca_cert,
            algorithm=req.hash_algorithm, cert_status=status,
            this_update=this_update, next_update=next_update,
            revocation_time=rev_time, revocation_reason=reason)
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.NAME,
                                       self.signer_cert)
        if self.signer_cert != self.ca_cert:
            builder = builder.certificates([self.signer_cert])
        try:
            nonce = req.extensions.get_extension_for_class(x509.OCSPNonce)
            builder = builder.add_extension(nonce.value, critical=False)
        except x509.ExtensionNotFound:
            pass
        resp = builder.sign(self.signer_key, hashes.SHA256())
        return resp.public_bytes(serialization.Encoding.DER)

    def status_from_index(self, serial):
        """(OCSPCertStatus, revocation time, reason) from the index file."""
        status, rev_time, reason = index_lookup(self.index, serial)
        if status == "V":
            return ocsp.OCSPCertStatus.GOOD, None, None
        if status == "R":
            return ocsp.OCSPCertStatus.REVOKED, rev_time, reason
        return ocsp.OCSPCertStatus.UNKNOWN, None, None

    def answer(self, req_der, mode):
        """The response body for mode, or None to send an HTTP error."""
        if mode in ("normal", "slow"):
            return self.run_openssl(req_der, self.rsigner, self.rkey)
        if mode == "wrongsigner":
            return self.run_openssl(req_der, self.wrong_cert_path,
                                    self.wrong_key_path)
        if mode == "garbage":
            return garbage()
        if mode == "trylater":
            return TRY_LATER
        if mode == "internalerror":
            return INTERNAL_ERROR
        if mode == "unauthorized":
            return UNAUTHORIZED
        now = utcnow()
        if mode == "expired":
            return self.build_response(
                req_der, None, now - datetime.timedelta(hours=2),
                now - datetime.timedelta(hours=1))
        if mode == "short":
            return self.build_response(
                req_der, None, now - datetime.timedelta(seconds=5),
                now + datetime.timedelta(seconds=self.short_secs))
        if mode == "unknown":
            return self.build_response(
                req_der, ocsp.OCSPCertStatus.UNKNOWN, now,
                now + datetime.timedelta(seconds=self.validity()))
        return None


def garbage():
    """Random bytes that can never parse as DER: the first is not 0x30."""
    data = bytearray(os.urandom(64 + os.urandom(1)[0]))
    if data[0] == 0x30:
        data[0] = 0x31
    return bytes(data)


def new_stats():
    """Empty counters, the shape /_stats reports."""
    return {"total": 0, "ocsp_get": 0, "ocsp_post": 0, "crl": 0,
            "by_method": {}, "by_path": {}, "by_mode": {}, "by_status": {}}


def bump(table, key):
    """table[key] += 1, starting from 0."""
    table[key] = table.get(key, 0) + 1


# --- decoding requests -------------------------------------------------------

def der_length_ok(data):
    """True if data is exactly one DER SEQUENCE (tag and length agree)."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    n = data[1]
    if n < 0x80:
        return 2 + n == len(data)
    count = n & 0x7F
    if count == 0 or count > 4 or len(data) < 2 + count:
        return False
    length = int.from_bytes(data[2:2 + count], "big")
    return 2 + count + length == len(data)


def b64_decode(text):
    """Standard or URL-safe base64, padding optional; None if neither."""
    text = re.sub(r"\s", "", text)
    text += "=" * (-len(text) % 4)
    for alt in (None, b"-_"):
        try:
            return base64.b64decode(text, altchars=alt, validate=True)
        except ValueError:
            continue
    return None


def decode_get_request(path):
    """The DER request in a GET path, or None.

    The path is the responder URL's own path (maybe empty, maybe
    `/ocsp`) then `/` and the base64 request, which RFC 5019 wants
    URL-escaped but which clients also send raw, with `/` in it.  So try
    every suffix after a `/`, longest first, and keep the first that
    decodes to exactly one DER SEQUENCE.
    """
    path = path.split("?", 1)[0]
    starts = [i + 1 for i, c in enumerate(path) if c == "/"]
    for start in starts:
        der = b64_decode(urllib.parse.unquote(path[start:]))
        if der is not None and der_length_ok(der):
            return der
    return None


# --- HTTP --------------------------------------------------------------------

CRL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CRL_TYPES = {".pem": "application/x-pem-file", ".crl": "application/pkix-crl",
             ".der": "application/pkix-crl"}


class Handler(http.server.BaseHTTPRequestHandler):
    """One HTTP connection: OCSP on any path, CRLs under /crl/, and the
    test endpoints /_control and /_stats."""

    protocol_version = "HTTP/1.1"
    timeout = CONNECTION_TIMEOUT

    def version_string(self):
        """The Server header, without Python's version."""
        return "staplemq-demo-responder"

    # -- plumbing --

    def log_request(self, code="-", size="-"):
        """Keep the status for our own one-line log instead."""
        self._status = code

    def log_message(self, fmt, *args):
        """http.server's own complaints (bad request lines, timeouts)."""
        log("%s %s" % (self.client_address[0], fmt % args))

    def send_body(self, code, body, ctype, extra=None):
        """A complete response with Content-Length, so keep-alive works."""
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, code, obj):
        """A JSON answer of the test endpoints."""
        body = (json.dumps(obj, sort_keys=True) + "\n").encode()
        self.send_body(code, body, "application/json")

    def drop(self):
        """Close without a word, as a dead responder behind a proxy does."""
        self.close_connection = True
        self._status = "dropped"

    def read_body(self):
        """The request body, or None (and an error sent) if unusable."""
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = -1
        if n < 0 or n > MAX_REQUEST:
            self.send_body(413, b"request too large\n", "text/plain")
            self.close_connection = True
            return None
        return self.rfile.read(n)

    def dispatch(self):
        """Route one request and log it in one line, whatever happens."""
        self._status = "-"
        self._note = ""
        t0 = time.monotonic()
        try:
            path = self.path.split("?", 1)[0]
            if path in ("/_control", "/_stats"):
                self.handle_test_endpoint(path)
            elif path.startswith("/crl/") and self.command in ("GET", "HEAD"):
                self.handle_crl(path)
            elif self.command == "POST":
                self.handle_ocsp_post()
            elif self.command == "GET":
                self.handle_ocsp_get()
            else:
                self.send_body(405, b"method not allowed\n", "text/plain")
        finally:
            log('%s "%s %s" %s%s %.3fs' % (
                self.client_address[0], self.command,
                shorten(self.path), self._status, self._note,
                time.monotonic() - t0))

    do_GET = do_POST = do_HEAD = dispatch

    def count(self, kind, path_key):
        """Count one served (non-test) request."""
        rs = self.server.responder
        with rs.lock:
            st = rs.stats
            st["total"] += 1
            if kind:
                st[kind] += 1
            bump(st["by_method"], self.command)
            bump(st["by_path"], "%s %s" % (self.command, path_key))

    def count_result(self, mode, status):
        """Count the mode an answer goes out in and its HTTP status.

        Called before the answer is sent: a client that reads /_stats
        right after its answer must find it counted.
        """
        rs = self.server.responder
        with rs.lock:
            bump(rs.stats["by_mode"], mode)
            bump(rs.stats["by_status"], str(status))

    # -- OCSP --

    def handle_ocsp_post(self):
        """An OCSP request in a POST body (RFC 6960 A.1)."""
        self.count("ocsp_post", self.path.split("?", 1)[0])
        body = self.read_body()
        if body is None:
            return
        self.answer_ocsp(body)

    def handle_ocsp_get(self):
        """An OCSP request in the path of a GET (RFC 6960 A.1, RFC 5019)."""
        der = decode_get_request(self.path)
        self.count("ocsp_get", "/<ocsp-request>" if der else self.path)
        self.answer_ocsp(der)

    def answer_ocsp(self, req_der):
        """Answer as the current mode says."""
        rs = self.server.responder
        with rs.lock:
            mode, delay = rs.mode, rs.delay
        self._note = " mode=%s" % mode
        if mode == "down":
            self.count_result(mode, "dropped")
            return self.drop()
        if mode == "http500":
            self.count_result(mode, 500)
            return self.send_body(500, b"responder failure (test mode)\n",
                                  "text/plain")
        if mode == "slow":
            time.sleep(delay)
        body = (MALFORMED_REQUEST if req_der is None
                else rs.answer(req_der, mode))
        self.count_result(mode, 200)
        return self.send_body(200, body, "application/ocsp-response")

    # -- CRLs --

    def handle_crl(self, path):
        """A file of --crl-dir, with validators and conditional GET."""
        rs = self.server.responder
        self.count("crl", path)
        with rs.lock:
            mode, delay = rs.crl_mode, rs.delay
        if mode != "normal":
            self._note = " crl_mode=%s" % mode
        if mode == "down":
            return self.drop()
        if mode == "http500":
            return self.send_body(500, b"CRL server failure (test mode)\n",
                                  "text/plain")
        if mode == "slow":
            time.sleep(delay)
        if mode == "garbage":
            return self.send_body(200, garbage(), "application/pkix-crl")
        found = self.crl_file(urllib.parse.unquote(path[len("/crl/"):]))
        if found is None:
            return self.send_body(404, b"no such CRL\n", "text/plain")
        name, data, mtime = found
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:32]
        validators = {"ETag": etag,
                      "Last-Modified": email.utils.formatdate(
                          mtime, usegmt=True)}
        if self.not_modified(etag, mtime):
            self.send_response(304)
            for k, v in validators.items():
                self.send_header(k, v)
            self.end_headers()
            return None
        ext = os.path.splitext(name)[1]
        return self.send_body(200, data,
                              CRL_TYPES.get(ext, "application/octet-stream"),
                              validators)

    def crl_file(self, name):
        """(name, bytes, mtime) of a servable file, or None.

        Only plain names in the directory itself, and never anything that
        holds a private key, in case --crl-dir points at a whole PKI.
        """
        rs = self.server.responder
        if not rs.crl_dir or not CRL_NAME.match(name) or name.endswith(".key"):
            return None
        full = os.path.join(rs.crl_dir, name)
        try:
            st = os.stat(full)
            if not os.path.isfile(full):
                return None
            with open(full, "rb") as f:
                data = f.read()
        except OSError:
            return None
        if b"PRIVATE KEY" in data:
            return None
        return name, data, st.st_mtime

    def not_modified(self, etag, mtime):
        """RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since."""
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            tags = [t.strip() for t in inm.split(",")]
            tags = [t[2:] if t.startswith("W/") else t for t in tags]
            return "*" in tags or etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims is None:
            return False
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=datetime.timezone.utc)
        return int(mtime) <= since.timestamp()

    # -- test endpoints --

    def handle_test_endpoint(self, path):
        """/_stats (GET) and /_control (GET: show, POST: change), only for
        127.0.0.1 itself: the rest of 127/8 is loopback too, but not us."""
        if self.client_address[0] != "127.0.0.1":
            if self.read_body() is not None:
                self.send_json(403, {"error": "only from 127.0.0.1"})
            return None
        rs = self.server.responder
        if path == "/_stats" and self.command == "GET":
            with rs.lock:
                snapshot = json.loads(json.dumps(rs.stats))
            return self.send_json(200, snapshot)
        if path == "/_control" and self.command == "GET":
            return self.send_json(200, rs.state())
        if path == "/_control" and self.command == "POST":
            body = self.read_body()
            if body is None:
                return None
            error = apply_control(rs, body)
            if error:
                return self.send_json(400, {"error": error})
            log("control: %s" % json.dumps(rs.state(), sort_keys=True))
            return self.send_json(200, rs.state())
        return self.send_json(405, {"error": "method not allowed"})


def apply_control(rs, body):
    """Apply a /_control JSON body to rs; an error string or None.

    Checked whole before anything changes, so a bad request leaves the
    settings as they were.
    """
    try:
        req = json.loads(body or b"{}")
    except ValueError:
        return "body is not JSON"
    if not isinstance(req, dict):
        return "body must be a JSON object"
    known = {"mode", "crl_mode", "delay", "nmin", "ndays", "reset_stats",
             "short_secs"}
    unknown = sorted(set(req) - known)
    if unknown:
        return "unknown keys: %s (known: %s)" % (
            ", ".join(unknown), ", ".join(sorted(known)))
    if "mode" in req and req["mode"] not in MODES:
        return "mode must be one of %s" % ", ".join(MODES)
    if "crl_mode" in req and req["crl_mode"] not in CRL_MODES:
        return "crl_mode must be one of %s" % ", ".join(CRL_MODES)
    for k in ("delay", "nmin", "ndays", "short_secs"):
        v = req.get(k)
        if k in req and (isinstance(v, bool) or not isinstance(v, (int, float))
                         or v < 0 or (k != "delay" and v != int(v)) or
                         (k != "delay" and v < 1)):
            return "%s must be a %s number" % (
                k, "non-negative" if k == "delay" else "positive whole")
    if "nmin" in req and "ndays" in req:
        return "give nmin or ndays, not both"
    with rs.lock:
        rs.mode = req.get("mode", rs.mode)
        rs.crl_mode = req.get("crl_mode", rs.crl_mode)
        rs.delay = req.get("delay", rs.delay)
        rs.short_secs = int(req.get("short_secs", rs.short_secs))
        if "nmin" in req:
            rs.nmin, rs.ndays = int(req["nmin"]), None
        if "ndays" in req:
            rs.nmin, rs.ndays = None, int(req["ndays"])
        if req.get("reset_stats"):
            rs.stats = new_stats()
    return None


def shorten(path):
    """A path short enough for a log line (GET requests are long)."""
    return path if len(path) <= 64 else path[:48] + "...(%d)" % len(path)


class Server(http.server.ThreadingHTTPServer):
    """Threads so that a slow or idle client never holds up the others
    (the failure of `openssl ocsp -port`); shutdown does not wait for
    them, so a `slow` request cannot delay SIGTERM."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, port, responder):
        self.responder = responder
        super().__init__((BIND_ADDRESS, port), Handler)


# --- start-up ----------------------------------------------------------------

def parse_args(argv):
    """Options; --pki fills in what was not given from a demo-pki.sh dir."""
    p = argparse.ArgumentParser(
        description="OCSP responder and CRL server on 127.0.0.1 for the "
                    "staplemq demo and tests.",
        epilog="modes: " + "; ".join("%s: %s" % kv for kv in MODES.items()))
    p.add_argument("--port", type=int, default=8888,
                   help="TCP port on 127.0.0.1; 0 picks a free one "
                        "(printed as 'PORT <n>' on stdout) (8888)")
    p.add_argument("--pki", metavar="DIR",
                   help="a demo-pki.sh OUTDIR: sets --index, --ca, "
                        "--rsigner, --rkey and --crl-dir")
    p.add_argument("--index", help="openssl ca index.txt")
    p.add_argument("--ca", help="the issuer of the certificates asked about")
    p.add_argument("--rsigner", help="responder certificate")
    p.add_argument("--rkey", help="responder private key")
    p.add_argument("--sign-with-issuer", action="store_true",
                   help="sign with the issuer (--ca) itself instead of a "
                        "delegated responder")
    validity = p.add_mutually_exclusive_group()
    validity.add_argument("--ndays", type=int, default=1,
                          help="nextUpdate this many days ahead (1)")
    validity.add_argument("--nmin", type=int,
                          help="nextUpdate this many minutes ahead")
    p.add_argument("--crl-dir", help="directory served under /crl/")
    p.add_argument("--mode", choices=list(MODES), default="normal",
                   help="how to answer OCSP requests (normal)")
    p.add_argument("--crl-mode", choices=CRL_MODES, default="normal",
                   help="how to answer CRL requests (normal)")
    p.add_argument("--delay", type=float, default=5.0,
                   help="seconds the slow modes wait (5)")
    p.add_argument("--openssl", default="openssl", help="openssl binary")
    p.add_argument("--tls-cert", metavar="PEM",
                   help="serve https with this certificate chain")
    p.add_argument("--tls-key", metavar="PEM", help="its private key")
    args = p.parse_args(argv)
    fill_from_pki(p, args)
    return args


def fill_from_pki(p, args):
    """Complete args from --pki and check that every file is there."""
    d = args.pki
    if d:
        signer = "intermediate" if args.sign_with_issuer else "ocsp-signer"
        args.index = args.index or os.path.join(d, "index.txt")
        args.ca = args.ca or os.path.join(d, "intermediate.pem")
        args.rsigner = args.rsigner or os.path.join(d, signer + ".pem")
        args.rkey = args.rkey or os.path.join(d, signer + ".key")
        args.crl_dir = args.crl_dir or os.path.join(d, "crl")
    if args.sign_with_issuer and args.ca:
        args.rsigner = args.ca
    for name in ("index", "ca", "rsigner", "rkey"):
        path = getattr(args, name)
        if not path:
            p.error("--%s is needed (or --pki DIR)" % name)
        if not os.path.isfile(path):
            p.error("--%s: no such file: %s" % (name, path))
    if args.crl_dir and not os.path.isdir(args.crl_dir):
        p.error("--crl-dir: no such directory: %s" % args.crl_dir)
    if not 0 <= args.port <= 65535:
        p.error("--port must be 0..65535")
    if (args.nmin is not None and args.nmin < 1) or args.ndays < 1:
        p.error("--nmin and --ndays take positive values")
    if args.delay < 0:
        p.error("--delay must not be negative")


def stop_on_signal(signum, frame):
    """SIGTERM and SIGINT end serve_forever with a clean exit."""
    raise SystemExit(0)


def main(argv):
    """Set up, print the port, serve until a signal."""
    args = parse_args(argv)
    if not shutil.which(args.openssl):
        log("no %s in PATH" % args.openssl)
        return 1
    workdir = tempfile.mkdtemp(prefix="demo-responder.")
    try:
        try:
            server = Server(args.port, Responder(args, workdir))
        except (OSError, ValueError) as e:
            log("cannot start: %s" % e)
            return 1
        if args.tls_cert:
            # An https responder, for fetchers that must verify its TLS.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
            server.socket = ctx.wrap_socket(server.socket, server_side=True)
        host, port = server.server_address[:2]
        signal.signal(signal.SIGTERM, stop_on_signal)
        signal.signal(signal.SIGINT, stop_on_signal)
        print("PORT %d" % port, flush=True)
        log("listening on %s:%d, mode %s, signer %s, index %s, crl-dir %s" % (
            host, port, args.mode, args.rsigner, args.index, args.crl_dir))
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            log("stopped")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
