"""From parsed commands to checked actions: permissions, scope, visibility and values, all at once.

Pure: it decides over snapshots (who the agent is, who else exists, what the ticket looks like)
and returns either the actions to apply or every problem found, never half of each, so the caller
can apply all the commands of a mail or none of them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from datetime import timedelta

from helpdesk.domain import lifecycle
from helpdesk.domain.grammar import SPECS, STATUS_COMMANDS, Command, Parsed, Problem, Scope
from helpdesk.domain.vocabulary import Role, Status

RANK = {Role.AGENT: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True)
class AgentInfo:
    id: int
    email: str
    name: str
    role: Role
    group_ids: frozenset[int] = frozenset()

    @property
    def sees_all(self) -> bool:
        return RANK[self.role] >= RANK[Role.SUPERVISOR]


@dataclass(frozen=True)
class Directory:
    agents: tuple[AgentInfo, ...]
    groups: dict[str, int]
    categories: tuple[str, ...]


@dataclass(frozen=True)
class TicketView:
    number: str
    status: Status
    assignee_agent_id: int | None
    assignee_group_id: int | None


@dataclass(frozen=True)
class Action:
    name: str
    args: dict[str, object] = field(default_factory=dict)
    line: str = ""


@dataclass(frozen=True)
class Plan:
    actions: list[Action]
    problems: list[Problem]
    internal: bool = False
    new_ticket_for: tuple[str, str] | None = None


def can_see(agent: AgentInfo, ticket: TicketView) -> bool:
    if agent.sees_all or ticket.assignee_agent_id == agent.id:
        return True
    if ticket.assignee_group_id is not None:
        return ticket.assignee_group_id in agent.group_ids
    return ticket.assignee_agent_id is None


def find_agent(directory: Directory, text: str, me: AgentInfo) -> AgentInfo | str:
    """The one agent ``text`` names (me, an email, or a name), or why there is not exactly one."""
    wanted = text.strip().lower()
    if wanted == "me":
        return me
    by_email = [a for a in directory.agents if a.email == wanted]
    found = by_email or [
        a for a in directory.agents if wanted in (a.name.lower(), a.name.lower().split(" ")[0])
    ]
    if len(found) == 1:
        return found[0]
    if found:
        return "matches " + " and ".join(f"{a.name} <{a.email}>" for a in found) + ": say which"
    names = [a.name for a in directory.agents] + [a.email for a in directory.agents]
    near = difflib.get_close_matches(text.strip(), names, n=3, cutoff=0.5)
    return "no such agent" + (f"; closest: {', '.join(near)}" if near else "")


def plan(
    parsed: Parsed,
    me: AgentInfo,
    scope: Scope,
    ticket: TicketView | None,
    directory: Directory,
) -> Plan:
    problems = list(parsed.problems)
    actions: list[Action] = []
    opening = next((c for c in parsed.commands if c.name == "customer"), None)
    seen: set[str] = set()
    for command in parsed.commands:
        if command.name in seen and command.name not in ("tag",):
            problems.append(Problem(command.line, f"#{command.name} is given twice"))
            continue
        seen.add(command.name)
        problem = _allowed(command, me, scope, ticket, opening is not None)
        if problem:
            problems.append(Problem(command.line, problem))
            continue
        checked = _check(command, me, ticket, directory)
        if isinstance(checked, Problem):
            problems.append(checked)
        else:
            actions.append(replace(checked, line=command.line.text))
    if scope is Scope.NEW and not parsed.commands and not problems:
        problems.append(
            Problem(
                None,
                "this is the support address: start with #customer EMAIL to open a "
                "ticket for a customer, or #help for the commands",
            )
        )
    _conflicts(actions, problems)
    for_customer = None
    if opening is not None:
        for_customer = (str(opening.args["email"]), str(opening.args["name"]))
    internal = any(a.name == "internal" for a in actions)
    return Plan(actions if not problems else [], problems, internal, for_customer)


def _allowed(
    command: Command, me: AgentInfo, scope: Scope, ticket: TicketView | None, opening: bool
) -> str:
    spec = SPECS[command.name]
    if spec.role is not None and RANK[me.role] < RANK[spec.role]:
        return f"only {spec.role.value}s may use #{command.name}"
    if spec.scope is Scope.NEW and scope is not Scope.NEW:
        return f"#{command.name} goes in a new mail to the support address"
    if spec.scope is Scope.TICKET and scope is Scope.NEW and not opening:
        return f"#{command.name} goes in a reply to a mail about the ticket (or after #customer)"
    if ticket is not None and spec.scope is Scope.TICKET and not can_see(me, ticket):
        return f"{ticket.number} is assigned to someone else; ask a supervisor"
    return ""


def _check(
    command: Command, me: AgentInfo, ticket: TicketView | None, directory: Directory
) -> Action | Problem:
    args = dict(command.args)
    if command.name == "assign":
        return _assignment(command, me, directory)
    if command.name == "unassign" and ticket is not None and not me.sees_all:
        mine = ticket.assignee_agent_id in (None, me.id)
        if not mine:
            return Problem(command.line, "only supervisors may unassign another agent")
    if command.name == "category":
        name = str(args["text"]).lower().replace(" ", "_")
        if name not in directory.categories:
            near = difflib.get_close_matches(name, directory.categories, n=1)
            return Problem(
                command.line, f"unknown category {name!r}", f"#category {near[0]}" if near else ""
            )
        args["text"] = name
    if command.name == "block" and "for" in args:
        length = args.pop("for")
        assert isinstance(length, timedelta)
        args["length"] = length
    if ticket is not None and command.name in STATUS_COMMANDS:
        target = _target(command)
        if target is not ticket.status and not lifecycle.can_move(ticket.status, target):
            return Problem(
                command.line, f"{ticket.number} cannot go from {ticket.status} to {target}"
            )
    return Action(command.name, args)


def _target(command: Command) -> Status:
    if command.name == "resolve":
        return Status.RESOLVED
    if command.name == "close":
        return Status.CLOSED
    status = command.args["status"]
    assert isinstance(status, Status)
    return status


def _assignment(command: Command, me: AgentInfo, directory: Directory) -> Action | Problem:
    if "group" in command.args:
        name = str(command.args["group"]).lower()
        if not me.sees_all:
            return Problem(command.line, "only supervisors may assign to a group")
        if name not in directory.groups:
            near = difflib.get_close_matches(name, list(directory.groups), n=1)
            hint = f"#assign group:{near[0]}" if near else ""
            return Problem(command.line, f"no group {name!r}", hint)
        return Action("assign", {"group_id": directory.groups[name], "label": f"group:{name}"})
    found = find_agent(directory, str(command.args["agent"]), me)
    if isinstance(found, str):
        return Problem(command.line, found)
    if found.id != me.id and not me.sees_all:
        return Problem(command.line, "only supervisors may assign to others; #assign me works")
    return Action("assign", {"agent_id": found.id, "label": found.email})


def _conflicts(actions: list[Action], problems: list[Problem]) -> None:
    closing = [a.name for a in actions if a.name in STATUS_COMMANDS]
    if len(closing) > 1:
        problems.append(Problem(None, f"#{' and #'.join(closing)} contradict each other"))
