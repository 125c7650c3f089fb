"""Webhooks: added (the signing secret shown once), listed, removed, tested with a ping."""

from __future__ import annotations

import click
import httpx

from gateway.cli.common import open_app
from helpdesk.app import clock, webhooks
from helpdesk.app.redact import masked
from helpdesk.domain import webhooks as rules
from helpdesk.domain.vocabulary import OutboxStatus
from storage.models import Webhook
from workers.hooks import Target, ping


@click.group()
def webhook() -> None:
    """Tell other services of ticket events (signed HTTP POSTs)."""


@webhook.command("add")
@click.argument("url")
@click.option(
    "--events",
    "names",
    required=True,
    multiple=True,
    help=f"Comma-separated, of: {', '.join(rules.EVENTS)}.",
)
@click.option("--internal", is_flag=True, help="Internal notes too (comments that are not public).")
def webhook_add(url: str, names: tuple[str, ...], internal: bool) -> None:
    """Add a hook; its signing secret is printed once, alone on the last line."""
    try:
        events = rules.parse_events(n for group in names for n in group.split(","))
        rules.check_url(url)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    app = open_app()
    with app.sessions.begin() as session:
        hook, secret = webhooks.add(session, url, events, internal, clock.now(app.settings))
        notes = " and internal notes" if internal else ""
        click.echo(f"webhook {hook.id}: {masked(hook.url)} for {', '.join(hook.events)}{notes}")
        click.echo("its signing secret, not shown again:")
    click.echo(secret)


@webhook.command("list")
def webhook_list() -> None:
    """Every hook: id, URL, events, internal notes, active, pending and failed deliveries."""
    app = open_app()
    with app.sessions() as session:
        for hook, counts in webhooks.listing(session):
            click.echo(
                f"{hook.id}\t{masked(hook.url)}\t{','.join(hook.events)}\t"
                f"{'internal' if hook.include_internal else 'public'}\t"
                f"{'active' if hook.active else 'removed'}\t"
                f"{counts.get(OutboxStatus.PENDING, 0)} pending\t"
                f"{counts.get(OutboxStatus.FAILED, 0)} failed"
            )


@webhook.command("remove")
@click.argument("hook_id", type=int)
def webhook_remove(hook_id: int) -> None:
    """Stop a hook: nothing more is sent to it, what was still to send is given up."""
    app = open_app()
    with app.sessions.begin() as session:
        if not webhooks.remove(session, hook_id):
            raise click.ClickException(f"no webhook {hook_id}; see helpdesk webhook list")
    click.echo(f"webhook {hook_id}: removed")


@webhook.command("test")
@click.argument("hook_id", type=int)
def webhook_test(hook_id: int) -> None:
    """Send a signed ``ping`` to a hook now; print the receiver's status code, or the error."""
    app = open_app()
    with app.sessions() as session:
        hook = session.get(Webhook, hook_id)
        if hook is None:
            raise click.ClickException(f"no webhook {hook_id}; see helpdesk webhook list")
        target = Target(hook.url, hook.secret, hook.active)
    try:
        status = ping(target, hook_id)
    except httpx.HTTPError as exc:
        raise click.ClickException(masked(f"{type(exc).__name__}: {exc}")) from None
    click.echo(f"HTTP {status}")
    if not 200 <= status < 300:
        raise SystemExit(1)
