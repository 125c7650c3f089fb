"""``#help``: the command table, generated from the registry (anyone may ask for it)."""

from __future__ import annotations

from helpdesk.domain.commands.base import Ready, Scope, Spec, no_value
from helpdesk.domain.commands.effects import Help


def read(value: str) -> Ready:
    no_value(value)
    return Ready(Help())


COMMAND = Spec("help", "#help", "this table", None, Scope.ANY, read)
