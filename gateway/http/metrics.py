"""``/metrics``: Prometheus text from ``prometheus-client``. The counts of mail, outbox rows and
timers are read from the database at each scrape (it is the truth, and every process shares
it); request latencies are this server's own."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from ipaddress import ip_address

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Gauge, Histogram
from sqlalchemy import func, select

from gateway.http.errors import body, log
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.net import is_loopback
from helpdesk.domain.vocabulary import MailStatus, OutboxStatus, TimerStatus
from storage.db import reading
from storage.models import InboundMail, Outbox, Timer

REGISTRY = CollectorRegistry()
MAILS = Gauge("helpdesk_mails", "Inbound mails accepted, by status", ["status"], registry=REGISTRY)
OUTBOX = Gauge("helpdesk_outbox", "Outbox rows, by status", ["status"], registry=REGISTRY)
TIMERS = Gauge("helpdesk_timers_pending", "Timers waiting to fire", registry=REGISTRY)
LATENCY = Histogram(
    "helpdesk_http_request_seconds",
    "HTTP request latency",
    ["method", "route", "status"],
    registry=REGISTRY,
)


def may_read(host: str, settings: Settings) -> bool:
    if is_loopback(host):
        return True
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_networks)


def refresh(app: App) -> None:
    with reading(app.engine).connect() as connection:
        mails = dict(
            connection.execute(
                select(InboundMail.status, func.count()).group_by(InboundMail.status)
            ).all()
        )
        rows = dict(
            connection.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all()
        )
        pending = connection.scalar(
            select(func.count()).select_from(Timer).where(Timer.status == TimerStatus.PENDING)
        )
    for status in MailStatus:
        MAILS.labels(status.value).set(mails.get(status, 0))
    for each in OutboxStatus:
        OUTBOX.labels(each.value).set(rows.get(each, 0))
    TIMERS.set(pending or 0)


def install(api: FastAPI, app: App) -> None:
    @api.middleware("http")
    async def timed(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:  # answered here: past this point Starlette would drop the connection
            log.exception("%s %s failed", request.method, request.url.path)
            response = body(500, "something went wrong on our side; it is logged", "INTERNAL_ERROR")
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")  # the template, not each ticket's number
        LATENCY.labels(request.method, path, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
