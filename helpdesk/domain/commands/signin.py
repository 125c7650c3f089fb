"""``#signin``: in a new mail, a link that signs the agent in on the web (sent to the address the
team has for them, never to whoever wrote: a forged sender gets nothing)."""

from __future__ import annotations

from helpdesk.domain.commands.base import Ready, Scope, Spec, no_value
from helpdesk.domain.commands.effects import SignIn
from helpdesk.domain.vocabulary import Role


def read(value: str) -> Ready:
    no_value(value)
    return Ready(SignIn())


COMMAND = Spec(
    "signin", "#signin", "in a new mail: a link to sign in on the web", Role.AGENT, Scope.NEW, read
)
