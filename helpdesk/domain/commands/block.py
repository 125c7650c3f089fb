"""``#block [30m|12h|7d|2w|permanent] [reason]``: block the customer, close their tickets."""

from __future__ import annotations

from helpdesk.domain import durations
from helpdesk.domain.commands.base import Ready, Scope, Spec
from helpdesk.domain.commands.effects import Block
from helpdesk.domain.vocabulary import Role


def read(value: str) -> Ready:
    """A length first, or ``permanent``; without either the whole line is the reason."""
    first, _, rest = value.strip().partition(" ")
    if first.lower() == "permanent":
        return Ready(Block(None, rest.strip()))
    length = durations.parse(first)
    if length is not None:
        return Ready(Block(length, rest.strip()))
    return Ready(Block(None, value.strip()))


COMMAND = Spec(
    "block",
    "#block [30m|12h|7d|2w|permanent] [reason]",
    "block the customer and close their active tickets",
    Role.SUPERVISOR,
    Scope.REPLY,
    read,
)
