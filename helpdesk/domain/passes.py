"""Signed, expiring passes for the web: the sign-in link a mail carries, and the session cookie
it is exchanged for. A pass reads ``<kind>.<party><id>.<issued>.<expiry>.<mac>``: the kind
(``link`` or ``session``) is inside the MAC, so one cannot stand in for the other; the time it
was issued (in milliseconds) is, so that signing out ends the sessions made before
(``ended``); the MAC is an HMAC-SHA256
(128 bits kept) with the server secret, so a pass can be neither forged nor extended, and a
rotated-out key still verifies until its passes expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from helpdesk.domain.tokens import Party

LINK, SESSION, CSRF = "link", "session", "csrf"
_PASS = re.compile(
    r"^(link|session)\.([ac])([0-9]{1,12})\.([0-9]{1,15})\.([0-9]{1,12})\.([a-z2-7]{26})$"
)


@dataclass(frozen=True)
class Holder:
    party: Party
    party_id: int
    expires: datetime
    issued: datetime


def _mac(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, f"web:{payload}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:26]


def issue(secret: bytes, kind: str, holder: Holder) -> str:
    issued = int(holder.issued.timestamp() * 1000)
    payload = f"{kind}.{holder.party.value}{holder.party_id}.{issued}"
    payload += f".{int(holder.expires.timestamp())}"
    return f"{payload}.{_mac(secret, payload)}"


def check(
    secret: bytes, kind: str, text: str, now: datetime, previous: Iterable[bytes] = ()
) -> Holder | None:
    """Who the pass is for, if it is a ``kind`` pass one of the keys signed and it has not
    expired."""
    found = _PASS.match(text.strip().lower())
    if found is None or found[1] != kind:
        return None
    payload = text.strip().lower().rpartition(".")[0]
    if not any(hmac.compare_digest(found[6], _mac(key, payload)) for key in (secret, *previous)):
        return None
    issued = datetime.fromtimestamp(int(found[4]) / 1000, UTC)
    expires = datetime.fromtimestamp(int(found[5]), UTC)
    return Holder(Party(found[2]), int(found[3]), expires, issued) if expires > now else None


def ended(holder: Holder, signed_out_at: datetime | None) -> bool:
    """Whether the pass was issued before its holder signed out (every session then ends)."""
    return signed_out_at is not None and holder.issued <= signed_out_at


def csrf(secret: bytes, session: str) -> str:
    """The token a form (or a script) sends back with a session's writes: bound to the session,
    so another site, which cannot read it, cannot make them."""
    return _mac(secret, f"{CSRF}:{session.strip().lower()}")
