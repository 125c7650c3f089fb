"""``#assign me | AGENT | group:NAME``: agents take tickets; supervisors assign them to others."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from helpdesk.domain.commands.base import Facts, Invalid, Refused, Scope, Spec, Why
from helpdesk.domain.commands.effects import Assign, Effect
from helpdesk.domain.permissions import find_agent
from helpdesk.domain.vocabulary import Role


@dataclass(frozen=True)
class ToAgent:
    words: str  # me, an email, or a name

    def check(self, facts: Facts) -> Effect | Refused:
        found = find_agent(facts.directory, self.words, facts.me)
        if isinstance(found, str):
            return Refused(found)
        if found.id != facts.me.id and not facts.me.sees_all:
            message = "only supervisors may assign to others; #assign me works"
            return Refused(message, why=Why.FORBIDDEN)
        return Assign(found.id, None, found.email)


@dataclass(frozen=True)
class ToGroup:
    name: str

    def check(self, facts: Facts) -> Effect | Refused:
        name = self.name.lower()
        if not facts.me.sees_all:
            return Refused("only supervisors may assign to a group", why=Why.FORBIDDEN)
        groups = facts.directory.groups
        if name not in groups:
            near = difflib.get_close_matches(name, list(groups), n=1)
            return Refused(f"no group {name!r}", f"#assign group:{near[0]}" if near else "")
        return Assign(None, groups[name], f"group:{name}")


def read(value: str) -> ToAgent | ToGroup:
    target = value.strip()
    if not target:
        raise Invalid("say whom: me, an agent's email or name, or group:NAME")
    if target.lower().startswith("group:"):
        return ToGroup(target[6:].strip())
    return ToAgent(target)


COMMAND = Spec(
    "assign",
    "#assign me | agent email or name | group:NAME",
    "assign (to others: supervisors)",
    Role.AGENT,
    Scope.TICKET,
    read,
    aliases=("assignee",),
)
