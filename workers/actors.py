"""The Dramatiq actors, bound to one App: deliver an outbox row, reconcile, drain inbound mail.

Actors take ids, never objects, and are idempotent: the database says what is still to do, the
broker only wakes workers. The reconciler re-enqueues itself; a watchdog middleware restarts it
when its heartbeat goes stale (a wiped broker loses the scheduled message too).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dramatiq
from dramatiq import Broker, Middleware, Worker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.rate_limits import ConcurrentRateLimiter
from dramatiq.rate_limits.backends import RedisBackend
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from helpdesk.app import clock, digests, firing, timers
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import MailStatus
from storage import spool
from storage.models import Heartbeat, InboundMail
from workers import delivery
from workers.processor import drain
from workers.render import Renderer
from workers.transport import Transport, transport_for

log = logging.getLogger("helpdesk.actors")
RECONCILE = "reconcile"


def make_broker(settings: Settings) -> Broker:
    """Redis when ``HELPDESK_BROKER_URL`` names it; otherwise an in-process broker."""
    if settings.broker_url:
        return RedisBroker(url=settings.broker_url, namespace=settings.broker_namespace)  # type: ignore[no-untyped-call]
    return StubBroker()


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


class Tasks:
    def __init__(
        self,
        app: App,
        broker: Broker,
        *,
        transport: Transport | None = None,
        inbound_via_broker: bool = False,
    ) -> None:
        settings = app.settings
        self.app = app
        self.broker = broker
        self.renderer = Renderer(settings.templates_dir)
        self.transport = transport or transport_for(
            settings.resolved_outbound, settings.smtp_timeout_seconds
        )
        self.deliverer = delivery.Deliverer(app, self.renderer, self.transport)
        self.inbound_via_broker = inbound_via_broker
        self._draining = threading.Lock()
        self._wanted = threading.Event()
        # PostgreSQL: processes claim different mails (SKIP LOCKED), so all of them may drain.
        self._one_drainer = (
            OneDrainer(broker)
            if isinstance(broker, RedisBroker) and app.engine.dialect.name == "sqlite"
            else None
        )
        self.deliver = dramatiq.actor(
            actor_name="deliver",
            queue_name="outbox",
            priority=0,  # before inbound work: a waiting acknowledgement is late already
            broker=broker,
            max_retries=settings.delivery_attempts,
            time_limit=300_000,
        )(self._deliver)
        self.reconcile = dramatiq.actor(
            actor_name=RECONCILE, queue_name="periodic", broker=broker, max_retries=0
        )(self._reconcile)
        self.drain_inbound = dramatiq.actor(
            actor_name="drain_inbound",
            queue_name="inbound",
            priority=10,
            broker=broker,
            max_retries=3,
        )(self._drain_inbound)
        # twice the reconciler's interval: a timer is armed by the pass before it falls due
        self.arm_horizon = timedelta(seconds=2 * settings.reconcile_seconds)
        self._armed: dict[int, datetime] = {}  # timer id -> the due time a message was sent for
        self._armed_lock = threading.Lock()
        self.fire_timer = dramatiq.actor(
            actor_name="fire_timer",
            queue_name="timers",
            broker=broker,
            max_retries=3,
        )(self._fire_timer)
        broker.add_middleware(ReconcilerWatchdog(self))

    def arm(self, due: list[tuple[int, datetime]]) -> None:
        """A message delayed to the due time of each timer that falls due before the next
        reconciler pass; that pass arms the next ones, and fires any that no message did (the
        broker was away, a message was lost). Most timers are days away: a message each, kept
        in the broker for days, would cost more than the timer row itself."""
        now = clock.now(self.app.settings)
        horizon = self.arm_horizon
        with self._armed_lock:  # armed by an earlier pass (the horizon is two passes): not again
            self._armed = {k: at for k, at in self._armed.items() if at > now - horizon}
            wanted = [(k, at) for k, at in due if at - now <= horizon and self._armed.get(k) != at]
            self._armed.update(wanted)
        try:
            for timer_id, at in wanted:
                delay = max(int((at - now).total_seconds() * 1000), 0)
                self.fire_timer.send_with_options(args=(timer_id,), delay=delay)
        except Exception as exc:
            log.warning("could not arm timers (the reconciler will fire them): %s", exc)

    def _fire_timer(self, timer_id: int) -> None:
        """Fire the timer if its time has come (a message may come early, or the test clock
        may not have moved yet: the reconciler takes it then)."""
        self.dispatch(firing.fire_if_due(self.app, timer_id, clock.now(self.app.settings)))

    def dispatch(self, outbox_ids: list[int]) -> None:
        """Wake a worker for each new row; if the broker is away the reconciler finds them."""
        try:
            for outbox_id in outbox_ids:
                self.deliver.send(outbox_id)
        except Exception as exc:
            log.warning("could not enqueue deliveries (the reconciler will): %s", exc)

    def _deliver(self, outbox_id: int) -> None:
        """The row and those claimed with it. A retry is a new job, delayed by the backoff; a
        row handed back unattempted gets a new job at once."""
        results = self.deliverer.deliver(outbox_id)
        for result in results:
            if result.state is delivery.Delivered.RETRY:
                self._retry(result.outbox_id, result.retry_in)
        self.dispatch([r.outbox_id for r in results if r.state is delivery.Delivered.RELEASED])

    def _retry(self, outbox_id: int, delay: float) -> None:
        try:
            self.deliver.send_with_options(args=(outbox_id,), delay=int(delay * 1000))
        except Exception as exc:
            log.warning("could not enqueue a retry of %s (the reconciler will): %s", outbox_id, exc)

    def _reconcile(self) -> None:
        interval = self.app.settings.reconcile_seconds
        if not beat(self.app, RECONCILE, interval * 0.8):
            return  # another reconcile chain is alive: let this one end
        now = clock.now(self.app.settings)  # the one clock (a test may move it)
        self.dispatch(delivery.due_ids(self.app, now))
        self.dispatch(firing.fire_due(self.app, now))
        self.dispatch(digests.gather_due(self.app, now))
        self.arm(timers.coming(self.app, now, now + self.arm_horizon))
        if self.inbound_via_broker and self._inbound_waiting():
            self.drain_inbound.send()
        self.reconcile.send_with_options(delay=int(interval * 1000))

    def _inbound_waiting(self) -> bool:
        if spool.waiting(self.app.engine):
            return True
        with self.app.sessions() as session:
            return bool(
                session.scalar(select(exists().where(InboundMail.status == MailStatus.RECEIVED)))
            )

    def _drain_inbound(self) -> None:
        """One drain per process at a time. A wake that finds one running asks it to go round
        once more (the mail that woke it may have come after its last look) and returns, so its
        thread can deliver."""
        self._wanted.set()
        while self._wanted.is_set() and self._draining.acquire(blocking=False):
            try:
                self._wanted.clear()
                if self._one_drainer is None:
                    drain(self.app, self.dispatch, arm=self.arm)
                else:
                    self._one_drainer.run(lambda: drain(self.app, self.dispatch, arm=self.arm))
            finally:
                self._draining.release()


class ReconcilerWatchdog(Middleware):
    """Starts the reconcile chain at worker boot and again whenever its heartbeat goes stale."""

    def __init__(self, tasks: Tasks) -> None:
        self._tasks = tasks
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: Broker, worker: Worker) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="reconcile-watchdog", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _watch(self) -> None:
        interval = self._tasks.app.settings.reconcile_seconds
        while not self._stop.is_set():
            try:
                beat_at = last_beat(self._tasks.app, RECONCILE)
                stale = datetime.now(UTC) - timedelta(seconds=interval * 3)
                if beat_at is None or beat_at < stale:
                    self._tasks.reconcile.send()
            except Exception as exc:
                log.warning("reconcile watchdog: %s", exc)
            self._stop.wait(interval)
