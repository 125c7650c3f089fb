"""What the pages share: rendering and who is visiting.

The pages are rendered on the server from ``templates/web`` (autoescaped, and overridable by the
operator as the mails are), with no JavaScript build step. A page is for a person signed in by
the link a mail brought (the session cookie); API tokens are for programs. Every form carries
the session's CSRF token in a hidden field: a post without it, or with another session's, is
refused, since the cookie goes with any request a browser makes and the token only with ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse

from gateway.http.auth import SESSION_COOKIE, Person, app_of, csrf_matches, signed_in
from gateway.http.errors import ApiError
from helpdesk.app import clock, views
from helpdesk.domain import passes
from helpdesk.domain.timers.sla import waited
from workers.render import Renderer


@dataclass(frozen=True)
class Visitor:
    person: Person
    csrf: str


def visitor(request: Request) -> Visitor:
    app = app_of(request)
    session = request.cookies.get(SESSION_COOKIE, "")
    return Visitor(signed_in(app, session), passes.csrf(app.secret, session) if session else "")


def posting(request: Request, csrf: Annotated[str, Form(max_length=64)] = "") -> Visitor:
    """The visitor of a form's post, with the form's CSRF token checked."""
    found = visitor(request)
    if not csrf_matches(app_of(request), request.cookies.get(SESSION_COOKIE, ""), csrf):
        raise ApiError(403, "this form is not from our page (its CSRF token is missing or wrong)")
    return found


Visiting = Annotated[Visitor, Depends(visitor)]
Posting = Annotated[Visitor, Depends(posting)]


def environment(request: Request) -> Any:
    """One template environment per server (the mails' loader: the operator's files first)."""
    state = request.app.state
    if getattr(state, "pages", None) is None:
        state.pages = Renderer(app_of(request).settings.templates_dir).env
    return state.pages


def render(
    request: Request, name: str, status: int = 200, visiting: Visitor | None = None, **context: Any
) -> HTMLResponse:
    app = app_of(request)
    now = clock.now(app.settings)
    template = environment(request).get_template(f"web/{name}.html")
    html = template.render(
        visitor=visiting,
        support_address=app.settings.support_addresses[0],
        waited=lambda since: waited(since, now) if since else "",
        when=when,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def when(moment: datetime | str | None) -> str:
    """A time for people, as the CLI and mails show it; the API's ISO text too (what a
    ticket's JSON holds)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment) if moment else None
    return views.when(moment)


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """An error as a page (the same status and message the API would answer)."""
    return render(request, "error", status, message=message, code=status)


# Pages show mail written by strangers: no script runs on them but ours (there is none), they
# are never framed, and a link out leaves no address of ours behind.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
