"""The actors' coordination through Redis: one inbound drainer at a time on SQLite."""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker

from workers.turns import OneDrainer


def test_one_drainer_at_a_time_and_a_wake_while_draining_is_not_lost(
    redis_broker: RedisBroker,
) -> None:
    first, second = OneDrainer(redis_broker), OneDrainer(redis_broker)
    runs: list[str] = []

    def draining() -> None:
        runs.append("first")
        if len(runs) == 1:  # another process is woken meanwhile: it must not drain alongside
            second.run(lambda: runs.append("second"))

    first.run(draining)
    assert runs == ["first", "first"]  # the first went round again for the note left
    second.run(lambda: runs.append("second"))  # the turn is free again
    assert runs == ["first", "first", "second"]
