"""``#category NAME``: set the category, one of the configured ones."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from helpdesk.domain.commands.base import Facts, Refused, Scope, Spec, required
from helpdesk.domain.commands.effects import Effect, SetCategory
from helpdesk.domain.vocabulary import Role


@dataclass(frozen=True)
class Request:
    name: str

    def check(self, facts: Facts) -> Effect | Refused:
        name = self.name.lower().replace(" ", "_")
        known = facts.directory.categories
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1)
            return Refused(f"unknown category {name!r}", f"#category {near[0]}" if near else "")
        return SetCategory(name)


def read(value: str) -> Request:
    return Request(required(value))


COMMAND = Spec("category", "#category NAME", "set the category", Role.AGENT, Scope.TICKET, read)
