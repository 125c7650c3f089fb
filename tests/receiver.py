"""A real HTTP server standing in for another service's webhook endpoint: it keeps every request
it gets, answers as told (200, 503), and can be stopped and started again on the same port."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    answered: int

    @property
    def data(self) -> dict[str, Any]:
        found = json.loads(self.body)
        assert isinstance(found, dict)
        return found

    @property
    def event_id(self) -> str:
        return self.headers["x-helpdesk-event-id"]

    def signed_by(self, secret: str) -> bool:
        """Verified as a receiver would: HMAC-SHA256 of ``<timestamp>.<body>``."""
        signed = self.headers["x-helpdesk-timestamp"].encode() + b"." + self.body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers["x-helpdesk-signature"])


class Receiver:
    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.status = 200  # what it answers now
        self.port = 0  # chosen at the first start, kept at the next
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:  # kept before the answer: the next request comes after it
                    status = receiver.status
                    receiver.hits.append(Hit(self.path, headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down: connections to the port are refused until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def accepted(self, path: str | None = None) -> list[Hit]:
        """The requests answered 2xx (to ``path``), in the order they came."""
        with self._lock:
            return [h for h in self.hits if 200 <= h.answered < 300 and path in (None, h.path)]
