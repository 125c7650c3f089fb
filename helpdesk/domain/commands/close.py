"""``#close``: close the ticket (from an agent; a customer's ``#close`` resolves it instead)."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.domain.commands.base import Facts, Refused, Scope, Spec, moving, no_value
from helpdesk.domain.commands.effects import Effect, Move
from helpdesk.domain.vocabulary import Role, Status


@dataclass(frozen=True)
class Request:
    def check(self, facts: Facts) -> Effect | Refused:
        return moving(facts, Move(Status.CLOSED))


def read(value: str) -> Request:
    no_value(value)
    return Request()


COMMAND = Spec("close", "#close", "close the ticket", Role.AGENT, Scope.TICKET, read)
