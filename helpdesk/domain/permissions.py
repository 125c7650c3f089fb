"""Who may see a ticket, and who an agent's words name: decided over snapshots, never the database.

The rule is DESIGN.md's: supervisors and admins see every ticket; an agent sees the tickets
assigned to them, to one of their groups, and the unassigned ones.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

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
        return self.ranks_at_least(Role.SUPERVISOR)

    def ranks_at_least(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]


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
