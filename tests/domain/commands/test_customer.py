"""#customer: in a new mail, the customer to open the ticket for."""

from __future__ import annotations

from helpdesk.domain.commands.base import Scope
from helpdesk.domain.commands.effects import OpenFor
from tests.domain.commands.people import checked


def test_customer() -> None:
    result = checked("#customer <Bo@X.test> Bo Bell", ticket=None, scope=Scope.NEW)
    assert [a.effect for a in result.actions] == [OpenFor("bo@x.test", "Bo Bell")]
    [problem] = checked("#customer not-an-email", ticket=None, scope=Scope.NEW).problems
    assert "needs the customer's email address first" in str(problem)


def test_an_address_the_parser_would_refuse_is_refused() -> None:
    """Issue 11, item 11: a CR in the address would reach a header of the acknowledgement."""
    for text in ("#customer bo\r@x.test", "#customer bo bell@x.test", "#customer @x.test"):
        [problem] = checked(text, ticket=None, scope=Scope.NEW).problems
        assert "needs the customer's email address first" in str(problem)
    [action] = checked("#customer bo@x.test Bo\x07 Bell", ticket=None, scope=Scope.NEW).actions
    assert action.effect == OpenFor("bo@x.test", "Bo Bell")
