"""The Alembic migrations and the models describe the same schema, on both databases."""

from __future__ import annotations

import subprocess
import sys

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from helpdesk.app.runtime import App
from helpdesk.domain.vocabulary import Priority
from storage.base import Base
from storage.db import alembic_config
from storage.models import InboundMail, SlaPolicy


def test_models_and_migrations_agree(app: App) -> None:
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_round_trip(app: App) -> None:
    config = alembic_config(app.engine)
    command.downgrade(config, "base")
    assert not inspect(app.engine).has_table("tickets")
    command.upgrade(config, "head")
    assert inspect(app.engine).has_table("tickets")


def test_default_sla_is_seeded(app: App) -> None:
    with app.sessions() as session:
        policies = {p.priority: p for p in session.scalars(select(SlaPolicy))}
    assert set(policies) == set(Priority)
    assert (
        policies[Priority.URGENT].first_response_minutes
        < policies[Priority.LOW].first_response_minutes
    )


def test_hot_path_lookups_are_indexed(app: App) -> None:
    inspector = inspect(app.engine)

    def indexed(table: str) -> set[str]:
        columns = {next(iter(i["column_names"])) for i in inspector.get_indexes(table)}
        columns |= {next(iter(u["column_names"])) for u in inspector.get_unique_constraints(table)}
        return {str(c) for c in columns}

    assert {"dedupe_key", "status"} <= indexed("inbound_mails")
    assert {"number", "status", "customer_id"} <= indexed("tickets")
    assert "message_id" in indexed("messages") and "message_id" in indexed("outbox")
    assert "email" in indexed("customers") and "email" in indexed("agents")


def test_the_bytes_of_stored_mail_move_to_their_own_table_and_back(app: App) -> None:
    """Migration 0005 carries every stored mail's bytes over, and its downgrade back."""
    config = alembic_config(app.engine)
    command.downgrade(config, "0004")
    row = {"key": "k" * 64, "at": "2026-11-30 12:00:00", "raw": b"Subject: kept\r\n\r\n\xff"}
    with app.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO inbound_mails (dedupe_key, received_at, source, peer, envelope_from,"
                " envelope_to, message_id, from_address, size, raw, status, outcome, reason,"
                " error) VALUES (:key, :at, 'smtp', '', '', '[]', '', '', 3, :raw, 'received',"
                " '', '', '')"
            ),
            row,
        )
    command.upgrade(config, "head")
    with app.sessions() as session:
        assert session.scalars(select(InboundMail)).one().raw == row["raw"]
    command.downgrade(config, "0004")
    with app.engine.connect() as connection:
        assert connection.scalar(text("SELECT raw FROM inbound_mails")) == row["raw"]
    command.upgrade(config, "head")


def test_two_processes_starting_at_once_migrate_once(app: App) -> None:
    """A gateway and a second gateway (or a restart) racing on a fresh database: one creates the
    schema, the other waits for it and finds nothing left to do."""
    command.downgrade(alembic_config(app.engine), "base")
    url = app.engine.url.render_as_string(hide_password=False)
    script = (
        "import sys; from storage.db import make_engine, upgrade; upgrade(make_engine(sys.argv[1]))"
    )
    racers = [
        subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for racer in racers:
        _, errors = racer.communicate(timeout=120)
        assert racer.returncode == 0, errors.decode()
    with app.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    assert current == ScriptDirectory.from_config(alembic_config(app.engine)).get_current_head()
