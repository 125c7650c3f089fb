"""The SLA policy: a target per priority for each clock."""

from __future__ import annotations

from datetime import timedelta

import click
from sqlalchemy import select

from gateway.cli.common import open_app
from helpdesk.domain import durations
from helpdesk.domain.vocabulary import Priority
from storage.models import SlaPolicy

MAX_TARGET = timedelta(weeks=52)  # in business hours a year of targets spans several years


@click.group()
def sla() -> None:
    """Show or change the SLA targets."""


@sla.command("show")
def sla_show() -> None:
    """The targets per priority: first response, next response, resolution."""
    app = open_app()
    with app.sessions() as session:
        policies = {p.priority: p for p in session.scalars(select(SlaPolicy))}
    click.echo("priority\tfirst response\tnext response\tresolution")
    for priority in reversed(Priority):
        policy = policies.get(priority)
        if policy is None:
            click.echo(f"{priority.value}\t-\t-\t-")
            continue
        following = policy.next_response_minutes or policy.first_response_minutes
        shown = [policy.first_response_minutes, following, policy.resolution_minutes]
        click.echo(
            "\t".join([priority.value, *(durations.shown(timedelta(minutes=m)) for m in shown)])
        )


def _minutes(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    length = durations.parse(value)
    if length is None or length < timedelta(minutes=1) or length.total_seconds() % 60:
        raise click.BadParameter(f"{value!r}: whole minutes, like 30m, 8h, 3d", param_hint=name)
    if length > MAX_TARGET:
        raise click.BadParameter(
            f"{value!r}: at most {durations.shown(MAX_TARGET)}", param_hint=name
        )
    return int(length.total_seconds() // 60)


@sla.command("set")
@click.argument("priority", type=click.Choice([p.value for p in Priority]))
@click.option("--first-response", metavar="DURATION", help="e.g. 1h")
@click.option("--next-response", metavar="DURATION", help="e.g. 4h")
@click.option("--resolution", metavar="DURATION", help="e.g. 8h, 3d")
def sla_set(
    priority: str, first_response: str | None, next_response: str | None, resolution: str | None
) -> None:
    """Change the targets of one priority; tickets given it from now on follow them."""
    first = _minutes(first_response, "--first-response")
    following = _minutes(next_response, "--next-response")
    whole = _minutes(resolution, "--resolution")
    app = open_app()
    with app.sessions.begin() as session:
        policy = session.get(SlaPolicy, Priority(priority))
        if policy is None:
            if first is None or whole is None:
                raise click.UsageError("a new priority needs --first-response and --resolution")
            policy = SlaPolicy(
                priority=Priority(priority), first_response_minutes=first, resolution_minutes=whole
            )
            session.add(policy)
        policy.first_response_minutes = first or policy.first_response_minutes
        policy.next_response_minutes = following or policy.next_response_minutes
        policy.resolution_minutes = whole or policy.resolution_minutes
    click.echo(f"sla {priority}: set")
