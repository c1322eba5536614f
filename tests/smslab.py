"""The lab SMS gateway: a small local HTTP server playing the mobile operator.

It speaks the generic HTTP provider's wire format (``docs/sms.md``,
:mod:`controlplane.desk.sms.providers`):

* **outbound**: the platform posts an SMS to ``POST /messages`` with ``Authorization:
  Bearer <api key>``; the lab checks the key (401 otherwise), records the SMS and answers
  ``{"id": "lab-<n>"}``. Tests read what was sent from :attr:`SmsLab.sent` (or over HTTP,
  ``GET /messages``) and wait for it with :meth:`SmsLab.wait_sent` (bounded).
  :attr:`SmsLab.fail_next` makes the next posts fail with 503 (a provider outage).
* **inbound**: :meth:`SmsLab.inbound` builds a customer's SMS as the gateway would post
  it (body and signed headers); :meth:`SmsLab.post_inbound` posts it to a running panel
  over HTTP, and a unit test hands the same body and headers to Flask's test client.
  :meth:`SmsLab.report` builds a delivery report.

Stdlib only (``http.server`` in a thread), on a free loopback port below 32768; start it
per test (``with SmsLab(key) as lab:``).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from controlplane.webhooks import events as signing
from tests.helpers import free_port


@dataclass(frozen=True)
class Signed:
    body: bytes
    headers: dict[str, str]


class SmsLab:
    def __init__(self, api_key: str, port: int | None = None) -> None:
        self.api_key = api_key
        self.port = port or free_port()
        self.sent: list[dict[str, Any]] = []
        self.refused = 0  # posts refused for a wrong key
        self.fail_next = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/messages"

    # --- the operator's API ---------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        lab = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
                pass

            def _answer(self, status: int, doc: Any) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path != "/messages":
                    return self._answer(404, {"error": "not found"})
                with lab._lock:
                    return self._answer(200, {"messages": list(lab.sent)})

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/messages":
                    return self._answer(404, {"error": "not found"})
                if self.headers.get("Authorization") != f"Bearer {lab.api_key}":
                    with lab._lock:
                        lab.refused += 1
                    return self._answer(401, {"error": "bad API key"})
                with lab._lock:
                    if lab.fail_next > 0:
                        lab.fail_next -= 1
                        return self._answer(503, {"error": "try again later"})
                try:
                    doc = json.loads(raw)
                    record = {k: doc[k] for k in ("to", "from", "text")}
                except (ValueError, KeyError, TypeError):
                    return self._answer(400, {"error": "to, from and text are required"})
                record["reference"] = doc.get("reference", "")
                with lab._lock:
                    record["id"] = f"lab-{next(lab._ids)}"
                    lab.sent.append(record)
                return self._answer(200, {"id": record["id"]})

        return Handler

    def start(self) -> SmsLab:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name=f"smslab-{self.port}").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SmsLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_sent(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The first ``n`` SMS sent to the lab, once there are that many (bounded wait)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self.sent) >= n:
                    return list(self.sent[:n])
            if time.monotonic() > deadline:
                raise AssertionError(f"the lab got {len(self.sent)} SMS, not {n}, "
                                     f"within {timeout}s")
            time.sleep(0.05)

    # --- what the operator posts to the platform ------------------------------------------

    @staticmethod
    def _signed(secret: str, doc: dict[str, Any], timestamp: int | None) -> Signed:
        body = json.dumps(doc).encode()
        ts = int(time.time()) if timestamp is None else timestamp
        return Signed(body, {"Content-Type": "application/json",
                             signing.TIMESTAMP_HEADER: str(ts),
                             signing.SIGNATURE_HEADER: signing.sign(secret, ts, body)})

    def inbound(self, secret: str, sender: str, recipient: str, text: str, *,
                sms_id: str | None = None, timestamp: int | None = None) -> Signed:
        """A customer's SMS as the gateway posts it, signed with ``secret``."""
        doc = {"type": "sms", "id": sms_id or f"in-{next(self._ids)}", "from": sender,
               "to": recipient, "text": text, "received_at": datetime.now(UTC).isoformat()}
        return self._signed(secret, doc, timestamp)

    def report(self, secret: str, provider_id: str, status: str) -> Signed:
        """A delivery report for an SMS the lab was given."""
        doc = {"type": "status", "id": provider_id, "status": status,
               "at": datetime.now(UTC).isoformat()}
        return self._signed(secret, doc, None)

    @staticmethod
    def post_inbound(url: str, signed: Signed, timeout: float = 10.0) -> tuple[int, Any]:
        """Post ``signed`` to a running panel's ``/sms/inbound/<id>`` URL."""
        req = urllib.request.Request(url, data=signed.body, headers=signed.headers,
                                     method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")
