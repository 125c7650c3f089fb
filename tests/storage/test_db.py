"""Engines: single-statement writes commit as they run, and leave the pool's connections fit
for ordinary transactions."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update

from gateway.bootstrap import App
from storage.db import bookkeeping, single_statements
from storage.models import Customer


def count(app: App) -> int:
    with app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(Customer)) or 0)


def test_single_statements_commit_and_transactions_still_roll_back(app: App) -> None:
    writer = single_statements(app.engine)
    row = {"email": "a@customer.test", "name": "A", "created_at": datetime.now(UTC)}
    for _ in range(3):  # the pool hands the same connections back and forth
        with writer.connect() as connection:
            connection.execute(insert(Customer), [row | {"email": f"{count(app)}@customer.test"}])
        assert count(app) >= 1
        with app.engine.connect() as connection, connection.begin() as transaction:
            connection.execute(update(Customer).values(name="changed"))
            connection.execute(insert(Customer), [row | {"email": "rolled@customer.test"}])
            transaction.rollback()
        with app.engine.connect() as connection:
            names = set(connection.scalars(select(Customer.name)))
            assert names == {"A"}
    assert count(app) == 3


def test_bookkeeping_commits_do_not_wait_for_their_own_flush(app: App) -> None:
    engine = bookkeeping(app.engine)
    with single_statements(engine).connect() as connection:
        if app.engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        else:
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
    with app.engine.connect() as connection:  # the application's own commits stay durable
        if app.engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        else:
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    engine.dispose()
