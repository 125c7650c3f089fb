"""The command grammar as a pure function over text."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.domain import grammar
from helpdesk.domain.vocabulary import Priority, Status


def test_only_the_lines_at_the_top_are_commands() -> None:
    parsed = grammar.parse("\n#status pending\n\n#priority high\nHello\n#status closed\n")
    assert [c.name for c in parsed.commands] == ["status", "priority"]
    assert parsed.body == "Hello\n#status closed"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("#status In Progress", Status.IN_PROGRESS),
        ("#STATUS pending", Status.AWAITING_CUSTOMER),
        ("#status awaiting-customer", Status.AWAITING_CUSTOMER),
        ("#status Resolved", Status.RESOLVED),
    ],
)
def test_values_are_forgiving(text: str, status: Status) -> None:
    assert grammar.parse(text).commands[0].args == {"status": status}


def test_priority_case_and_suggestion() -> None:
    assert grammar.parse("#priority URGENT").commands[0].args == {"priority": Priority.URGENT}
    [problem] = grammar.parse("#priority urgnet").problems
    assert "did you mean #priority urgent?" in str(problem)


def test_unknown_command_suggests_the_closest() -> None:
    [problem] = grammar.parse("#stauts pending").problems
    assert str(problem) == "line 1: #stauts pending: unknown command; did you mean #status?"
    [far] = grammar.parse("#xyzzy").problems
    assert "did you mean" not in str(far)


def test_line_cap() -> None:
    text = "\n".join(["#tag +a"] * (grammar.MAX_LINES + 5)) + "\nbody"
    parsed = grammar.parse(text)
    assert len(parsed.lines) == grammar.MAX_LINES


@pytest.mark.parametrize(
    ("text", "args"),
    [
        ("#block 7d spam mails", {"for": timedelta(days=7), "reason": "spam mails"}),
        ("#block 12h", {"for": timedelta(hours=12), "reason": ""}),
        ("#block permanent fraud", {"until": None, "reason": "fraud"}),
        ("#block rude", {"until": None, "reason": "rude"}),
        ("#assign group:Billing", {"group": "Billing"}),
        ("#assign Ann Archer", {"agent": "Ann Archer"}),
        ("#tag +vip -new extra", {"add": ["vip", "extra"], "remove": ["new"]}),
        ("#customer <Bo@X.test> Bo Bell", {"email": "bo@x.test", "name": "Bo Bell"}),
        ("#show tkt-4f7q2k", {"number": "TKT-4F7Q2K"}),
        ("#list status:open page:2", {"status": Status.OPEN, "page": 2}),
        ("#resolve", {"text": ""}),
    ],
)
def test_arguments(text: str, args: dict[str, object]) -> None:
    parsed = grammar.parse(text)
    assert parsed.problems == [] and parsed.commands[0].args == args


@pytest.mark.parametrize(
    "text", ["#close now", "#customer not-an-email", "#show 1234", "#list colour:red", "#tag"]
)
def test_bad_values_are_problems_with_usage(text: str) -> None:
    [problem] = grammar.parse(text).problems
    assert problem.line is not None and problem.line.text == text


def test_help_lists_every_registered_command() -> None:
    text = grammar.help_text()
    assert all(spec.usage in text for spec in grammar.REGISTRY)
