"""``ingest.py --pending-timers N``: the backlog database, populated once and copied for each
round. Populating a million tickets takes minutes (``populate.py``); a copy takes seconds: an
SQLite file copied, a PostgreSQL database made from it as a template.

The template lives in ``BENCH_INGEST_DIR`` when that is set, and is then kept for later runs
(SQLite ``backlog-N.db``; PostgreSQL ``bench_ingest_backlog_N``); otherwise in the run's scratch
directory, and the PostgreSQL one is dropped at the end of the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import populate
import psycopg
from addresses import PG_ADMIN_URL
from databases import Database, helpdesk_env
from processes import run_helpdesk

KEPT = os.environ.get("BENCH_INGEST_DIR")


def _pg_name(pending: int) -> str:
    return f"bench_ingest_backlog_{pending}"


def _pg_exists(conn: psycopg.Connection[Any], name: str) -> bool:
    found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def _make(template: Database, workdir: Path, pending: int, secret: str) -> None:
    var_dir = workdir / f"backlog-{template.kind}"
    var_dir.mkdir(parents=True, exist_ok=True)
    run_helpdesk(helpdesk_env(template, var_dir, secret), var_dir, "init")
    took = populate.populate(template.url, pending)
    print(f"  {pending} tickets with a pending timer inserted in {took:.1f} s", flush=True)


def fill(database: Database, workdir: Path, pending: int, secret: str) -> None:
    """Make ``database`` (fresh, empty) a copy of the backlog of ``pending`` tickets."""
    began = time.monotonic()
    if database.kind == "sqlite":
        home = Path(KEPT) if KEPT else workdir
        home.mkdir(parents=True, exist_ok=True)
        path = home / f"backlog-{pending}.db"
        if not path.exists():
            making = Path(f"{path}.making")
            _make(Database("sqlite", f"sqlite:///{making}"), workdir, pending, secret)
            with contextlib.closing(sqlite3.connect(making)) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file
            making.rename(path)
        shutil.copyfile(path, database.url.removeprefix("sqlite:///"))
    else:
        name, target = _pg_name(pending), database.url.rsplit("/", 1)[1]
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            made = not _pg_exists(conn, name)
            if made:  # under another name until it is whole
                conn.execute(f"DROP DATABASE IF EXISTS {name}_making")
                conn.execute(f"CREATE DATABASE {name}_making")
        if made:
            _make(Database("postgresql", f"{base}/{name}_making"), workdir, pending, secret)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            if made:
                conn.execute(f"ALTER DATABASE {name}_making RENAME TO {name}")
            conn.execute(f"DROP DATABASE IF EXISTS {target}")
            conn.execute(f"CREATE DATABASE {target} TEMPLATE {name}")
            conn.execute("CHECKPOINT")  # else the copy (GBs of WAL) is checkpointed in the load
    os.sync()  # the copy's dirty pages written now, not during the load (their writeback
    # slowed the spool's fsyncs: dot->250 p99 48 ms against 11 ms on an empty database)
    print(f"  backlog of {pending} copied in {time.monotonic() - began:.1f} s", flush=True)


def drop_templates(kinds: list[str], pending: int | None) -> None:
    """The run's PostgreSQL template, unless kept (SQLite's goes with the scratch directory)."""
    if KEPT or pending is None or "postgresql" not in kinds:
        return
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {_pg_name(pending)}")
