"""The report's chart: three panels drawing the report's own figures, as a PNG."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from matplotlib import image
from matplotlib.patches import Rectangle

from helpdesk.app import report_chart
from helpdesk.domain.report import Report, TicketFacts, compute
from helpdesk.domain.report_period import Period
from helpdesk.domain.timers.sla import Clock
from helpdesk.domain.vocabulary import Priority, Status

START = datetime(2026, 11, 2, tzinfo=UTC)
H = timedelta(hours=1)


def november() -> Report:
    facts = [
        TicketFacts(
            number=f"TKT-{i:06d}",
            created_at=START + i * 30 * H,
            priority=Priority.MEDIUM,
            category="general",
            status=(Status.OPEN, Status.RESOLVED)[i % 2],
            first_response_due=START + i * 30 * H + 4 * H,
            first_responded_at=START + i * 30 * H + (i % 4 + 2) * H,  # 2h, 3h, 4h, 5h
            resolution_due=START + i * 30 * H + 24 * H,
            resolved_at=START + i * 30 * H + 8 * H,
        )
        for i in range(20)
    ]
    within = Period(START, START + timedelta(days=28))
    return compute(facts, None, within, START + timedelta(days=30))


def test_three_panels_draw_volume_backlog_and_sla() -> None:
    found = november()
    drawn = report_chart.figure(found)
    volume, backlog, sla = drawn.axes
    assert [a.get_title() for a in drawn.axes] == list(report_chart.TITLES)
    heights = [
        [bar.get_height() for bar in axes.patches if isinstance(bar, Rectangle)]
        for axes in drawn.axes
    ]
    assert heights[0] == list(found.overall.volume.values()) == [6, 6, 5, 3]
    assert [t.get_text() for t in volume.get_xticklabels()] == list(found.overall.volume)
    assert heights[1] == [10, 0, 0, 10, 0]
    assert [t.get_text() for t in backlog.get_xticklabels()] == [
        "open",
        "in progress",
        "awaiting customer",
        "resolved",
        "closed",
    ]
    first = found.overall.sla[Clock.FIRST_RESPONSE]
    assert (first.met, first.total) == (15, 20)  # 2h, 3h and 4h are in time; 5h is not
    assert heights[2] == [75.0, 0.0, 50.0]  # the open half is past its resolution time
    assert [t.get_text() for t in sla.texts] == ["75% (15 of 20)", "none", "50% (10 of 20)"]


def test_the_png_is_an_image() -> None:
    data = report_chart.png(november())
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert image.imread(io.BytesIO(data)).shape == (1000, 800, 4)
