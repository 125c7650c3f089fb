"""``#internal``: the text below the command lines is an internal note."""

from __future__ import annotations

from helpdesk.domain.commands.base import Ready, Scope, Spec, no_value
from helpdesk.domain.commands.effects import Internal
from helpdesk.domain.vocabulary import Role


def read(value: str) -> Ready:
    no_value(value)
    return Ready(Internal())


COMMAND = Spec(
    "internal",
    "#internal",
    "the text below is an internal note, never sent to the customer",
    Role.AGENT,
    Scope.TICKET,
    read,
    aliases=("note",),
)
