"""SQLite checkpoints in a thread of their own, off the commit path.

In WAL mode a commit appends pages to ``helpdesk.db-wal``; a checkpoint copies them back into
``helpdesk.db`` and syncs it. By default the connection whose commit takes the WAL past 1,000
pages does that itself, within its commit: the unit of ticket work that happened to cross the
line waits for the copy and the fsync. On a large database that copy is of leaves scattered
across the file, and costs more: measured with a drain of 2,000 mails on a copy of a database
of a million tickets, its units of work spent 0.46-0.73 s in commits against 0.18-0.22 s on an
empty one; with the checkpoints run here, in the background, 0.22-0.37 s. The drain is no faster
for it (the copy still takes the machine's time), but SQLite's one write lock, which delivery,
timers and the HTTP API wait for, is held that much less.

A process that writes a lot (``serve``'s workers, ``helpdesk worker``) runs a ``Checkpointer``,
and its connections are made with ``wal_autocheckpoint`` at ``AUTOCHECKPOINT_BEHIND``: a committer
checkpoints itself only when this thread has fallen that far behind (stopped, or starved), so
the WAL stays bounded whatever happens here. Other processes keep SQLite's default. A checkpoint
is PASSIVE: it never waits for readers or writers, and copies what it can. One cut short by the
process's end is safe: the WAL keeps every page until a checkpoint has copied it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from sqlalchemy import Engine

log = logging.getLogger("helpdesk.checkpoints")
AUTOCHECKPOINT_BEHIND = 10_000  # pages (40 MB of WAL at SQLite's 4 KB pages)
INTERVAL_SECONDS = 0.25


def file_of(engine: Engine) -> str | None:
    """The database file of a SQLite engine; None for PostgreSQL or a database in memory."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return database if database and database != ":memory:" else None


class Checkpointer:
    """Checkpoints ``engine``'s database every ``interval`` seconds (with nothing to copy, a
    pass reads a page of shared memory). On anything but a SQLite file it does nothing."""

    def __init__(self, engine: Engine, interval: float = INTERVAL_SECONDS) -> None:
        self.path = file_of(engine)
        self._interval = interval
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)

    def start(self) -> None:
        if self.path is not None:
            self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        assert self.path is not None
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute("PRAGMA synchronous=FULL")  # the copy synced before the WAL resets
            failing = False
            while not self._halt.wait(self._interval):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    if not failing:  # once per spell of failures, not four times a second
                        log.warning("background checkpoint failed: %s", exc)
                    failing = True
                else:
                    failing = False
        finally:
            connection.close()
