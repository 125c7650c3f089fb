"""The ``helpdesk`` command line: a contract that scripts and tests rely on (DESIGN.md).

One module per command group: ``run`` (init, serve, worker, web), ``team`` (agent, group),
``tickets``, ``mail`` (explain, mail list, mail replay), ``imap`` (backfill), ``sla``,
``calendar``, ``tokens``, ``report``, ``webhooks``.
"""

from __future__ import annotations

import os

import click

from gateway.cli import calendar, imap, mail, report, run, sla, team, tickets, tokens, webhooks


@click.group()
@click.version_option(package_name="helpdesk-gateway")
def main() -> None:
    """An email-driven helpdesk gateway."""
    os.umask(0o077)  # what it writes holds raw mail and internal notes: for its own user only


for command in (
    run.init,
    run.serve,
    run.worker,
    run.web,
    team.agent,
    team.group,
    tickets.tickets,
    mail.explain,
    mail.mail,
    imap.imap,
    sla.sla,
    calendar.calendar,
    tokens.token,
    tokens.signout,
    report.report,
    webhooks.webhook,
):
    main.add_command(command)
