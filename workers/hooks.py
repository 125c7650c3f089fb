"""Send webhook deliveries: claim the heads of their queues, POST them signed, record the answer.

The rows are the truth and the broker only wakes a sender: a ``deliver_hooks`` job sends every
delivery that is due, queue head after queue head, until none is left, and the reconciler wakes
one whenever a pass finds a due delivery that no job took (a wiped broker, a lost retry). A
delivery is leased by an atomic UPDATE (``storage.hook_queue``), so two jobs never send it
twice; the one window left, a crash between the receiver's 2xx and the row marked sent, sends
it again with the same event id, which receivers use to ignore a repeat.

A 2xx is success; anything else (an error status, a refused connection, a timeout) is tried
again, after ``webhook_backoff_seconds`` doubling up to an hour, and given up after
``webhook_attempts`` (logged; the next delivery of its queue goes then).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection, select

from helpdesk.app import clock
from helpdesk.app.redact import masked
from helpdesk.app.runtime import App
from helpdesk.domain import webhooks as rules
from storage.db import reading, single_statements
from storage.hook_queue import (
    ANY_DUE,
    MARK_FAILED,
    MARK_RETRY,
    MARK_SENT,
    RELEASE,
    HookClaim,
    claim,
)
from storage.models import Webhook

log = logging.getLogger("helpdesk.webhooks")
TIMEOUT = httpx.Timeout(5.0)  # each of connecting, writing and reading
BATCH = 8  # heads one claim leases
LEASE = timedelta(seconds=120)  # covers a batch of receivers at their slowest
MARGIN = timedelta(seconds=30)  # a delivery is begun only with this much of its lease ahead
RUN_SECONDS = 60.0  # a job that finds more sends for this long, then leaves the rest to another


@dataclass(frozen=True)
class Target:
    url: str
    secret: str
    active: bool


def body_of(event_id: int | str, payload: dict[str, Any]) -> bytes:
    """The JSON a receiver gets: the event's id, then the payload; the same bytes on each try."""
    return json.dumps({"event_id": event_id, **payload}, sort_keys=True).encode()


def post(client: httpx.Client, target: Target, kind: str, event_id: str, body: bytes) -> int:
    """POST ``body``, signed with the hook's secret; the receiver's status code (its body is not
    read). Raises ``httpx.HTTPError`` when no answer came."""
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "helpdesk-gateway",
        "X-Helpdesk-Event": kind,
        "X-Helpdesk-Event-Id": event_id,
        "X-Helpdesk-Timestamp": timestamp,
        "X-Helpdesk-Signature": rules.signature(target.secret, timestamp, body),
    }
    with client.stream("POST", target.url, content=body, headers=headers) as response:
        return response.status_code


def ping(target: Target, hook_id: int) -> int:
    """Send a ``ping`` to a hook now (``helpdesk webhook test``); its status code."""
    event_id = f"ping-{uuid.uuid4().hex}"
    body = body_of(event_id, {"event": rules.PING, "webhook_id": hook_id})
    with httpx.Client(timeout=TIMEOUT) as client:
        return post(client, target, rules.PING, event_id, body)


class HookSender:
    """Sends the due deliveries for one worker process; its threads each keep a client."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.reader = reading(app.engine)
        self.single = single_statements(app.engine)
        self._local = threading.local()

    def due(self, now: datetime) -> bool:
        """Whether some delivery is due that no job holds (one read, no write lock)."""
        with self.reader.connect() as connection:
            return connection.execute(ANY_DUE, {"now": now}).first() is not None

    def send_due(self) -> float | None:
        """Send until nothing is due. Then: None, or the seconds until a delivery that failed
        here is due again (the caller wakes a job then); 0 when out of time with more to do."""
        started, retry = time.monotonic(), None
        while time.monotonic() - started < RUN_SECONDS:
            now = clock.now(self.app.settings)
            claims = self._claim(now) if self.due(now) else []
            if not claims:
                return retry
            for delay in self._send(claims):
                retry = delay if retry is None else min(retry, delay)
        return 0.0

    def _claim(self, now: datetime) -> list[HookClaim]:
        if self.app.engine.dialect.name == "sqlite":
            with self.single.connect() as connection:
                return claim(connection, now, now + LEASE, BATCH)
        with self.app.engine.begin() as connection:
            return claim(connection, now, now + LEASE, BATCH)

    def _send(self, claims: list[HookClaim]) -> list[float]:
        """Each claim in turn while its lease has time; the rest go back. The delays of those
        to be tried again."""
        targets = self._targets({c.webhook_id for c in claims})
        retries = []
        with self.single.connect() as connection:
            for claim_ in claims:
                if claim_.lease_until - clock.now(self.app.settings) < MARGIN:
                    params = {"row": claim_.id, "lease": claim_.lease_until}
                    connection.execute(RELEASE, params)
                    continue
                delay = self._attempt(connection, claim_, targets.get(claim_.webhook_id))
                if delay is not None:
                    retries.append(delay)
        return retries

    def _targets(self, hook_ids: set[int]) -> dict[int, Target]:
        with self.reader.connect() as connection:
            rows = connection.execute(
                select(Webhook.id, Webhook.url, Webhook.secret, Webhook.active).where(
                    Webhook.id.in_(hook_ids)
                )
            )
            return {id_: Target(url, secret, active) for id_, url, secret, active in rows}

    def _attempt(
        self, connection: Connection, claim_: HookClaim, target: Target | None
    ) -> float | None:
        """One delivery; the delay before its next attempt, or None (sent, or given up)."""
        if target is None or not target.active:
            return self._failed(connection, claim_, "the webhook was removed", give_up=True)
        body = body_of(claim_.event_id, claim_.payload)
        try:
            status = post(self._client(), target, claim_.kind, str(claim_.event_id), body)
        except httpx.HTTPError as exc:
            error = masked(f"{type(exc).__name__}: {exc}")[:500]
        else:
            if 200 <= status < 300:
                sent = {"row": claim_.id, "at": clock.now(self.app.settings)}
                connection.execute(MARK_SENT, sent)
                log.info("hook %d: sent %s %d", claim_.webhook_id, claim_.kind, claim_.event_id)
                return None
            error = f"HTTP {status}"
        give_up = claim_.attempts >= self.app.settings.webhook_attempts
        log.warning(
            "hook %d (%s): %s %d not delivered (attempt %d): %s",
            claim_.webhook_id,
            rules.where(target.url),
            claim_.kind,
            claim_.event_id,
            claim_.attempts,
            error,
        )
        return self._failed(connection, claim_, error, give_up)

    def _failed(
        self, connection: Connection, claim_: HookClaim, error: str, give_up: bool
    ) -> float | None:
        params = {"row": claim_.id, "lease": claim_.lease_until, "error": error}
        if give_up:
            connection.execute(MARK_FAILED, params)
            log.warning("hook %d: %s %d given up", claim_.webhook_id, claim_.kind, claim_.event_id)
            return None
        delay = rules.backoff(self.app.settings.webhook_backoff_seconds, claim_.attempts)
        at = clock.now(self.app.settings) + timedelta(seconds=delay)
        connection.execute(MARK_RETRY, params | {"at": at})
        return delay

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(timeout=TIMEOUT)
        return client
