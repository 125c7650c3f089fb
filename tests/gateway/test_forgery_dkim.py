"""Invariant 5 where sender authentication is required: an agent's commands change a ticket only
with a DKIM signature that verifies, or a trusted relay's Authentication-Results."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from email.message import EmailMessage

import dkim
import pytest

from gateway.serve import Gateway
from helpdesk.app.pipeline.context import HEAD_BYTES
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import Priority
from storage import spool
from tests.desk import Desk
from tests.gateway.test_forgery import CUSTOMER, notices, snapshot
from tests.helpers import GatewayThread, mail, store_raw
from tests.sink import Sink
from workers.decoder import Decoder
from workers.processor import drain, pending_ids
from workers.transport import transport_for


@pytest.fixture(scope="module")
def dkim_key() -> tuple[bytes, bytes]:
    try:
        key = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"openssl is needed to make a DKIM test key: {exc}")
    public = subprocess.run(
        ["openssl", "rsa", "-pubout"], input=key.stdout, capture_output=True, check=True
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + b"".join(
        line for line in public.splitlines() if not line.startswith(b"-----")
    )
    return key.stdout, record


def strict_app(app: App, record: bytes) -> App:
    """``app`` requiring sender authentication, with the DKIM key ``record`` of us.test."""

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record if name == b"mail._domainkey.us.test." else b""

    settings = app.settings.model_copy(
        update={"require_sender_auth": True, "trusted_authserv_ids": "mx.example.com"}
    )
    return App(settings, app.engine, app.sessions, app.secret, dkim_dns=dns)


@pytest.fixture
def strict_desk(app: App, sink: Sink, dkim_key: tuple[bytes, bytes]) -> Iterator[Desk]:
    strict = strict_app(app, dkim_key[1])
    running = Desk(strict, sink).start()
    running.send(CUSTOMER, "support@example.com", "My order never arrived.", subject="Order")
    yield running
    running.stop()


def signed(message: EmailMessage, key: bytes) -> bytes:
    raw = message.as_bytes().replace(b"\n", b"\r\n")
    headers = [b"from", b"to", b"subject", b"message-id"]
    return dkim.sign(raw, b"mail", b"us.test", key, include_headers=headers) + raw


def agent_mail(desk: Desk, body: str, **headers: str) -> EmailMessage:
    to = desk.agent_token(desk.ticket(), "ann")
    return mail(sender="ann@us.test", to=to, subject="Re: order", body=body, **headers)


def test_dkim_signed_mail_passes_when_required(
    strict_desk: Desk, app: App, dkim_key: tuple[bytes, bytes]
) -> None:
    message = signed(agent_mail(strict_desk, "#priority urgent"), dkim_key[0])
    strict_desk.gateway.send(
        message, to=[str(agent_mail(strict_desk, "")["To"])], mail_from="ann@us.test"
    )
    strict_desk.settle()
    assert snapshot(app).priority is Priority.URGENT


def test_dkim_failure_when_required(
    strict_desk: Desk, app: App, dkim_key: tuple[bytes, bytes]
) -> None:
    before = snapshot(app)
    message = signed(agent_mail(strict_desk, "#priority urgent"), dkim_key[0])
    altered = message.replace(b"#priority urgent", b"#priority low   ")
    strict_desk.gateway.send(
        altered, to=[str(agent_mail(strict_desk, "")["To"])], mail_from="ann@us.test"
    )
    strict_desk.settle()
    unsigned = agent_mail(strict_desk, "#priority low")
    strict_desk.gateway.send(unsigned)
    strict_desk.settle()
    assert snapshot(app) == before
    assert notices(app, "ann@us.test") == 2


CLAIM = "{} ; dkim=pass header.d=us.test header.s=mail"


def test_authentication_results_on_a_direct_connection_are_not_believed(
    strict_desk: Desk, app: App
) -> None:
    """Issue 11, item 3: the client wrote that header itself, trusted authserv-id and all."""
    trusted = CLAIM.format("mx.example.com")
    strict_desk.gateway.send(
        agent_mail(strict_desk, "#priority high", Authentication_Results=trusted)
    )
    strict_desk.settle()
    assert snapshot(app).priority is Priority.MEDIUM


def test_authentication_results_only_from_a_trusted_relay(
    strict_desk: Desk, app: App, sink: Sink
) -> None:
    settings = strict_desk.app.settings.model_copy(update={"trusted_relays": "127.0.0.0/8"})
    relay = App(settings, app.engine, app.sessions, app.secret, dkim_dns=strict_desk.app.dkim_dns)
    running = GatewayThread(relay, Gateway(relay, None, transport_for(sink.url)))
    running.start()
    try:
        untrusted = CLAIM.format("evil.test")
        running.send(agent_mail(strict_desk, "#priority low", Authentication_Results=untrusted))
        running.settle()
        assert snapshot(app).priority is Priority.MEDIUM
        trusted = CLAIM.format("mx.example.com")
        running.send(agent_mail(strict_desk, "#priority high", Authentication_Results=trusted))
        running.settle()
    finally:
        running.stop()
    assert snapshot(app).priority is Priority.HIGH


def test_a_large_signed_mail_decoded_ahead_is_verified_whole(
    app: App, sink: Sink, dkim_key: tuple[bytes, bytes]
) -> None:
    """A large mail decoded ahead keeps only its head in its context: the signature, over the
    whole body, is checked against the bytes in storage (a batch of two takes that way)."""
    strict = strict_app(app, dkim_key[1])
    desk = Desk(strict, sink)
    store_raw(strict, mail(sender=CUSTOMER, subject="Order", body="It never came.").as_bytes())
    drain(strict)
    message = agent_mail(desk, "#priority urgent")
    message.add_attachment(bytes(range(256)) * 2048, maintype="application", subtype="pdf")
    raw = signed(message, dkim_key[0])
    assert len(raw) > HEAD_BYTES
    store_raw(strict, raw, to=(str(message["To"]),), sender="ann@us.test")
    store_raw(strict, mail(sender=CUSTOMER, subject="Other", body="And another.").as_bytes())
    spool.move(strict.engine)  # SQLite: to the database, as a drain does first
    decoder = Decoder(strict)
    contexts = decoder.take(decoder.fitting(pending_ids(strict)))
    assert [ctx.envelope.whole for ctx in contexts.values()] == [False, True]
    drain(strict, decoder=decoder)
    assert snapshot(app).priority is Priority.URGENT
