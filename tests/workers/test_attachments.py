"""What travels with our mails: attachments to the other side, thread headers intact."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk.app.runtime import App
from tests.desk import Desk
from tests.helpers import mail
from tests.sink import Sink


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    running = Desk(app, sink).start()
    yield running
    running.stop()


def attachments(received: object) -> list[tuple[str, bytes]]:
    message = received.message  # type: ignore[attr-defined]
    return [(a.get_filename(), a.get_content()) for a in message.iter_attachments()]


def test_attachments_follow_the_message(desk: Desk) -> None:
    first = mail(sender="cy@customer.test", subject="Screenshot")
    first.add_attachment(
        b"\x89PNG fake image", maintype="image", subtype="png", filename="screen.png"
    )
    desk.gateway.send(first)
    desk.settle()
    [alert] = desk.inbox("ann@us.test")
    assert attachments(alert) == [("screen.png", b"\x89PNG fake image")]
    assert attachments(desk.inbox("cy@customer.test")[0]) == []  # the ack carries none back

    reply = mail(
        sender="ann@us.test",
        to=str(alert.message["Reply-To"]),
        subject="Re: x",
        body="Here is the fixed invoice.",
    )
    reply.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="invoice.pdf"
    )
    desk.gateway.send(reply)
    desk.settle()
    answer = desk.inbox("cy@customer.test")[-1]
    assert "fixed invoice" in answer.text()
    assert attachments(answer) == [("invoice.pdf", b"%PDF-1.4 invoice")]


def test_a_long_message_id_is_threaded_as_it_is(desk: Desk) -> None:
    """Outlook-style ids of 80+ characters must not come back RFC 2047-encoded."""
    long_id = "<" + "A1B2C3D4" * 9 + "@EXCH01.corp.customer.test>"
    desk.gateway.send(mail(sender="cy@customer.test", subject="Threads", message_id=long_id))
    desk.settle()
    [ack] = desk.inbox("cy@customer.test")
    raw = ack.raw.decode()
    assert f"In-Reply-To: {long_id}" in raw and "=?utf-8?" not in raw
    assert ack.message["References"] == long_id
