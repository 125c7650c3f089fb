"""Business hours, set by the CLI: SLA clocks count only while the team is open (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from gateway.cli import main
from helpdesk.app import clock
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from tests.desk import Desk
from tests.helpers import cli
from tests.sink import Sink

BERLIN = ZoneInfo("Europe/Berlin")


def at(settings: Settings, moment: datetime) -> None:
    """The test clock set to ``moment`` (it moves on with the wall clock from there)."""
    clock.advance(settings, moment - clock.now(settings))


@pytest.fixture
def desk(app: App, settings: Settings, sink: Sink) -> Desk:
    timed = settings.model_copy(update={"test_clock": True})
    return Desk(App(timed, app.engine, app.sessions, app.secret), sink)


def test_the_calendar_is_shown_as_set_and_can_be_cleared(settings: Settings) -> None:
    assert "wall time" in cli(settings, "calendar", "show")
    cli(
        settings,
        "calendar",
        "set",
        "--tz",
        "Europe/Berlin",
        "--hours",
        "mon-fri 09:00-17:00",
        "--holiday",
        "2026-12-25",
        "--holiday",
        "2026-12-24",
    )
    shown = cli(settings, "calendar", "show")
    assert "Europe/Berlin" in shown and "Mon-Fri 09:00-17:00" in shown
    assert "2026-12-24, 2026-12-25" in shown
    cli(settings, "calendar", "clear")
    assert "wall time" in cli(settings, "calendar", "show")


@pytest.mark.parametrize(
    ("holidays", "due"),
    [
        ((), datetime(2026, 12, 7, 9, 30)),
        (("--holiday", "2026-12-07"), datetime(2026, 12, 8, 9, 30)),
    ],
)
def test_a_ticket_opened_friday_afternoon_is_due_monday_morning(
    desk: Desk, settings: Settings, holidays: tuple[str, ...], due: datetime
) -> None:
    cli(
        settings,
        "calendar",
        "set",
        "--tz",
        "Europe/Berlin",
        "--hours",
        "Mon-Fri 09:00-17:00",
        *holidays,
    )
    cli(settings, "sla", "set", "medium", "--first-response", "1h", "--resolution", "8h")
    at(settings, datetime(2026, 12, 4, 16, 30, tzinfo=BERLIN))  # a Friday
    with desk:
        desk.send("cy@customer.test", "support@example.com", "The invoice is wrong.")
        ticket = desk.ticket()
    assert ticket.first_response_due is not None and ticket.resolution_due is not None
    first = ticket.first_response_due.astimezone(BERLIN).replace(tzinfo=None)
    assert abs(first - due) < timedelta(minutes=1)  # the clock runs on a little in the test
    resolution = ticket.resolution_due.astimezone(BERLIN).replace(tzinfo=None)
    assert abs(resolution - (due + timedelta(hours=7))) < timedelta(minutes=1)


def test_without_a_calendar_the_clock_runs_through_the_weekend(
    desk: Desk, settings: Settings
) -> None:
    cli(settings, "sla", "set", "medium", "--first-response", "1h")
    friday = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)
    at(settings, friday)
    with desk:
        desk.send("cy@customer.test", "support@example.com", "The invoice is wrong.")
        due = desk.ticket().first_response_due
    assert due is not None and abs(due - (friday + timedelta(hours=1))) < timedelta(minutes=1)


def test_bad_hours_are_refused_in_a_sentence(settings: Settings) -> None:
    env = {"HELPDESK_DATABASE_URL": settings.resolved_database_url}
    result = CliRunner().invoke(
        main, ["calendar", "set", "--tz", "Mars/Base", "--hours", "Mon-Fri 09:00-17:00"], env=env
    )
    assert result.exit_code == 2 and "not a time zone" in result.output
    result = CliRunner().invoke(
        main, ["calendar", "set", "--tz", "UTC", "--hours", "weekdays"], env=env
    )
    assert result.exit_code == 2 and "Mon-Fri 09:00-17:00" in result.output
