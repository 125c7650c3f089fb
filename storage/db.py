"""Engines, sessions and migrations.

SQLite runs in WAL mode with ``synchronous=FULL``: a commit is on disk before it returns, which
is what the SMTP 250 promises. Write transactions begin ``IMMEDIATE`` so that two writers queue
on the busy timeout instead of failing a read-to-write lock upgrade.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(
    url: str,
    busy_timeout_ms: int = 30000,
    synchronous: str = "FULL",
    wal_autocheckpoint: int | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine for ``url``; on SQLite, ``busy_timeout_ms`` is how long a writer waits,
    ``synchronous`` NORMAL makes commits that survive a crash of the process but may be lost
    with the machine's power (see ``bookkeeping``), and ``wal_autocheckpoint`` (pages) is how
    large the WAL grows before a commit checkpoints it (``storage.checkpoints``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":
            url = str(parsed.set(drivername="postgresql+psycopg"))
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000}, **kwargs)

    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        set_pragmas(dbapi_connection, synchronous, busy_timeout_ms, wal_autocheckpoint)

    event.listen(engine, "connect", connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def set_pragmas(
    connection: Any,
    synchronous: str = "FULL",
    busy_timeout_ms: int = 30000,
    wal_autocheckpoint: int | None = None,
) -> None:
    """The settings of every SQLite connection, SQLAlchemy's or a bare ``sqlite3`` one."""
    cursor = connection.cursor()
    behind = () if wal_autocheckpoint is None else (f"wal_autocheckpoint={wal_autocheckpoint}",)
    for pragma in (
        "journal_mode=WAL",
        f"synchronous={synchronous}",
        "foreign_keys=ON",
        f"busy_timeout={busy_timeout_ms}",
        *behind,
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # each statement is a transaction of its own
    connection.exec_driver_sql("BEGIN" if options.get("readonly", False) else "BEGIN IMMEDIATE")


def reading(engine: Engine) -> Engine:
    """The same engine for read-only work: on SQLite it takes no write lock."""
    return engine.execution_options(readonly=True)


def single_statements(engine: Engine) -> Engine:
    """The same engine for writes of one statement each, committed as they run.

    On SQLite such a statement takes and releases the write lock within one call, during which
    the interpreter lock is released. As BEGIN, statement, COMMIT (three calls), a thread
    holding the write lock could wait for the interpreter lock between them, and every other
    writer with it: measured with ``bench/notify.py``, delivery threads spent ~40% of their time
    waiting in BEGIN IMMEDIATE.
    """
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def bookkeeping(engine: Engine) -> Engine:
    """An engine of its own for delivery's bookkeeping (claims, "sent" marks), whose commits do
    not wait for their own flush to disk (SQLite ``synchronous=NORMAL``, PostgreSQL
    ``synchronous_commit=off``); they become durable with the next flush, a fraction of a second
    later. Losing one to a power cut or a database crash can only make a mail go out twice, with
    the same Message-ID, never lose one; and a delivery thread no longer holds SQLite's one write
    lock, or waits, across an fsync per mail."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite":
        return make_engine(url, synchronous="NORMAL")
    return make_engine(url, connect_args={"options": "-c synchronous_commit=off"})


INBOUND_TURN = 0x68656C70  # the advisory lock key of inbound units of work ("help")


def inbound_turn(session: Session) -> None:
    """Wait for the turn to run an inbound unit of work, held until it commits or rolls back.

    On PostgreSQL several workers drain inbound mail; their units of work take turns (decoding,
    the most of the work, still runs in parallel ahead of them), so that two mails of one ticket
    or one sender never race: the dedupe, the answer limits and each ticket's status are read
    and written by one unit at a time, in arrival order. SQLite has one writer anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(INBOUND_TURN)))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    if engine.dialect.name == "sqlite":
        event.listen(factory, "before_flush", _number_new_rows)
    return factory


def _number_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    """Give new rows their ids before a flush on SQLite, as SQLite would: the largest plus one.

    Why: SQLAlchemy cannot match the rows of a multi-row INSERT ... RETURNING to their objects
    on SQLite, so it inserts rows whose key the database makes one statement at a time (a batch
    of 200 new-ticket mails: ~1,500 INSERTs). Rows with ids go in one executemany per table. It
    is safe because a write transaction holds SQLite's one write lock from BEGIN IMMEDIATE:
    nobody else can insert between reading the largest id and the commit.
    """
    if session.connection().get_execution_options().get("readonly", False):
        return  # a deferred BEGIN: no lock held, let SQLite number
    unnumbered = []
    for obj in session.new:
        key = inspect(obj).mapper.primary_key
        if len(key) == 1 and key[0].name == "id" and getattr(obj, "id", 0) is None:
            unnumbered.append((obj, key[0]))
    next_ids = _next_ids(session, [column for _, column in unnumbered])
    for obj, column in unnumbered:
        next_ids[column.table] += 1
        obj.id = next_ids[column.table]


