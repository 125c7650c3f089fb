"""The team: agents and groups."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cli.common import open_app
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
    """The team: email, role, active or not, groups."""
    app = open_app()
    with app.sessions() as session:
        for each in session.scalars(select(Agent).order_by(Agent.email)):
            state = "active" if each.active else "inactive"
            groups = ",".join(sorted(g.name for g in each.groups)) or "-"
            click.echo(f"{each.email}\t{each.name}\t{each.role.value}\t{state}\t{groups}")


@agent.command("set")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]))
@click.option(
    "--active",
    type=click.BOOL,
    help="false: the agent has left; their tickets' mail goes to their groups, or the supervisors.",
)
@click.option("--group", "groups", multiple=True, help="The groups, replacing the current ones.")
def agent_set(email: str, role: str | None, active: bool | None, groups: tuple[str, ...]) -> None:
    """Change an agent's role, groups, or whether they are active."""
    app = open_app()
    with app.sessions.begin() as session:
        found = session.scalar(select(Agent).where(Agent.email == email.lower()))
        if found is None:
            raise click.ClickException(f"no agent {email}; see helpdesk agent list")
        if role is not None:
            found.role = Role(role)
        if active is not None:
            found.active = active
        if groups:
            found.groups = _groups(session, groups)
        state = "active" if found.active else "inactive"
        click.echo(f"agent {found.email}: {found.role.value}, {state}")


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
