"""``#unblock``: lift the block on the ticket's customer."""

from __future__ import annotations

from helpdesk.domain.commands.base import Ready, Scope, Spec, no_value
from helpdesk.domain.commands.effects import Unblock
from helpdesk.domain.vocabulary import Role


def read(value: str) -> Ready:
    no_value(value)
    return Ready(Unblock())


COMMAND = Spec(
    "unblock", "#unblock", "lift the customer's block", Role.SUPERVISOR, Scope.REPLY, read
)
