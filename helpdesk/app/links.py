"""The sign-in link a customer's mail carries: to their tickets on the web, signed, expiring;
and signing out, which ends every web session a person has (``passes.ended``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from helpdesk.app.runtime import App
from helpdesk.domain import passes
from helpdesk.domain.tokens import Party
from storage.models import Agent, Customer

LINK_LENGTH = timedelta(days=30)


def signin(app: App, party: Party, party_id: int, now: datetime) -> str:
    """The link, or "" when nothing serves HTTP (or the mail is to no one we know)."""
    base = app.settings.web_url
    if not base or party_id <= 0:
        return ""
    holder = passes.Holder(party, party_id, now + LINK_LENGTH, now)
    return f"{base}/signin?t={passes.issue(app.secret, passes.LINK, holder)}"


def sign_out(app: App, party: Party, party_id: int, now: datetime) -> None:
    """End the holder's sessions, in every browser: a session cookie copied elsewhere (a
    shared computer, a stolen one) is refused from now on. Their sign-in links still work:
    they are in their mailbox, which is what proves who they are."""
    with app.sessions.begin() as session:
        found: Agent | Customer | None = (
            session.get(Customer, party_id)
            if party is Party.CUSTOMER
            else session.get(Agent, party_id)
        )
        if found is not None:
            found.signed_out_at = now


def sign_out_address(app: App, email: str, now: datetime) -> list[str]:
    """End the sessions of whoever has this address (an agent, a customer, or both); what
    they are, for the operator."""
    address = email.strip().lower()
    with app.sessions.begin() as session:
        found = [
            *session.scalars(select(Agent).where(Agent.email == address)),
            *session.scalars(select(Customer).where(Customer.email == address)),
        ]
        for person in found:
            person.signed_out_at = now
        return ["agent" if isinstance(p, Agent) else "customer" for p in found]
