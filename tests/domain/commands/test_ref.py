"""#ref: the external reference, cut to the column's width."""

from __future__ import annotations

from helpdesk.domain.commands.effects import SetReference
from tests.domain.commands.people import effect, refusal


def test_ref() -> None:
    assert effect("#ref ORDER-1234") == SetReference("ORDER-1234")
    assert effect("#ref " + "x" * 300) == SetReference("x" * 200)
    assert "needs a value" in refusal("#ref")
