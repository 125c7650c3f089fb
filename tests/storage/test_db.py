"""Engines: single-statement writes commit as they run, and leave the pool's connections fit
for ordinary transactions."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, func, insert, select, update

from helpdesk.app.runtime import App
from storage.db import assign_id, bookkeeping, single_statements
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


def test_new_rows_of_a_unit_of_work_are_numbered_in_order_and_inserted_together(app: App) -> None:
    """On SQLite the session numbers new rows itself so that a flush writes each table with one
    statement; ids still follow the order the rows were added in, after every existing one."""
    now = datetime.now(UTC)
    with app.sessions.begin() as session:
        session.add(Customer(email="first@customer.test", created_at=now))
    inserts: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT INTO customers"):
            inserts.append(statement)

    event.listen(app.engine, "before_cursor_execute", seen)
    try:
        with app.sessions.begin() as session:
            added = [Customer(email=f"c{i}@customer.test", created_at=now) for i in range(5)]
            session.add_all(added)
            session.flush()
            ids = [customer.id for customer in added]
    finally:
        event.remove(app.engine, "before_cursor_execute", seen)
    with app.engine.connect() as connection:
        first = connection.scalar(
            select(Customer.id).where(Customer.email == "first@customer.test")
        )
    assert ids == sorted(ids) and len(set(ids)) == 5 and min(ids) > (first or 0)
    assert len(inserts) == 1  # one statement for the five rows, on both databases
    assert count(app) == 6


def test_an_id_given_before_the_flush_is_the_one_the_row_keeps(app: App) -> None:
    """``assign_id``: a new customer's id is known at once (a signed token names it) without a
    flush, and neither the rows numbered at the flush nor the next transaction reuse it."""
    now = datetime.now(UTC)
    flushes: list[object] = []
    with app.sessions.begin() as session:
        event.listen(session, "before_flush", lambda *args: flushes.append(args))
        early = Customer(email="early@customer.test", created_at=now)
        session.add(early)
        given = assign_id(session, early)
        assert flushes == [] and early.id == given
        later = Customer(email="later@customer.test", created_at=now)
        session.add(later)
    with app.sessions.begin() as session:
        last = Customer(email="last@customer.test", created_at=now)
        session.add(last)
        session.flush()
    ids = {c.email: c.id for c in (early, later, last)}
    assert ids["early@customer.test"] == given
    assert (
        len(set(ids.values())) == 3
        and given < ids["later@customer.test"] < ids["last@customer.test"]
    )
