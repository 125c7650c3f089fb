"""#unassign: an agent may drop their own or an unassigned ticket; another's needs a supervisor."""

from __future__ import annotations

from helpdesk.domain.commands.effects import Assign
from tests.domain.commands.people import BEN, BENS, SUE, effect, refusal


def test_unassign() -> None:
    assert effect("#unassign", BEN, BENS) == Assign(None, None, "")
    assert effect("#unassign", SUE, BENS) == Assign(None, None, "")
    assert "assigned to someone else" in refusal("#unassign", ticket=BENS)
