"""The team and SLA targets of the benchmarks' databases (``populate``): agents in groups, a
supervisor and an admin, SLA targets of days; and the bulk-insert helpers they share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, Table, delete, insert, text

from helpdesk.app.settings import Settings
from helpdesk.domain.timers.facts import Policy
from helpdesk.domain.timers.sla import Targets
from helpdesk.domain.vocabulary import Priority, Role
from storage.base import Base
from storage.models import Agent, Group, GroupMember, SlaPolicy

DAY = 24 * 60
NAMES = ("Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas")
SURNAMES = ("Andersen", "Okafor", "Dubois", "Ivanova", "Rossi", "Haddad", "Tanaka", "Garcia")
# Minutes (first response, next response, resolution) per priority: due dates days away, and a
# resolution warning (at 80%) always after the first-response breach.
TARGETS = {
    Priority.LOW: (3 * DAY, 3 * DAY, 10 * DAY),
    Priority.MEDIUM: (2 * DAY, 2 * DAY, 7 * DAY),
    Priority.HIGH: (DAY, DAY, 4 * DAY),
    Priority.URGENT: (DAY, DAY // 2, 3 * DAY),
}


def policy_targets(priority: Priority) -> Targets:
    first, following, whole = TARGETS[priority]
    return Targets(timedelta(minutes=first), timedelta(minutes=following), timedelta(minutes=whole))


def timer_policy() -> Policy:
    """The timer settings of a helpdesk with the defaults (what the benchmarks' processes run)."""
    return Settings.model_construct().timer_policy


@dataclass
class Team:
    """Agents the tickets are assigned to: groups of agents, a supervisor and an admin."""

    agents: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)


def set_policies(engine: Engine) -> None:
    """The SLA targets of ``TARGETS``, in place of those ``helpdesk init`` sets."""
    rows = [
        {
            "priority": p,
            "first_response_minutes": first,
            "next_response_minutes": following,
            "resolution_minutes": whole,
        }
        for p, (first, following, whole) in TARGETS.items()
    ]
    with engine.begin() as conn:
        conn.execute(delete(table(SlaPolicy)))
        conn.execute(insert(table(SlaPolicy)), rows)


def add_team(engine: Engine, now: datetime, groups: int = 3, per_group: int = 4) -> Team:
    """``groups`` groups of ``per_group`` agents, plus a supervisor and an admin in none."""
    team = Team()
    agents = [
        {"id": 1, "email": "admin@example.com", "name": "Ada Admin", "role": Role.ADMIN},
        {"id": 2, "email": "sue@example.com", "name": "Sue Super", "role": Role.SUPERVISOR},
    ]
    members = []
    for group_id in range(1, groups + 1):
        team.groups.append(group_id)
        for a in range(per_group):
            agent_id = len(agents) + 1
            name = f"{NAMES[agent_id % len(NAMES)]} {SURNAMES[a % len(SURNAMES)]}"
            email = f"agent{agent_id}@example.com"
            agents.append({"id": agent_id, "email": email, "name": name, "role": Role.AGENT})
            members.append({"group_id": group_id, "agent_id": agent_id})
            team.agents.append(agent_id)
    with engine.begin() as conn:
        conn.execute(insert(table(Agent)), [a | {"created_at": now} for a in agents])
        conn.execute(
            insert(table(Group)),
            [{"id": g, "name": f"queue-{g}", "created_at": now} for g in team.groups],
        )
        conn.execute(insert(table(GroupMember)), members)
    move_sequences(engine, [table(Agent), table(Group)])
    return team


def table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def move_sequences(engine: Engine, tables: Sequence[Table]) -> None:
    """PostgreSQL: the id sequences past the ids given here, so the helpdesk's own inserts fit."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in tables:
            name = table.name
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {name}), false)"
                )
            )
