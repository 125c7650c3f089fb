"""API tokens for agents: created (shown once), listed, revoked; and web sessions ended."""

from __future__ import annotations

import click
from sqlalchemy import select

from gateway.cli.common import open_app
from helpdesk.app import api_tokens, clock, links
from storage.models import Agent, ApiToken


@click.group()
def token() -> None:
    """Manage agents' API tokens (Authorization: Bearer …)."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, e.g. crm-sync.")
def token_create(email: str, name: str) -> None:
    """Create a token for an agent; printed once, alone on the last line."""
    app = open_app()
    with app.sessions.begin() as session:
        agent = session.scalar(select(Agent).where(Agent.email == email.lower()))
        if agent is None or not agent.active:
            raise click.ClickException(f"no active agent {email}; see helpdesk agent list")
        row, secret = api_tokens.create(session, agent, name, clock.now(app.settings))
        click.echo(f"token {row.id} for {agent.email} ({agent.role.value}); it is not shown again:")
    click.echo(secret)


@token.command("list")
def token_list() -> None:
    """Every token: id, agent, name, created, last used, revoked."""
    app = open_app()
    with app.sessions() as session:
        for row in session.scalars(select(ApiToken).order_by(ApiToken.id)):
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "live"
            click.echo(
                f"{row.id}\t{row.agent.email}\t{row.name or '-'}\t"
                f"{row.created_at:%Y-%m-%d %H:%M}\t{used}\t{state}"
            )


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id (from token list): it stops working at once."""
    app = open_app()
    with app.sessions.begin() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise click.ClickException(f"no token {token_id}; see helpdesk token list")
        row.revoked_at = row.revoked_at or clock.now(app.settings)
    click.echo(f"token {token_id}: revoked")


@click.command("signout")
@click.argument("email")
def signout(email: str) -> None:
    """End every web session of the agent or customer with address EMAIL (a lost laptop, a
    shared computer): their cookies are refused from now on. The sign-in links in their mail
    still work; to shut an agent out, `helpdesk agent set EMAIL --active false`."""
    email = email.strip().lower()
    app = open_app()
    try:
        done = links.sign_out_address(app, email, clock.now(app.settings))
    finally:
        app.close()
    if not done:
        raise click.ClickException(f"no agent or customer has the address {email}")
    click.echo(f"signed out {email} ({' and '.join(done)}) in every browser")
