"""#block and #unblock: a length or permanent, then a reason; supervisors only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.domain.commands.base import Scope
from helpdesk.domain.commands.effects import Block, Unblock
from tests.domain.commands.people import ANN, SUE, checked, effect, refusal


@pytest.mark.parametrize(
    ("text", "block"),
    [
        ("#block 7d spam mails", Block(timedelta(days=7), "spam mails")),
        ("#block 12h", Block(timedelta(hours=12), "")),
        ("#block 30m", Block(timedelta(minutes=30), "")),
        ("#block 2w", Block(timedelta(weeks=2), "")),
        ("#block permanent fraud", Block(None, "fraud")),
        ("#block rude", Block(None, "rude")),
    ],
)
def test_block(text: str, block: Block) -> None:
    assert effect(text, SUE) == block


def test_supervisors_only() -> None:
    assert "only supervisors may use #block" in refusal("#block 7d", ANN)
    assert effect("#unblock", SUE) == Unblock()
    assert "only supervisors may use #unblock" in refusal("#unblock", ANN)


def test_never_in_a_new_mail_even_after_customer() -> None:
    for text in ("#customer bo@x.test\n#block 7d", "#customer bo@x.test\n#unblock"):
        [problem] = checked(text, SUE, None, Scope.NEW).problems
        assert "never in a new mail" in str(problem)
