"""``/signin?t=…``: the link in a mail, exchanged for a session (an HttpOnly cookie, and the
CSRF token beside it for the pages' forms); ``/signout`` ends it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from gateway.http.auth import CSRF_COOKIE, SESSION_COOKIE, app_of
from gateway.http.errors import ApiError
from gateway.http.schemas import Error
from helpdesk.app import clock
from helpdesk.domain import passes

SESSION_LENGTH = timedelta(days=7)
router = APIRouter(tags=["session"], responses={401: {"model": Error}})


@router.get("/signin", status_code=303)
def signin(request: Request, t: str) -> RedirectResponse:
    app = app_of(request)
    now = clock.now(app.settings)
    holder = passes.check(app.secret, passes.LINK, t, now, app.previous_secrets)
    if holder is None:
        raise ApiError(401, "this sign-in link is not valid or has expired; a newer mail has one")
    session = passes.issue(
        app.secret,
        passes.SESSION,
        passes.Holder(holder.party, holder.party_id, now + SESSION_LENGTH),
    )
    answer = RedirectResponse("/api/v1/tickets/my", status_code=303)
    secure = request.url.scheme == "https" or app.settings.public_url.startswith("https:")
    seconds = int(SESSION_LENGTH.total_seconds())
    answer.set_cookie(
        SESSION_COOKIE, session, max_age=seconds, httponly=True, samesite="lax", secure=secure
    )
    answer.set_cookie(
        CSRF_COOKIE,
        passes.csrf(app.secret, session),
        max_age=seconds,
        samesite="strict",
        secure=secure,
    )
    return answer


@router.post("/signout", status_code=204)
def signout() -> Response:
    """Ends the session in this browser (elsewhere it ends when it expires)."""
    answer = Response(status_code=204)
    answer.delete_cookie(SESSION_COOKIE)
    answer.delete_cookie(CSRF_COOKIE)
    return answer
