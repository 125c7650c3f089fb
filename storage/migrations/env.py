"""Alembic environment: runs against the engine handed over by ``storage.db.upgrade``."""

from alembic import context
from sqlalchemy import Engine

import storage.models  # noqa: F401  (the tables, into the metadata)
from storage.base import Base

MIGRATION_LOCK = 0x68656C70  # any constant of this application's own
engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":  # two processes starting at once: one migrates
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
