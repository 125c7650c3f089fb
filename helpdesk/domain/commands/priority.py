"""``#priority P``: set the priority (and with it the SLA due dates)."""

from __future__ import annotations

from helpdesk.domain.commands.base import Invalid, Ready, Scope, Spec, closest, normal_word
from helpdesk.domain.commands.effects import SetPriority
from helpdesk.domain.vocabulary import Priority, Role


def priority_word(value: str) -> Priority:
    word = normal_word(value)
    names = [p.value for p in Priority]
    if word not in names:
        raise Invalid(f"unknown priority {value.strip()!r}", closest(word, names))
    return Priority(word)


def read(value: str) -> Ready:
    return Ready(SetPriority(priority_word(value)))


COMMAND = Spec(
    "priority",
    "#priority low|medium|high|urgent",
    "set the priority (and SLA due dates)",
    Role.AGENT,
    Scope.TICKET,
    read,
)
