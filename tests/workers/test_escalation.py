"""Escalation: a ticket nobody on the team has touched for ``escalate_after`` is flagged and the
supervisors told, once per stretch of silence, by a ``helpdesk worker`` process (issue 12)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import EventKind
from storage.models import TicketEvent
from tests.desk import wait_for
from tests.helpers import cli
from tests.sink import Sink
from tests.workers.timed import later, timed_app, worker_desk


def escalations(sink: Sink) -> list[str]:
    return sorted(
        str(r.message["To"]) for r in sink.received if "Escalated:" in str(r.message["Subject"])
    )


def test_an_unattended_ticket_is_escalated_to_the_supervisors_once(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path
) -> None:
    extra = {
        "HELPDESK_TEST_CLOCK": "true",
        "HELPDESK_RECONCILE_SECONDS": "0.5",
        "HELPDESK_ESCALATE_AFTER": "30m",
    }
    app = timed_app(app, escalate_after="30m")
    with worker_desk(app, settings, sink, redis_url, tmp_path / "worker.log", **extra) as desk:
        desk.send("gus@customer.test", "support@example.com", "Where is my parcel?", subject="Late")
        later(settings, timedelta(minutes=10))
        # an agent's note is activity: the count starts again from here
        note = "#assign me\n#internal\nAsking the warehouse."
        desk.send("ann@us.test", desk.agent_token(desk.ticket(), "ann"), note)
        later(settings, timedelta(minutes=25))
        assert escalations(sink) == []  # 35 minutes after the mail, 25 after the note
        later(settings, timedelta(minutes=6))
        wait_for(lambda: len(escalations(sink)) == 2, what="the escalation")
        assert escalations(sink) == ["Ada Admin <ada@us.test>", "Sue Super <sue@us.test>"]
        [mail] = [r for r in sink.to("sue@us.test") if "Escalated:" in str(r.message["Subject"])]
        assert desk.ticket().number in str(mail.message["Subject"])
        assert "no reply, note or change from an agent for 31m" in mail.text()
        assert "+" in str(mail.message["Reply-To"])  # to act on it
        assert desk.ticket().escalated_at is not None
        assert "escalated:" in cli(settings, "tickets", "show", desk.ticket().number)
        with desk.app.sessions() as session:
            [event] = session.scalars(
                select(TicketEvent).where(TicketEvent.kind == EventKind.TICKET_ESCALATED)
            )
            assert event.after["idle"] == "31m"
        later(settings, timedelta(hours=2))
        assert len(escalations(sink)) == 2  # once for this silence
