"""SLA timers fire at their time and not before, in a ``helpdesk worker`` process on Redis,
with the clock moved forward instead of waiting (issue 12)."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import EventKind, Status
from storage.models import TicketEvent, Timer
from tests.desk import Desk, wait_for
from tests.sink import Sink
from tests.workers.timed import Workers, alerts, later, pending, worker_desk


def test_first_response_warning_then_breach_to_the_supervisors(
    timed: Desk, settings: Settings, sink: Sink
) -> None:
    timed.send("cy@customer.test", "support@example.com", "The invoice is wrong.", subject="Bill")
    number = timed.ticket().number
    later(settings, timedelta(seconds=80))
    assert alerts(sink, "warning") == [] and alerts(sink, "breach") == []  # not before its time
    later(settings, timedelta(seconds=20))  # 100 s: past 80% of 2 minutes
    wait_for(lambda: alerts(sink, "warning"), what="the warning")
    assert sorted(alerts(sink, "warning")) == ["Ada Admin <ada@us.test>", "Sue Super <sue@us.test>"]
    later(settings, timedelta(seconds=25))
    wait_for(lambda: len(alerts(sink, "breach")) == 2, what="the breach alerts")
    [breach, *_] = [r for r in sink.received if "SLA breach:" in str(r.message["Subject"])]
    assert number in str(breach.message["Subject"])
    text = breach.text()
    assert "Cy" in text or "cy@customer.test" in text
    assert "first response" in text and "Waiting:" in text
    assert "+" in str(breach.message["Reply-To"])  # the agent's reply address, to act on it
    with timed.app.sessions() as session:
        [event] = session.scalars(
            select(TicketEvent).where(TicketEvent.kind == EventKind.SLA_BREACHED)
        )
        assert event.after["clock"] == "first_response"
    later(settings, timedelta(seconds=30))
    assert len(alerts(sink, "breach")) == 2  # once


def test_an_answer_cancels_the_alerts_and_the_customers_reply_starts_the_next_clock(
    timed: Desk, settings: Settings, sink: Sink
) -> None:
    timed.send("dee@customer.test", "support@example.com", "The app crashes.", subject="Crash")
    first = timed.ticket().resolution_due
    assert set(pending(timed.app)) == {"first_response_warning"}  # one pending: the earliest
    timed.send("ann@us.test", timed.agent_token(timed.ticket(), "ann"), "#assign me\nOn it.")
    # answered; waiting for the customer pauses the resolution, and starts the auto-resolve
    assert set(pending(timed.app)) == {"auto_resolve"}
    later(settings, timedelta(minutes=3))
    assert alerts(sink, "warning") == alerts(sink, "breach") == []
    reply = str(timed.inbox("dee@customer.test")[-1].message["Reply-To"])
    timed.send("dee@customer.test", reply, "It still crashes after the update.")
    assert set(pending(timed.app)) == {"next_response_warning"}
    resumed = timed.ticket().resolution_due
    assert first is not None and resumed is not None and resumed > first  # later by the pause
    later(settings, timedelta(minutes=2, seconds=5))
    wait_for(lambda: alerts(sink, "breach"), what="the breach")
    assert alerts(sink, "breach") == ["Ann Archer <ann@us.test>"]


def test_a_delayed_message_fires_the_timer_on_time_without_the_reconciler(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path
) -> None:
    """The reconciler passes once an hour here: only the message armed at the due time can
    bring the warning, due 6 s after the mail (5% of the two-minute target)."""
    extra = {"HELPDESK_RECONCILE_SECONDS": "3600", "HELPDESK_SLA_WARNING_RATIO": "0.05"}
    with worker_desk(app, settings, sink, redis_url, tmp_path / "worker.log", **extra) as desk:
        sent = time.monotonic()
        desk.send("eve@customer.test", "support@example.com", "Nothing works.", subject="Down")
        wait_for(lambda: alerts(sink, "warning"), timeout=20, what="the warning")
        assert time.monotonic() - sent >= 5.5  # not before its time


def test_silence_resolves_then_closes_and_the_customer_is_told_how_to_reopen(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path
) -> None:
    extra = {
        "HELPDESK_TEST_CLOCK": "true",
        "HELPDESK_RECONCILE_SECONDS": "0.5",
        "HELPDESK_AUTO_RESOLVE_AFTER": "3d",
        "HELPDESK_AUTO_RESOLVE_REMINDER": "1d",
        "HELPDESK_AUTO_CLOSE_AFTER": "2d",
    }
    app = App(
        settings.model_copy(update={"auto_resolve_after": "3d", "auto_resolve_reminder": "1d"}),
        app.engine,
        app.sessions,
        app.secret,
    )
    with worker_desk(app, settings, sink, redis_url, tmp_path / "worker.log", **extra) as desk:
        desk.send("fay@customer.test", "support@example.com", "Printer offline.", subject="Print")
        desk.send("ann@us.test", desk.agent_token(desk.ticket(), "ann"), "Is it plugged in?")
        assert desk.ticket().status is Status.AWAITING_CUSTOMER
        later(settings, timedelta(days=2, hours=1))
        wait_for(lambda: len(desk.inbox("fay@customer.test")) == 3, what="the reminder")
        assert "we will consider it resolved soon" in desk.inbox("fay@customer.test")[-1].text()
        assert desk.ticket().status is Status.AWAITING_CUSTOMER
        later(settings, timedelta(days=1))
        wait_for(lambda: desk.ticket().status is Status.RESOLVED, what="the auto-resolve")
        wait_for(lambda: len(desk.inbox("fay@customer.test")) == 4, what="its notice")
        notice = desk.inbox("fay@customer.test")[-1].text()
        assert "we have not heard from you" in notice and "reply to this mail" in notice
        later(settings, timedelta(days=2, minutes=1))
        wait_for(lambda: desk.ticket().status is Status.CLOSED, what="the auto-close")


def test_with_redis_wiped_and_two_workers_every_timer_fires_once(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path
) -> None:
    """The rows are the truth: a wiped broker loses the wake-ups and the reconciler's chain (the
    watchdog starts it again), and two workers claim each timer once."""
    extra = {"HELPDESK_TEST_CLOCK": "true", "HELPDESK_RECONCILE_SECONDS": "0.5"}
    log = tmp_path / "worker.log"
    with worker_desk(app, settings, sink, redis_url, log, processes=2, **extra) as desk:
        for i in range(6):
            desk.send(
                f"c{i}@customer.test", "support@example.com", "Help, please.", subject=f"S{i}"
            )
        desk.gateway._gateway.broker.flush_all()
        later(settings, timedelta(minutes=3))
        wait_for(lambda: len(alerts(sink, "breach")) == 12, what="a breach per ticket and person")
        later(settings, timedelta(seconds=30))
    assert len(alerts(sink, "warning")) == len(alerts(sink, "breach")) == 12  # 6 tickets, 2 people


def test_a_worker_killed_while_firing_leaves_the_timer_to_the_next_which_fires_it_once(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path
) -> None:
    """The test holds the timer's row (PostgreSQL: the worker waits inside its firing
    transaction) or the write lock (SQLite: whatever the worker writes first waits); killed
    there (SIGKILL), it has done nothing, and the worker started after it fires the timer, once."""
    extra = {"HELPDESK_TEST_CLOCK": "true", "HELPDESK_RECONCILE_SECONDS": "0.5"}
    pool: list[Workers] = []
    with worker_desk(
        app, settings, sink, redis_url, tmp_path / "w.log", pool=pool, **extra
    ) as desk:
        desk.send("kim@customer.test", "support@example.com", "Cannot log in.", subject="Login")
        [workers] = pool
        with app.engine.connect() as held:
            held.begin()  # on SQLite: BEGIN IMMEDIATE, the write lock (storage.db)
            held.execute(select(Timer).with_for_update())
            later(settings, timedelta(seconds=100))  # the warning is due: the worker waits
            workers.running[0].kill()
            workers.running[0].wait(timeout=30)
            held.rollback()
        assert alerts(sink, "warning") == []
        workers.start()
        wait_for(lambda: len(alerts(sink, "warning")) == 2, what="the warning, after all")
        later(settings, timedelta(seconds=5))
        assert len(alerts(sink, "warning")) == 2


def test_a_reassignment_before_the_breach_sends_it_to_the_new_assignee(
    timed: Desk, settings: Settings, sink: Sink
) -> None:
    timed.send("lee@customer.test", "support@example.com", "Wrong size sent.", subject="Size")
    timed.send("sue@us.test", timed.agent_token(timed.ticket(), "sue"), "#assign ann\n#internal")
    later(settings, timedelta(seconds=100))
    wait_for(lambda: alerts(sink, "warning"), what="the warning")
    assert alerts(sink, "warning") == ["Ann Archer <ann@us.test>"]
    timed.send("sue@us.test", timed.agent_token(timed.ticket(), "sue"), "#assign ben\n#internal")
    later(settings, timedelta(seconds=25))
    wait_for(lambda: alerts(sink, "breach"), what="the breach")
    assert alerts(sink, "breach") == ["Ben Baker <ben@us.test>"]


def test_the_resolution_clock_warns_then_breaches_while_the_team_works_on_it(
    timed: Desk, settings: Settings, sink: Sink
) -> None:
    timed.send("mo@customer.test", "support@example.com", "Export fails.", subject="Export")
    token = timed.agent_token(timed.ticket(), "ann")
    timed.send("ann@us.test", token, "#assign me\n#status in_progress\nLooking into it now.")
    assert timed.ticket().status is Status.IN_PROGRESS  # answered, and not waiting: it runs
    later(settings, timedelta(minutes=7))
    assert alerts(sink, "warning") == []  # 80% of the 10 minutes is 8
    later(settings, timedelta(minutes=1, seconds=30))
    wait_for(lambda: alerts(sink, "warning"), what="the resolution warning")
    later(settings, timedelta(minutes=2))
    wait_for(lambda: alerts(sink, "breach"), what="the resolution breach")
    assert alerts(sink, "breach") == ["Ann Archer <ann@us.test>"]
    [breach] = [r for r in sink.received if "SLA breach:" in str(r.message["Subject"])]
    assert "the resolution of" in breach.text()


def test_the_same_alert_to_the_same_person_waits_for_the_cooldown(
    timed: Desk, settings: Settings, sink: Sink
) -> None:
    """Two next-response breaches within HELPDESK_SLA_ALERT_COOLDOWN (1h): the assignee hears of
    the first only; each is still recorded as an sla_breached event."""

    def breaches() -> list[str]:
        with timed.app.sessions() as session:
            found = session.scalars(
                select(TicketEvent).where(TicketEvent.kind == EventKind.SLA_BREACHED)
            )
            return [e.after["clock"] for e in found]

    timed.send("ola@customer.test", "support@example.com", "Upload fails.", subject="Upload")
    token = timed.agent_token(timed.ticket(), "ann")
    timed.send("ann@us.test", token, "#assign me\nWhich file type?")
    reply = str(timed.inbox("ola@customer.test")[-1].message["Reply-To"])
    for n, attempt in enumerate(("A PDF.", "Still failing with the PDF."), start=1):
        timed.send("ola@customer.test", reply, attempt)
        later(settings, timedelta(minutes=2, seconds=5))
        wait_for(lambda n=n: len(breaches()) == n, what=f"breach {n}")
        timed.send("ann@us.test", token, "Looking into it.")
    assert breaches() == ["next_response", "next_response"]
    assert alerts(sink, "breach") == ["Ann Archer <ann@us.test>"]  # once, within the hour
