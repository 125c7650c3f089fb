"""``#customer EMAIL [name]``: in a new mail, open the ticket on that customer's behalf."""

from __future__ import annotations

from helpdesk.domain.commands.base import Invalid, Ready, Scope, Spec
from helpdesk.domain.commands.effects import OpenFor
from helpdesk.domain.mail.message import CONTROL, plausible_address
from helpdesk.domain.vocabulary import Role


def read(value: str) -> Ready:
    """The address is held to what the mail parser accepts: it will be written to."""
    email, _, name = value.strip().partition(" ")
    email = email.strip("<>").lower()
    if not plausible_address(email):
        raise Invalid("needs the customer's email address first")
    return Ready(OpenFor(email, CONTROL.sub("", name).strip().strip('"')[:200]))


COMMAND = Spec(
    "customer",
    "#customer EMAIL [name]",
    "in a new mail: open the ticket on that customer's behalf",
    Role.AGENT,
    Scope.NEW,
    read,
)
