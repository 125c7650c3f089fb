"""#internal (or #note): the mail's text becomes an internal note."""

from __future__ import annotations

from helpdesk.domain.commands.effects import Internal
from tests.domain.commands.people import checked, effect


def test_internal() -> None:
    assert effect("#internal") == Internal() == effect("#note")
    assert checked("#internal").internal
