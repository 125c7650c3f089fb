"""Who is calling: an agent with an API token (``Authorization: Bearer hd_…``). A missing or
wrong token is 401, whatever the path, so nothing can be learnt without one. Each handler opens
its own transaction (``tickets._unit``): none is held across a request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.http.errors import ApiError
from helpdesk.app import api_tokens, clock
from helpdesk.app.runtime import App
from storage.models import Agent


def app_of(request: Request) -> App:
    found: App = request.app.state.helpdesk
    return found


def agent(request: Request) -> Agent:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send an API token: Authorization: Bearer hd_… (helpdesk token create)")
    app = app_of(request)
    with app.sessions() as session:  # a read; the rare write (last used) in its own transaction
        found = api_tokens.holder(session, token.strip(), clock.now(app.settings))
        if session.dirty:
            session.commit()
    if found is None:
        raise ApiError(401, "the token is not valid (revoked, or its agent is inactive)")
    return found


Caller = Annotated[Agent, Depends(agent)]
