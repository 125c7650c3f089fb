"""The signing keys: long enough, created whole once however many processes start, rotatable."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from helpdesk.app import keys
from helpdesk.app.settings import Settings

LONG = "k" * 32


def test_a_short_or_empty_key_is_refused(tmp_path: Path) -> None:
    for secret in ("x", "a" * 31):
        with pytest.raises(keys.InvalidKey, match=r"HELPDESK_SECRET is \d+ bytes; a signing"):
            keys.load(Settings(var_dir=tmp_path, secret=secret))
    (tmp_path / "secret").write_text("")
    with pytest.raises(keys.InvalidKey, match="secret is 0 bytes"):
        keys.load(Settings(var_dir=tmp_path))
    with pytest.raises(keys.InvalidKey, match="HELPDESK_SECRET_PREVIOUS"):
        keys.load(Settings(var_dir=tmp_path, secret=LONG, secret_previous=f"{LONG},short"))


def test_previous_keys_are_read_in_order(tmp_path: Path) -> None:
    old, older = "o" * 32, "p" * 40
    loaded = keys.load(Settings(var_dir=tmp_path, secret=LONG, secret_previous=f" {old} , {older}"))
    assert loaded == keys.Keys(LONG.encode(), (old.encode(), older.encode()))


def _load(var_dir: str) -> bytes:
    return keys.load(Settings(var_dir=Path(var_dir))).current


def test_processes_starting_together_share_one_whole_key(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        found = set(pool.map(_load, [str(var_dir)] * 16))
    assert len(found) == 1 and len(found.pop()) >= 32
    assert (var_dir / "secret").stat().st_mode & 0o777 == 0o600
    assert var_dir.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in var_dir.iterdir()] == ["secret"]  # no temporary file left
