"""Durations as people write them, the same everywhere (settings, the command line, ``#block``):
``30s``, ``15m``, ``8h``, ``3d``, ``2w``, or several at once (``1h30m``)."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)\s*(s|sec|m|min|h|d|w)", re.I)
_WHOLE = re.compile(r"^(?:\s*\d+\s*(?:s|sec|m|min|h|d|w)\s*)+$", re.I)
_UNITS = {"s": "seconds", "sec": "seconds", "m": "minutes", "min": "minutes", "h": "hours"}
_UNITS |= {"d": "days", "w": "weeks"}
_SHOWN = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse(text: str) -> timedelta | None:
    """The duration ``text`` writes, or None when it is not one."""
    if not _WHOLE.match(text):
        return None
    total = timedelta()
    for amount, unit in _PART.findall(text):
        total += timedelta(**{_UNITS[unit.lower()]: int(amount)})
    return total


def shown(duration: timedelta) -> str:
    """``duration`` the way ``parse`` reads it: ``1h30m``, ``2d``, ``0s``."""
    seconds, parts = int(duration.total_seconds()), []
    for unit, size in _SHOWN:
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
