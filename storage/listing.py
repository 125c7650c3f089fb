"""How a page of the ticket list is found at a million tickets: its ids read in order from an
index, and the matching tickets counted only so far.

One index per filter gives the newest-first order with the filter (``Ticket.__table_args__``).
Where a list asks for several values of a column that leads an index (a status list), one
query would gather every match and sort it: a million, for ``status=resolved&status=closed``.
Instead each status is a *part*, read in order from its index, and the parts are merged as
they are read (``UNION ALL ... ORDER BY``: SQLite's ``MERGE (UNION ALL)``, PostgreSQL's
``Merge Append``) until the page is full: the work is the page's depth, whatever the number of
matches. The urgency order (priority, then oldest first) reads the priorities one after the
other, most urgent first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.orm import Session

from helpdesk.domain.vocabulary import Priority
from storage.ticket_filter import (
    TicketFilter,
    beside_the_view,
    filtered,
    order_columns,
    source,
    view_parts,
)

URGENT_FIRST = (Priority.URGENT, Priority.HIGH, Priority.MEDIUM, Priority.LOW)


@dataclass(frozen=True)
class Part:
    where: TicketFilter  # one status at most
    whose: Any = None  # one part of an agent's view: theirs, a group's, nobody's


def parts(where: TicketFilter) -> list[Part]:
    """The parts of the list, each read in order from one index: per status asked for; and
    per part of an agent's view, read from the assignee indexes (their own tickets, each of
    their groups', the unassigned: disjoint, as a ticket has one assignee), so that an agent's
    deep page costs its depth, not the tickets before it that others hold. That only for the
    agent's whole list: with a filter, its index is read (those of status, priority, category
    and time carry the assignee columns), and the view is checked on each entry."""
    statuses = where.any_status
    per_status = [where]
    if len(statuses) > 1:
        per_status = [replace(where, status=None, statuses=(status,)) for status in statuses]
    if where.viewer is None or beside_the_view(where):
        return [Part(part) for part in per_status]
    return [Part(replace(where, viewer=None), whose) for whose in view_parts(where.viewer)]


def page_ids(
    session: Session, where: TicketFilter, urgent: bool, offset: int, limit: int
) -> list[int]:
    """The ids of the page's tickets, in the list's order."""
    if not urgent:
        return _merged(session, where, offset, limit, newest=True)
    found: list[int] = []
    skip, priorities = offset, (where.priority,) if where.priority else URGENT_FIRST
    for priority in priorities:
        part = replace(where, priority=priority)
        ids = _merged(session, part, skip, limit - len(found), newest=False)
        if ids:
            skip = 0
        elif skip:  # all of this priority are on earlier pages
            skip -= count_to(session, part, skip)[0]
        found += ids
        if len(found) == limit:
            break
    return found


def _merged(
    session: Session, where: TicketFilter, offset: int, limit: int, newest: bool
) -> list[int]:
    created, key = order_columns(where)
    order = (created.desc(), key.desc()) if newest else (created, key)
    arms = [
        _branch(select(key.label("id"), created.label("at")).select_from(source(part.where)), part)
        for part in parts(where)
    ]
    query: Any
    if len(arms) == 1:
        query = arms[0].order_by(*order)
    elif session.get_bind().dialect.name == "sqlite":  # MERGE (UNION ALL) of ordered walks
        query = union_all(*arms)
        at, number = query.selected_columns.at, query.selected_columns.id
        query = query.order_by(*((at.desc(), number.desc()) if newest else (at, number)))
    else:
        # PostgreSQL: each part ordered and cut on its own. Ordered as a whole, the parts were
        # read in full and sorted (a million tickets for resolved+closed, 0.1 s) rather than
        # merged (Merge Append); cut, each is read from its index, as far as the page needs.
        # SQLite would materialise and sort such parts: there the whole is merged as it is.
        cut = [arm.order_by(*order).limit(offset + limit).subquery() for arm in arms]
        merged = union_all(*(select(part.c.id, part.c.at) for part in cut)).subquery()
        by = (merged.c.at.desc(), merged.c.id.desc()) if newest else (merged.c.at, merged.c.id)
        query = select(merged.c.id).order_by(*by)
    return list(session.scalars(query.offset(offset).limit(limit)))


def _branch(query: Select[Any], part: Part) -> Select[Any]:
    query = filtered(query, part.where, walk=beside_the_view(part.where))
    return query if part.whose is None else query.where(part.whose)


def count_to(session: Session, where: TicketFilter, bound: int) -> tuple[int, bool]:
    """The matching tickets, counted up to ``bound``: (``bound``, False) when there are more.
    An agent's whole view is counted from the assignee indexes (``MULTI-INDEX OR`` on SQLite,
    ``BitmapOr`` on PostgreSQL); with another filter, on that filter's index."""
    key = order_columns(where)[1]
    query = filtered(select(key).select_from(source(where)), where, walk=beside_the_view(where))
    matching = query.limit(bound + 1).subquery()
    counted = session.scalar(select(func.count()).select_from(matching)) or 0
    return min(counted, bound), counted <= bound
