"""Test helpers: a gateway on a real socket in a background loop, mail builders, waiting."""

from __future__ import annotations

import asyncio
import os
import smtplib
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from click.testing import CliRunner
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import func, select

from gateway.cli import main
from gateway.intake import Arrival, Intake
from gateway.serve import Gateway
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import MailStatus
from storage import spool
from storage.models import InboundMail, Ticket
from workers.processor import drain

REPOSITORY = Path(__file__).resolve().parents[1]


def _corpora() -> Path:
    """``../shared/corpora`` beside the repository, or ``$HELPDESK_CORPORA``. A clone made
    elsewhere (CI's clean clone in a temporary directory) looks beside the repository it was
    cloned from."""
    if os.environ.get("HELPDESK_CORPORA"):
        return Path(os.environ["HELPDESK_CORPORA"])
    beside = REPOSITORY.parent / "shared" / "corpora"
    if beside.is_dir():
        return beside
    origin = subprocess.run(
        ["git", "-C", str(REPOSITORY), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin and Path(origin).is_dir():
        return Path(origin).resolve().parent / "shared" / "corpora"
    return beside


CORPORA = _corpora()


class GatewayThread:
    """``Gateway`` running on its own event loop thread, listening on a free local port."""

    def __init__(self, app: App, gateway: Gateway | None = None) -> None:
        self.app = app
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._gateway = gateway or Gateway(app)

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._gateway.start("127.0.0.1", 0), self._loop)
        self.port = future.result(timeout=10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._gateway.stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def smtp(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=30)

    def send(
        self, message: EmailMessage | bytes, to: list[str] | None = None, mail_from: str = ""
    ) -> None:
        with self.smtp() as client:
            if isinstance(message, bytes):
                client.sendmail(mail_from, to or ["support@example.com"], message)
            else:
                client.send_message(message, from_addr=mail_from or None, to_addrs=to)

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until every stored mail has been through the pipeline."""
        self._gateway.workers.wake()
        wait_processed(self.app, timeout)


def wait_processed(app: App, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.sessions() as session:
            waiting = spool.waiting(app.engine) + (
                session.scalar(
                    select(func.count()).where(InboundMail.status == MailStatus.RECEIVED)
                )
                or 0
            )
        if not waiting:
            return
        time.sleep(0.02)
    raise AssertionError(f"{waiting} mail(s) still unprocessed after {timeout}s")


def mail(
    sender: str = "Alice Customer <alice@customer.test>",
    to: str = "support@example.com",
    subject: str = "My printer is on fire",
    body: str = "Hello, the printer in room 4 is on fire. Please help.",
    cc: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="customer.test")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def tickets(app: App) -> list[Ticket]:
    with app.sessions() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.id)))


def store_raw(
    app: App,
    raw: bytes,
    to: tuple[str, ...] = ("support@example.com",),
    sender: str = "alice@customer.test",
) -> None:
    """Commit ``raw`` through the real intake, as the edge would."""
    intake = Intake(app.engine)
    intake.start()
    try:
        intake.submit(Arrival(raw, sender, to, source="test")).result(timeout=30)
    finally:
        intake.stop()


def store_and_drain(
    app: App,
    raw: bytes,
    to: tuple[str, ...] = ("support@example.com",),
    sender: str = "alice@customer.test",
) -> None:
    """Commit ``raw`` through the real intake, then run the pipeline on it."""
    store_raw(app, raw, to, sender)
    drain(app)


def forget(broker: RedisBroker) -> None:
    """Remove every key of the broker's namespace: ``flush_all`` leaves the workers' heartbeats,
    which would pile up in the test database run after run."""
    for key in broker.client.scan_iter(match=f"{broker.namespace}:*"):
        broker.client.delete(key)


def worker_env(settings: Settings, redis_url: str, namespace: str, **extra: str) -> dict[str, str]:
    """The environment of a ``helpdesk worker`` process working ``settings``' database."""
    return {
        **os.environ,
        "HELPDESK_DATABASE_URL": settings.resolved_database_url,
        "HELPDESK_VAR_DIR": str(settings.var_dir),
        "HELPDESK_SUPPORT_ADDRESS": settings.support_address,
        "HELPDESK_SECRET": settings.secret,
        "HELPDESK_BROKER_URL": redis_url,
        "HELPDESK_BROKER_NAMESPACE": namespace,
        **extra,
    }


def start_worker(env: dict[str, str], log: Path, threads: int = 2) -> subprocess.Popen[bytes]:
    """A ``helpdesk worker`` process, its output in ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "worker", "--threads", str(threads)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment of a ``helpdesk`` command on ``settings``' database, on the test clock."""
    return {
        "HELPDESK_DATABASE_URL": settings.resolved_database_url,
        "HELPDESK_VAR_DIR": str(settings.var_dir),
        "HELPDESK_SECRET": settings.secret,
        "HELPDESK_TEST_CLOCK": "true",
    }


def cli(settings: Settings, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=cli_env(settings))
    assert result.exit_code == 0, result.output
    return result.output
