"""Signed reply tokens: ``support+<token>@domain`` names a ticket and the party it was sent to.

A token reads ``<number>-<party>-<mac>``, all lower case because some relays fold the local part:
``4f7q2k-c12-<mac>`` is ticket TKT-4F7Q2K for customer 12 (``a`` for an agent). The MAC is an
HMAC-SHA256 over the other two fields with the server secret, truncated to 80 bits in base32.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

MAC_CHARS = 16
_TOKEN = re.compile(rf"^([0-9a-z]{{4,12}})-([ac])([0-9]{{1,12}})-([a-z2-7]{{{MAC_CHARS}}})$")


class Party(enum.StrEnum):
    CUSTOMER = "c"
    AGENT = "a"


@dataclass(frozen=True)
class Token:
    ticket_number: str
    party: Party
    party_id: int

    @property
    def payload(self) -> str:
        return f"{ticket_code(self.ticket_number)}-{self.party.value}{self.party_id}"


def ticket_code(number: str) -> str:
    return number.removeprefix("TKT-").lower()


def _mac(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:MAC_CHARS]


def sign(secret: bytes, token: Token) -> str:
    return f"{token.payload}-{_mac(secret, token.payload)}"


def verify(secret: bytes, text: str, previous: Iterable[bytes] = ()) -> Token | None:
    """The token ``text`` carries, or None when it is malformed or no key (the current one, or
    one rotated out, in ``previous``) signed it."""
    match = _TOKEN.match(text.lower())
    if match is None:
        return None
    code, party, party_id, mac = match.groups()
    token = Token(f"TKT-{code.upper()}", Party(party), int(party_id))
    for key in (secret, *previous):
        if hmac.compare_digest(mac, _mac(key, token.payload)):
            return token
    return None


def reply_address(secret: bytes, support_address: str, token: Token) -> str:
    local, _, domain = support_address.partition("@")
    return f"{local}+{sign(secret, token)}@{domain}"


def is_ours(address: str, support_addresses: tuple[str, ...]) -> bool:
    """A support address, plain or with any ``+tag``."""
    return split_plus(address)[0] in support_addresses


def split_plus(address: str) -> tuple[str, str]:
    """``support+tok@d`` → (``support@d``, ``tok``); an address without a tag → (address, "")."""
    local, _, domain = address.lower().rpartition("@")
    base, plus, tag = local.partition("+")
    return f"{base}@{domain}", tag if plus else ""
