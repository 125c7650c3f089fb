"""One ticket's life as the helpdesk would have recorded it: its row, messages and events.

A ``Story`` is what the ticket is (status, priority, who wrote it); a ``Writer`` plays it out in
time (opened; assigned, which starts the work; the agent's replies, which wait for the customer;
the customer's answers, which hand it back; resolved and closed) squeezed into the ticket's age,
and appends the rows to the batch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import populate
from api_words import ANSWERS, NOTES, REPLIES, RESOLUTIONS, customer_email

from helpdesk.domain.vocabulary import Priority, Status

if TYPE_CHECKING:
    from api_data import Batch, Generator


def pick(rng: Any, weighted: tuple[tuple[int, int], ...]) -> int:
    point, seen = rng.random() * sum(w for _, w in weighted), 0
    for value, weight in weighted:
        seen += weight
        if point < seen:
            return value
    return weighted[-1][0]


ROUNDS = ((0, 65), (1, 25), (2, 8), (3, 2))  # customer answers after the first reply
NOTE_SHARE, RATED_SHARE, PARTICIPANT_SHARE, ATTACHED_SHARE = 0.1, 0.25, 0.04, 1 / 30
UPDATED_BEFORE = '{"priority": "medium", "category": "general", "tags": []}'


@dataclass
class Story:
    gen: Generator
    ticket_id: int
    customer_id: int
    status: Status
    priority: Priority
    category: str
    tags: list[str]
    created: datetime  # naive UTC, as all times here


def uniform(gen: Generator, low_minutes: float, high_minutes: float) -> timedelta:
    return timedelta(minutes=gen.rng.uniform(low_minutes, high_minutes))


class Writer:
    def __init__(self, gen: Generator, batch: Batch, story: Story) -> None:
        self.gen, self.batch, self.story, self.rng = gen, batch, story, gen.rng
        self.now = gen.now
        self.steps: list[tuple[timedelta, str]] = []  # (after creation, what)
        self.email = customer_email(story.customer_id)
        self.agent: tuple[int, str, int] | None = None
        self.group: tuple[int, str] | None = None

    def plan(self, long_events: int) -> None:
        s, gen, at = self.story, self.gen, timedelta()
        if s.status is Status.OPEN:
            return
        share = self.rng.random()
        if long_events:  # the benchmark's agent may see it
            self.agent = gen.shape.agents[0]
        elif share < 0.85:
            self.agent = self.rng.choice(gen.shape.agents)
        elif share < 0.97:
            self.group = self.rng.choice(gen.shape.groups)
        at += uniform(gen, 2, 180)
        self.steps.append((at, "assign"))
        if s.priority is not Priority.MEDIUM or s.category != "general" or s.tags:
            self.steps.append((at, "update"))
        if s.status is Status.IN_PROGRESS and self.rng.random() < 0.4:
            return  # taken, not answered yet
        at += uniform(gen, 5, 360)
        self.steps.append((at, "reply"))
        rounds = pick(self.rng, ROUNDS)
        rounds += long_events // 4
        for _ in range(rounds):
            at += uniform(gen, 30, 1800)
            self.steps.append((at, "answer"))
            at += uniform(gen, 10, 360)
            self.steps.append((at, "reply"))
        if self.rng.random() < NOTE_SHARE:
            self.steps.append((at / 2, "note"))
        if s.status is Status.IN_PROGRESS:
            self.steps.append((at + uniform(gen, 30, 600), "answer"))
        elif s.status in (Status.RESOLVED, Status.CLOSED):
            at += uniform(gen, 10, 1440)
            self.steps.append((at, "resolve"))
            if self.rng.random() < RATED_SHARE:
                self.steps.append((at + uniform(gen, 60, 2880), "rate"))
            if s.status is Status.CLOSED:
                self.steps.append((at + timedelta(days=7), "close"))
        self.steps.sort()

    def fit(self) -> None:
        """Squeeze the steps into the ticket's age (a ticket of an hour ago was quick)."""
        room = self.now - timedelta(seconds=60) - self.story.created
        last = self.steps[-1][0] if self.steps else timedelta()
        if last > room:
            scale = max(room, timedelta()) / last
            self.steps = [(at * scale, what) for at, what in self.steps]

    def write(self, long_events: int = 0) -> dict[str, Any]:
        self.plan(long_events)
        self.fit()
        return Play(self).run()


