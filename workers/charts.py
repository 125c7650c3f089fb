"""A ``#report`` answer's figures and chart, made when the answer is delivered: reading a month
of tickets and drawing take a second, which the mail's transaction (and every mail behind it)
should not wait for."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from helpdesk.app import clock
from helpdesk.app.runtime import App
from helpdesk.domain import report_text
from helpdesk.domain.mail.message import Attachment
from helpdesk.domain.report import Grouping
from helpdesk.domain.report_period import Period

log = logging.getLogger("helpdesk.delivery")


def answer(app: App, asked: dict[str, Any]) -> tuple[str, Attachment | None]:
    """The report ``asked`` describes, as the answer's text and its chart; the figures are
    read here, at delivery, in a read-only session: not in the mail's transaction, where on
    SQLite they would hold the write lock. The chart is None if it cannot be drawn (the
    figures are in the text anyway)."""
    from helpdesk.app import report, report_chart  # matplotlib: only where a chart is drawn

    within = Period(datetime.fromisoformat(asked["since"]), datetime.fromisoformat(asked["until"]))
    by = Grouping(asked["by"]) if asked.get("by") else None
    with app.reading() as session:
        found = report.build(session, within, clock.now(app.settings), by)
    try:
        chart = Attachment("report.png", "image/png", report_chart.png(found))
    except Exception:
        log.exception("could not draw the report's chart; the answer goes without it")
        chart = None
    return report_text.text(found), chart
