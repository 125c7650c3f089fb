"""The chart a ``#report`` answer carries, drawn when the answer is delivered: matplotlib takes a
second, which the mail's transaction (and every mail behind it) should not wait for."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from helpdesk.app import clock
from helpdesk.app.runtime import App
from helpdesk.domain.mail.message import Attachment
from helpdesk.domain.report import Grouping
from helpdesk.domain.report_period import Period
from storage.db import reading

log = logging.getLogger("helpdesk.delivery")


def attachment(app: App, asked: dict[str, Any]) -> Attachment | None:
    """The PNG of the report ``asked`` describes; None (the figures are in the body anyway) if
    it cannot be drawn."""
    from helpdesk.app import report, report_chart  # matplotlib: only where a chart is drawn

    try:
        within = Period(
            datetime.fromisoformat(asked["since"]), datetime.fromisoformat(asked["until"])
        )
        by = Grouping(asked["by"]) if asked.get("by") else None
        with Session(reading(app.engine)) as session:  # on SQLite: no write lock while it reads
            found = report.build(session, within, clock.now(app.settings), by)
        return Attachment("report.png", "image/png", report_chart.png(found))
    except Exception:
        log.exception("could not draw the report's chart; the answer goes without it")
        return None
