"""Fixtures: every database test runs on SQLite and on PostgreSQL; real SMTP sockets throughout.

Under ``CI=true`` a service that cannot be reached fails the test; elsewhere it is skipped with
the reason, so a laptop without PostgreSQL still runs the SQLite half.
"""

from __future__ import annotations

import mailbox
import os
import shutil
import uuid
from collections.abc import Iterator
from email.utils import getaddresses
from pathlib import Path

import psycopg
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import select, text

from gateway.intake import Intake
from helpdesk.app.runtime import App, build
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import MessageKind
from storage.base import Base
from storage.db import make_engine, upgrade
from storage.models import Agent, Message, SlaPolicy
from tests.helpers import GatewayThread, forget
from tests.sink import OPEN_SINKS, Received, Sink

PG_ADMIN_URL = os.environ.get(
    "HELPDESK_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PG_TEST_DB = f"helpdesk_test_{os.getpid()}"  # one per run: parallel runs must not meet
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


def _admin(statement: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (PG_TEST_DB,),
        )
        conn.execute(statement)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        _admin(f"DROP DATABASE IF EXISTS {PG_TEST_DB}")
        _admin(f"CREATE DATABASE {PG_TEST_DB}")
    except psycopg.OperationalError as exc:
        unavailable("PostgreSQL", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_TEST_DB}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    _admin(f"DROP DATABASE IF EXISTS {PG_TEST_DB}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "helpdesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in KEEP]
    seeded = request.getfixturevalue("seeded_sla")
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        # the seeded SLA policy is kept (it is the migrations'), but as seeded: a test may set it
        conn.execute(text("DELETE FROM sla_policies"))
        conn.execute(SlaPolicy.__table__.insert(), seeded)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def seeded_sla(postgres_url: str) -> list[dict[str, object]]:
    engine = make_engine(postgres_url)
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(SlaPolicy.__table__.select()).mappings()]
    engine.dispose()
    return rows


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        var_dir=tmp_path / "var",
        support_address="support@example.com,help@example.com",
        secret="test-secret-not-for-production-0123456789",
        group_commit_window_ms=1.0,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    app = build(settings)
    yield app
    app.close()


@pytest.fixture
def intake(app: App) -> Iterator[Intake]:
    """The real intake, as the edge and the IMAP poller use it."""
    running = Intake(app.engine, window_seconds=0.001)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def gateway(app: App) -> Iterator[GatewayThread]:
    running = GatewayThread(app)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def sink() -> Iterator[Sink]:
    running = Sink().start()
    yield running
    running.stop()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("HELPDESK_TEST_REDIS", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    return url


@pytest.fixture
def redis_broker(redis_url: str) -> Iterator[RedisBroker]:
    namespace = f"helpdesk-test-{uuid.uuid4().hex[:8]}"
    broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    yield broker
    broker.flush_all()
    forget(broker)
    broker.close()


def _delivered(app: App) -> list[Received]:
    """What left the building in this test: every sink, and the Maildir outbox."""
    found = [r for s in OPEN_SINKS for r in s.received]
    outbox = app.settings.var_dir / "outbox"
    if outbox.exists():
        for raw in mailbox.Maildir(outbox, create=False):
            recipients = tuple(a.lower() for _, a in getaddresses([str(raw["To"])]))
            found.append(Received("", recipients, raw.as_bytes()))
    return found


@pytest.fixture(autouse=True)
def no_internal_note_reaches_a_customer(request: pytest.FixtureRequest) -> Iterator[None]:
    """Invariant 4, for every test: no mail to a non-agent carries an internal note's text."""
    OPEN_SINKS.clear()
    app: App | None = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is None:
        return
    with app.sessions() as session:
        agents = set(session.scalars(select(Agent.email)))
        notes = [
            body.strip()
            for body in session.scalars(
                select(Message.body).where(Message.kind == MessageKind.INTERNAL)
            )
            if len(body.strip()) >= 8
        ]
    for mail in _delivered(app):
        if agents & {r.strip().lower() for r in mail.recipients}:
            continue
        text = mail.text()
        for note in notes:
            assert note not in text, f"internal note reached {mail.recipients}: {note[:60]!r}"
