"""Webhooks: the deliveries that the events of a unit of work call for, written in the same
transaction (``plan``, called by ``notifications.Planner.plan``, which every way in runs), and
the hooks themselves, added, listed and removed by ``helpdesk webhook``.

Each delivery carries a snapshot of the ticket as the unit of work leaves it, as a mail's row
does, so a receiver is told what was true when the change was made, however late it is sent.
A comment that is not a public message (an internal note, a system note) goes only to the hooks
that asked for internal notes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from helpdesk.app.tickets import assignee_label
from helpdesk.domain import webhooks as rules
from helpdesk.domain.vocabulary import EventKind, MessageKind, OutboxStatus
from storage.models import Message, Ticket, TicketEvent, Webhook, WebhookDelivery

SECRET_PREFIX = "whsec_"  # recognisable in a leak scanner


@dataclass(frozen=True)
class Hook:
    id: int
    events: frozenset[str]
    include_internal: bool


@dataclass
class _Planned:
    """What one unit of work knows of webhooks: the active hooks (read once, where a batch of
    mails plans once per mail), and the events planned already (an event is delivered once)."""

    hooks: list[Hook]
    done: set[TicketEvent] = field(default_factory=set)


def plan(session: Session, events: Iterable[TicketEvent], now: datetime) -> list[WebhookDelivery]:
    """A delivery of each event to each active hook that wants it."""
    state = _planned(session)
    rows: list[WebhookDelivery] = []
    if not state.hooks:
        return rows
    with session.no_autoflush:  # the unit of work flushes once, at its end
        for event in events:
            if event in state.done:
                continue
            state.done.add(event)
            internal = event.message is not None and event.message.kind is not MessageKind.PUBLIC
            hooks = [
                hook
                for hook in state.hooks
                if rules.wants(hook.events, hook.include_internal, event.kind.value, internal)
            ]
            payload = payload_of(event) if hooks else {}
            rows += [
                WebhookDelivery(
                    webhook_id=hook.id,
                    event=event,
                    ticket=event.ticket,
                    kind=event.kind,
                    payload=payload,
                    next_attempt_at=now,
                    created_at=now,
                )
                for hook in hooks
            ]
    session.add_all(rows)
    return rows


def _planned(session: Session) -> _Planned:
    state = session.info.get(_Planned)
    if not isinstance(state, _Planned):
        with session.no_autoflush:
            found = session.execute(
                select(Webhook.id, Webhook.events, Webhook.include_internal).where(Webhook.active)
            ).all()
        hooks = [Hook(id_, frozenset(events), internal) for id_, events, internal in found]
        state = session.info[_Planned] = _Planned(hooks)
    return state


def payload_of(event: TicketEvent) -> dict[str, Any]:
    """What a receiver is told of ``event`` (the sender adds its id: ``event_id``)."""
    payload: dict[str, Any] = {
        "event": event.kind.value,
        "created_at": event.created_at.isoformat(),
        "actor": {"kind": event.actor_kind.value, "email": event.actor},
        "before": event.before,
        "after": event.after,
        "ticket": _ticket(event.ticket),
    }
    if event.message is not None:
        payload["message"] = _message(event.message)
    return payload


def _ticket(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "category": ticket.category,
        "assignee": assignee_label(ticket) or None,
        "customer": ticket.customer.email,
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "kind": message.kind.value,
        "author_kind": message.author_kind.value,
        "author": message.author_email,
        "verified": message.verified,
        "body": message.body,
    }


def add(
    session: Session, url: str, events: Iterable[EventKind], include_internal: bool, now: datetime
) -> tuple[Webhook, str]:
    """A new hook and its signing secret (which the caller shows once)."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    hook = Webhook(
        url=rules.check_url(url),
        events=[kind.value for kind in events],
        secret=secret,
        include_internal=include_internal,
        active=True,
        created_at=now,
    )
    session.add(hook)
    session.flush()
    return hook, secret


def remove(session: Session, hook_id: int) -> bool:
    """Stop the hook (kept, with its deliveries, for the record); what it still had to send is
    given up. False if there is no such hook."""
    hook = session.get(Webhook, hook_id)
    if hook is None:
        return False
    hook.active = False
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == hook_id,
            WebhookDelivery.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.FAILED, last_error="the webhook was removed")
    )
    return True


def listing(session: Session) -> list[tuple[Webhook, dict[OutboxStatus, int]]]:
    """Every hook, with how many of its deliveries are in each status."""
    counts: dict[int, dict[OutboxStatus, int]] = {}
    for hook_id, status, count in session.execute(
        select(WebhookDelivery.webhook_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.webhook_id, WebhookDelivery.status
        )
    ):
        counts.setdefault(hook_id, {})[status] = count
    hooks = session.scalars(select(Webhook).order_by(Webhook.id))
    return [(hook, counts.get(hook.id, {})) for hook in hooks]
