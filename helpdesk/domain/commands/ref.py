"""``#ref REFERENCE``: set the external reference (an order number, a case in another system)."""

from __future__ import annotations

from helpdesk.domain.commands.base import Ready, Scope, Spec, required
from helpdesk.domain.commands.effects import SetReference
from helpdesk.domain.vocabulary import Role

MAX_LENGTH = 200  # the column's width


def read(value: str) -> Ready:
    return Ready(SetReference(required(value)[:MAX_LENGTH]))


COMMAND = Spec(
    "ref",
    "#ref REFERENCE",
    "set the external reference (an order number…)",
    Role.AGENT,
    Scope.TICKET,
    read,
    aliases=("reference",),
)
