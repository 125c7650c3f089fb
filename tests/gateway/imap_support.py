"""What the IMAP test files share: a real Dovecot, the mail stored, the outbox, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from helpdesk.app.runtime import App
from storage import spool
from storage.models import InboundMail, Outbox
from tests.dovecot import Dovecot, DovecotUnavailable
from tests.fixtures import unavailable
from tests.helpers import mail


def running_dovecot(root: Path, oauth_url: str = "", capabilities: str = "") -> Iterator[Dovecot]:
    """The body of each file's ``dovecot`` fixture: started, yielded, stopped by its PID."""
    server = Dovecot(root, oauth_url=oauth_url, capabilities=capabilities)
    try:
        try:
            server.start()
        except DovecotUnavailable as exc:
            unavailable("Dovecot", exc)
        yield server
    finally:
        server.stop()


def stored(app: App) -> list[InboundMail]:
    spool.move(app.engine)
    with app.sessions() as session:
        return list(session.scalars(select(InboundMail).order_by(InboundMail.id)))


def outbox(app: App) -> list[tuple[str, str]]:
    """Every mail planned to go out: (template, recipient)."""
    with app.sessions() as session:
        rows = session.execute(select(Outbox.template, Outbox.recipient).order_by(Outbox.id))
        return [(row.template, row.recipient) for row in rows]


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout}s")
        time.sleep(0.02)


def customer_mail(n: int, **headers: str) -> bytes:
    """Mail number ``n``: the same bytes, Message-ID included, each time it is asked for."""
    return mail(
        sender=f"Customer {n} <customer{n}@customer.test>",
        subject=f"Problem number {n}",
        body=f"Hello, problem {n} needs your attention.",
        message_id=f"<problem-{n}@customer.test>",
        **headers,
    ).as_bytes()


def flags(dovecot: Dovecot, folder: str = "INBOX") -> dict[int, set[bytes]]:
    """Each mail of ``folder`` (UID) with its flags, but ``\\Recent`` (whoever looks first)."""
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        found = client.get_flags(client.search(["ALL"]))
    return {uid: set(names) - {b"\\Recent"} for uid, names in found.items()}


def append_at(dovecot: Dovecot, folder: str, raw: bytes, arrived: datetime) -> None:
    """Put ``raw`` in ``folder`` as received at ``arrived`` (its INTERNALDATE)."""
    with dovecot.client() as client:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        client.append(folder, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"), msg_time=arrived)
