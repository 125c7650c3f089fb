"""#tag: +add, -remove, a bare word adds."""

from __future__ import annotations

from helpdesk.domain.commands.effects import Retag
from tests.domain.commands.people import effect, refusal


def test_tags() -> None:
    assert effect("#tag +VIP -new extra") == Retag(("vip", "extra"), ("new",))
    assert "name tags" in refusal("#tag +")
