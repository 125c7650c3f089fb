"""What a ticket list may be filtered on, and the ``WHERE`` it makes (``storage.listing``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from helpdesk.domain.vocabulary import Priority, Status
from storage.models import Agent, Customer, Group, Ticket, TicketTag
from storage.tables.tickets import tag_key


@dataclass(frozen=True)
class Viewer:
    """An agent who sees only their own, their groups' and unassigned tickets."""

    agent_id: int
    group_ids: frozenset[int]


@dataclass(frozen=True)
class TicketFilter:
    status: Status | None = None
    priority: Priority | None = None
    assignee: str | None = None
    customer: str | None = None
    viewer: Viewer | None = None
    statuses: tuple[Status, ...] = ()  # any of these
    category: str | None = None
    tag: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None  # not included

    @property
    def any_status(self) -> tuple[Status, ...]:
        """The statuses asked for, ``status`` and ``statuses`` together (none: any)."""
        both = (self.status,) if self.status is not None else ()
        return tuple(dict.fromkeys(both + self.statuses))


def order_columns(where: TicketFilter) -> tuple[Any, Any]:
    """The creation time and id to order by: with a tag, its row's copy (the order of the tag's
    index), else the ticket's own."""
    if where.tag:
        return TicketTag.created_at, TicketTag.ticket_id
    return Ticket.created_at, Ticket.id


def source(where: TicketFilter) -> Any:
    """What a list is read from: the tag's rows alone when nothing else is asked of the ticket
    (the tag, the time, an agent's view: all copied there), else the tickets."""
    alone = TicketFilter(tag=where.tag, viewer=where.viewer)
    on_tags = replace(where, created_from=None, created_to=None) == alone
    return TicketTag if where.tag and on_tags else Ticket


def filtered(query: Select[Any], where: TicketFilter, walk: bool = False) -> Select[Any]:
    """``query`` (on ``tickets``) narrowed to ``where``. With ``walk``, the viewer's condition
    is written so that no index is looked up for it (``+ 0``): the tickets are read from the
    index of another filter, which carries the assignee columns, and the condition is checked
    on its entries (not through the assignee indexes and the rows)."""
    statuses = where.any_status
    if statuses:
        query = query.where(
            Ticket.status == statuses[0] if len(statuses) == 1 else Ticket.status.in_(statuses)
        )
    if where.priority is not None:
        query = query.where(Ticket.priority == where.priority)
    if where.category:
        query = query.where(Ticket.category == where.category.lower())
    if where.tag and source(where) is TicketTag:
        query = query.where(TicketTag.tag == tag_key(where.tag))
    elif where.tag:
        query = query.join(
            TicketTag, and_(TicketTag.ticket_id == Ticket.id, TicketTag.tag == tag_key(where.tag))
        )
    created = order_columns(where)[0]
    if where.created_from is not None:
        query = query.where(created >= where.created_from)
    if where.created_to is not None:
        query = query.where(created < where.created_to)
    if where.customer:
        customer = select(Customer.id).where(Customer.email == where.customer.lower())
        query = query.where(Ticket.customer_id == customer.scalar_subquery())
    if where.assignee:
        query = query.where(_by_assignee(where.assignee.strip()))
    if where.viewer is not None:
        query = query.where(or_(*view_parts(where.viewer, walk, source(where))))
    return query


def beside_the_view(where: TicketFilter) -> bool:
    """Whether ``where`` filters on anything besides the viewer's view."""
    return replace(where, viewer=None) != TicketFilter()


def view_parts(viewer: Viewer, walk: bool = False, table: Any = Ticket) -> list[Any]:
    """What an agent sees, in disjoint parts (a ticket has one assignee at most): their own
    tickets, each of their groups', the unassigned; on ``table``'s assignee columns (the
    tickets', or the tag rows' copies)."""
    agent: Any = table.assignee_agent_id
    group: Any = table.assignee_group_id
    if walk:
        agent, group = agent + 0, group + 0
    mine = [agent == viewer.agent_id]
    groups = [and_(group == g, agent.is_(None)) for g in sorted(viewer.group_ids)]
    return [*mine, *groups, and_(group.is_(None), agent.is_(None))]


def _in_group(group: Any) -> Any:
    """A group's tickets (or, with ``IS NULL``, nobody's): with no agent, as the one_assignee
    constraint has it anyway; said, so that the (group, agent, created_at) index serves."""
    return and_(group, Ticket.assignee_agent_id.is_(None))


def _by_assignee(assignee: str) -> Any:
    if assignee.lower() in ("none", "unassigned"):
        return _in_group(Ticket.assignee_group_id.is_(None))
    if assignee.lower().startswith("group:"):
        group = select(Group.id).where(func.lower(Group.name) == assignee[6:].lower())
        return _in_group(Ticket.assignee_group_id.in_(group))
    agent = select(Agent.id).where(
        or_(Agent.email == assignee.lower(), func.lower(Agent.name) == assignee.lower())
    )
    return Ticket.assignee_agent_id.in_(agent)
