"""``#report`` by mail: a supervisor's new mail at the support address is answered with the
figures in the body and the chart attached (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpdesk.app.runtime import App
from tests.desk import Desk
from tests.sink import Sink

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def desk(app: App, sink: Sink) -> Iterator[Desk]:
    with Desk(app, sink) as running:
        for n, who in enumerate(("cy", "dee", "eve")):
            running.send(
                f"{who}@customer.test", "support@example.com", "It broke.", subject=f"S{n}"
            )
        yield running


def test_a_supervisor_gets_the_figures_and_the_chart(desk: Desk) -> None:
    desk.send("sue@us.test", "support@example.com", "#report since:7d by:priority", subject="?")
    [answer] = [r for r in desk.inbox("sue@us.test") if "Support report" in r.text()]
    text = answer.text()
    assert "3 tickets created" in text and "medium" in text
    [chart] = [p for p in answer.message.walk() if p.get_content_type() == "image/png"]
    assert chart.get_filename() == "report.png"
    content = chart.get_payload(decode=True)
    assert isinstance(content, bytes) and content.startswith(PNG) and len(content) > 10_000


def test_an_agent_may_not_ask_and_a_bad_date_is_explained(desk: Desk) -> None:
    desk.send("ann@us.test", "support@example.com", "#report", subject="numbers?")
    refused = desk.inbox("ann@us.test")[-1]
    assert "Support report" not in refused.text() and "supervisor" in refused.text()
    assert not [p for p in refused.message.walk() if p.get_content_type() == "image/png"]
    desk.send("sue@us.test", "support@example.com", "#report since:yesterday", subject="?")
    explained = desk.inbox("sue@us.test")[-1].text()
    assert "write a date (2026-11-30) or a time ago (7d)" in explained
    assert "Support report" not in explained
