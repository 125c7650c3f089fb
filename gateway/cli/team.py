"""The team: agents and groups."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from sqlalchemy import select

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
        members = []
        for name_ in groups:
            group = session.scalar(select(Group).where(Group.name == name_))
            if group is None:
                raise click.ClickException(
                    f"no group {name_!r}; create it first: helpdesk group add {name_}"
                )
            members.append(group)
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
