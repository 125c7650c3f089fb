"""The agents, directory and tickets the command tests decide over (snapshots, no database)."""

from __future__ import annotations

from helpdesk.domain.commands import grammar
from helpdesk.domain.commands.base import Scope
from helpdesk.domain.commands.effects import Effect
from helpdesk.domain.commands.plan import Plan, plan
from helpdesk.domain.permissions import AgentInfo, Directory, TicketView
from helpdesk.domain.vocabulary import Role, Status

ANN = AgentInfo(1, "ann@us.test", "Ann Archer", Role.AGENT)
BEN = AgentInfo(2, "ben@us.test", "Ben Baker", Role.AGENT, frozenset({7}))
SUE = AgentInfo(3, "sue@us.test", "Sue Super", Role.SUPERVISOR)
ADA = AgentInfo(4, "ada@us.test", "Ada Admin", Role.ADMIN)
DIRECTORY = Directory((ANN, BEN, SUE, ADA), {"billing": 7}, ("general", "billing"))
OPEN = TicketView("TKT-AAAAAA", Status.OPEN, None, None)
BENS = TicketView("TKT-BBBBBB", Status.IN_PROGRESS, 2, None)


def checked(
    text: str,
    who: AgentInfo = ANN,
    ticket: TicketView | None = OPEN,
    scope: Scope = Scope.TICKET,
) -> Plan:
    return plan(grammar.parse(text), who, scope, ticket, DIRECTORY)


def effect(text: str, who: AgentInfo = ANN, ticket: TicketView | None = OPEN) -> Effect:
    """The one effect of a one-command mail, which must pass its checks."""
    result = checked(text, who, ticket)
    assert result.problems == [], [str(p) for p in result.problems]
    [action] = result.actions
    return action.effect


def refusal(text: str, who: AgentInfo = ANN, ticket: TicketView | None = OPEN) -> str:
    """Why a one-command mail is refused."""
    [problem] = checked(text, who, ticket).problems
    return str(problem)
