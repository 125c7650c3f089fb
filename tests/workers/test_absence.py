"""Absence: an agent away hears nothing meant for whoever answers a ticket, and after a grace
their tickets go back to their group, with an event and a notice (issue 12)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from gateway.cli import main
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import EventKind
from storage.models import TicketEvent
from tests.desk import Desk, wait_for
from tests.helpers import cli, cli_env
from tests.sink import Sink
from tests.workers.timed import alerts, later, timed_app, worker_desk

EXTRA = {
    "HELPDESK_TEST_CLOCK": "true",
    "HELPDESK_RECONCILE_SECONDS": "0.5",
    "HELPDESK_ABSENCE_HANDBACK_AFTER": "1h",
    "HELPDESK_ESCALATE_AFTER": "",
}


def taken_by_ben(desk: Desk) -> None:
    desk.send("hal@customer.test", "support@example.com", "My refund is missing.", subject="Refund")
    desk.send("ben@us.test", desk.agent_token(desk.ticket(), "ben"), "#assign me\n#internal\nMine.")


def test_an_absent_agents_ticket_goes_back_to_their_group_after_the_grace(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path
) -> None:
    app = timed_app(app, absence_handback_after="1h", escalate_after="")
    with worker_desk(app, settings, sink, redis_url, tmp_path / "worker.log", **EXTRA) as desk:
        taken_by_ben(desk)
        heard = len(desk.inbox("ben@us.test"))
        assert "away until" in cli(settings, "agent", "away", "ben@us.test", "--until", "3d")
        assert "away until" in cli(settings, "agent", "list")
        reply = str(desk.inbox("hal@customer.test")[-1].message["Reply-To"])
        desk.send("hal@customer.test", reply, "Any news on the refund?")
        # ben is away and billing has nobody else: the supervisors and admins hear of it
        assert len(desk.inbox("ben@us.test")) == heard
        assert len(desk.inbox("sue@us.test")) >= 1
        later(settings, timedelta(minutes=50))
        assert desk.ticket().assignee_agent_id == desk.ids["ben"]  # not before the grace
        later(settings, timedelta(minutes=11))
        wait_for(lambda: desk.ticket().assignee_group_id == desk.ids["billing"], what="hand-back")
        assert desk.ticket().assignee_agent_id is None
        with desk.app.sessions() as session:
            event = session.scalars(
                select(TicketEvent)
                .where(TicketEvent.kind == EventKind.TICKET_ASSIGNED)
                .order_by(TicketEvent.id.desc())
            ).first()
            assert event is not None and event.actor == "system"
            assert event.after["assignee"] == "group:billing"
            assert "Ben Baker is away until" in event.after["reason"]
        wait_for(
            lambda: any("is away until" in r.text() for r in desk.inbox("sue@us.test")),
            what="the notice of the hand-back",
        )
        assert len(desk.inbox("ben@us.test")) == heard  # alerts skip him too
        assert alerts(sink, "breach")  # the next-response breach went to someone present


def test_an_agent_back_before_the_grace_keeps_their_tickets(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path
) -> None:
    app = timed_app(app, absence_handback_after="1h", escalate_after="")
    with worker_desk(app, settings, sink, redis_url, tmp_path / "worker.log", **EXTRA) as desk:
        taken_by_ben(desk)
        past = ["agent", "away", "ben@us.test", "--until", "2026-01-01"]
        refused = CliRunner().invoke(main, past, env=cli_env(settings))
        assert refused.exit_code == 2 and "not in the future" in refused.output
        cli(settings, "agent", "away", "ben@us.test", "--until", "1d")
        later(settings, timedelta(minutes=30))
        cli(settings, "agent", "back", "ben@us.test")
        assert "ben@us.test\tBen Baker\tagent\tactive\t" in cli(settings, "agent", "list")
        later(settings, timedelta(hours=2))
        assert desk.ticket().assignee_agent_id == desk.ids["ben"]
