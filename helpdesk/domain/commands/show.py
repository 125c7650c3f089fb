"""``#show TKT-…``: in a new mail, one ticket with its full history (if the agent may see it)."""

from __future__ import annotations

import re

from helpdesk.domain.commands.base import Invalid, Ready, Scope, Spec
from helpdesk.domain.commands.effects import Show
from helpdesk.domain.vocabulary import Role

_NUMBER = re.compile(r"TKT-[0-9A-Z]{4,12}")


def read(value: str) -> Ready:
    number = value.strip().upper()
    if not _NUMBER.fullmatch(number):
        raise Invalid("needs a ticket number like TKT-4F7Q2K")
    return Ready(Show(number))


COMMAND = Spec(
    "show",
    "#show TKT-…",
    "in a new mail: one ticket with its full history",
    Role.AGENT,
    Scope.NEW,
    read,
)
