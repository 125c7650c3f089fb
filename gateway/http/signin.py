"""Signing in by the link a mail brought (``/signin?t=…``), and out.

The link opens a page that says whose it is, with a button: the session (an HttpOnly cookie, and
the CSRF token beside it for the forms) is made only by that page's own post. So a mail
scanner that follows every link signs no one in, and another site cannot sign a visitor in as
someone else (a login CSRF, which would have them write to an attacker's tickets): the post must
come from our page, as the browser's ``Origin`` and ``Sec-Fetch-Site`` headers say.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from gateway.http.auth import CSRF_COOKIE, SESSION_COOKIE, app_of
from gateway.http.errors import ApiError
from gateway.http.pages import Visitor, render, visitor
from helpdesk.app import clock, links
from helpdesk.domain import passes
from helpdesk.domain.tokens import Party
from storage.models import Agent, Customer

SESSION_LENGTH = timedelta(days=7)
router = APIRouter(include_in_schema=False)
Pass = Annotated[str, Form(max_length=200)]


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, t: str) -> HTMLResponse:
    return render(request, "signin", link=t, who=_holder_email(request, t))


@router.post("/signin", status_code=303)
def signin(request: Request, t: Pass) -> RedirectResponse:
    if not _from_our_page(request):
        raise ApiError(403, "sign in from the page the link in your mail opens")
    app = app_of(request)
    now = clock.now(app.settings)
    holder = _holder(request, t)
    session = passes.issue(
        app.secret,
        passes.SESSION,
        passes.Holder(holder.party, holder.party_id, now + SESSION_LENGTH, now),
    )
    answer = RedirectResponse("/", status_code=303)
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


@router.post("/signout", status_code=303)
def signout(request: Request) -> RedirectResponse:
    """Ends the visitor's sessions, in this browser and every other (``links.sign_out``). No
    CSRF token is asked: another site can do no more with it than sign the visitor out."""
    app = app_of(request)
    now = clock.now(app.settings)
    session = request.cookies.get(SESSION_COOKIE, "")
    holder = passes.check(app.secret, passes.SESSION, session, now, app.previous_secrets)
    if holder is not None:
        links.sign_out(app, holder.party, holder.party_id, now)
    answer = RedirectResponse("/", status_code=303)
    answer.delete_cookie(SESSION_COOKIE)
    answer.delete_cookie(CSRF_COOKIE)
    return answer


@router.get("/", response_class=HTMLResponse, response_model=None)
def home(request: Request) -> HTMLResponse | RedirectResponse:
    """The queue for the team, their tickets for a customer, else how to get a link."""
    try:
        found: Visitor | None = visitor(request)
    except ApiError:
        found = None
    if found is None:
        return render(request, "welcome")
    return RedirectResponse("/queue" if found.person.agent else "/mine", status_code=303)


def _holder(request: Request, link: str) -> passes.Holder:
    app = app_of(request)
    now = clock.now(app.settings)
    holder = passes.check(app.secret, passes.LINK, link, now, app.previous_secrets)
    if holder is None:
        raise ApiError(401, "this sign-in link is not valid or has expired; a newer mail has one")
    return holder


def _holder_email(request: Request, link: str) -> str:
    holder = _holder(request, link)
    with app_of(request).reading() as session:
        found: Customer | Agent | None = (
            session.get(Customer, holder.party_id)
            if holder.party is Party.CUSTOMER
            else session.get(Agent, holder.party_id)
        )
    if found is None:
        raise ApiError(401, "this sign-in link is for someone no longer here")
    return found.email


def _from_our_page(request: Request) -> bool:
    """A browser names where a post comes from; a program that names nothing is let through
    (it has the link, and signs only itself in)."""
    site = request.headers.get("sec-fetch-site", "")
    if site and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin", "")
    ours = {request.headers.get("host", ""), urlsplit(app_of(request).settings.web_url).netloc}
    return not origin or urlsplit(origin).netloc in ours
