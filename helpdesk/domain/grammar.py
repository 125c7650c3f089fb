"""The agent command grammar: command lines at the top of a mail, parsed into typed commands.

Pure. Like Mailman's ``runners/command.py``: only the lines at the top count (before any other
text, at most ``MAX_LINES``), case does not matter, an unknown command is reported with the
closest known one, and ``#help`` is generated from the registry so it cannot drift from the code.
Values are forgiving where a person would be (``#status In Progress``) and strict where guessing
would hurt (an agent name that matches two people is an error naming both).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from helpdesk.domain import arguments
from helpdesk.domain.vocabulary import Role

MAX_LINES = 20
_LINE = re.compile(r"^#([A-Za-z_-]+)\b\s*(.*)$")


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


Parser = Callable[[str], dict[str, object]]


@dataclass(frozen=True)
class Spec:
    name: str
    usage: str
    effect: str
    role: Role | None  # the least role that may use it; None: anyone
    scope: Scope
    parse: Parser


REGISTRY: tuple[Spec, ...] = (
    Spec(
        "status",
        "#status open|in_progress|pending|resolved|closed",
        "set the status",
        Role.AGENT,
        Scope.TICKET,
        arguments.status,
    ),
    Spec(
        "priority",
        "#priority low|medium|high|urgent",
        "set the priority (and SLA due dates)",
        Role.AGENT,
        Scope.TICKET,
        arguments.priority,
    ),
    Spec(
        "assign",
        "#assign me | agent email or name | group:NAME",
        "assign (to others: supervisors)",
        Role.AGENT,
        Scope.TICKET,
        arguments.assign,
    ),
    Spec(
        "unassign", "#unassign", "remove the assignee", Role.AGENT, Scope.TICKET, arguments.nothing
    ),
    Spec(
        "internal",
        "#internal",
        "the text below is an internal note, never sent to the customer",
        Role.AGENT,
        Scope.TICKET,
        arguments.nothing,
    ),
    Spec(
        "resolve",
        "#resolve [notes]",
        "resolve, with resolution notes",
        Role.AGENT,
        Scope.TICKET,
        arguments.text,
    ),
    Spec("close", "#close", "close the ticket", Role.AGENT, Scope.TICKET, arguments.nothing),
    Spec(
        "category",
        "#category NAME",
        "set the category",
        Role.AGENT,
        Scope.TICKET,
        arguments.required_text,
    ),
    Spec(
        "tag", "#tag +add -remove", "add or remove tags", Role.AGENT, Scope.TICKET, arguments.tags
    ),
    Spec(
        "ref",
        "#ref REFERENCE",
        "set the external reference (an order number…)",
        Role.AGENT,
        Scope.TICKET,
        arguments.required_text,
    ),
    Spec(
        "block",
        "#block [30m|12h|7d|2w|permanent] [reason]",
        "block the customer and close their active tickets",
        Role.SUPERVISOR,
        Scope.TICKET,
        arguments.block,
    ),
    Spec(
        "unblock",
        "#unblock",
        "lift the customer's block",
        Role.SUPERVISOR,
        Scope.TICKET,
        arguments.nothing,
    ),
    Spec(
        "customer",
        "#customer EMAIL [name]",
        "in a new mail: open the ticket on that customer's behalf",
        Role.AGENT,
        Scope.NEW,
        arguments.customer,
    ),
    Spec(
        "list",
        "#list [status:S] [priority:P] [assignee:me|EMAIL|group:G|none] [page:N]",
        "in a new mail: list the tickets you may see",
        Role.AGENT,
        Scope.NEW,
        arguments.listing,
    ),
    Spec(
        "show",
        "#show TKT-…",
        "in a new mail: one ticket with its full history",
        Role.AGENT,
        Scope.NEW,
        arguments.show,
    ),
    Spec("help", "#help", "this table", None, Scope.ANY, arguments.nothing),
)
SPECS = {spec.name: spec for spec in REGISTRY}
STATUS_COMMANDS = frozenset({"status", "resolve", "close"})  # the commands that set the status
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
            near = arguments.closest(word, [*SPECS, *ALIASES])
            near = ALIASES.get(near, near)
            problems.append(Problem(line, "unknown command", f"#{near}" if near else ""))
            continue
        try:
            commands.append(Command(spec.name, line, spec.parse(value)))
        except arguments.Invalid as exc:
            hint = f"#{spec.name} {exc.suggestion}" if exc.suggestion else ""
            problems.append(Problem(line, exc.message, hint, spec.usage))
    return Parsed(commands, problems, body, lines)


def help_text() -> str:
    rows = []
    for spec in REGISTRY:
        who = "anyone" if spec.role is None else f"{spec.role.value}s"
        rows.append(f"{spec.usage}\n    {spec.effect} ({who})")
    return "Commands go on the first lines of your mail, one per line:\n\n" + "\n".join(rows)
