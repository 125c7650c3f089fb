"""#assign: me, an agent by email or name, or a group; others and groups need a supervisor."""

from __future__ import annotations

from helpdesk.domain.commands.effects import Assign
from tests.domain.commands.people import ANN, SUE, effect, refusal


def test_me_and_others() -> None:
    assert effect("#assign me", ANN) == Assign(1, None, "ann@us.test")
    assert effect("#assign Ben Baker", SUE) == Assign(2, None, "ben@us.test")
    assert effect("#assign BEN@us.test", SUE) == Assign(2, None, "ben@us.test")
    assert "#assign me works" in refusal("#assign ben", ANN)


def test_groups() -> None:
    assert effect("#assign group:Billing", SUE) == Assign(None, 7, "group:billing")
    assert "only supervisors may assign to a group" in refusal("#assign group:billing", ANN)
    assert "did you mean #assign group:billing?" in refusal("#assign group:biling", SUE)


def test_a_name_that_is_nobody_or_two_people() -> None:
    assert "no such agent" in refusal("#assign zed", SUE)
    assert "say whom" in refusal("#assign")
