"""Fixtures: every database test runs on SQLite and on PostgreSQL; real SMTP sockets throughout.

Under ``CI=true`` a service that cannot be reached fails the test; elsewhere it is skipped with
the reason, so a laptop without PostgreSQL still runs the SQLite half.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from gateway.bootstrap import App, build
from gateway.settings import Settings
from storage.db import make_engine, upgrade
from storage.models import Base
from tests.helpers import GatewayThread

PG_ADMIN_URL = os.environ.get(
    "HELPDESK_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PG_TEST_DB = "helpdesk_test"
IN_CI = os.environ.get("CI", "").lower() == "true"
KEEP = {"sla_policies", "alembic_version"}


def unavailable(what: str, error: object) -> None:
    message = f"{what} is not reachable: {error}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "helpdesk.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (PG_TEST_DB,),
            )
            conn.execute(f"DROP DATABASE IF EXISTS {PG_TEST_DB}")
            conn.execute(f"CREATE DATABASE {PG_TEST_DB}")
    except psycopg.OperationalError as exc:
        unavailable("PostgreSQL", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_TEST_DB}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "helpdesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in KEEP]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        support_address="support@example.com,help@example.com",
        secret="test-secret-not-for-production",
        group_commit_window_ms=1.0,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    app = build(settings)
    yield app
    app.close()


@pytest.fixture
def gateway(app: App) -> Iterator[GatewayThread]:
    running = GatewayThread(app)
    running.start()
    yield running
    running.stop()
