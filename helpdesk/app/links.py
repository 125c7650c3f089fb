"""The sign-in link a customer's mail carries: to their tickets on the web, signed, expiring."""

from __future__ import annotations

from datetime import datetime, timedelta

from helpdesk.app.runtime import App
from helpdesk.domain import passes
from helpdesk.domain.tokens import Party

LINK_LENGTH = timedelta(days=30)


def signin(app: App, party: Party, party_id: int, now: datetime) -> str:
    """The link, or "" when nothing serves HTTP (or the mail is to no one we know)."""
    base = app.settings.web_url
    if not base or party_id <= 0:
        return ""
    holder = passes.Holder(party, party_id, now + LINK_LENGTH)
    return f"{base}/signin?t={passes.issue(app.secret, passes.LINK, holder)}"
