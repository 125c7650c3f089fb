"""``helpdesk report``, called as a user would, on tickets worked through the real operations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from matplotlib import image

from gateway.cli import main
from helpdesk.app import customers
from helpdesk.app import tickets as ticket_ops
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import AuthorKind, MessageKind, Role, Status
from storage.models import Agent

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("HELPDESK_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("HELPDESK_SUPPORT_ADDRESS", settings.support_address)
    monkeypatch.setenv("HELPDESK_SECRET", settings.secret)
    return CliRunner()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(main, list(args), catch_exceptions=False)


def work(app: App) -> None:
    """Three tickets in the last days, taken by Ann and answered after 1h, 2h and 4h (then
    waiting for the customer); the last one resolved 10h after it came in, and rated 5."""
    start = datetime.now(UTC) - 60 * H
    with app.sessions.begin() as session:
        agent = Agent(email="ann@us.test", name="Ann", role=Role.AGENT, created_at=start)
        session.add(agent)
        session.flush()
        ann = ticket_ops.Actor(AuthorKind.AGENT, agent.email, agent.id)
        for i, answered in enumerate((1 * H, 2 * H, 4 * H)):
            created = start + i * 24 * H
            customer = customers.customer_for(session, f"c{i}@customer.test", "", created)
            by = ticket_ops.Actor(AuthorKind.CUSTOMER, customer.email)
            ticket = ticket_ops.open_ticket(session, customer, "Help", "text", by, created)
            ticket_ops.add_message(session, ticket, MessageKind.PUBLIC, by, "text", created)
            ticket_ops.assign(session, ticket, agent.id, None, agent.email, ann, created + 1 * M)
            reply = created + answered
            ticket_ops.add_message(session, ticket, MessageKind.PUBLIC, ann, "Done?", reply)
            ticket_ops.set_status(session, ticket, Status.AWAITING_CUSTOMER, ann, reply)
        ticket_ops.set_status(session, ticket, Status.RESOLVED, ann, created + 10 * H)
        ticket.satisfaction = 5


def test_the_report_as_json_and_a_chart(cli: CliRunner, app: App, tmp_path: Path) -> None:
    work(app)
    chart = tmp_path / "report.png"
    result = run(
        cli, "report", "--since", "7d", "--by", "priority", "--json", "--chart", str(chart)
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["tickets"] == 3 and data["business_hours"] is None
    assert data["first_response"]["median"] == {"seconds": 7200.0, "shown": "2h"}
    assert data["first_response"]["p90"]["shown"] == "3h36m"  # 2h + 0.8 of the 2h to 4h
    assert data["resolution"]["median"]["seconds"] == 36000.0
    # medium: 8h to the first response, 3d to the resolution (the default policy); the two
    # waiting for the customer have their resolution clock paused
    assert data["sla"]["first_response"] == {"met": 3, "missed": 0, "share": 1.0}
    assert data["sla"]["resolution"] == {"met": 1, "missed": 0, "share": 1.0}
    assert data["sla"]["next_response"] == {"met": 0, "missed": 0, "share": None}
    assert data["backlog"]["awaiting_customer"] == 2 and data["backlog"]["resolved"] == 1
    assert sum(data["volume"].values()) == 3
    assert data["satisfaction"] == {
        "count": 1,
        "average": 5.0,
        "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1},
    }
    assert data["by"] == "priority" and list(data["groups"]) == ["medium"]
    png = chart.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert image.imread(chart).shape == (1000, 800, 4)
    assert chart.stat().st_mode & 0o777 == 0o600  # the CLI's umask: it describes the team


def test_the_report_as_text_and_its_refusals(cli: CliRunner, app: App) -> None:
    work(app)
    text = run(cli, "report", "--by", "agent").output
    assert "3 tickets created" in text and "Times in wall-clock time." in text
    assert "First response   median 2h, 90th percentile 3h36m (3 tickets answered)" in text
    assert any(line.split()[:3] == ["ann@us.test", "3", "2"] for line in text.splitlines())
    nothing = run(cli, "report", "--until", "30d").output
    assert "0 tickets created" in nothing
    wrong = cli.invoke(main, ["report", "--since", "yesterday"])
    assert wrong.exit_code == 2 and "'yesterday': write a date (2026-11-30)" in wrong.output
    backwards = cli.invoke(main, ["report", "--since", "1d", "--until", "3d"])
    assert backwards.exit_code == 2 and "before it starts" in backwards.output
    assert cli.invoke(main, ["report", "--by", "customer"]).exit_code == 2
