"""The Dramatiq actors, bound to one App: deliver an outbox row, reconcile, drain inbound mail.

Actors take ids, never objects, and are idempotent: the database says what is still to do, the
broker only wakes workers. The reconciler re-enqueues itself; a watchdog middleware restarts it
when its heartbeat goes stale (a wiped broker loses the scheduled message too).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dramatiq
from dramatiq import Broker, Middleware, Worker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import exists, select

from helpdesk.app import clock, digests, firing, orders, timers
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import MailStatus
from storage import spool
from storage.models import InboundMail
from workers import delivery, hooks
from workers.processor import drain
from workers.render import Renderer
from workers.transport import Transport, transport_for
from workers.turns import OneDrainer, beat, last_beat

log = logging.getLogger("helpdesk.actors")
RECONCILE = "reconcile"
ARM_WINDOW = timedelta(milliseconds=100)  # timers due this close together share one message


def make_broker(settings: Settings) -> Broker:
    """Redis when ``HELPDESK_BROKER_URL`` names it; otherwise an in-process broker."""
    if settings.broker_url:
        return RedisBroker(url=settings.broker_url, namespace=settings.broker_namespace)  # type: ignore[no-untyped-call]
    return StubBroker()


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
        self.hooks = hooks.HookSender(app)
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
        self.deliver_hooks = dramatiq.actor(
            actor_name="deliver_hooks", queue_name="webhooks", broker=broker, max_retries=0
        )(self._deliver_hooks)
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
        self.lookup_orders = dramatiq.actor(
            actor_name="lookup_orders", queue_name="periodic", broker=broker, max_retries=0
        )(self._lookup_orders)
        broker.add_middleware(ReconcilerWatchdog(self))

    def arm(self, due: list[tuple[int, datetime]]) -> None:
        """A message delayed to the due time of the timers that fall due before the next
        reconciler pass, one for each group due together (``groups``); that pass arms the next
        ones, and fires any that no message did (the broker was away, a message was lost). Most
        timers are days away: a message each, kept in the broker for days, would cost more than
        the timer row itself."""
        now = clock.now(self.app.settings)
        horizon = self.arm_horizon
        with self._armed_lock:  # armed by an earlier pass (the horizon is two passes): not again
            self._armed = {k: at for k, at in self._armed.items() if at > now - horizon}
            wanted = [(k, at) for k, at in due if at - now <= horizon and self._armed.get(k) != at]
            self._armed.update(wanted)
        try:
            for group in groups(wanted):
                delay = max(math.ceil((group[-1][1] - now).total_seconds() * 1000), 0)
                args = tuple(timer_id for timer_id, _ in group)
                self.fire_timer.send_with_options(args=args, delay=delay)
        except Exception as exc:
            log.warning("could not arm timers (the reconciler will fire them): %s", exc)

    def _lookup_orders(self) -> None:
        """Ask the order service again about what it did not answer (the reconciler's)."""
        orders.retry_unavailable(self.app, clock.now(self.app.settings))

    def _fire_timer(self, *timer_ids: int) -> None:
        """Fire the timers whose time has come (a message may come early, or the test clock
        may not have moved yet: the reconciler takes them then)."""
        now = clock.now(self.app.settings)
        self.dispatch(firing.fire_if_due(self.app, list(timer_ids), now))

    def dispatch(self, outbox_ids: list[int], *, wake_hooks: bool = True) -> None:
        """Wake a worker for each new row, and the webhook sender (after a commit, which may
        have written deliveries, with mail or without); if the broker is away the reconciler
        finds them."""
        try:
            for outbox_id in outbox_ids:
                self.deliver.send(outbox_id)
        except Exception as exc:
            log.warning("could not enqueue deliveries (the reconciler will): %s", exc)
        if wake_hooks:
            self.dispatch_hooks()

    def dispatch_hooks(self, delay: float = 0.0) -> None:
        """One ``deliver_hooks`` job: it sends whatever is due then."""
        try:
            self.deliver_hooks.send_with_options(delay=int(delay * 1000))
        except Exception as exc:
            log.warning("could not wake the webhook sender (the reconciler will): %s", exc)

    def _deliver_hooks(self) -> None:
        """Every due webhook delivery; a job again when one that failed here is due."""
        again = self.hooks.send_due()
        if again is not None:
            self.dispatch_hooks(again)

    def _deliver(self, outbox_id: int) -> None:
        """The row and those claimed with it. A retry is a new job, delayed by the backoff; a
        row handed back unattempted gets a new job at once."""
        results = self.deliverer.deliver(outbox_id)
        for result in results:
            if result.state is delivery.Delivered.RETRY:
                self._retry(result.outbox_id, result.retry_in)
        released = [r.outbox_id for r in results if r.state is delivery.Delivered.RELEASED]
        self.dispatch(released, wake_hooks=False)

    def _retry(self, outbox_id: int, delay: float) -> None:
        try:
            self.deliver.send_with_options(args=(outbox_id,), delay=int(delay * 1000))
        except Exception as exc:
            log.warning("could not enqueue a retry of %s (the reconciler will): %s", outbox_id, exc)

    def _reconcile(self) -> None:
        interval = self.app.settings.reconcile_seconds
        if not beat(self.app, RECONCILE, interval * 0.8):
            return  # another reconcile chain is alive: let this one end
        try:
            now = clock.now(self.app.settings)  # the one clock (a test may move it)
            steps: tuple[Callable[[], None], ...] = (
                lambda: self.dispatch(delivery.due_ids(self.app, now)),
                lambda: self.dispatch(firing.fire_due(self.app, now)),
                lambda: self.dispatch(digests.gather_due(self.app, now)),
                lambda: self.arm(timers.coming(self.app, now, now + self.arm_horizon)),
                self._other_work,
            )
            for step in steps:
                try:
                    step()
                except Exception:  # one failing step holds up none of the others
                    log.exception("a reconciler step failed; the next pass tries again")
        finally:
            self.reconcile.send_with_options(delay=int(interval * 1000))

    def _other_work(self) -> None:
        if self.app.settings.order_lookup_url:
            self.lookup_orders.send()  # in a thread of its own: the service may be slow
        if self.inbound_via_broker and self._inbound_waiting():
            self.drain_inbound.send()

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


def groups(due: list[tuple[int, datetime]]) -> list[list[tuple[int, datetime]]]:
    """The timers in groups of up to ``firing.FIRE_BATCH`` due within ``ARM_WINDOW`` of the
    first, each woken at its last one's time: a burst of a thousand due at once is twenty
    messages, where a message each had every worker thread take the same next timers."""
    found: list[list[tuple[int, datetime]]] = []
    for timer in sorted(due, key=lambda timer: (timer[1], timer[0])):
        last = found[-1] if found else None
        if last is None or len(last) >= firing.FIRE_BATCH or timer[1] - last[0][1] > ARM_WINDOW:
            found.append([timer])
        else:
            last.append(timer)
    return found


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
