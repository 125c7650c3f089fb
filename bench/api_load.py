"""The generated rows into a database the project's migrations made, as fast as each allows.

Both: the schema is ``storage.db.upgrade``'s; the secondary indexes of the big tables are
dropped before the load and made again after it from their own definitions (one sort per index
instead of a B-tree insert per row), and the foreign keys are not checked row by row (the rows
are consistent by construction). SQLite: ``executemany`` on one ``sqlite3`` connection, a
transaction per batch, no journal and no sync while loading. PostgreSQL: ``COPY`` per table
and batch in a session with ``session_replication_role = replica`` (no foreign-key triggers),
then the sequences moved past the ids and ``VACUUM ANALYZE``, as autovacuum would soon do.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import populate
import psycopg
from api_data import BLOBS, COLUMNS, COLUMNS_OF, Batch, Generator, Shape, blob
from sqlalchemy import Engine, inspect, select

from helpdesk.domain.timers.sla import Targets
from helpdesk.domain.vocabulary import Priority
from storage.base import Base
from storage.models import SlaPolicy

BATCH_TICKETS = 10_000
BIG = ("tickets", "ticket_tags", "messages", "message_attachments", "ticket_events")
Progress = Callable[[int, int], None]


def shape_of(engine: Engine, tickets: int, now: datetime, seed: int) -> Shape:
    """The team (8 groups of 5 agents, a supervisor, an admin) added, and the SLA targets."""
    team = populate.add_team(engine, now, groups=8, per_group=5)
    agents = [
        (agent_id, f"agent{agent_id}@example.com", team.groups[index // 5])
        for index, agent_id in enumerate(team.agents)
    ]
    groups = [(group_id, f"queue-{group_id}") for group_id in team.groups]
    with engine.connect() as conn:
        targets = {
            Priority(p.priority): Targets(
                timedelta(minutes=p.first_response_minutes),
                timedelta(minutes=p.next_response_minutes or p.first_response_minutes),
                timedelta(minutes=p.resolution_minutes),
            )
            for p in conn.execute(select(populate.table(SlaPolicy)))
        }
    return Shape(tickets, now, agents, groups, "sue@example.com", targets, seed)


def present(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def load(engine: Engine, shape: Shape, progress: Progress) -> int:
    """Every row of ``shape`` into ``engine``'s database; the number of rows."""
    tables = [name for name in COLUMNS if name in present(engine)]
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        assert database
        engine.dispose()  # leaving WAL mode needs the only connection
        return _load_sqlite(database, shape, tables, progress)
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    rows = _load_postgresql(url, shape, tables, progress)
    ids = [Base.metadata.tables[n] for n in tables if "id" in Base.metadata.tables[n].c]
    populate.move_sequences(engine, ids)
    return rows


def _insert_sql(table: str) -> str:
    columns = COLUMNS_OF[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _load_sqlite(path: str, shape: Shape, tables: list[str], progress: Progress) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("PRAGMA cache_size=-1000000")  # 1 GB: the index sorts stay in memory
        big = ", ".join(f"'{t}'" for t in BIG)
        indexes = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({big})"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.executemany("INSERT INTO blobs VALUES (?, ?, ?)", [blob(i) for i in range(BLOBS)])
        total = 0
        for batch in Generator(shape).batches(BATCH_TICKETS):
            conn.execute("BEGIN")
            for table in tables:
                conn.executemany(_insert_sql(table), batch.rows[table])
            conn.execute("COMMIT")
            total += batch.count()
            progress(len(batch.rows["tickets"]), total)
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    return total


def _pg_indexes(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    """The indexes of the big tables that no constraint owns: name and definition."""
    found = conn.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "WHERE t.relname = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)",
        (list(BIG),),
    ).fetchall()
    return [(str(name), str(sql)) for name, sql in found]


def _copy(conn: psycopg.Connection[Any], table: str, rows: Iterable[tuple[object, ...]]) -> None:
    with conn.cursor().copy(f"COPY {table} ({', '.join(COLUMNS_OF[table])}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _load_postgresql(url: str, shape: Shape, tables: list[str], progress: Progress) -> int:
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # no foreign-key triggers
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET maintenance_work_mem = '512MB'")
        indexes = _pg_indexes(conn)
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.commit()
        sql = "INSERT INTO blobs VALUES (%s, %s, %s)"
        conn.cursor().executemany(sql, [blob(i) for i in range(BLOBS)])
        total = 0
        for batch in Generator(shape).batches(BATCH_TICKETS):
            for table in tables:
                _copy(conn, table, batch.rows[table])
            conn.commit()
            total += batch.count()
            progress(len(batch.rows["tickets"]), total)
        for _, definition in indexes:
            conn.execute(definition)
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return total


class Reporter:
    """Progress at every tenth of the tickets: tickets and rows per second so far."""

    def __init__(self, tickets: int) -> None:
        self.tickets, self.done, self.started = tickets, 0, time.perf_counter()
        self.next_report = tickets / 10

    def __call__(self, tickets: int, rows: int) -> None:
        self.done += tickets
        if self.done >= self.next_report or self.done == self.tickets:
            seconds = time.perf_counter() - self.started
            print(
                f"    {self.done:>9,} tickets, {rows:>11,} rows in {seconds:6.1f} s "
                f"({rows / seconds:,.0f} rows/s)",
                flush=True,
            )
            self.next_report += self.tickets / 10


__all__ = ["Batch", "Reporter", "load", "present", "shape_of"]
