"""Blocked senders, known at MAIL FROM without a database round trip in the event loop.

The list is a snapshot refreshed every few seconds off the loop; the pipeline checks the database
again, so a block set a moment ago still creates no work.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from storage.db import reading
from storage.models import Customer


class BlockList:
    def __init__(self) -> None:
        self._blocked: Mapping[str, tuple[str, datetime | None]] = {}
        self._lock = threading.Lock()

    def reason(self, address: str, now: datetime | None = None) -> str | None:
        entry = self._blocked.get(address.strip().lower())
        if entry is None:
            return None
        reason, until = entry
        if until is not None and until <= (now or datetime.now(UTC)):
            return None
        when = f" until {until:%Y-%m-%d %H:%M} UTC" if until else ""
        return f"sender {address} is blocked{when}: {reason or 'no reason given'}"

    def refresh(self, engine: Engine) -> None:
        with reading(engine).connect() as connection:
            rows = connection.execute(
                select(Customer.email, Customer.block_reason, Customer.blocked_until).where(
                    Customer.blocked
                )
            ).all()
        with self._lock:
            self._blocked = {email: (reason, until) for email, reason, until in rows}
