"""Webhooks' rules: the events a hook may ask for, which deliveries a hook gets, how a delivery
is signed, and how long a failed one waits before the next attempt."""

from __future__ import annotations

import difflib
import hashlib
import hmac
from collections.abc import Collection, Iterable
from urllib.parse import urlsplit

from helpdesk.domain.vocabulary import EventKind

EVENTS = (
    EventKind.TICKET_CREATED,
    EventKind.TICKET_ASSIGNED,
    EventKind.TICKET_STATUS_CHANGED,
    EventKind.TICKET_COMMENTED,
    EventKind.TICKET_RESOLVED,
    EventKind.TICKET_CLOSED,
    EventKind.SLA_BREACHED,
)
PING = "ping"  # what ``helpdesk webhook test`` sends: no ticket, no event behind it
MAX_BACKOFF = 3600.0  # seconds: a receiver down for a day is tried once an hour


def parse_events(names: Iterable[str]) -> tuple[EventKind, ...]:
    """The events named (each given once, in the order of ``EVENTS``); a ValueError names an
    unknown one, with the nearest known name."""
    wanted = {name.strip().lower() for name in names if name.strip()}
    known = [kind.value for kind in EVENTS]
    for name in sorted(wanted - set(known)):
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]}?)" if near else f"; known: {', '.join(known)}"
        raise ValueError(f"unknown event {name}{hint}")
    if not wanted:
        raise ValueError(f"name at least one event: {', '.join(known)}")
    return tuple(kind for kind in EVENTS if kind.value in wanted)


def check_url(url: str) -> str:
    """``url`` if a hook can be sent to it (http or https, with a host); else a ValueError."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"a webhook URL is http:// or https://, not {parts.scheme or url!r}")
    if not parts.hostname:
        raise ValueError(f"no host in {url!r}")
    try:
        parts.port  # noqa: B018 (it checks the port)
    except ValueError:
        raise ValueError(f"not a port number in {url!r}") from None
    return url.strip()


def wants(events: Collection[str], include_internal: bool, kind: str, internal: bool) -> bool:
    """Whether a hook asking for ``events`` gets an event of ``kind``; an ``internal`` one (a
    comment that is not a public message: a note, or a system note such as a bounce) only if it
    asked for internal notes too."""
    return kind in events and (include_internal or not internal)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Helpdesk-Signature`` header: HMAC-SHA256 of ``<timestamp>.<body>`` with the hook's
    secret, in hex. The timestamp is signed too, so a receiver can refuse an old delivery
    replayed."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(base_seconds: float, attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: doubling, capped."""
    return float(min(base_seconds * 2 ** max(attempts - 1, 0), MAX_BACKOFF))


def where(url: str) -> str:
    """What a log line may say of a hook's URL: its scheme, host and port (a path or a query
    may hold a receiver's token)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