def _next_ids(session: Session, columns: list[Any]) -> dict[Any, int]:
    """The last id given in each table of ``columns`` by this unit of work (SQLite): read once,
    the largest of every table not yet read in one statement."""
    next_ids: dict[Any, int] = session.info.setdefault("next_ids", {})
    unread = list({c.table: c for c in columns if c.table not in next_ids}.values())
    if unread:
        largest = session.connection().execute(
            select(*(select(func.max(column)).scalar_subquery() for column in unread))
        )
        found = (int(n or 0) for n in largest.one())
        next_ids.update(zip((column.table for column in unread), found, strict=True))
    return next_ids


def assign_id(session: Session, obj: Any) -> int:
    """The id of ``obj``, given now if it is new: without the flush that would otherwise be the
    way to learn it (a pass of the unit of work over everything planned so far). SQLite: the
    numbering of ``_number_new_rows``; PostgreSQL: the next value of the column's sequence."""
    if obj.id is None:
        column = inspect(obj).mapper.primary_key[0]
        if session.get_bind().dialect.name == "sqlite":
            next_ids = _next_ids(session, [column])
            next_ids[column.table] += 1
            obj.id = next_ids[column.table]
        else:
            sequence = func.pg_get_serial_sequence(column.table.name, column.name)
            with session.no_autoflush:
                obj.id = session.scalar(select(func.nextval(sequence)))
    return int(obj.id)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def schema_problem(engine: Engine) -> str | None:
    """Why the database of ``engine`` cannot serve as it is, in words for whoever runs the
    command: unreachable, not set up, or at another schema than this release's; None if fine."""
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()[0]
        return f"cannot reach the database: {reason}"
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    if current is None:
        return "the database is not set up yet: run `helpdesk init` (`helpdesk serve` does it too)"
    if current != head:
        return f"the database has schema {current}, this release needs {head}: run `helpdesk init`"
    return None


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration: one process at a time (on
    PostgreSQL an advisory lock in ``env.py``; on SQLite a lock on a file beside the database,
    as SQLite's DDL is not one transaction Alembic can hold: a second process starting at
    once read the version before the first had written it, and ran a migration again)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        command.upgrade(alembic_config(engine), "head")
        planner_statistics(engine)
        return
    with open(f"{database}.migrating", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        command.upgrade(alembic_config(engine), "head")
        planner_statistics(engine)


# What ``ANALYZE`` would find in a helpdesk of a million tickets (rows, then the rows per value
# of the first 1, 2 ... columns), for the indexes the ticket list chooses between.
PLANNER_STATS = {
    ("tickets", "ix_tickets_created_at_view"): "1000000 1 1 1 1",
    # the statuses of a list are the active ones, a few thousand tickets: the status indexes
    # (which carry the assignee columns) before the assignee ones, whose rows would be read
    ("tickets", "ix_tickets_status_view"): "1000000 2000 1 1 1 1",
    ("tickets", "ix_tickets_status_priority_view"): "1000000 2000 500 1 1 1 1",
    ("tickets", "ix_tickets_priority_view"): "1000000 250000 1 1 1 1",
    ("tickets", "ix_tickets_category_view"): "1000000 200000 1 1 1 1",
    ("tickets", "ix_tickets_customer_view"): "1000000 2 1 1 1 1",
    ("tickets", "ix_tickets_assignee_agent_id_created_at_id"): "1000000 20000 1 1",
    ("tickets", "ix_tickets_assignee_group_id_assignee_agent_id_created_at_id"): (
        "1000000 100000 50000 1 1"
    ),
    ("tickets", "sqlite_autoindex_tickets_1"): "1000000 1",
    ("ticket_tags", "ix_ticket_tags_view"): "600000 10000 1 1 1 1",
    ("ticket_tags", "sqlite_autoindex_ticket_tags_1"): "600000 2 1",
    ("customers", "sqlite_autoindex_customers_1"): "700000 1",
}


def planner_statistics(engine: Engine) -> None:
    """SQLite: give its query planner ``PLANNER_STATS`` for the indexes ``ANALYZE`` has not
    measured (its own figures, once someone runs it, are kept).

    Why: without statistics SQLite takes every equality on an indexed column for equally
    selective, and of two indexes that both give the list's order it may read the wrong one:
    an agent's tickets of one customer were read through all of the agent's tickets (20,000
    at 1M) instead of the customer's three. Writing ``sqlite_stat1`` is SQLite's documented way
    to steer the planner; the figures are those of a typical helpdesk, not of this database,
    so that the plans do not change as it grows."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE sqlite_schema")  # makes sqlite_stat1 if missing
        indexes = {
            (table, name)
            for name, table in connection.exec_driver_sql(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'"
            )
        }
        for (table, index), stat in PLANNER_STATS.items():
            if (table, index) in indexes:
                connection.exec_driver_sql(
                    "INSERT INTO sqlite_stat1 (tbl, idx, stat) SELECT ?, ?, ? WHERE NOT EXISTS "
                    "(SELECT 1 FROM sqlite_stat1 WHERE tbl = ? AND idx = ?)",
                    (table, index, stat, table, index),
                )
        connection.commit()
        connection.exec_driver_sql("ANALYZE sqlite_schema")  # read again by this connection
