"""``#list [status:S] [priority:P] [assignee:…] [page:N]``: the tickets the agent may see."""

from __future__ import annotations

from dataclasses import replace

from helpdesk.domain.commands.base import Invalid, Ready, Scope, Spec, closest
from helpdesk.domain.commands.effects import ListTickets
from helpdesk.domain.commands.priority import priority_word
from helpdesk.domain.commands.status import status_word
from helpdesk.domain.vocabulary import Role

FILTERS = ["status", "priority", "assignee", "page"]
MAX_PAGE = 10_000  # 200,000 tickets at 20 a page; a database integer overflows far beyond it


def _page(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise Invalid(f"page must be a number from 1 to {MAX_PAGE}", "page:1")
    return int(value)


def read(value: str) -> Ready:
    wanted = ListTickets()
    for item in value.split():
        key, colon, val = item.partition(":")
        key = key.lower()
        if not colon or key not in FILTERS:
            near = closest(key, FILTERS)
            raise Invalid(f"unknown filter {item!r}", f"{near}:…" if near else "")
        if key == "status":
            wanted = replace(wanted, status=status_word(val))
        elif key == "priority":
            wanted = replace(wanted, priority=priority_word(val))
        elif key == "page":
            wanted = replace(wanted, page=_page(val))
        else:
            wanted = replace(wanted, assignee=val)
    return Ready(wanted)


COMMAND = Spec(
    "list",
    "#list [status:S] [priority:P] [assignee:me|EMAIL|group:G|none] [page:N]",
    "in a new mail: list the tickets you may see",
    Role.AGENT,
    Scope.NEW,
    read,
)
