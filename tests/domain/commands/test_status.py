"""#status: forgiving words, and only the moves the state machine allows."""

from __future__ import annotations

import pytest

from helpdesk.domain.commands.effects import Move
from helpdesk.domain.permissions import TicketView
from helpdesk.domain.vocabulary import Status
from tests.domain.commands.people import effect, refusal


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("#status In Progress", Status.IN_PROGRESS),
        ("#STATUS pending", Status.AWAITING_CUSTOMER),
        ("#status awaiting-customer", Status.AWAITING_CUSTOMER),
        ("#status Resolved", Status.RESOLVED),
    ],
)
def test_values_are_forgiving(text: str, status: Status) -> None:
    assert effect(text) == Move(status)


def test_an_unknown_status_suggests_the_closest() -> None:
    assert "did you mean #status pending?" in refusal("#status pendng")


def test_a_move_the_state_machine_forbids_is_refused() -> None:
    closed = TicketView("TKT-DDDDDD", Status.CLOSED, None, None)
    assert "TKT-DDDDDD cannot go from closed to awaiting_customer" in refusal(
        "#status pending", ticket=closed
    )
    assert effect("#status closed", ticket=closed) == Move(Status.CLOSED)  # staying is allowed
