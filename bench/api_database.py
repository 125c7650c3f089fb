"""bench/api.py's database: made once with N tickets (``api_load``), kept between runs with
``--keep`` (``BENCH_API_DIR``/tickets-N.db, or PostgreSQL ``bench_api_N``), dropped on demand."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

import api_load
import psycopg
from common import PG_ADMIN_URL, Database
from sqlalchemy import func, select

from storage.db import make_engine, upgrade
from storage.models import Ticket

DATA_DIR = Path(os.environ.get("BENCH_API_DIR", "/tmp/helpdesk-bench-api"))


def database_of(kind: str, tickets: int) -> Database:
    if kind == "sqlite":
        return Database(kind, f"sqlite:///{DATA_DIR / f'tickets-{tickets}.db'}")
    return Database(kind, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/bench_api_{tickets}")


def drop(database: Database) -> None:
    if database.kind == "sqlite":
        path = Path(database.url.removeprefix("sqlite:///"))
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        return
    name = database.url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        conn.execute(f"DROP DATABASE IF EXISTS {name}")


def complete(database: Database, tickets: int) -> bool:
    """A database of an earlier ``--keep`` run with all its tickets."""
    try:
        engine = make_engine(database.url)
        try:
            with engine.connect() as conn:
                found = conn.execute(select(func.count(), func.max(Ticket.id))).one()
        finally:
            engine.dispose()
    except Exception:  # no such file or database, or no schema in it
        return False
    return tuple(found) == (tickets, tickets)


def generate(database: Database, tickets: int, seed: int) -> None:
    drop(database)
    if database.kind == "sqlite":
        DATA_DIR.mkdir(parents=True, exist_ok=True)
    else:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {database.url.rsplit('/', 1)[1]}")
    started = time.perf_counter()
    engine = make_engine(database.url)
    try:
        upgrade(engine)
        shape = api_load.shape_of(engine, tickets, datetime.now(UTC), seed)
        rows = api_load.load(engine, shape, api_load.Reporter(tickets))
        upgrade(engine)  # nothing to migrate: SQLite's planner statistics, dropped with the indexes
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    print(f"  generated in {seconds:.0f} s: {rows:,} rows ({rows / seconds:,.0f} rows/s)")


def prepare(database: Database, tickets: int, seed: int, keep: bool, fresh: bool) -> None:
    """The database of ``tickets``: a kept one (``keep``, not ``fresh``) as it is, brought to
    the newest migration, else generated afresh."""
    if keep and not fresh and complete(database, tickets):
        started, engine = time.perf_counter(), make_engine(database.url)
        try:
            upgrade(engine)  # a kept database made before a new migration gets it here
        finally:
            engine.dispose()
        took = time.perf_counter() - started
        print(f"  kept database taken, brought to the newest migration ({took:.1f} s)")
        return
    print(f"  generating {tickets:,} tickets ...", flush=True)
    generate(database, tickets, seed)
