"""From parsed commands to checked actions: role, scope, visibility and values, all at once.

Pure: it decides over snapshots (who the agent is, who else exists, what the ticket looks like)
and returns either the actions to apply or every problem found, never half of each, so the caller
can apply all the commands of a mail or none of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.domain.commands.base import Facts, Refused, Scope, Why
from helpdesk.domain.commands.effects import (
    ANSWERS,
    CHANGES,
    Answer,
    Change,
    Effect,
    Internal,
    Move,
    OpenFor,
)
from helpdesk.domain.commands.grammar import Command, Parsed, Problem
from helpdesk.domain.permissions import AgentInfo, Directory, TicketView, can_see

_NOTHING = (
    "this is the support address: start with #customer EMAIL to open a ticket for a customer, "
    "or #help for the commands"
)


@dataclass(frozen=True)
class Action:
    name: str
    effect: Effect
    line: str

    @property
    def answers(self) -> bool:
        """An answer to the agent (``#help``, ``#list``, ``#show``), no change to a ticket."""
        return isinstance(self.effect, ANSWERS)


@dataclass(frozen=True)
class Plan:
    actions: list[Action]
    problems: list[Problem]

    @property
    def internal(self) -> bool:
        return any(isinstance(a.effect, Internal) for a in self.actions)

    @property
    def new_ticket_for(self) -> OpenFor | None:
        return next((a.effect for a in self.actions if isinstance(a.effect, OpenFor)), None)

    @property
    def sets_status(self) -> bool:
        return any(isinstance(a.effect, Move) for a in self.actions)

    @property
    def changes(self) -> list[Change]:
        return [a.effect for a in self.actions if isinstance(a.effect, CHANGES)]

    @property
    def answers(self) -> list[Answer]:
        return [a.effect for a in self.actions if isinstance(a.effect, ANSWERS)]

    @property
    def changed_lines(self) -> list[str]:
        """The command lines that changed something, for the agent's receipt."""
        return [a.line for a in self.actions if not a.answers]


def plan(
    parsed: Parsed,
    me: AgentInfo,
    scope: Scope,
    ticket: TicketView | None,
    directory: Directory,
) -> Plan:
    problems = list(parsed.problems)
    actions: list[Action] = []
    opening = any(c.name == "customer" for c in parsed.commands)
    facts = Facts(me, ticket, directory)
    seen: set[str] = set()
    for command in parsed.commands:
        if command.name in seen and not command.spec.repeatable:
            problems.append(Problem(command.line, f"#{command.name} is given twice"))
            continue
        seen.add(command.name)
        checked = _allowed(command, facts, scope, opening) or command.request.check(facts)
        if isinstance(checked, Refused):
            hint = checked.suggestion
            problems.append(Problem(command.line, checked.message, hint, why=checked.why))
        else:
            actions.append(Action(command.name, checked, command.line.text))
    if scope is Scope.NEW and not parsed.commands and not problems:
        problems.append(Problem(None, _NOTHING))
    if ticket is not None and not can_see(me, ticket) and not problems:  # a plain reply, too
        hidden = f"{ticket.number} is assigned to someone else: nothing was posted"
        problems.append(Problem(None, f"{hidden}; ask a supervisor", why=Why.FORBIDDEN))
    moves = [a.name for a in actions if isinstance(a.effect, Move)]
    if len(moves) > 1:
        problems.append(Problem(None, f"#{' and #'.join(moves)} contradict each other"))
    return Plan(actions if not problems else [], problems)


def _allowed(command: Command, facts: Facts, scope: Scope, opening: bool) -> Refused | None:
    spec, me, ticket = command.spec, facts.me, facts.ticket
    if spec.role is not None and not me.ranks_at_least(spec.role):
        return Refused(f"only {spec.role.value}s may use #{spec.name}", why=Why.FORBIDDEN)
    if spec.scope is Scope.NEW and scope is not Scope.NEW:
        return Refused(f"#{spec.name} goes in a new mail to the support address")
    if spec.scope is Scope.REPLY and scope is Scope.NEW:
        where = "a reply to a mail about one of the customer's tickets"
        return Refused(f"#{spec.name} goes in {where}, never in a new mail")
    if spec.scope is Scope.TICKET and scope is Scope.NEW and not opening:
        where = "a reply to a mail about the ticket (or after #customer)"
        return Refused(f"#{spec.name} goes in {where}")
    on_ticket = spec.scope in (Scope.TICKET, Scope.REPLY)
    if ticket is not None and on_ticket and not can_see(me, ticket):
        hidden = f"{ticket.number} is assigned to someone else; ask a supervisor"
        return Refused(hidden, why=Why.FORBIDDEN)
    return None
