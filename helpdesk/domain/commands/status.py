"""``#status S``: set the status, within the moves the state machine allows."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.domain.commands.base import (
    Facts,
    Invalid,
    Refused,
    Scope,
    Spec,
    closest,
    moving,
    normal_word,
)
from helpdesk.domain.commands.effects import Effect, Move
from helpdesk.domain.vocabulary import Role, Status

WORDS = {
    "open": Status.OPEN,
    "in_progress": Status.IN_PROGRESS,
    "progress": Status.IN_PROGRESS,
    "working": Status.IN_PROGRESS,
    "pending": Status.AWAITING_CUSTOMER,
    "awaiting_customer": Status.AWAITING_CUSTOMER,
    "waiting": Status.AWAITING_CUSTOMER,
    "resolved": Status.RESOLVED,
    "solved": Status.RESOLVED,
    "closed": Status.CLOSED,
}


def status_word(value: str) -> Status:
    word = normal_word(value)
    if word not in WORDS:
        raise Invalid(f"unknown status {value.strip()!r}", closest(word, list(WORDS)))
    return WORDS[word]


@dataclass(frozen=True)
class Request:
    status: Status

    def check(self, facts: Facts) -> Effect | Refused:
        return moving(facts, Move(self.status))


def read(value: str) -> Request:
    return Request(status_word(value))


COMMAND = Spec(
    "status",
    "#status open|in_progress|pending|resolved|closed",
    "set the status",
    Role.AGENT,
    Scope.TICKET,
    read,
)
