"""Stored inbound mail: what the pipeline would do with a mail, what became of stored mail, and
looking into, replaying or dropping the quarantined."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import inspect, select, update

from gateway.cli.common import open_app
from helpdesk.app import pipeline
from helpdesk.app.pipeline.context import Env, Envelope, MailContext
from helpdesk.app.runtime import App
from helpdesk.domain.mail.headers import dedupe_key, header_facts
from helpdesk.domain.vocabulary import MailStatus
from storage import spool
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import InboundMail
from workers.processor import drain


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def explain(path: Path) -> None:
    """Say what the pipeline would do with FILE.eml, writing nothing."""
    raw = path.read_bytes()
    facts = header_facts(raw)
    app = open_app()
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


@click.group()
def mail() -> None:
    """Inspect and replay stored inbound mail."""


@mail.command("list")
@click.option("--status", type=click.Choice([s.value for s in MailStatus]), default="quarantined")
@click.option("--limit", type=click.IntRange(1, 1000), default=50)
def mail_list(status: str, limit: int) -> None:
    """List stored mail by status (quarantined by default), newest first."""
    app = open_app()
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
    app = open_app()
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


@mail.command("show")
@click.argument("mail_id", type=int)
@click.option("--raw", is_flag=True, help="Write the mail's bytes exactly as received, alone.")
def mail_show(mail_id: int, raw: bool) -> None:
    """What is known of a stored mail: its envelope, what became of it and why (with the
    traceback of a failure), and its headers."""
    app = open_app()
    with app.sessions() as session:
        found = session.get(InboundMail, mail_id)
        if found is None:
            app.close()
            raise click.ClickException(f"no stored mail {mail_id}")
        if raw:
            click.echo(found.raw, nl=False)
            app.close()
            return
        fields = [
            ("received", f"{found.received_at:%Y-%m-%d %H:%M:%S} UTC via {found.source}"),
            ("peer", found.peer),
            ("envelope", f"{found.envelope_from or '<>'} -> {', '.join(found.envelope_to)}"),
            ("from", found.from_address),
            ("message-id", found.message_id),
            ("size", f"{found.size} bytes"),
            ("status", found.status.value),
            ("outcome", found.outcome),
            ("reason", found.reason),
            ("ticket", found.ticket.number if found.ticket else ""),
        ]
        headers = header_block(found.raw)
        error = found.error
    app.close()
    for label, value in fields:
        if value:
            click.echo(f"{label + ':':<12}{value}")
    if error:
        click.echo(f"\nTraceback:\n{error.rstrip()}")
    click.echo(f"\nHeaders:\n{headers}")


@mail.command("drop")
@click.argument("ids", nargs=-1, type=int, required=True)
def mail_drop(ids: tuple[int, ...]) -> None:
    """Set quarantined mail aside: kept for audit (``mail list --status dropped``, ``mail
    show``), no longer listed or replayed."""
    app = open_app()
    with app.sessions.begin() as session:
        chosen = list(
            session.scalars(
                select(InboundMail.id).where(
                    InboundMail.id.in_(ids), InboundMail.status == MailStatus.QUARANTINED
                )
            )
        )
        session.execute(
            update(InboundMail).where(InboundMail.id.in_(chosen)).values(status=MailStatus.DROPPED)
        )
    app.close()
    others = sorted(set(ids) - set(chosen))
    click.echo(f"dropped {len(chosen)} mail(s)")
    if others:
        raise click.ClickException(f"not quarantined (left as they were): {others}")


def header_block(raw: bytes) -> str:
    """The header section as received (up to the first empty line), for people: bytes that
    are not UTF-8 shown as replacement characters, never an exception."""
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
    return head.decode("utf-8", errors="replace")
