"""Business hours: the calendar SLA clocks (and escalation) count in; none means wall time."""

from __future__ import annotations

from datetime import date

import click
from sqlalchemy import delete, select

from gateway.cli.common import open_app
from helpdesk.domain import calendar as business
from storage.models import BusinessCalendar


@click.group("calendar")
def calendar() -> None:
    """Show or set the business hours."""


@calendar.command("show")
def calendar_show() -> None:
    """The time zone, weekly hours and holidays; or that SLA clocks count wall time."""
    app = open_app()
    with app.sessions() as session:
        row = session.scalars(select(BusinessCalendar)).first()
    if row is None:
        click.echo("no calendar: SLA clocks count wall time, day and night")
        return
    click.echo(f"time zone\t{row.zone}")
    click.echo(f"hours\t{business.shown_hours(business.parse_hours(row.hours))}")
    click.echo(f"holidays\t{', '.join(sorted(row.holidays)) or '-'}")


def _holiday(_: object, __: object, values: tuple[str, ...]) -> list[str]:
    try:
        return sorted({date.fromisoformat(value).isoformat() for value in values})
    except ValueError as exc:
        raise click.BadParameter(f"{exc}: write a date as 2026-12-25") from None


@calendar.command("set")
@click.option("--tz", "zone", required=True, help="a time zone, e.g. Europe/Berlin")
@click.option("--hours", required=True, help='e.g. "Mon-Fri 09:00-17:00, Sat 10:00-14:00"')
@click.option(
    "--holiday", "holidays", multiple=True, callback=_holiday, metavar="DATE", help="repeatable"
)
def calendar_set(zone: str, hours: str, holidays: list[str]) -> None:
    """Set the business hours (replacing the ones before). New tickets, and tickets whose
    priority changes, get due dates in business time."""
    try:
        week = business.parse_hours(hours)
        business.zone(zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    app = open_app()
    with app.sessions.begin() as session:
        row = session.get(BusinessCalendar, 1) or BusinessCalendar(id=1)
        row.zone, row.hours, row.holidays = zone, business.shown_hours(week), holidays
        session.add(row)
    click.echo(f"calendar: {zone}, {business.shown_hours(week)}; {len(holidays)} holiday(s)")


@calendar.command("clear")
def calendar_clear() -> None:
    """Remove the business hours: SLA clocks count wall time again."""
    app = open_app()
    with app.sessions.begin() as session:
        session.execute(delete(BusinessCalendar))
    click.echo("calendar: cleared, SLA clocks count wall time")
