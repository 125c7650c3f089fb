"""Command lines read from the top of a mail, as a pure function over text."""

from __future__ import annotations

import pytest

from helpdesk.domain.commands import grammar
from helpdesk.domain.commands.registry import REGISTRY, _index, help_text


def test_only_the_lines_at_the_top_are_commands() -> None:
    parsed = grammar.parse("\n#status pending\n\n#priority high\nHello\n#status closed\n")
    assert [c.name for c in parsed.commands] == ["status", "priority"]
    assert parsed.body == "Hello\n#status closed"


def test_unknown_command_suggests_the_closest() -> None:
    [problem] = grammar.parse("#stauts pending").problems
    assert str(problem) == "line 1: #stauts pending: unknown command; did you mean #status?"
    [far] = grammar.parse("#xyzzy").problems
    assert "did you mean" not in str(far)


def test_aliases_name_their_command() -> None:
    names = [c.name for c in grammar.parse("#note\n#tags +a\n#reference X\n#assignee me").commands]
    assert names == ["internal", "tag", "ref", "assign"]


def test_line_cap() -> None:
    text = "\n".join(["#tag +a"] * (grammar.MAX_LINES + 5)) + "\nbody"
    parsed = grammar.parse(text)
    assert len(parsed.lines) == grammar.MAX_LINES


@pytest.mark.parametrize(
    "text", ["#close now", "#customer not-an-email", "#show 1234", "#list colour:red", "#tag"]
)
def test_bad_values_are_problems_with_usage(text: str) -> None:
    [problem] = grammar.parse(text).problems
    assert problem.line is not None and problem.line.text == text
    assert "usage: #" in str(problem)


def test_help_lists_every_registered_command() -> None:
    text = help_text()
    assert all(spec.usage in text and spec.summary in text for spec in REGISTRY)


def test_a_name_registered_twice_is_an_error() -> None:
    [status] = [spec for spec in REGISTRY if spec.name == "status"]
    with pytest.raises(ValueError, match="#status is registered twice"):
        _index((*REGISTRY, status))