class Play:
    """The steps played in order: the status moves, the SLA clocks, the rows."""

    def __init__(self, writer: Writer) -> None:
        self.w, self.s, self.gen = writer, writer.story, writer.gen
        self.rows = writer.batch.rows
        self.status = Status.OPEN
        self.t, self.ts = self.s.created, self.s.created.isoformat(" ", "microseconds")
        self.first_response: datetime | None = None
        self.paused_at: datetime | None = None
        self.paused = timedelta()
        self.team_turn: datetime | None = None
        self.active: datetime | None = None
        self.resolved: datetime | None = None
        self.closed: datetime | None = None
        self.rating: int | None = None
        self.n = self.gen.rng.randint(10000, 99999)
        self.name = f"{populate.NAMES[self.s.customer_id % 10]}"
        self.subject = self.gen.rng.choice(populate.SUBJECTS).format(n=self.n)
        self.description = populate.BODY.format(n=self.n, name=self.name)

    @property
    def agent_label(self) -> str:
        if self.w.agent is not None:
            return self.w.agent[1]
        return self.gen.shape.supervisor

    def event(self, kind: str, actor_kind: str, actor: str, before: str, after: str,
              message: int | None = None) -> None:  # fmt: skip
        row = (self.gen.next_id("ticket_events"), self.s.ticket_id, kind, actor_kind, actor,
               before, after, message, self.ts)  # fmt: skip
        self.rows["ticket_events"].append(row)
        if actor_kind == "agent":
            self.active = self.t

    def move(self, to: Status, actor_kind: str, actor: str) -> None:
        kind = {Status.RESOLVED: "ticket_resolved", Status.CLOSED: "ticket_closed"}.get(
            to, "ticket_status_changed"
        )
        before, after = f'{{"status": "{self.status.value}"}}', f'{{"status": "{to.value}"}}'
        self.event(kind, actor_kind, actor, before, after)
        if to is Status.AWAITING_CUSTOMER:
            self.paused_at = self.t
        elif self.paused_at is not None:
            self.paused += self.t - self.paused_at
            self.paused_at = None
        self.status = to

    def message(self, kind: str, author_kind: str, body: str) -> None:
        customer = author_kind == "customer"
        email = self.w.email if customer else self.agent_label
        message_id = self.gen.next_id("messages")
        digest = hashlib.sha256(body.encode()).hexdigest() if customer else ""
        domain = email.partition("@")[2]
        row = (message_id, self.s.ticket_id, kind, author_kind, email,
               self.s.customer_id if customer else None,
               None if customer or self.w.agent is None else self.w.agent[0],
               body, digest, f"<{self.s.ticket_id}.{message_id}@mail.{domain}>", None, 1,
               self.ts)  # fmt: skip
        self.rows["messages"].append(row)
        if customer and self.gen.rng.random() < ATTACHED_SHARE:
            sha = self.gen.rng.choice(self.gen.blobs)
            attachment = (self.gen.next_id("message_attachments"), message_id, sha,
                          "screenshot.png", "image/png", 1216)  # fmt: skip
            self.rows["message_attachments"].append(attachment)
        after = f'{{"kind": "{kind}", "chars": {len(body)}}}'
        self.event("ticket_commented", author_kind, email, "{}", after, message_id)

    def run(self) -> dict[str, Any]:
        s = self.s
        number = populate.ticket_number(s.ticket_id)
        created = (f'{{"number": "{number}", "subject": "{self.subject}", "status": "open", '
                   f'"priority": "medium", "customer": "{self.w.email}"}}')  # fmt: skip
        self.event("ticket_created", "customer", self.w.email, "{}", created)
        self.message("public", "customer", self.description)
        for at, what in self.w.steps:
            self.at(s.created + at)
            getattr(self, f"step_{what}")()
        self.breach()
        return self.ticket_row(number)

    def at(self, moment: datetime) -> None:
        self.t, self.ts = moment, moment.isoformat(" ", "microseconds")

    def step_assign(self) -> None:
        label = f"group:{self.w.group[1]}" if self.w.group else ""
        label = self.w.agent[1] if self.w.agent else label
        actor = self.agent_label
        self.event("ticket_assigned", "agent", actor, '{"assignee": ""}',
                   f'{{"assignee": "{label}"}}')  # fmt: skip
        if label:
            self.move(Status.IN_PROGRESS, "agent", actor)

    def step_update(self) -> None:
        s = self.s
        tags = ", ".join(f'"{t}"' for t in s.tags)
        after = f'{{"priority": "{s.priority}", "category": "{s.category}", "tags": [{tags}]}}'
        self.event("ticket_updated", "agent", self.agent_label, UPDATED_BEFORE, after)

    def step_reply(self) -> None:
        first = populate.NAMES[self.s.customer_id % 10]
        body = self.gen.rng.choice(REPLIES).format(first=first, agent=self.agent_label)
        self.message("public", "agent", body)
        self.first_response = self.first_response or self.t
        if self.status in (Status.OPEN, Status.IN_PROGRESS):
            self.move(Status.AWAITING_CUSTOMER, "agent", self.agent_label)

    def step_answer(self) -> None:
        answer = self.gen.rng.choice(ANSWERS).format(name=self.name, n=self.n)
        self.message("public", "customer", answer)
        if self.status is Status.AWAITING_CUSTOMER:
            self.move(Status.IN_PROGRESS, "customer", self.w.email)
            self.team_turn = self.t

    def step_note(self) -> None:
        self.message("internal", "agent", self.gen.rng.choice(NOTES))

    def step_resolve(self) -> None:
        self.move(Status.RESOLVED, "agent", self.agent_label)
        self.resolved = self.t

    def step_rate(self) -> None:
        self.rating = self.gen.rng.choice((5, 5, 5, 4, 4, 3, 2, 1))
        self.event("ticket_updated", "customer", self.w.email, '{"satisfaction": null}',
                   f'{{"satisfaction": {self.rating}}}')  # fmt: skip

    def step_close(self) -> None:
        self.move(Status.CLOSED, "system", "system")
        self.closed = self.t

    def breach(self) -> None:
        """An ``sla_breached`` event when the first reply came after its due time."""
        due = self.s.created + self.gen.shape.targets[self.s.priority].first_response
        late = self.first_response is None and due < self.w.now and self.status is Status.OPEN
        if late or (self.first_response is not None and self.first_response > due):
            self.at(due)
            self.event("sla_breached", "system", "system", "{}", '{"clock": "first_response"}')

    def ticket_row(self, number: str) -> dict[str, Any]:
        """The ticket's columns (times naive UTC), its tags and its participant appended."""
        s, w, gen = self.s, self.w, self.gen
        targets = gen.shape.targets[s.priority]
        if gen.rng.random() < PARTICIPANT_SHARE and gen.customers > 1:
            other = gen.rng.randint(1, gen.customers)
            if other != s.customer_id:
                self.rows["ticket_participants"].append((s.ticket_id, other))
        agent_id = w.agent[0] if w.agent else None
        group_id = w.group[0] if w.group else None
        for tag in s.tags:
            at = self.s.created.isoformat(" ", "microseconds")
            self.rows["ticket_tags"].append((s.ticket_id, tag, at, agent_id, group_id))
        updated = max(self.t, s.created + (w.steps[-1][0] if w.steps else timedelta()))
        return {
            "id": s.ticket_id, "number": number, "subject": self.subject,
            "description": self.description, "status": s.status, "priority": s.priority,
            "category": s.category, "customer_id": s.customer_id,
            "assignee_agent_id": agent_id, "assignee_group_id": group_id,
            "tags": "[" + ", ".join(f'"{t}"' for t in s.tags) + "]",
            "external_ref": f"ORDER-{self.n}" if self.n % 10 == 0 else "",
            "linked_ticket_id": None,
            "resolution_notes": gen.rng.choice(RESOLUTIONS) if self.resolved else "",
            "satisfaction": self.rating, "first_response_due": s.created + targets.first_response,
            "next_response_due": None,
            "resolution_due": s.created + targets.resolution + self.paused,
            "sla_paused_at": self.paused_at, "sla_paused_seconds": int(self.paused.total_seconds()),
            "agent_active_at": self.active, "escalated_at": None, "team_turn_at": self.team_turn,
            "created_at": s.created, "updated_at": updated,
            "first_responded_at": self.first_response, "resolved_at": self.resolved,
            "closed_at": self.closed,
        }  # fmt: skip
