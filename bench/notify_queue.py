"""Timing how fast running workers drain a Dramatiq Redis queue filled at once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from notify_noop import noop


@dataclass
class Drain:
    label: str
    count: int
    enqueue_start: float = 0.0
    enqueue_end: float = 0.0
    first_fetch: float = 0.0
    done: float = 0.0
    dead: int = 0

    @property
    def complete(self) -> bool:
        return self.done > 0

    @property
    def seconds(self) -> float:
        return self.done - self.first_fetch if self.complete and self.first_fetch else 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def wall_rate(self) -> float:
        wall = self.done - self.enqueue_start if self.complete else 0.0
        return self.count / wall if wall else 0.0


class QueueWatch(threading.Thread):
    """Polls a Dramatiq Redis queue: when its first message is fetched, when none is left.

    A fetched message leaves the list ``ns:queue`` and stays in the hash ``ns:queue.msgs`` until
    it is acked; a retry moves to ``ns:queue.DQ``; a dead one to ``ns:queue.XQ``.
    """

    def __init__(self, url: str, namespace: str, queue_name: str, drain: Drain) -> None:
        super().__init__(name=f"watch-{queue_name}", daemon=True)
        self._client: redis.Redis = redis.Redis.from_url(url)
        base = f"{namespace}:{queue_name}"
        self._keys = (base, f"{base}.msgs", f"{base}.DQ.msgs", f"{base}.XQ")
        self.drain = drain
        self.enqueued = 0
        self.all_enqueued = threading.Event()
        self._halt = threading.Event()

    def run(self) -> None:
        queued, messages, delayed, dead = self._keys
        while not self._halt.is_set():
            enqueued = self.enqueued  # read before the lengths: a late enqueue cannot fake a fetch
            finished = self.all_enqueued.is_set()
            pipe = self._client.pipeline(transaction=False)
            pipe.llen(queued)
            pipe.hlen(messages)
            pipe.hlen(delayed)
            pipe.zcard(dead)
            waiting, unacked, retrying, dead_count = pipe.execute()
            now = time.time()
            if not self.drain.first_fetch and enqueued - waiting > 0:
                self.drain.first_fetch = now
            if finished and unacked + retrying == 0:
                self.drain.done, self.drain.dead = now, int(dead_count)
                return
            time.sleep(0.002)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        self._client.close()


def drain_queue(
    url: str,
    namespace: str,
    queue_name: str,
    actor_name: str,
    args: Sequence[int],
    label: str,
    timeout: float,
) -> Drain:
    """Enqueue one message per arg for ``actor_name`` and time the running workers' drain.

    All messages land at once, in one MULTI/EXEC doing what the broker's enqueue script does per
    message (HSET ``ns:queue.msgs`` id data, RPUSH ``ns:queue`` id): the workers then drain a full
    queue, and the clock starts at their first fetch, whatever their idle poll interval.
    """
    broker = RedisBroker(url=url, namespace=namespace)  # type: ignore[no-untyped-call]
    actor = dramatiq.actor(
        actor_name=actor_name, queue_name=queue_name, broker=broker, max_retries=0
    )(noop)
    messages = {}
    for arg in args:
        message = actor.message(arg)
        message = message.copy(options={"redis_message_id": str(uuid.uuid4())})
        messages[message.options["redis_message_id"]] = message.encode()
    drain = Drain(label, len(args))
    watch = QueueWatch(url, namespace, queue_name, drain)
    client: redis.Redis = redis.Redis.from_url(url)
    watch.start()
    try:
        drain.enqueue_start = time.time()
        pipe = client.pipeline(transaction=True)
        pipe.hset(f"{namespace}:{queue_name}.msgs", mapping=messages)
        pipe.rpush(f"{namespace}:{queue_name}", *messages)
        pipe.execute()
        drain.enqueue_end = time.time()
        watch.enqueued = len(messages)
        watch.all_enqueued.set()
        watch.join(timeout=timeout)
    finally:
        watch.stop()
        client.close()
        broker.close()
    return drain
