"""The team: agents and groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cli.common import open_app
from helpdesk.app import absence, clock
from helpdesk.app.unit_of_work import is_away
from helpdesk.domain import durations
from helpdesk.domain.vocabulary import Role
from storage.models import Agent, Group


@click.group()
def agent() -> None:
    """Manage agents."""


@agent.command("add")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.AGENT.value)
@click.option("--group", "groups", multiple=True, help="A group to join (repeatable).")
def agent_add(email: str, name: str, role: str, groups: tuple[str, ...]) -> None:
    """Add an agent."""
    app = open_app()
    with app.sessions.begin() as session:
        if session.scalar(select(Agent).where(Agent.email == email.lower())) is not None:
            raise click.ClickException(f"agent {email} exists already")
        members = _groups(session, groups)
        session.add(
            Agent(
                email=email.lower(),
                name=name,
                role=Role(role),
                created_at=datetime.now(UTC),
                groups=members,
            )
        )
    click.echo(f"agent {email.lower()} added as {role}")


@agent.command("list")
def agent_list() -> None:
    """The team: email, role, active or not (or away until when), groups, digest period."""
    app = open_app()
    now = clock.now(app.settings)
    with app.sessions() as session:
        for each in session.scalars(select(Agent).order_by(Agent.email)):
            state = "active" if each.active else "inactive"
            if each.active and is_away(each, now) and each.away_until is not None:
                state = f"away until {each.away_until:%Y-%m-%d %H:%M} UTC"
            groups = ",".join(sorted(g.name for g in each.groups)) or "-"
            digest = f"digest {each.digest_minutes}m" if each.digest_minutes else "no digest"
            click.echo(f"{each.email}\t{each.name}\t{each.role.value}\t{state}\t{groups}\t{digest}")


@agent.command("set")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]))
@click.option(
    "--active",
    type=click.BOOL,
    help="false: the agent has left; their tickets' mail goes to their groups, or the supervisors.",
)
@click.option("--group", "groups", multiple=True, help="The groups, replacing the current ones.")
@click.option(
    "--digest",
    metavar="DURATION|off",
    help="Gather notifications about low and medium priority tickets into one mail per period "
    "(e.g. 30m, 1h); off: each at once.",
)
def agent_set(
    email: str, role: str | None, active: bool | None, groups: tuple[str, ...], digest: str | None
) -> None:
    """Change an agent's role, groups, digest, or whether they are active."""
    app = open_app()
    with app.sessions.begin() as session:
        found = _agent(session, email)
        if digest is not None:
            found.digest_minutes = _digest_minutes(digest)
        if role is not None:
            found.role = Role(role)
        if active is not None:
            found.active = active
        if groups:
            found.groups = _groups(session, groups)
        state = "active" if found.active else "inactive"
        click.echo(f"agent {found.email}: {found.role.value}, {state}")


def _digest_minutes(text: str) -> int | None:
    if text.lower() in ("off", "none", "0"):
        return None
    length = durations.parse(text)
    if length is None or length < timedelta(minutes=1) or length > timedelta(days=1):
        raise click.BadParameter(f"{text!r}: a period from 1m to 1d, like 30m, or off")
    return int(length.total_seconds() // 60)


@agent.command("away")
@click.argument("email")
@click.option(
    "--until",
    "until_text",
    required=True,
    metavar="DATE",
    help="When they are back: a day (2026-12-24, at midnight UTC), a time (2026-12-24T09:00, "
    "UTC) or a duration from now (3d).",
)
def agent_away(email: str, until_text: str) -> None:
    """Mark an agent away: alerts and notifications skip them, and after a grace
    (HELPDESK_ABSENCE_HANDBACK_AFTER) their active tickets go back to their group."""
    app = open_app()
    now = clock.now(app.settings)
    until = _when(until_text, now)
    if until <= now:
        raise click.BadParameter(f"{until_text!r} is not in the future", param_hint="--until")
    with app.sessions.begin() as session:
        found = _agent(session, email)
        count = absence.go_away(session, found, until, now, app.settings)
    click.echo(
        f"agent {found.email}: away until {until:%Y-%m-%d %H:%M} UTC; {count} active tickets"
    )


@agent.command("back")
@click.argument("email")
def agent_back(email: str) -> None:
    """An agent who was away is back: they hear about their tickets again."""
    app = open_app()
    with app.sessions.begin() as session:
        found = _agent(session, email)
        absence.come_back(session, found, clock.now(app.settings), app.settings)
    click.echo(f"agent {found.email}: back")


def _when(text: str, now: datetime) -> datetime:
    length = durations.parse(text)
    if length is not None:
        return now + length
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: a date (2026-12-24), a time (2026-12-24T09:00) or a duration (3d)",
            param_hint="--until",
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _agent(session: Session, email: str) -> Agent:
    found = session.scalar(select(Agent).where(Agent.email == email.lower()))
    if found is None:
        raise click.ClickException(f"no agent {email}; see helpdesk agent list")
    return found


def _groups(session: Session, names: tuple[str, ...]) -> list[Group]:
    found = []
    for name in names:
        group = session.scalar(select(Group).where(Group.name == name))
        if group is None:
            raise click.ClickException(
                f"no group {name!r}; create it first: helpdesk group add {name}"
            )
        found.append(group)
    return found


@click.group()
def group() -> None:
    """Manage groups."""


@group.command("add")
@click.argument("name")
def group_add(name: str) -> None:
    """Add a group."""
    app = open_app()
    with app.sessions.begin() as session:
        if session.scalar(select(Group).where(Group.name == name)) is not None:
            raise click.ClickException(f"group {name} exists already")
        session.add(Group(name=name, created_at=datetime.now(UTC)))
    click.echo(f"group {name} added")


@group.command("list")
def group_list() -> None:
    """The groups, with how many agents each has."""
    app = open_app()
    with app.sessions() as session:
        for each in session.scalars(select(Group).order_by(Group.name)):
            click.echo(f"{each.name}\t{len(each.agents)} agents")


@group.command("members")
@click.argument("name")
def group_members(name: str) -> None:
    """The agents in a group."""
    app = open_app()
    with app.sessions() as session:
        found = session.scalar(select(Group).where(Group.name == name))
        if found is None:
            raise click.ClickException(f"no group {name!r}; see helpdesk group list")
        for each in sorted(found.agents, key=lambda a: a.email):
            click.echo(f"{each.email}\t{each.name}\t{each.role.value}")
