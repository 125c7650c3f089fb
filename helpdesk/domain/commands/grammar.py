"""Command lines at the top of a mail, read into requests by the registered commands.

Pure. Like Mailman's ``runners/command.py``: only the lines at the top count (before any other
text, at most ``MAX_LINES``), case does not matter, an unknown command is reported with the
closest known one, and ``#help`` is generated from the registry so it cannot drift from the code.
Values are forgiving where a person would be (``#status In Progress``) and strict where guessing
would hurt (an agent name that matches two people is an error naming both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from helpdesk.domain.commands.base import Invalid, Request, Spec, Why, closest
from helpdesk.domain.commands.registry import ALIASES, SPECS

MAX_LINES = 20
_LINE = re.compile(r"^#([A-Za-z_-]+)\b\s*(.*)$")


@dataclass(frozen=True)
class Line:
    number: int
    text: str


@dataclass(frozen=True)
class Command:
    spec: Spec
    line: Line
    request: Request

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Problem:
    line: Line | None
    message: str
    suggestion: str = ""
    usage: str = ""
    why: Why = Why.INVALID

    def __str__(self) -> str:
        where = f"line {self.line.number}: {self.line.text}: " if self.line else ""
        if self.suggestion:
            return f"{where}{self.message}; did you mean {self.suggestion}?"
        return f"{where}{self.message}" + (f" (usage: {self.usage})" if self.usage else "")


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
    commands: list[Command] = []
    problems: list[Problem] = []
    for line in lines:
        read = _read(line)
        if isinstance(read, Problem):
            problems.append(read)
        else:
            commands.append(read)
    return Parsed(commands, problems, body, lines)


def _read(line: Line) -> Command | Problem:
    match = _LINE.match(line.text)
    if match is None:  # split kept only lines that match
        return Problem(line, "not a command line")
    word, value = match.group(1).lower(), match.group(2)
    spec = SPECS.get(ALIASES.get(word, word))
    if spec is None:
        near = closest(word, [*SPECS, *ALIASES])
        near = ALIASES.get(near, near)
        return Problem(line, "unknown command", f"#{near}" if near else "")
    try:
        return Command(spec, line, spec.read(value))
    except Invalid as exc:
        hint = f"#{spec.name} {exc.suggestion}" if exc.suggestion else ""
        return Problem(line, exc.message, hint, spec.usage)
