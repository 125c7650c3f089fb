"""#category: one of the configured categories, normalised, with a suggestion."""

from __future__ import annotations

from helpdesk.domain.commands.effects import SetCategory
from tests.domain.commands.people import effect, refusal


def test_category() -> None:
    assert effect("#category Billing") == SetCategory("billing")
    assert "did you mean #category billing?" in refusal("#category biling")
    assert "needs a value" in refusal("#category")
