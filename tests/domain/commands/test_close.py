"""#close: closes, and takes no value."""

from __future__ import annotations

from helpdesk.domain.commands.effects import Move
from helpdesk.domain.vocabulary import Status
from tests.domain.commands.people import effect, refusal


def test_close() -> None:
    assert effect("#close") == Move(Status.CLOSED)
    assert "takes no value" in refusal("#close now")
