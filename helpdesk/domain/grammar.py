"""The agent command grammar: command lines at the top of a mail, parsed into typed commands.

Pure. Like Mailman's ``runners/command.py``: only the lines at the top count (before any other
text, at most ``MAX_LINES``), case does not matter, an unknown command is reported with the
closest known one, and ``#help`` is generated from the registry so it cannot drift from the code.
Values are forgiving where a person would be (``#status In Progress``) and strict where guessing
would hurt (an agent name that matches two people is an error naming both).
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from helpdesk.domain.vocabulary import Priority, Role, Status

MAX_LINES = 20
_LINE = re.compile(r"^#([A-Za-z_-]+)\b\s*(.*)$")
_DURATION = re.compile(r"^(\d+)\s*(m|min|h|d|w)$", re.I)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Scope(enum.StrEnum):
    TICKET = "ticket"  # in a reply to one of our mails about a ticket
    NEW = "new"  # in a new mail to the support address
    ANY = "any"


@dataclass(frozen=True)
class Line:
    number: int
    text: str


@dataclass(frozen=True)
class Command:
    name: str
    line: Line
    args: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    line: Line | None
    message: str
    suggestion: str = ""
    usage: str = ""

    def __str__(self) -> str:
        where = f"line {self.line.number}: {self.line.text}: " if self.line else ""
        if self.suggestion:
            return f"{where}{self.message}; did you mean {self.suggestion}?"
        return f"{where}{self.message}" + (f" (usage: {self.usage})" if self.usage else "")


class Invalid(Exception):
    def __init__(self, message: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.message, self.suggestion = message, suggestion


Parser = Callable[[str], dict[str, object]]


@dataclass(frozen=True)
class Spec:
    name: str
    usage: str
    effect: str
    role: Role | None  # the least role that may use it; None: anyone
    scope: Scope
    parse: Parser


STATUS_WORDS = {
    "open": Status.OPEN,
    "in_progress": Status.IN_PROGRESS,
    "progress": Status.IN_PROGRESS,
    "working": Status.IN_PROGRESS,
    "pending": Status.AWAITING_CUSTOMER,
    "awaiting_customer": Status.AWAITING_CUSTOMER,
    "waiting": Status.AWAITING_CUSTOMER,
    "resolved": Status.RESOLVED,
    "solved": Status.RESOLVED,
    "closed": Status.CLOSED,
}


def _word(value: str) -> str:
    return re.sub(r"[\s-]+", "_", value.strip().lower())


def _closest(word: str, options: list[str]) -> str:
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else ""


def _status(value: str) -> dict[str, object]:
    word = _word(value)
    if word not in STATUS_WORDS:
        raise Invalid(f"unknown status {value.strip()!r}", _closest(word, list(STATUS_WORDS)))
    return {"status": STATUS_WORDS[word]}


def _priority(value: str) -> dict[str, object]:
    word = _word(value)
    names = [p.value for p in Priority]
    if word not in names:
        raise Invalid(f"unknown priority {value.strip()!r}", _closest(word, names))
    return {"priority": Priority(word)}


def _assign(value: str) -> dict[str, object]:
    target = value.strip()
    if not target:
        raise Invalid("say whom: me, an agent's email or name, or group:NAME")
    if target.lower().startswith("group:"):
        return {"group": target[6:].strip()}
    return {"agent": target}


def _nothing(value: str) -> dict[str, object]:
    if value.strip():
        raise Invalid("takes no value")
    return {}


def _text(value: str) -> dict[str, object]:
    return {"text": value.strip()}


def _required_text(value: str) -> dict[str, object]:
    if not value.strip():
        raise Invalid("needs a value")
    return {"text": value.strip()}


def _tags(value: str) -> dict[str, object]:
    add, remove = [], []
    for item in value.split():
        if item.startswith("-") and len(item) > 1:
            remove.append(item[1:].lower())
        elif item.strip("+"):
            add.append(item.lstrip("+").lower())
    if not add and not remove:
        raise Invalid("name tags to add (+tag) or remove (-tag)")
    return {"add": add, "remove": remove}


def duration(word: str) -> timedelta | None:
    match = _DURATION.match(word)
    if match is None:
        return None
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def _block(value: str) -> dict[str, object]:
    first, _, rest = value.strip().partition(" ")
    if first.lower() == "permanent":
        return {"until": None, "reason": rest.strip()}
    length = duration(first)
    if length is not None:
        return {"for": length, "reason": rest.strip()}
    return {"until": None, "reason": value.strip()}


def _customer(value: str) -> dict[str, object]:
    email, _, name = value.strip().partition(" ")
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise Invalid("needs the customer's email address first")
    return {"email": email.strip("<>").lower(), "name": name.strip().strip('"')}


def _list(value: str) -> dict[str, object]:
    filters: dict[str, object] = {}
    for item in value.split():
        key, colon, val = item.partition(":")
        key = key.lower()
        if not colon or key not in ("status", "priority", "assignee", "page"):
            near = _closest(key, ["status", "priority", "assignee", "page"])
            raise Invalid(f"unknown filter {item!r}", f"{near}:…" if near else "")
        if key == "status":
            filters.update(_status(val))
        elif key == "priority":
            filters.update(_priority(val))
        elif key == "page":
            if not val.isdigit() or int(val) < 1:
                raise Invalid("page must be a number from 1")
            filters["page"] = int(val)
        else:
            filters["assignee"] = val
    return filters


def _show(value: str) -> dict[str, object]:
    number = value.strip().upper()
    if not re.fullmatch(r"TKT-[0-9A-Z]{4,12}", number):
        raise Invalid("needs a ticket number like TKT-4F7Q2K")
    return {"number": number}


REGISTRY: tuple[Spec, ...] = (
    Spec(
        "status",
        "#status open|in_progress|pending|resolved|closed",
        "set the status",
        Role.AGENT,
        Scope.TICKET,
        _status,
    ),
    Spec(
        "priority",
        "#priority low|medium|high|urgent",
        "set the priority (and SLA due dates)",
        Role.AGENT,
        Scope.TICKET,
        _priority,
    ),
    Spec(
        "assign",
        "#assign me | agent email or name | group:NAME",
        "assign (to others: supervisors)",
        Role.AGENT,
        Scope.TICKET,
        _assign,
    ),
    Spec("unassign", "#unassign", "remove the assignee", Role.AGENT, Scope.TICKET, _nothing),
    Spec(
        "internal",
        "#internal",
        "the text below is an internal note, never sent to the customer",
        Role.AGENT,
        Scope.TICKET,
        _nothing,
    ),
    Spec(
        "resolve",
        "#resolve [notes]",
        "resolve, with resolution notes",
        Role.AGENT,
        Scope.TICKET,
        _text,
    ),
    Spec("close", "#close", "close the ticket", Role.AGENT, Scope.TICKET, _nothing),
    Spec(
        "category", "#category NAME", "set the category", Role.AGENT, Scope.TICKET, _required_text
    ),
    Spec("tag", "#tag +add -remove", "add or remove tags", Role.AGENT, Scope.TICKET, _tags),
    Spec(
        "ref",
        "#ref REFERENCE",
        "set the external reference (an order number…)",
        Role.AGENT,
        Scope.TICKET,
        _required_text,
    ),
    Spec(
        "block",
        "#block [30m|12h|7d|2w|permanent] [reason]",
        "block the customer and close their active tickets",
        Role.SUPERVISOR,
        Scope.TICKET,
        _block,
    ),
    Spec(
        "unblock", "#unblock", "lift the customer's block", Role.SUPERVISOR, Scope.TICKET, _nothing
    ),
    Spec(
        "customer",
        "#customer EMAIL [name]",
        "in a new mail: open the ticket on that customer's behalf",
        Role.AGENT,
        Scope.NEW,
        _customer,
    ),
    Spec(
        "list",
        "#list [status:S] [priority:P] [assignee:me|EMAIL|group:G|none] [page:N]",
        "in a new mail: list the tickets you may see",
        Role.AGENT,
        Scope.NEW,
        _list,
    ),
    Spec(
        "show",
        "#show TKT-…",
        "in a new mail: one ticket with its full history",
        Role.AGENT,
        Scope.NEW,
        _show,
    ),
    Spec("help", "#help", "this table", None, Scope.ANY, _nothing),
)
SPECS = {spec.name: spec for spec in REGISTRY}
ALIASES = {"assignee": "assign", "tags": "tag", "note": "internal", "reference": "ref"}


@dataclass(frozen=True)
class Parsed:
    commands: list[Command]
    problems: list[Problem]
    body: str
    lines: list[Line]


def split(text: str) -> tuple[list[Line], str]:
    """The command lines at the top (blank lines between them allowed) and the text after."""
    lines = text.replace("\r\n", "\n").split("\n")
    found: list[Line] = []
    index = 0
    while index < len(lines) and len(found) < MAX_LINES:
        stripped = lines[index].strip()
        if stripped.startswith("#") and _LINE.match(stripped):
            found.append(Line(index + 1, stripped))
        elif stripped:
            break
        index += 1
    return found, "\n".join(lines[index:]).strip("\n")


def parse(text: str) -> Parsed:
    lines, body = split(text)
    commands, problems = [], []
    for line in lines:
        match = _LINE.match(line.text)
        assert match is not None
        word, value = match.group(1).lower(), match.group(2)
        name = ALIASES.get(word, word)
        spec = SPECS.get(name)
        if spec is None:
            near = _closest(word, [*SPECS, *ALIASES])
            near = ALIASES.get(near, near)
            problems.append(Problem(line, "unknown command", f"#{near}" if near else ""))
            continue
        try:
            commands.append(Command(spec.name, line, spec.parse(value)))
        except Invalid as exc:
            hint = f"#{spec.name} {exc.suggestion}" if exc.suggestion else ""
            problems.append(Problem(line, exc.message, hint, spec.usage))
    return Parsed(commands, problems, body, lines)


def help_text() -> str:
    rows = []
    for spec in REGISTRY:
        who = "anyone" if spec.role is None else f"{spec.role.value}s"
        rows.append(f"{spec.usage}\n    {spec.effect} ({who})")
    return "Commands go on the first lines of your mail, one per line:\n\n" + "\n".join(rows)
