"""OAuth2 for the IMAP tests: a token introspection endpoint (RFC 7662) on 127.0.0.1, which
Dovecot's oauth2 passdb asks about every token, and a token command that prints tokens in turn.

The endpoint holds which tokens are good for which user; the test revokes one to play an expired
token. The command stands for ``az account get-access-token`` or ``gcloud auth print-access-token``.
"""

from __future__ import annotations

import json
import shlex
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

# Prints line N of the tokens file on its Nth run (the last one from then on), counting runs.
_COMMAND = """\
import sys
from pathlib import Path
tokens, count = Path(sys.argv[1]), Path(sys.argv[2])
runs = int(count.read_text()) if count.exists() else 0
count.write_text(str(runs + 1))
lines = tokens.read_text().split()
print(lines[min(runs, len(lines) - 1)] if lines else "")
"""


class Introspection:
    """``POST /introspect`` with ``token=…``: ``{"active": true, "username": …}`` for a good one."""

    def __init__(self) -> None:
        self.good: dict[str, str] = {}  # token → the user it is for
        self.asked: list[str] = []  # every token asked about, in turn
        introspection = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                token = (form.get("token") or [""])[0]
                introspection.asked.append(token)
                user = introspection.good.get(token)
                found = {"active": True, "username": user} if user else {"active": False}
                body = json.dumps(found).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the test reads ``asked``

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/introspect"

    def start(self) -> Introspection:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class TokenCommand:
    """A ``HELPDESK_IMAP_TOKEN_COMMAND`` printing ``tokens`` one per run, then the last again."""

    def __init__(self, directory: Path, *tokens: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._script, self._tokens = directory / "token.py", directory / "tokens"
        self._count = directory / "runs"
        self._script.write_text(_COMMAND)
        self._tokens.write_text("\n".join(tokens) + "\n")

    @property
    def command(self) -> str:
        parts = (sys.executable, self._script, self._tokens, self._count)
        return shlex.join(str(part) for part in parts)

    @property
    def runs(self) -> int:
        return int(self._count.read_text()) if self._count.exists() else 0
