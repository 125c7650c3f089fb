"""``#tag +add -remove``: add or remove tags (a bare word adds); may be given more than once."""

from __future__ import annotations

from helpdesk.domain.commands.base import Invalid, Ready, Scope, Spec
from helpdesk.domain.commands.effects import Retag
from helpdesk.domain.vocabulary import Role


def read(value: str) -> Ready:
    add, remove = [], []
    for item in value.split():
        if item.startswith("-") and len(item) > 1:
            remove.append(item[1:].lower())
        elif item.strip("+"):
            add.append(item.lstrip("+").lower())
    if not add and not remove:
        raise Invalid("name tags to add (+tag) or remove (-tag)")
    return Ready(Retag(tuple(add), tuple(remove)))


COMMAND = Spec(
    "tag",
    "#tag +add -remove",
    "add or remove tags",
    Role.AGENT,
    Scope.TICKET,
    read,
    aliases=("tags",),
    repeatable=True,
)
