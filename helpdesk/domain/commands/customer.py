"""``#customer EMAIL [name]``: in a new mail, open the ticket on that customer's behalf."""

from __future__ import annotations

from helpdesk.domain.commands.base import Invalid, Ready, Scope, Spec
from helpdesk.domain.commands.effects import OpenFor
from helpdesk.domain.vocabulary import Role


def read(value: str) -> Ready:
    email, _, name = value.strip().partition(" ")
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise Invalid("needs the customer's email address first")
    return Ready(OpenFor(email.strip("<>").lower(), name.strip().strip('"')))


COMMAND = Spec(
    "customer",
    "#customer EMAIL [name]",
    "in a new mail: open the ticket on that customer's behalf",
    Role.AGENT,
    Scope.NEW,
    read,
)
