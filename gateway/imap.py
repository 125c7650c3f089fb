"""The IMAP poller: a second door into the same intake as the SMTP edge.

Each mail in the folder is committed through ``Intake.submit`` and only then flagged deleted and
expunged; a crash in between makes the next poll submit it again, which the intake's duplicate key
turns into a no-op. ``imaps://user:pass@host[:port]/FOLDER`` (or ``imap://`` on a trusted host).

A mail over the size limit (``HELPDESK_MAX_MESSAGE_BYTES``, where SMTP answers 552) stays in the
folder, flagged ``$HelpdeskTooLarge`` so that later polls pass over it; only its header is
stored, and the pipeline quarantines that record with the reason (``helpdesk mail list``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient

from gateway.intake import Arrival, Intake
from helpdesk.domain.mail.headers import header_fields
from helpdesk.domain.net import is_loopback
from helpdesk.domain.vocabulary import TOO_LARGE_HEADER, TOO_LARGE_SOURCE

log = logging.getLogger("helpdesk.imap")
FETCH_BATCH = 50
KEPT = b"$HelpdeskTooLarge"
SIZE, BODY, HEADER = b"RFC822.SIZE", b"BODY[]", b"BODY[HEADER]"


@dataclass(frozen=True)
class ImapTarget:
    host: str
    port: int
    ssl: bool
    username: str
    password: str
    folder: str

    @classmethod
    def from_url(cls, url: str) -> ImapTarget:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError("HELPDESK_IMAP_URL must look like imaps://user:pass@host/INBOX")
        ssl = parts.scheme == "imaps"
        if not ssl and not is_loopback(parts.hostname):
            raise ValueError(
                "HELPDESK_IMAP_URL: imap:// would send the password in clear; use imaps:// "
                "(imap:// is for a server on this machine only)"
            )
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if ssl else 143),
            ssl=ssl,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
        )


def envelope_of(raw: bytes) -> tuple[str, tuple[str, ...]]:
    """The envelope a delivered mail still shows: Return-Path and Delivered-To/X-Original-To."""
    fields = header_fields(raw, "return-path", "from", "delivered-to", "x-original-to")
    sender = parseaddr((fields.get("return-path") or fields.get("from") or [""])[0])[1]
    rcpts = [parseaddr(v)[1] for k in ("delivered-to", "x-original-to") for v in fields.get(k, [])]
    return sender, tuple(dict.fromkeys(r.lower() for r in rcpts if r))


class ImapPoller:
    def __init__(
        self,
        url: str,
        intake: Intake,
        interval_seconds: float,
        max_message_bytes: int = 25 * 1024 * 1024,
    ) -> None:
        self._target = ImapTarget.from_url(url)
        self._max_bytes = max_message_bytes
        self._intake = intake
        self._interval = interval_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="imap-poller", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                taken = self.poll_once()
                if taken:
                    log.info("took %d mail(s) from %s", taken, self._target.folder)
            except Exception as exc:  # the server is away: nothing was deleted, try again
                log.warning("IMAP poll failed: %s", exc)
            self._stopping.wait(self._interval)

    def poll_once(self) -> int:
        """Move every mail in the folder into the intake; returns how many were committed."""
        target = self._target
        with IMAPClient(target.host, port=target.port, ssl=target.ssl, timeout=30) as client:
            client.login(target.username, target.password)
            client.select_folder(target.folder)
            uids = sorted(client.search(["NOT", "DELETED", "NOT", "KEYWORD", KEPT.decode()]))
            taken = 0
            for start in range(0, len(uids), FETCH_BATCH):
                if self._stopping.is_set():  # the rest waits for the next start
                    break
                chunk = uids[start : start + FETCH_BATCH]
                sizes = {u: int(f.get(SIZE, 0)) for u, f in client.fetch(chunk, [SIZE]).items()}
                large = {u for u, size in sizes.items() if size > self._max_bytes}
                small = [u for u in chunk if u in sizes and u not in large]
                fetched = client.fetch(small, [b"BODY.PEEK[]"]) if small else {}
                if large:
                    fetched |= client.fetch(sorted(large), [b"BODY.PEEK[HEADER]"])
                for uid in chunk:  # in arrival order; unsolicited FETCH responses are ignored
                    raw = fetched.get(uid, {}).get(HEADER if uid in large else BODY)
                    if not isinstance(raw, bytes):  # expunged by another client meanwhile
                        continue
                    source, done = "imap", b"\\Deleted"
                    if uid in large:  # only its header, with our note; the mail stays
                        raw = self._note_too_large(sizes[uid]) + raw
                        source, done = TOO_LARGE_SOURCE, KEPT
                    sender, rcpts = envelope_of(raw)
                    arrival = Arrival(raw, sender, rcpts, source=source, peer=target.host)
                    self._intake.submit(arrival).result(timeout=60)
                    client.add_flags([uid], [done])
                    taken += 1
                client.expunge()
            return taken

    def _note_too_large(self, size: int) -> bytes:
        note = (
            f"{size} bytes, over the limit of {self._max_bytes}; the mail is kept in the "
            f"IMAP folder {self._target.folder}, flagged {KEPT.decode()}"
        )
        return f"{TOO_LARGE_HEADER}: {note}\r\n".encode()
