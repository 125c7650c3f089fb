"""The team as the commands see it: one agent (``AgentInfo``) and everyone (``Directory``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.domain.permissions import AgentInfo, Directory
from storage.models import Agent, Group, GroupMember


def agent_info(session: Session, agent: Agent) -> AgentInfo:
    groups = session.scalars(select(GroupMember.group_id).where(GroupMember.agent_id == agent.id))
    return AgentInfo(agent.id, agent.email, agent.name, agent.role, frozenset(groups))


def directory(session: Session, categories: Iterable[str]) -> Directory:
    agents = tuple(
        agent_info(session, a) for a in session.scalars(select(Agent).where(Agent.active))
    )
    groups = {g.name.lower(): g.id for g in session.scalars(select(Group))}
    return Directory(agents, groups, tuple(categories))
