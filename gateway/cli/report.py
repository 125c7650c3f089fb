"""The support report: response and resolution times, SLA compliance, backlog, volume and
satisfaction, as text or JSON, and optionally a chart."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy.orm import Session

from gateway.cli.common import open_app
from helpdesk.app import clock
from helpdesk.app import report as reports
from helpdesk.domain import report as rules
from helpdesk.domain import report_text
from storage.db import reading


@click.command()
@click.option("--since", metavar="DATE", help="YYYY-MM-DD or a time ago, like 7d.")
@click.option("--until", metavar="DATE", help="YYYY-MM-DD (that day included) or a time ago.")
@click.option("--by", type=click.Choice([g.value for g in rules.Grouping]))
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--chart",
    metavar="FILE.png",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also draw weekly volume, backlog and SLA compliance into this PNG.",
)
def report(
    since: str | None, until: str | None, by: str | None, as_json: bool, chart: Path | None
) -> None:
    """Support metrics on the tickets created in a period (default: the last 30 days)."""
    app = open_app()
    now = clock.now(app.settings)
    with Session(reading(app.engine)) as session:  # on SQLite: no write lock while it reads
        try:
            within = reports.period(session, since, until, now)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        found = reports.build(session, within, now, rules.Grouping(by) if by else None)
    if chart is not None:
        from helpdesk.app import report_chart  # matplotlib takes 0.6 s to load: only when asked

        chart.write_bytes(report_chart.png(found))
    if as_json:
        click.echo(json.dumps(report_text.as_json(found), indent=2))
    else:
        click.echo(report_text.text(found), nl=False)
