"""#help: anyone, anywhere; the table comes from the registry."""

from __future__ import annotations

from helpdesk.domain.commands.base import Scope
from helpdesk.domain.commands.effects import Help
from tests.domain.commands.people import checked, effect


def test_help() -> None:
    assert effect("#help") == Help()
    assert [a.effect for a in checked("#help", ticket=None, scope=Scope.NEW).actions] == [Help()]
