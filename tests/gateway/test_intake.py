"""The intake's group commit: a client that stops waiting loses nothing and blocks nobody."""

from __future__ import annotations

import asyncio

from gateway.bootstrap import App
from gateway.intake import Arrival, Intake, Stored
from tests.helpers import mail


def arrival(number: int) -> Arrival:
    raw = mail(subject=f"Mail {number}", message_id=f"<m{number}@customer.test>").as_bytes()
    return Arrival(raw, "alice@customer.test", ("support@example.com",), source="test")


def test_a_waiter_that_gave_up_does_not_stop_the_writer_thread(app: App) -> None:
    writer = Intake(app.engine, window_seconds=0.3)  # the first mail waits for company
    writer.start()
    try:
        first = writer.submit(arrival(1))
        assert first.cancel()  # the client hung up before its 250
        assert writer.submit(arrival(2)).result(timeout=30).stored is Stored.NEW
        assert writer.submit(arrival(1)).result(timeout=30).stored is Stored.DUPLICATE
    finally:
        writer.stop()


def test_a_connection_dropped_before_its_250_leaves_the_mail_stored(intake: Intake) -> None:
    """Through ``accept``, what the SMTP edge awaits: on SQLite committed by the event loop."""

    async def scenario() -> tuple[Stored, Stored]:
        dropped = asyncio.create_task(intake.accept(arrival(1)))
        await asyncio.sleep(0)  # the first mail is gathered for this turn's commit
        dropped.cancel()
        second = await intake.accept(arrival(2))
        again = await intake.accept(arrival(1))
        return second.stored, again.stored

    assert asyncio.run(scenario()) == (Stored.NEW, Stored.DUPLICATE)
