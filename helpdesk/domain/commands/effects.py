"""What a checked command does, as data: the application carries each kind out in one place.

A new command usually reuses one of these kinds; only a new kind of change needs a new class here
and its case in ``helpdesk.app.effects`` (or, for an answer, ``helpdesk.app.feedback``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import get_args

from helpdesk.domain.report import Grouping
from helpdesk.domain.vocabulary import Priority, Status


@dataclass(frozen=True)
class Move:
    """Set the status; ``notes`` are resolution notes (``#resolve``), None leaves them."""

    status: Status
    notes: str | None = None


@dataclass(frozen=True)
class Assign:
    """Assign to an agent or a group; neither is unassigned. ``label`` names the assignee."""

    agent_id: int | None
    group_id: int | None
    label: str


@dataclass(frozen=True)
class SetPriority:
    priority: Priority


@dataclass(frozen=True)
class SetCategory:
    name: str


@dataclass(frozen=True)
class SetReference:
    text: str


@dataclass(frozen=True)
class Retag:
    add: tuple[str, ...]
    remove: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """Block the ticket's customer for ``length`` (None: permanently) and close their tickets."""

    length: timedelta | None
    reason: str


@dataclass(frozen=True)
class Unblock:
    pass


@dataclass(frozen=True)
class Internal:
    """The mail's text is an internal note, not a reply to the customer."""


@dataclass(frozen=True)
class OpenFor:
    """Open the ticket this new mail describes on this customer's behalf."""

    email: str
    name: str


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class ListTickets:
    status: Status | None = None
    priority: Priority | None = None
    assignee: str | None = None  # me, an email, group:NAME or none
    page: int = 1


@dataclass(frozen=True)
class Show:
    number: str


@dataclass(frozen=True)
class ReportFigures:
    """The report of ``helpdesk report``; ``since``/``until`` as written (``7d``, a day)."""

    since: str | None = None
    until: str | None = None
    by: Grouping | None = None


@dataclass(frozen=True)
class SignIn:
    """A sign-in link for the web, in the answer."""


Change = Move | Assign | SetPriority | SetCategory | SetReference | Retag | Block | Unblock
Answer = Help | ListTickets | Show | ReportFigures | SignIn
Effect = Change | Answer | Internal | OpenFor
ANSWERS: tuple[type[Answer], ...] = get_args(Answer)
CHANGES: tuple[type[Change], ...] = get_args(Change)
