"""#resolve: resolves, keeping the rest of the line as resolution notes."""

from __future__ import annotations

from helpdesk.domain.commands.effects import Move
from helpdesk.domain.vocabulary import Status
from tests.domain.commands.people import effect


def test_notes_are_kept() -> None:
    assert effect("#resolve replaced the router") == Move(Status.RESOLVED, "replaced the router")
    assert effect("#resolve") == Move(Status.RESOLVED, "")
