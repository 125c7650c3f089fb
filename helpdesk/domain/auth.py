"""Is this mail really from the agent it names? Decided over facts; DKIM and A-R read at the edge.

A command (or an agent's reply) is applied only when all hold: the sender is a known, active
agent; the mail came to a reply address whose signed token names that agent and that ticket (or to
the plain support address, for the new-mail commands); and, when ``require_sender_auth`` is set,
DKIM verifies for the From domain or the topmost ``Authentication-Results`` header, written by a
trusted relay (its authserv-id is configured), says dkim or dmarc passed for it. Only the topmost
header counts: anyone can write such headers further down, and a relay strips its own id from
incoming mail (RFC 8601 section 5).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address

import authres
import dkim

from helpdesk.domain.commands.base import Scope
from helpdesk.domain.mail.headers import topmost
from helpdesk.domain.tokens import Party, Token
from helpdesk.domain.vocabulary import IMAP_SOURCES

log = logging.getLogger("helpdesk.auth")
DnsFunc = Callable[..., bytes]


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NONE = "none"


@dataclass(frozen=True)
class AuthFacts:
    sender: str
    agent_id: int | None
    token: Token | None
    ticket_number: str | None
    to_support_address: bool
    required: bool
    verdict: Verdict


@dataclass(frozen=True)
class AuthDecision:
    ok: bool
    scope: Scope | None
    reason: str


def authorise(facts: AuthFacts) -> AuthDecision:
    if facts.agent_id is None:
        return AuthDecision(False, None, f"{facts.sender} is not an active agent")
    if facts.required and facts.verdict is not Verdict.PASS:
        return AuthDecision(
            False, None, f"sender authentication (DKIM) is required and was {facts.verdict.value}"
        )
    token = facts.token
    if token is not None:
        if token.party is not Party.AGENT or token.party_id != facts.agent_id:
            return AuthDecision(False, None, "the reply address was issued to someone else")
        if token.ticket_number != facts.ticket_number:
            return AuthDecision(False, None, "the reply address names another ticket")
        return AuthDecision(True, Scope.TICKET, f"token for {token.ticket_number}")
    if facts.to_support_address:
        return AuthDecision(True, Scope.NEW, "new mail to the support address")
    return AuthDecision(False, None, "no reply address of ours names this agent")


def customer_proven(token: Token | None, customer_id: int | None) -> bool:
    """A customer's (or participant's) mail is proven by a reply address issued to them; ``From:``
    alone, or someone else's reply address, proves nothing (DESIGN.md, Trust)."""
    if token is None or customer_id is None:
        return False
    return token.party is Party.CUSTOMER and token.party_id == customer_id


def relayed(source: str, peer: str, relays: Iterable[IPv4Network | IPv6Network]) -> bool:
    """Did the mail reach us through a relay whose Authentication-Results we may believe? Mail
    taken from the IMAP mailbox was received by its server; SMTP mail must come from a peer in
    ``relays``. On a direct connection the sender wrote every header, that one included."""
    if source in IMAP_SOURCES:
        return True
    try:
        address = ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in relays)


def _aligned(signer: str, domain: str) -> bool:
    signer, domain = signer.lower().rstrip("."), domain.lower()
    return domain == signer or domain.endswith("." + signer)


def dkim_verdict(raw: bytes, domain: str, dns: DnsFunc | None = None) -> Verdict:
    """PASS when a DKIM signature aligned with ``domain`` verifies; NONE when there is none."""
    checker = dkim.DKIM(raw)
    signatures = [h for h in checker.headers if h[0].lower() == b"dkim-signature"]
    if not signatures:
        return Verdict.NONE
    for index in range(len(signatures)):
        try:
            good = checker.verify(idx=index, dnsfunc=dns) if dns else checker.verify(idx=index)
        except Exception as exc:  # dkimpy raises on malformed signatures and DNS trouble
            log.info("DKIM signature %d did not verify: %s", index, exc)
            continue
        if good and _aligned(checker.domain.decode(), domain):
            return Verdict.PASS
    return Verdict.FAIL


def authres_verdict(raw: bytes, domain: str, trusted: frozenset[str]) -> Verdict:
    """What the topmost Authentication-Results header says, if a trusted relay wrote it."""
    value = topmost(raw, "authentication-results")
    if value is None or not trusted:
        return Verdict.NONE
    try:
        header = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {value}")
    except Exception:
        return Verdict.FAIL
    if str(header.authserv_id).lower() not in trusted:
        return Verdict.NONE
    for result in header.results:
        if str(result.method) in ("dkim", "dmarc") and str(result.result) == "pass":
            names = {str(p.name): str(p.value) for p in result.properties}
            signer = names.get("d") or names.get("from", "").rpartition("@")[2]
            if signer and _aligned(signer, domain):
                return Verdict.PASS
    return Verdict.FAIL


def sender_verdict(
    raw: bytes, domain: str, trusted: frozenset[str], dns: DnsFunc | None = None
) -> Verdict:
    if authres_verdict(raw, domain, trusted) is Verdict.PASS:
        return Verdict.PASS
    return dkim_verdict(raw, domain, dns)
