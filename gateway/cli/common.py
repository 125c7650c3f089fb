"""What every command shares: the application, opened with a readable answer when the database is
not ready, and the log format."""

from __future__ import annotations

import logging
import sys

import click

from helpdesk.app import keys, redact
from helpdesk.app.runtime import App, build
from helpdesk.app.settings import Settings
from storage.db import schema_problem


def open_app(migrate: bool = False, checkpoints: bool = False) -> App:
    """The application (``checkpoints``: see ``build``); without ``migrate``, a database that is
    not ready is said so in one line (and exit status 1), not in a traceback."""
    try:
        app = build(Settings(), migrate=migrate, checkpoints=checkpoints)
    except keys.InvalidKey as exc:
        raise click.ClickException(str(exc)) from None
    problem = None if migrate else schema_problem(app.engine)
    if problem is not None:
        app.close()
        raise click.ClickException(problem)
    return app


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    settings = Settings()
    redact.install([settings.secret, *(k.strip() for k in settings.secret_previous.split(","))])
    logging.getLogger("mail.log").setLevel(logging.DEBUG if verbose else logging.WARNING)
