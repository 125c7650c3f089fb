"""Tickets: the paginated list and one ticket's history, as text or JSON."""

from __future__ import annotations

import json
import sys

import click

from gateway.cli.common import open_app
from helpdesk.app import clock, orders, views
from helpdesk.domain.vocabulary import Priority, Status
from storage.queries import PageTooDeep, TicketFilter, held_from, list_tickets, ticket_detail


@click.group()
def tickets() -> None:
    """View tickets."""


@tickets.command("list")
@click.option("--status", type=click.Choice([s.value for s in Status]))
@click.option("--priority", type=click.Choice([p.value for p in Priority]))
@click.option("--assignee", help="Agent email or name, group:NAME, or none.")
@click.option("--customer", help="Customer email.")
@click.option("--page", type=click.IntRange(min=1), default=1)
@click.option("--limit", type=click.IntRange(1, 500), default=20)
@click.option("--json", "as_json", is_flag=True)
def tickets_list(
    status: str | None,
    priority: str | None,
    assignee: str | None,
    customer: str | None,
    page: int,
    limit: int,
    as_json: bool,
) -> None:
    """List tickets, newest first, a page at a time."""
    where = TicketFilter(
        status=Status(status) if status else None,
        priority=Priority(priority) if priority else None,
        assignee=assignee,
        customer=customer,
    )
    app = open_app()
    with app.sessions() as session:
        try:
            result = list_tickets(session, where, page, limit)
        except PageTooDeep as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        click.echo(views.page_text(result))


@tickets.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
def tickets_show(number: str, as_json: bool) -> None:
    """Show one ticket with its full history."""
    app = open_app()
    with app.sessions() as session:
        detail = ticket_detail(session, number, history_limit=None)
        held = held_from(session, detail.ticket.customer) if detail else 0
    if detail is None:
        click.echo("Ticket not found", err=True)
        sys.exit(1)
    order = orders.details(app, detail.external_ref, clock.now(app.settings))
    if as_json:
        extra = ({"order": order} if order else {}) | ({"held_mails": held} if held else {})
        click.echo(json.dumps(detail.as_json() | extra, indent=2))
    else:
        click.echo(views.detail_text(detail, order, held))
