"""``--explain``: the plan of every statement ``storage.queries.list_tickets`` runs for one
request of each list case, as each caller (SQLite ``EXPLAIN QUERY PLAN``; PostgreSQL ``EXPLAIN
(ANALYZE, BUFFERS)``, which runs it), with the time the statement took."""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from api_cases import LIST_CASES, Caller, Sample
from sqlalchemy import Engine, event

from helpdesk.domain.vocabulary import Priority, Status
from storage.db import make_session_factory, reading
from storage.queries import TicketFilter, Viewer, list_tickets

AGENT_VIEW = Viewer(3, frozenset({1}))  # api.AGENT_ID and its group


def filter_of(path: str, caller: Caller) -> tuple[TicketFilter, int, bool]:
    """The filter, page and order the API makes of ``path`` (``gateway.http.tickets``)."""
    asked = {k: v for k, v in parse_qs(urlsplit(path).query).items()}
    one = {k: v[0] for k, v in asked.items()}

    def when(name: str) -> datetime | None:
        return datetime.fromisoformat(one[name]) if name in one else None

    where = TicketFilter(
        priority=Priority(one["priority"]) if "priority" in one else None,
        assignee=one.get("assignee"),
        customer=one.get("customer"),
        viewer=AGENT_VIEW if caller.role == "agent" else None,
        statuses=tuple(Status(s) for s in asked.get("status", ())),
        category=one.get("category"),
        tag=one.get("tag"),
        created_from=when("created_from"),
        created_to=when("created_to"),
    )
    return where, int(one.get("page", 1)), one.get("order") == "urgency"


def explain_cases(engine: Engine, callers: list[Caller], sample: Sample) -> None:
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    sessions = make_session_factory(reading(engine))
    print("  plans (one request of each case):")
    for name, query in LIST_CASES.items():
        for caller in callers:
            path = query(random.Random(5), sample, caller)
            where, page, urgent = filter_of(path, caller)
            seen.clear()
            event.listen(engine, "before_cursor_execute", keep)
            try:
                with sessions() as session:
                    started = time.perf_counter()
                    list_tickets(session, where, page, 20, urgent_first=urgent)
                    took = (time.perf_counter() - started) * 1000
            finally:
                event.remove(engine, "before_cursor_execute", keep)
            print(f"   {name}, {caller.role} ({took:.1f} ms): {path}")
            for statement, parameters in list(seen):
                _explain(engine, statement, parameters)


def _explain(engine: Engine, statement: str, parameters: Any) -> None:
    first = " ".join(statement.split())
    print(f"     {first[:160]}{' ...' if len(first) > 160 else ''}")
    sqlite = engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    with engine.connect() as conn:
        for row in conn.exec_driver_sql(prefix + statement, parameters):
            print(f"       {row[-1]}")
