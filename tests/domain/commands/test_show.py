"""#show: one ticket by its number, in a new mail."""

from __future__ import annotations

from helpdesk.domain.commands.base import Scope
from helpdesk.domain.commands.effects import Show
from tests.domain.commands.people import checked


def test_show() -> None:
    [action] = checked("#show tkt-4f7q2k", ticket=None, scope=Scope.NEW).actions
    assert action.effect == Show("TKT-4F7Q2K")
    [problem] = checked("#show 1234", ticket=None, scope=Scope.NEW).problems
    assert "needs a ticket number" in str(problem)
