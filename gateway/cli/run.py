"""Running the helpdesk: set up the database, serve, or run the workers alone."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from dataclasses import replace
from datetime import datetime

import click
import dramatiq
from dramatiq import Worker

from gateway.cli.common import configure_logging, open_app
from gateway.edge import tls_context
from gateway.imap_config import imap_options, imap_targets
from gateway.runners import RemoteWorkers
from gateway.serve import serve as run_server
from gateway.web import HttpServer
from helpdesk.app.redact import masked
from helpdesk.app.settings import Settings, host_port
from workers.actors import Tasks, make_broker
from workers.render import TemplateProblem

log = logging.getLogger("helpdesk.web")


@click.command()
def init() -> None:
    """Create or upgrade the database."""
    app = open_app(migrate=True)
    click.echo(f"database ready: {app.engine.url.render_as_string(hide_password=True)}")
    app.close()


@click.command()
@click.option("--smtp", "listen", metavar="HOST:PORT", help="Where to listen for SMTP.")
@click.option(
    "--http", "http", metavar="HOST:PORT|off", help="Where to serve HTTP (HELPDESK_HTTP_LISTEN)."
)
@click.option("-v", "--verbose", is_flag=True)
def serve(listen: str | None, http: str | None, verbose: bool) -> None:
    """Run the SMTP listener, the IMAP poller when configured, the in-process workers, and the
    HTTP API."""
    configure_logging(verbose)
    app = open_app(migrate=True)
    if http is not None:
        served = "" if http.lower() == "off" else http
        app = replace(app, settings=app.settings.model_copy(update={"http_listen": served}))
    problem = _configuration_problem(app.settings)
    if problem:
        app.close()
        raise click.ClickException(problem)
    broker = make_broker(app.settings)
    dramatiq.set_broker(broker)
    host, port = (
        Settings(smtp_listen=listen).listen_host_port if listen else (app.settings.listen_host_port)
    )
    try:
        asyncio.run(run_server(app, host, port, broker))
    except TemplateProblem as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        where = exc.filename or f"{host}:{port}"  # the HTTP address, when it was that one
        raise click.ClickException(f"cannot listen on {where}: {exc.strerror}") from exc
    finally:
        app.close()


@click.command()
@click.option("--listen", metavar="HOST:PORT", help="Where to serve HTTP (HELPDESK_HTTP_LISTEN).")
@click.option("-v", "--verbose", is_flag=True)
def web(listen: str | None, verbose: bool) -> None:
    """Run the HTTP API on its own (production: beside serve and the workers, on Redis)."""
    configure_logging(verbose)
    app = open_app(migrate=False)
    if not app.settings.broker_url:
        log.warning(
            "no HELPDESK_BROKER_URL: the mails the API writes wait for a reconciler pass of "
            "whatever runs the workers (helpdesk serve runs HTTP itself on the embedded default)"
        )
    broker = make_broker(app.settings)
    dramatiq.set_broker(broker)
    host, port = host_port(listen or app.settings.http_listen or "127.0.0.1:8025")
    deliver = RemoteWorkers(app, broker, None).deliver if app.settings.broker_url else _no_wake
    click.echo(f"helpdesk: HTTP listening on http://{host}:{port}/", err=True)
    try:
        HttpServer(app, deliver).run(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    finally:
        app.close()


def _no_wake(outbox_ids: list[int], timers: list[tuple[int, datetime]]) -> None:
    """No broker to wake anyone with: the rows and timers wait for a reconciler pass."""


def _configuration_problem(settings: Settings) -> str:
    """What in the settings ``serve`` cannot start with, said in one line."""
    try:
        if settings.imap_url:
            imap_targets(settings)
            imap_options(settings)
        tls_context(settings.tls_cert, settings.tls_key)
    except ValueError as exc:
        return str(exc)
    except OSError as exc:  # ssl.SSLError is one
        return f"HELPDESK_TLS_CERT/HELPDESK_TLS_KEY: {exc.strerror or exc}"
    return ""


@click.command()
@click.option("--threads", type=click.IntRange(1, 64), help="Worker threads (default: settings).")
@click.option("-v", "--verbose", is_flag=True)
def worker(threads: int | None, verbose: bool) -> None:
    """Run the Dramatiq workers only (production, next to Redis and a gateway)."""
    configure_logging(verbose)
    app = open_app(migrate=False, checkpoints=True)
    if not app.settings.broker_url:
        app.close()
        raise click.ClickException(
            "helpdesk worker needs HELPDESK_BROKER_URL (redis://…); "
            "with the embedded default, helpdesk serve runs the workers itself"
        )
    broker = make_broker(app.settings)
    dramatiq.set_broker(broker)
    try:
        Tasks(app, broker, inbound_via_broker=True).renderer.check()
    except TemplateProblem as exc:
        raise click.ClickException(str(exc)) from exc
    running = Worker(
        broker, worker_threads=threads or app.settings.worker_threads, worker_timeout=100
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    running.start()
    click.echo(f"helpdesk: worker running against {masked(app.settings.broker_url)}", err=True)
    stop.wait()
    running.stop()
    app.close()
