"""SQLite checkpoints in the background: the WAL is copied into the database file by the
checkpointer's thread, not by the commits, and a process's app starts and stops it."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, text

from helpdesk.app.runtime import build
from helpdesk.app.settings import Settings
from storage.checkpoints import AUTOCHECKPOINT_BEHIND, Checkpointer, file_of
from storage.db import make_engine

ROWS = 1500  # ~6 MB: past SQLite's default autocheckpoint of 1,000 pages, not past ours
HUNDRED_ROWS = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)"
    " INSERT INTO filler SELECT randomblob(4000) FROM n"
)


def _write(url: str) -> Engine:
    """The rows written, on an engine left open (the last connection to close checkpoints)."""
    engine = make_engine(url, wal_autocheckpoint=AUTOCHECKPOINT_BEHIND)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS filler (body BLOB)"))
    for _ in range(ROWS // 100):
        with engine.begin() as connection:  # commits of their own, as units of work are
            connection.execute(HUNDRED_ROWS)
    return engine


def _copied(path: Path, at_least: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.stat().st_size >= at_least:
            return True
        time.sleep(0.05)
    return False


def test_commits_leave_the_wal_to_the_checkpointer_which_copies_it(tmp_path: Path) -> None:
    path = tmp_path / "helpdesk.db"
    url = f"sqlite:///{path}"
    writer = _write(url)
    assert path.stat().st_size < ROWS * 4000 // 2  # the commits did not checkpoint: in the WAL
    assert Path(f"{path}-wal").stat().st_size >= ROWS * 4000
    checkpointer = Checkpointer(make_engine(url), interval=0.05)
    checkpointer.start()
    try:
        assert _copied(path, ROWS * 4000, seconds=10)
    finally:
        checkpointer.stop()
        writer.dispose()


def test_the_checkpointer_is_started_by_a_workers_app_and_stopped_with_it(
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'helpdesk.db'}",
        var_dir=tmp_path,
        secret="x" * 40,
    )
    app = build(settings, migrate=True, checkpoints=True)
    assert app.checkpointer is not None and app.checkpointer.path == str(tmp_path / "helpdesk.db")
    thread = app.checkpointer._thread
    assert thread.is_alive()
    app.close()
    assert not thread.is_alive()
    plain = build(settings)
    assert plain.checkpointer is None  # the CLI's commands keep SQLite's own checkpoints
    plain.close()


def test_nothing_to_checkpoint_on_postgresql_or_in_memory() -> None:
    assert file_of(make_engine("sqlite://")) is None
    assert file_of(make_engine("postgresql://nobody@127.0.0.1:1/none")) is None
    checkpointer = Checkpointer(make_engine("sqlite://"))
    checkpointer.start()
    assert not checkpointer._thread.is_alive()
    checkpointer.stop()
