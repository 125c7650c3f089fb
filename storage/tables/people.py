"""Who is involved: customers, agents, their groups, the SLA policy per priority and the
business hours it is counted in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.domain.vocabulary import Priority, Role
from storage.base import Base


class Customer(Base):
    """A person outside the team: a ticket's requester or a participant CC'd on it."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_until: Mapped[datetime | None]
    block_reason: Mapped[str] = mapped_column(Text, default="")
    bouncing: Mapped[bool] = mapped_column(Boolean, default=False)
    bounce_reason: Mapped[str] = mapped_column(Text, default="")
    signed_out_at: Mapped[datetime | None]  # web sessions made before have ended


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(default=Role.AGENT)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    away_since: Mapped[datetime | None]  # absent from then until away_until (or told back)
    away_until: Mapped[datetime | None]
    signed_out_at: Mapped[datetime | None]  # web sessions made before have ended
    digest_minutes: Mapped[int | None] = mapped_column(Integer)  # low/medium news gathered

    groups: Mapped[list[Group]] = relationship(secondary="group_members", back_populates="agents")


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]

    agents: Mapped[list[Agent]] = relationship(secondary="group_members", back_populates="groups")


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)


class SlaPolicy(Base):
    """First-response and resolution targets, one row per priority."""

    __tablename__ = "sla_policies"

    priority: Mapped[Priority] = mapped_column(primary_key=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer)  # None: as the first
    resolution_minutes: Mapped[int] = mapped_column(Integer)


class BusinessCalendar(Base):
    """The business hours SLA clocks count in (one row, or none: wall time). ``hours`` is
    written as ``helpdesk.domain.calendar.parse_hours`` reads it; ``holidays`` ISO dates."""

    __tablename__ = "business_calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[str] = mapped_column(Text)
    holidays: Mapped[list[str]] = mapped_column(default=list)


class ApiToken(Base):
    """An agent's token for the HTTP API: only its SHA-256 is kept (the token is shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    name: Mapped[str] = mapped_column(String(100), default="")
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    agent: Mapped[Agent] = relationship()
