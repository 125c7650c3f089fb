"""The ``helpdesk`` command line: a contract that scripts and tests rely on (DESIGN.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import click
import dramatiq
from dramatiq import Worker
from sqlalchemy import inspect, select, update

from gateway.serve import serve as run_server
from helpdesk.app import pipeline, views
from helpdesk.app.pipeline.context import Env, Envelope, MailContext
from helpdesk.app.runtime import App, build
from helpdesk.app.settings import Settings
from helpdesk.domain.mail.headers import dedupe_key, header_facts
from helpdesk.domain.vocabulary import MailStatus, Priority, Role, Status
from storage import spool
from storage.db import make_engine, make_session_factory, schema_problem, upgrade
from storage.models import Agent, Group, InboundMail
from storage.queries import TicketFilter, list_tickets, ticket_detail
from workers.actors import Tasks, make_broker
from workers.processor import drain
from workers.render import TemplateProblem


def _app(migrate: bool = False) -> App:
    """The application; without ``migrate``, a database that is not ready is said so in one
    line (and exit status 1), not in a traceback."""
    app = build(Settings(), migrate=migrate)
    problem = None if migrate else schema_problem(app.engine)
    if problem is not None:
        app.close()
        raise click.ClickException(problem)
    return app


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("mail.log").setLevel(logging.DEBUG if verbose else logging.WARNING)


@click.group()
@click.version_option(package_name="helpdesk-gateway")
def main() -> None:
    """An email-driven helpdesk gateway."""


@main.command()
def init() -> None:
    """Create or upgrade the database."""
    app = _app(migrate=True)
    click.echo(f"database ready: {app.engine.url.render_as_string(hide_password=True)}")
    app.close()


@main.command()
@click.option("--smtp", "listen", metavar="HOST:PORT", help="Where to listen for SMTP.")
@click.option("-v", "--verbose", is_flag=True)
def serve(listen: str | None, verbose: bool) -> None:
    """Run the SMTP listener, the IMAP poller when configured, and the in-process workers."""
    _logging(verbose)
    app = _app(migrate=True)
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
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    finally:
        app.close()


@main.command()
@click.option("--threads", type=click.IntRange(1, 64), help="Worker threads (default: settings).")
@click.option("-v", "--verbose", is_flag=True)
def worker(threads: int | None, verbose: bool) -> None:
    """Run the Dramatiq workers only (production, next to Redis and a gateway)."""
    _logging(verbose)
    app = _app(migrate=False)
    if not app.settings.broker_url:
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
    click.echo(f"helpdesk: worker running against {app.settings.broker_url}", err=True)
    stop.wait()
    running.stop()
    app.close()


@main.group()
def agent() -> None:
    """Manage agents."""


@agent.command("add")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.AGENT.value)
@click.option("--group", "groups", multiple=True, help="A group to join (repeatable).")
def agent_add(email: str, name: str, role: str, groups: tuple[str, ...]) -> None:
    """Add an agent."""
    app = _app()
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


@main.group()
def group() -> None:
    """Manage groups."""


@group.command("add")
@click.argument("name")
def group_add(name: str) -> None:
    """Add a group."""
    app = _app()
    with app.sessions.begin() as session:
        if session.scalar(select(Group).where(Group.name == name)) is not None:
            raise click.ClickException(f"group {name} exists already")
        session.add(Group(name=name, created_at=datetime.now(UTC)))
    click.echo(f"group {name} added")


@main.group()
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
    app = _app()
    with app.sessions() as session:
        result = list_tickets(session, where, page, limit)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        click.echo(views.page_text(result))


@tickets.command("show")
@click.argument("number")
@click.option("--json", "as_json", is_flag=True)
def tickets_show(number: str, as_json: bool) -> None:
    """Show one ticket with its full history."""
    app = _app()
    with app.sessions() as session:
        detail = ticket_detail(session, number)
    if detail is None:
        click.echo("Ticket not found", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(detail.as_json(), indent=2))
    else:
        click.echo(views.detail_text(detail))


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def explain(path: Path) -> None:
    """Say what the pipeline would do with FILE.eml, writing nothing."""
    raw = path.read_bytes()
    facts = header_facts(raw)
    app = _app()
    settings = app.settings
    if not inspect(app.engine).has_table("inbound_mails"):
        click.echo("(the database is not initialised: explaining against an empty helpdesk)")
        app.close()
        engine = make_engine("sqlite://")
        upgrade(engine)
        app = App(settings, engine, make_session_factory(engine), app.secret)
    size = "over" if len(raw) > settings.max_message_bytes else "within"
    click.echo(f"{'edge':<10}{len(raw)} bytes, {size} the {settings.max_message_bytes} limit")
    key = dedupe_key(facts, facts.from_address, raw)
    with app.sessions() as session:
        seen = session.scalar(select(InboundMail.id).where(InboundMail.dedupe_key == key))
        if seen is not None:
            click.echo(f"{'dedupe':<10}already received as mail {seen}: would not be stored again")
        now = datetime.now(UTC)
        rcpt = settings.support_addresses[:1]
        ctx = MailContext(Envelope(None, raw, facts.from_address, rcpt, now, "explain"))
        env = Env(session, settings, app.secret, now)
        pipeline.run(ctx, env)
        session.rollback()
    for decision in ctx.trace:
        click.echo(f"{decision.stage:<10}{decision.text}")
    click.echo(f"{'outcome':<10}{ctx.outcome.value if ctx.outcome else 'none'}")
    click.echo("(nothing was written)")
    app.close()


@main.group()
def mail() -> None:
    """Inspect and replay stored inbound mail."""


@mail.command("list")
@click.option("--status", type=click.Choice([s.value for s in MailStatus]), default="quarantined")
@click.option("--limit", type=click.IntRange(1, 1000), default=50)
def mail_list(status: str, limit: int) -> None:
    """List stored mail by status (quarantined by default), newest first."""
    app = _app()
    with app.sessions() as session:
        rows = session.execute(
            select(
                InboundMail.id,
                InboundMail.received_at,
                InboundMail.from_address,
                InboundMail.outcome,
                InboundMail.reason,
            )
            .where(InboundMail.status == MailStatus(status))
            .order_by(InboundMail.id.desc())
            .limit(limit)
        ).all()
    for mail_id, received, sender, outcome, reason in rows:
        click.echo(f"{mail_id:>8}  {received:%Y-%m-%d %H:%M}  {sender:<30} {outcome}: {reason}")
    if not rows:
        click.echo(f"No {status} mail.")
    spooled = spool.waiting(app.engine) if status == MailStatus.RECEIVED else 0
    if spooled:
        click.echo(f"{spooled} more in the intake spool, not yet taken up by the pipeline.")
    app.close()


@mail.command("replay")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-quarantined", is_flag=True, help="Replay every quarantined mail.")
def mail_replay(ids: tuple[int, ...], all_quarantined: bool) -> None:
    """Put quarantined mail back through the pipeline."""
    if not ids and not all_quarantined:
        raise click.UsageError("name mail ids or --all-quarantined")
    app = _app()
    with app.sessions.begin() as session:
        query = select(InboundMail.id).where(InboundMail.status == MailStatus.QUARANTINED)
        if ids:
            query = query.where(InboundMail.id.in_(ids))
        chosen = list(session.scalars(query))
        session.execute(
            update(InboundMail)
            .where(InboundMail.id.in_(chosen))
            .values(status=MailStatus.RECEIVED, outcome="", reason="", error="")
        )
        count = len(chosen)
    drain(app)
    click.echo(f"replayed {count} mail(s)")
    app.close()
