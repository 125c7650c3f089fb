"""``#unassign``: remove the assignee (another agent's ticket: supervisors only)."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.domain.commands.base import Facts, Refused, Scope, Spec, Why, no_value
from helpdesk.domain.commands.effects import Assign, Effect
from helpdesk.domain.vocabulary import Role


@dataclass(frozen=True)
class Request:
    def check(self, facts: Facts) -> Effect | Refused:
        ticket, me = facts.ticket, facts.me
        if ticket is not None and not me.sees_all and ticket.assignee_agent_id not in (None, me.id):
            return Refused("only supervisors may unassign another agent", why=Why.FORBIDDEN)
        return Assign(None, None, "")


def read(value: str) -> Request:
    no_value(value)
    return Request()


COMMAND = Spec("unassign", "#unassign", "remove the assignee", Role.AGENT, Scope.TICKET, read)
