"""The fresh database each measurement runs on (a SQLite file or a PostgreSQL database dropped
after), the helpdesk settings pointing at it, and a measurement run once per database."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from addresses import HOST, PG_ADMIN_URL, SUPPORT_ADDRESS
from processes import base_env, scratch_dir


@dataclass
class Database:
    kind: str  # sqlite or postgresql
    url: str

    @property
    def label(self) -> str:
        return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[self.kind]


def _drop_pg(conn: psycopg.Connection[Any], name: str) -> None:
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
    )
    conn.execute(f"DROP DATABASE IF EXISTS {name}")


@contextlib.contextmanager
def fresh_database(kind: str, var_dir: Path, pg_database: str) -> Iterator[Database]:
    """A new SQLite file in ``var_dir``, or PostgreSQL database ``pg_database``, dropped after."""
    if kind == "sqlite":
        yield Database(kind, f"sqlite:///{var_dir / 'helpdesk.db'}")
        return
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        _drop_pg(conn, pg_database)
        conn.execute(f"CREATE DATABASE {pg_database}")
    try:
        yield Database(kind, PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{pg_database}")
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            _drop_pg(conn, pg_database)


def helpdesk_env(database: Database, var_dir: Path, secret: str) -> dict[str, str]:
    """``base_env`` with the settings of a helpdesk on ``database``, its files in ``var_dir``."""
    return base_env() | {
        "HELPDESK_DATABASE_URL": database.url,
        "HELPDESK_VAR_DIR": str(var_dir),
        "HELPDESK_SUPPORT_ADDRESS": SUPPORT_ADDRESS,
        "HELPDESK_SECRET": secret,
        "HELPDESK_HTTP_LISTEN": f"{HOST}:0",  # served, idle, as on the embedded default
    }


def database_kinds(choice: str) -> list[str]:
    """The databases of a ``--database`` choice: ``both`` is SQLite, then PostgreSQL."""
    return ["sqlite", "postgresql"] if choice == "both" else [choice]


def each_database(
    kinds: Sequence[str], prefix: str, keep: bool, measure: Callable[[str, Path], None]
) -> None:
    """``measure(kind, workdir)`` for each database in one scratch directory; one that fails is
    reported as not measured and the next goes on (a measurement, not a test)."""
    with scratch_dir(prefix, keep=keep) as workdir:
        for kind in kinds:
            try:
                measure(kind, workdir)
            except Exception as exc:  # a measurement, not a test: report and go on
                print(f"  {kind}: not measured: {type(exc).__name__}: {exc}")
