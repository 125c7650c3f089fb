"""Digests: an agent's news about low and medium priority tickets gathered into one mail per
period by a ``helpdesk worker`` process, each item with its own reply address; high and urgent
news at once (issue 12)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from helpdesk.app import clock
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain import digests
from helpdesk.domain.vocabulary import OutboxStatus
from storage.models import Outbox, Ticket
from tests.desk import wait_for
from tests.helpers import cli
from tests.sink import Sink
from tests.workers.timed import later, timed_app, worker_desk

EXTRA = {
    "HELPDESK_TEST_CLOCK": "true",
    "HELPDESK_RECONCILE_SECONDS": "0.5",
    "HELPDESK_ESCALATE_AFTER": "",
}


def test_low_and_medium_news_comes_in_one_digest_per_period_and_its_addresses_work(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path
) -> None:
    app = timed_app(app, escalate_after="")
    now = clock.now(app.settings)
    clock.advance(app.settings, digests.due(now, 30) + timedelta(minutes=1) - now)
    with worker_desk(app, settings, sink, redis_url, tmp_path / "worker.log", **EXTRA) as desk:
        cli(settings, "agent", "set", "ann@us.test", "--digest", "30m")
        assert "digest 30m" in cli(settings, "agent", "list")
        desk.send("ivy@customer.test", "support@example.com", "The app logs me out.", subject="A")
        first = desk.ticket()
        desk.send("jon@customer.test", "support@example.com", "Site is down for us.", subject="B")
        second = desk.ticket()
        desk.send("sue@us.test", desk.agent_token(second, "sue"), "#priority high")
        reply = str(desk.inbox("jon@customer.test")[-1].message["Reply-To"])
        desk.send("jon@customer.test", reply, "Still down, we are losing orders.")
        # the high ticket's news came at once; the medium news is held
        [urgent] = desk.inbox("ann@us.test")
        assert second.number in str(urgent.message["Subject"])
        assert "Still down" in urgent.text()
        later(settings, timedelta(minutes=20))
        assert len(desk.inbox("ann@us.test")) == 1  # not before the period's end
        later(settings, timedelta(minutes=10))
        wait_for(lambda: len(desk.inbox("ann@us.test")) == 2, what="the digest")
        digest = desk.inbox("ann@us.test")[-1]
        assert str(digest.message["Subject"]).startswith("Digest: 2 updates on 2 tickets")
        text = digest.text()
        assert first.number in text and second.number in text and "The app logs me out." in text
        addresses = list(dict.fromkeys(re.findall(r"Reply: (support\+\S+@example.com)", text)))
        assert len(addresses) == 2
        assert desk.inbox("sue@us.test")  # who asked for no digest heard of each at once
        desk.send("ann@us.test", addresses[0], "#assign me")  # the oldest item: the first ticket
        with desk.app.sessions() as session:
            taken = session.scalars(select(Ticket).where(Ticket.number == first.number)).one()
            assert taken.assignee_agent_id == desk.ids["ann"]
            held = session.scalars(select(Outbox).where(Outbox.digest_id.is_not(None))).all()
            assert {row.status for row in held} == {OutboxStatus.DIGESTED} and len(held) == 2
        later(settings, timedelta(minutes=31))
        assert sum("Digest:" in str(r.message["Subject"]) for r in desk.inbox("ann@us.test")) == 1
