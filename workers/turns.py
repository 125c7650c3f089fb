"""How worker processes take turns: one inbound drainer at a time across processes (a Redis
lock), and heartbeats in the database that tell a live reconcile chain from a dead one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dramatiq.brokers.redis import RedisBroker
from dramatiq.rate_limits import ConcurrentRateLimiter
from dramatiq.rate_limits.backends import RedisBackend
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from helpdesk.app.runtime import App
from storage.models import Heartbeat


class OneDrainer:
    """On SQLite, one worker process drains inbound mail at a time, whatever their number.

    Only one process can write there; every other one would decode the same waiting mails,
    wait for the lock, and find them taken (measured with ``bench/notify.py``: a tenth of the
    workers' time, and deliveries waiting behind). A process that finds the turn taken leaves a
    note and returns; the drainer looks at the note after giving the turn back, so no wake-up
    is lost. The turn expires after ``TTL_MS`` if its holder dies.
    """

    TTL_MS = 60_000

    def __init__(self, broker: RedisBroker) -> None:
        namespace = broker.namespace
        backend = RedisBackend(client=broker.client)
        self._turn = ConcurrentRateLimiter(  # type: ignore[no-untyped-call]
            backend, f"{namespace}:inbound-turn", ttl=self.TTL_MS
        )
        self._client, self._note = broker.client, f"{namespace}:inbound-wanted"

    def run(self, work: Callable[[], object]) -> None:
        while True:
            self._client.set(self._note, 1, px=self.TTL_MS)
            with self._turn.acquire(raise_on_failure=False) as mine:
                if not mine:
                    return  # the drainer will see the note
                self._client.delete(self._note)
                work()
            if not self._client.exists(self._note):
                return


def beat(app: App, name: str, min_gap: float) -> bool:
    """Record a run of ``name``; False when another run was recorded less than ``min_gap`` ago."""
    now = datetime.now(UTC)
    with app.sessions.begin() as session:
        moved = session.execute(
            update(Heartbeat)
            .where(Heartbeat.name == name, Heartbeat.at < now - timedelta(seconds=min_gap))
            .values(at=now)
            .returning(Heartbeat.name)
        ).first()
        if moved is not None:
            return True
        if session.get(Heartbeat, name) is not None:
            return False
        try:
            with session.begin_nested():
                session.add(Heartbeat(name=name, at=now))
        except IntegrityError:
            return False
    return True


def last_beat(app: App, name: str) -> datetime | None:
    with app.sessions() as session:
        return session.scalar(select(Heartbeat.at).where(Heartbeat.name == name))
