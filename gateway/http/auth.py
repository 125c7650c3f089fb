"""Who is calling: an agent with an API token (``Authorization: Bearer hd_…``), or a person
signed in by the link their mail carried (the session cookie). Without a valid credential every
``/api/v1`` path answers 401, so nothing can be learnt of tickets without one. A write made
with the cookie must carry the session's CSRF token (the ``X-CSRF-Token`` header): a cookie goes
with any request the browser makes, the token only with ours. Each handler opens its own
transaction: none is held across a request."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from gateway.http.errors import ApiError
from helpdesk.app import api_tokens, clock
from helpdesk.app.pipeline.identify import block_reason
from helpdesk.app.runtime import App
from helpdesk.domain import passes
from helpdesk.domain.tokens import Party
from storage.models import Agent, Customer

SESSION_COOKIE, CSRF_COOKIE = "helpdesk_session", "helpdesk_csrf"
SAFE = ("GET", "HEAD", "OPTIONS")


def app_of(request: Request) -> App:
    found: App = request.app.state.helpdesk
    return found


@dataclass(frozen=True)
class Person:
    """The caller: one of the two (neither: nobody who may come in)."""

    agent: Agent | None = None
    customer: Customer | None = None


def someone(request: Request) -> Person:
    app = app_of(request)
    header = request.headers.get("authorization", "")
    if header:
        return Person(agent=_token_holder(app, header))
    session = request.cookies.get(SESSION_COOKIE, "")
    person = signed_in(app, session)
    if request.method not in SAFE:
        sent = request.headers.get("x-csrf-token", "")
        if not csrf_matches(app, session, sent):
            raise ApiError(403, "this write needs the session's CSRF token (X-CSRF-Token)")
    return person


def csrf_matches(app: App, session: str, sent: str) -> bool:
    return bool(session and sent) and hmac.compare_digest(sent, passes.csrf(app.secret, session))


def signed_in(app: App, session: str) -> Person:
    """Who holds the session cookie, if it is valid and they still may come in."""
    now = clock.now(app.settings)
    holder = passes.check(app.secret, passes.SESSION, session, now, app.previous_secrets)
    if holder is None:
        raise ApiError(401, "sign in by the link in one of our mails, or send an API token")
    with app.reading() as db:
        person = _holder_of(db, holder, now)
    found = person.agent or person.customer
    if found is None:
        raise ApiError(401, "the session is no longer valid; sign in again")
    if passes.ended(holder, found.signed_out_at):
        raise ApiError(401, "this session ended when you signed out; sign in again")
    return person


def _holder_of(db: Session, holder: passes.Holder, now: datetime) -> Person:
    """The pass's holder, if they still may come in (an active agent, a customer not blocked);
    else nobody."""
    if holder.party is Party.CUSTOMER:
        customer = db.get(Customer, holder.party_id)
        if customer is not None and block_reason(customer, now) is None:
            return Person(customer=customer)
        return Person()
    agent = db.get(Agent, holder.party_id)
    return Person(agent=agent) if agent is not None and agent.active else Person()


def _token_holder(app: App, header: str) -> Agent:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send an API token: Authorization: Bearer hd_… (helpdesk token create)")
    now = clock.now(app.settings)
    with app.reading() as session:
        found, stale = api_tokens.holder(session, token.strip(), now)
    if stale is not None:  # when it was last used: a write a minute at most
        with app.sessions.begin() as session:
            api_tokens.used(session, stale, now)
    if found is None:
        raise ApiError(401, "the token is not valid (revoked, or its agent is inactive)")
    return found


def agent(person: Annotated[Person, Depends(someone)]) -> Agent:
    if person.agent is None:
        raise ApiError(403, "for the team only")
    return person.agent


Someone = Annotated[Person, Depends(someone)]
Caller = Annotated[Agent, Depends(agent)]
