"""Order look-up: a ticket's external reference asked of the order service
(``HELPDESK_ORDER_LOOKUP_URL``, a URL with ``{ref}``), within ``HELPDESK_ORDER_LOOKUP_TIMEOUT``
(2 s). The answer is kept (``order_lookups``); a service that is down or slow costs a ticket
nothing: it reads "order details unavailable", and the reconciler's pass asks again later.
Never called inside a transaction: no lock is held while the service thinks."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import quote

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.app.runtime import App
from helpdesk.domain import orders
from storage.models import OrderLookup

log = logging.getLogger("helpdesk.orders")
FRESH = timedelta(hours=1)  # a found order is asked again after this
RETRY = timedelta(minutes=1)  # an unavailable one after this, by the reconciler
RETRIES_PER_PASS = 20


def details(app: App, ref: str, now: datetime) -> str:
    """What to show for ``ref``: the order's line, or why there is none ("" when look-up is
    not configured)."""
    if not app.settings.order_lookup_url or not ref.strip():
        return ""
    with app.reading() as session:
        known = session.get(OrderLookup, ref)
        if known is not None and known.status != "unavailable" and now - known.checked_at < FRESH:
            return _shown(known)
    return _shown(ask(app, ref, now))


def cached(session: Session, ref: str, configured: bool) -> str:
    """What is known already, without asking (inside a mail's transaction)."""
    if not configured or not ref.strip():
        return ""
    known = session.get(OrderLookup, ref)
    return _shown(known) if known is not None else orders.UNAVAILABLE


def ask(app: App, ref: str, now: datetime) -> OrderLookup:
    """Ask the service now and keep its answer (or that it did not give one)."""
    url = app.settings.order_lookup_url.replace("{ref}", quote(ref, safe=""))
    status, summary = "unavailable", ""
    try:
        answer = httpx.get(url, timeout=app.settings.order_lookup_timeout)
        if answer.status_code == 404:
            status = "not_found"
        elif answer.is_success:
            status, summary = "found", orders.summary(answer.json())
        else:
            log.warning("order service answered %d for %s", answer.status_code, ref)
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("order service unreachable for %s: %s", ref, exc)
    with app.sessions.begin() as session:
        row = session.get(OrderLookup, ref) or OrderLookup(ref=ref)
        if status != "unavailable" or not row.summary:  # keep the last good line meanwhile
            row.summary = summary
        row.status, row.checked_at = status, now
        session.add(row)
    return row


def retry_unavailable(app: App, now: datetime) -> int:
    """The reconciler's part: ask again about the references the service did not answer."""
    if not app.settings.order_lookup_url:
        return 0
    with app.reading() as session:
        refs = list(
            session.scalars(
                select(OrderLookup.ref)
                .where(OrderLookup.status == "unavailable", OrderLookup.checked_at < now - RETRY)
                .limit(RETRIES_PER_PASS)
            )
        )
    return sum(ask(app, ref, now).status != "unavailable" for ref in refs)


def _shown(row: OrderLookup) -> str:
    if row.status == "found":
        return row.summary or "found"
    if row.status == "not_found":
        return "no such order"
    return f"{orders.UNAVAILABLE}" + (f" (last known: {row.summary})" if row.summary else "")
