"""``#resolve [notes]``: resolve the ticket, keeping the rest of the line as resolution notes."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.domain.commands.base import Facts, Refused, Scope, Spec, moving
from helpdesk.domain.commands.effects import Effect, Move
from helpdesk.domain.vocabulary import Role, Status


@dataclass(frozen=True)
class Request:
    notes: str

    def check(self, facts: Facts) -> Effect | Refused:
        return moving(facts, Move(Status.RESOLVED, self.notes))


def read(value: str) -> Request:
    return Request(value.strip())


COMMAND = Spec(
    "resolve", "#resolve [notes]", "resolve, with resolution notes", Role.AGENT, Scope.TICKET, read
)
