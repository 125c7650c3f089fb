"""#list: filters by status, priority, assignee and page."""

from __future__ import annotations

from helpdesk.domain.commands.base import Scope
from helpdesk.domain.commands.effects import ListTickets
from helpdesk.domain.vocabulary import Priority, Status
from tests.domain.commands.people import checked


def test_filters() -> None:
    text = "#list status:open priority:HIGH assignee:me page:2"
    [action] = checked(text, ticket=None, scope=Scope.NEW).actions
    assert action.effect == ListTickets(Status.OPEN, Priority.HIGH, "me", 2)


def test_bad_filters() -> None:
    cases = [
        ("#list colour:red", "unknown filter"),
        ("#list page:0", "from 1"),
        ("#list page:99999999999999999999", "from 1 to 10000; did you mean #list page:1?"),
    ]
    for text, words in cases:
        [problem] = checked(text, ticket=None, scope=Scope.NEW).problems
        assert words in str(problem)
