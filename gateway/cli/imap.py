"""``helpdesk imap``: the IMAP side's commands (the poller itself runs in ``serve``)."""

from __future__ import annotations

import contextlib
import sys
from datetime import datetime
from typing import Any

import click
from imapclient.exceptions import IMAPClientError

from gateway.cli.common import configure_logging, open_app
from gateway.imap_backfill import backfill
from gateway.imap_config import imap_options, imap_targets
from gateway.intake import Intake

STOPPED = "interrupted: what was stored is kept; run the same command again to go on from there"


@click.group()
def imap() -> None:
    """The IMAP mailboxes of HELPDESK_IMAP_URL."""


@imap.command("backfill")
@click.argument("folder")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only mail received from DATE.")
@click.option(
    "--account",
    metavar="USER",
    help="Which mailbox of HELPDESK_IMAP_URL, by its user (default: the first).",
)
@click.option("-v", "--verbose", is_flag=True)
def imap_backfill(folder: str, since: datetime | None, account: str | None, verbose: bool) -> None:
    """Import the mail already in FOLDER, oldest first, telling no one (no acknowledgement, no
    alert). Interrupted, it resumes where it stopped; `helpdesk serve` makes the tickets."""
    configure_logging(verbose)
    app = open_app()
    try:
        targets = imap_targets(app.settings)
        options = imap_options(app.settings)
    except ValueError as exc:
        app.close()
        raise click.ClickException(str(exc)) from None
    chosen = [t for t in targets if account is None or t.username == account]
    if not chosen:
        app.close()
        missing = f"no mailbox of user {account} in HELPDESK_IMAP_URL" if account else ""
        raise click.ClickException(missing or "set HELPDESK_IMAP_URL")
    intake = Intake(app.engine, app.settings.group_commit_window_ms / 1000)
    intake.start()
    with contextlib.ExitStack() as stack:
        stack.callback(app.close)
        stack.callback(intake.stop)
        bars: list[Any] = []  # the bar, once the number of mails to take is known

        def started(total: int) -> None:
            bar = click.progressbar(length=total, label=folder, file=sys.stderr)
            bars.append(stack.enter_context(bar))

        try:
            done = backfill(
                chosen[0],
                folder,
                intake,
                app.engine,
                options,
                since.date() if since else None,
                started=started,
                progressed=lambda n: bars[0].update(n),
            )
        except KeyboardInterrupt:
            raise click.ClickException(STOPPED) from None
        except (OSError, IMAPClientError) as exc:
            raise click.ClickException(f"IMAP {chosen[0].mailbox_of(folder)}: {exc}") from None
    click.echo(
        f"{done.seen} mails in {folder}: {done.taken} stored now, {done.earlier} by an earlier "
        f"run, {done.too_large} too large (header only, quarantined)"
    )
