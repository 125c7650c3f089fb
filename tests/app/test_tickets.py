"""Opening a ticket: its number is one no stored ticket has."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpdesk.app import customers, ticket_numbers
from helpdesk.app import tickets as ticket_ops
from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import AuthorKind


def test_a_number_a_stored_ticket_has_is_drawn_again(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    with app.sessions.begin() as session:
        customer = customers.customer_for(session, "cy@customer.test", "Cy", now)
        actor = ticket_ops.Actor(AuthorKind.CUSTOMER, customer.email)
        first = ticket_ops.open_ticket(session, customer, "Broken", "It broke", actor, now)
        taken = first.number
    drawn = iter([taken, taken, "TKT-UNUSED"])
    monkeypatch.setattr(ticket_numbers, "new_number", lambda: next(drawn))
    with app.sessions.begin() as session:
        customer = customers.customer_for(session, "cy@customer.test", "Cy", now)
        actor = ticket_ops.Actor(AuthorKind.CUSTOMER, customer.email)
        second = ticket_ops.open_ticket(session, customer, "Again", "It broke again", actor, now)
        session.flush()  # before the fix: the unique key refused it here
        assert second.number == "TKT-UNUSED"
