"""A helpdesk with a team on it: agents, a supervisor, a gateway whose mail goes to a real sink."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from gateway.serve import Gateway
from helpdesk.app.runtime import App
from helpdesk.domain import tokens
from helpdesk.domain.vocabulary import OutboxStatus, Role
from storage.models import Agent, Group, Outbox, Ticket
from tests.helpers import GatewayThread, mail
from tests.sink import Received, Sink
from workers.transport import transport_for

TEAM = {
    "ann": ("ann@us.test", "Ann Archer", Role.AGENT),
    "ben": ("ben@us.test", "Ben Baker", Role.AGENT),
    "sue": ("sue@us.test", "Sue Super", Role.SUPERVISOR),
    "ada": ("ada@us.test", "Ada Admin", Role.ADMIN),
}


def wait_for(predicate: Callable[[], object], timeout: float = 30.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Desk:
    def __init__(self, app: App, sink: Sink) -> None:
        self.app = app
        self.sink = sink
        self.ids = add_team(app)
        self.gateway = GatewayThread(app, Gateway(app, None, transport_for(sink.url)))

    def start(self) -> Desk:
        self.gateway.start()
        return self

    def stop(self) -> None:
        self.gateway.stop()

    def __enter__(self) -> Desk:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def send(self, sender: str, to: str, body: str, subject: str = "Re: help", **kw: str) -> None:
        self.gateway.send(mail(sender=sender, to=to, subject=subject, body=body, **kw))
        self.settle()

    def settle(self) -> None:
        """Every mail processed and every notification it caused delivered."""
        self.gateway.settle()
        wait_for(self._delivered, what="the outbox to drain")

    def _delivered(self) -> bool:
        with self.app.sessions() as session:
            statuses = session.scalars(select(Outbox.status)).all()
        return all(s is not OutboxStatus.PENDING for s in statuses)

    def agent_token(self, ticket: Ticket, name: str) -> str:
        token = tokens.Token(ticket.number, tokens.Party.AGENT, self.ids[name])
        return tokens.reply_address(self.app.secret, "support@example.com", token)

    def ticket(self) -> Ticket:
        with self.app.sessions() as session:
            found = session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
            assert found is not None
            return found

    def inbox(self, address: str) -> list[Received]:
        return self.sink.to(address)


def add_team(app: App) -> dict[str, int]:
    now = datetime.now(UTC)
    with app.sessions.begin() as session:
        billing = Group(name="billing", created_at=now)
        session.add(billing)
        agents = {
            key: Agent(email=email, name=name, role=role, created_at=now)
            for key, (email, name, role) in TEAM.items()
        }
        agents["ben"].groups = [billing]
        session.add_all(agents.values())
        session.flush()
        return {key: agent.id for key, agent in agents.items()} | {"billing": billing.id}
