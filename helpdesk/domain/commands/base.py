"""What every command is: its registry entry, the facts its check sees, and how it says no.

A command module reads its value into a request (``Spec.read``, raising ``Invalid`` with a
suggestion), and the request's ``check`` turns it into an effect, or a refusal, over the facts.
Role and scope are checked for every command by ``plan`` before ``check`` runs.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from helpdesk.domain import lifecycle
from helpdesk.domain.commands.effects import Effect, Move
from helpdesk.domain.permissions import AgentInfo, Directory, TicketView
from helpdesk.domain.vocabulary import Role


class Scope(enum.StrEnum):
    TICKET = "ticket"  # in a reply about a ticket, or about the one a new mail opens (#customer)
    REPLY = "reply"  # only in a reply to one of our mails about a ticket: it reaches beyond it
    NEW = "new"  # in a new mail to the support address
    ANY = "any"


class Invalid(Exception):
    """A command's value cannot be read; ``suggestion`` is the value that would have worked."""

    def __init__(self, message: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.message, self.suggestion = message, suggestion


class Why(enum.StrEnum):
    """What kind of refusal: for a mail it is all one answer; the HTTP API tells them apart
    (422, 403, 409)."""

    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Refused:
    message: str
    suggestion: str = ""  # the whole command line that would have worked
    why: Why = Why.INVALID


@dataclass(frozen=True)
class Facts:
    me: AgentInfo
    ticket: TicketView | None
    directory: Directory


class Request(Protocol):
    def check(self, facts: Facts) -> Effect | Refused: ...


@dataclass(frozen=True)
class Ready:
    """A request whose effect needs no check beyond the role and the scope."""

    effect: Effect

    def check(self, facts: Facts) -> Effect | Refused:
        return self.effect


@dataclass(frozen=True)
class Spec:
    name: str
    usage: str
    summary: str
    role: Role | None  # the least role that may use it; None: anyone
    scope: Scope
    read: Callable[[str], Request]
    aliases: tuple[str, ...] = ()
    repeatable: bool = False


def normal_word(value: str) -> str:
    return re.sub(r"[\s-]+", "_", value.strip().lower())


def closest(word: str, options: list[str]) -> str:
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else ""


def no_value(value: str) -> None:
    if value.strip():
        raise Invalid("takes no value")


def required(value: str) -> str:
    if not value.strip():
        raise Invalid("needs a value")
    return value.strip()


def moving(facts: Facts, move: Move) -> Move | Refused:
    """The move, when the ticket may make it (staying where it is is always allowed)."""
    ticket = facts.ticket
    if ticket is None or move.status is ticket.status:
        return move
    if not lifecycle.can_move(ticket.status, move.status):
        message = f"{ticket.number} cannot go from {ticket.status} to {move.status}"
        return Refused(message, why=Why.CONFLICT)
    return move
