"""The demo OCSP/CRL responder (etc/demo-responder.py) as a test fixture
object: started on 127.0.0.1:port for one PKI, controlled over /_control,
stopped by pid."""
import json
import signal
import subprocess
import urllib.request

from conftest import ROOT, timeout, wait_port


class Responder:
    """The demo responder for one PKI, on 127.0.0.1:port."""

    def __init__(self, pki, port, logpath):
        self.pki, self.port = pki, port
        self.log = open(logpath, "ab")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(ROOT / "etc/demo-responder.py"),
             "--pki", str(pki), "--port", str(port)],
            stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        assert wait_port(port, 10), "responder did not start"

    def control(self, **kw):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/_control",
            data=json.dumps(kw).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    def stats(self):
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/_stats", timeout=5) as r:
            return json.loads(r.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout(10))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
