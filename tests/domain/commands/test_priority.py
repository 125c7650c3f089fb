"""#priority: case does not matter; a typo gets a suggestion."""

from __future__ import annotations

from helpdesk.domain.commands.effects import SetPriority
from helpdesk.domain.vocabulary import Priority
from tests.domain.commands.people import effect, refusal


def test_priority_case_and_suggestion() -> None:
    assert effect("#priority URGENT") == SetPriority(Priority.URGENT)
    assert "did you mean #priority urgent?" in refusal("#priority urgnet")
