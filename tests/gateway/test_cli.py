"""The ``helpdesk`` command line, called as a user (and scripts) would."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from gateway.cli import main
from helpdesk.app import customers
from helpdesk.app import tickets as ticket_ops
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import AuthorKind, MailStatus, MessageKind, Priority, Status
from storage import spool
from storage.models import Agent, Group, InboundMail, Ticket
from tests.helpers import mail, store_raw


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("HELPDESK_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("HELPDESK_SUPPORT_ADDRESS", settings.support_address)
    monkeypatch.setenv("HELPDESK_SECRET", settings.secret)
    return CliRunner()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(main, list(args), catch_exceptions=False)


def seed(app: App, count: int) -> list[str]:
    """``count`` tickets, one minute apart, alternating priority; returns numbers oldest first."""
    numbers = []
    start = datetime.now(UTC) - timedelta(hours=1)
    with app.sessions.begin() as session:
        for i in range(count):
            now = start + timedelta(minutes=i)
            customer = customers.customer_for(session, f"c{i % 3}@customer.test", "", now)
            actor = ticket_ops.Actor(AuthorKind.CUSTOMER, customer.email)
            ticket = ticket_ops.open_ticket(session, customer, f"Problem {i}", "text", actor, now)
            ticket.priority = Priority.HIGH if i % 2 else Priority.LOW
            ticket_ops.add_message(session, ticket, MessageKind.PUBLIC, actor, f"body {i}", now)
            numbers.append(ticket.number)
    return numbers


def test_init_creates_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HELPDESK_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "var" / "helpdesk.db").exists()
    var = tmp_path / "var"
    assert var.stat().st_mode & 0o777 == 0o700  # issue 11, item 15: raw mail, internal notes
    files = {p.name: p.stat().st_mode & 0o777 for p in var.iterdir()}
    assert "helpdesk.db" in files and set(files.values()) == {0o600}, files


def test_a_short_secret_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11, item 13: a one-character key would let anyone sign reply addresses."""
    monkeypatch.setenv("HELPDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HELPDESK_SECRET", "x")
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 1 and result.exception is not None
    assert "HELPDESK_SECRET is 1 bytes; a signing key needs 32" in result.output
    assert "Traceback" not in result.output


def test_group_and_agent_add(cli: CliRunner, app: App) -> None:
    assert run(cli, "group", "add", "billing").exit_code == 0
    result = run(
        cli,
        "agent",
        "add",
        "Ann@Us.test",
        "--name",
        "Ann",
        "--role",
        "supervisor",
        "--group",
        "billing",
    )
    assert result.exit_code == 0, result.output
    with app.sessions() as session:
        agent = session.scalars(select(Agent)).one()
        assert (agent.email, agent.role.value) == ("ann@us.test", "supervisor")
        assert [g.name for g in agent.groups] == ["billing"]
    again = run(cli, "agent", "add", "ann@us.test", "--name", "Ann")
    assert again.exit_code == 1 and "exists already" in again.output
    missing = run(cli, "agent", "add", "bo@us.test", "--name", "Bo", "--group", "sales")
    assert missing.exit_code == 1 and "helpdesk group add sales" in missing.output
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Group)) == 1


def test_tickets_list_pages_newest_first_with_totals(cli: CliRunner, app: App) -> None:
    numbers = seed(app, 25)
    result = run(cli, "tickets", "list", "--limit", "10", "--page", "2", "--json")
    data = json.loads(result.output)
    assert (data["total"], data["pages"], data["page"], data["limit"]) == (25, 3, 2, 10)
    assert [t["number"] for t in data["tickets"]] == list(reversed(numbers))[10:20]
    text = run(cli, "tickets", "list", "--limit", "10").output
    assert text.splitlines()[0].startswith(numbers[-1]) and "Page 1 of 3 (25 tickets)" in text


def test_tickets_list_filters(cli: CliRunner, app: App) -> None:
    seed(app, 6)
    high = json.loads(run(cli, "tickets", "list", "--priority", "high", "--json").output)
    assert high["total"] == 3 and {t["priority"] for t in high["tickets"]} == {"high"}
    mine = json.loads(
        run(cli, "tickets", "list", "--customer", "C1@customer.test", "--json").output
    )
    assert mine["total"] == 2
    assert (
        json.loads(run(cli, "tickets", "list", "--status", "closed", "--json").output)["total"] == 0
    )
    nobody = json.loads(run(cli, "tickets", "list", "--assignee", "none", "--json").output)
    assert nobody["total"] == 6
    empty = run(cli, "tickets", "list", "--status", "resolved")
    assert "No tickets." in empty.output and "Page 1 of 1 (0 tickets)" in empty.output


def test_tickets_list_by_assignee(cli: CliRunner, app: App) -> None:
    numbers = seed(app, 3)
    with app.sessions.begin() as session:
        agent = Agent(email="ann@us.test", name="Ann", created_at=datetime.now(UTC))
        group = Group(name="billing", created_at=datetime.now(UTC))
        session.add_all([agent, group])
        session.flush()
        first = session.scalars(select(Ticket).where(Ticket.number == numbers[0])).one()
        second = session.scalars(select(Ticket).where(Ticket.number == numbers[1])).one()
        first.assignee_agent_id, second.assignee_group_id = agent.id, group.id
    by_name = json.loads(run(cli, "tickets", "list", "--assignee", "ann", "--json").output)
    assert [t["number"] for t in by_name["tickets"]] == [numbers[0]]
    by_group = json.loads(
        run(cli, "tickets", "list", "--assignee", "group:Billing", "--json").output
    )
    assert [t["assignee"] for t in by_group["tickets"]] == ["group:billing"]


def test_tickets_show_history_and_not_found(cli: CliRunner, app: App) -> None:
    [number] = seed(app, 1)
    with app.sessions.begin() as session:
        ticket = session.scalars(select(Ticket)).one()
        ticket_ops.set_status(
            session, ticket, Status.RESOLVED, ticket_ops.Actor.system(), datetime.now(UTC)
        )
    text = run(cli, "tickets", "show", number.lower()).output
    assert number in text and "ticket_created" in text and "ticket_resolved" in text
    assert "status: open -> resolved" in text and "| body 0" in text
    data = json.loads(run(cli, "tickets", "show", number, "--json").output)
    assert [h["kind"] for h in data["history"]] == [
        "ticket_created",
        "ticket_commented",
        "ticket_resolved",
    ]
    missing = cli.invoke(main, ["tickets", "show", "TKT-NOPE00"])
    assert missing.exit_code == 1 and "Ticket not found" in missing.output


def test_explain_writes_nothing(cli: CliRunner, app: App, tmp_path: Path) -> None:
    path = tmp_path / "new.eml"
    path.write_bytes(mail(subject="Explain me").as_bytes())
    result = run(cli, "explain", str(path))
    assert result.exit_code == 0, result.output
    for stage in ("parse", "classify", "identify", "thread", "clean", "validate", "apply"):
        assert f"\n{stage}" in "\n" + result.output
    assert "outcome   new_ticket" in result.output
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0
        assert session.scalar(select(func.count()).select_from(InboundMail)) == 0


def test_mail_replay_after_quarantine(cli: CliRunner, app: App) -> None:
    with app.sessions.begin() as session:
        session.add(
            InboundMail(
                dedupe_key="k1",
                received_at=datetime.now(UTC),
                source="smtp",
                envelope_from="alice@customer.test",
                envelope_to=["support@example.com"],
                size=10,
                raw=mail().as_bytes(),
                status=MailStatus.QUARANTINED,
                outcome="quarantined",
                reason="RuntimeError: database went away",
            )
        )
    listed = run(cli, "mail", "list").output
    assert "database went away" in listed
    result = run(cli, "mail", "replay", "--all-quarantined")
    assert "replayed 1 mail(s)" in result.output
    with app.sessions() as session:
        stored = session.scalars(select(InboundMail)).one()
        assert (stored.status, stored.outcome) == (MailStatus.PROCESSED, "new_ticket")


def test_mail_list_received_counts_the_spool(cli: CliRunner, app: App) -> None:
    store_raw(app, mail(subject="Not yet taken up").as_bytes())
    listed = run(cli, "mail", "list", "--status", "received").output
    if spool.spool_for(app.engine) is None:  # PostgreSQL: the edge wrote inbound_mails itself
        assert "Not yet taken up" not in listed and "alice@customer.test" in listed
    else:
        assert "No received mail." in listed
        assert "1 more in the intake spool, not yet taken up by the pipeline." in listed


def test_console_entry_point_runs(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("init", "serve", "worker", "agent", "group", "tickets", "explain"):
        assert command in result.stdout


def test_a_database_not_set_up_or_away_is_said_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HELPDESK_DATABASE_URL", raising=False)
    fresh = CliRunner().invoke(main, ["tickets", "list"])
    assert fresh.exit_code == 1 and "not set up yet: run `helpdesk init`" in fresh.output
    assert fresh.exception is None or isinstance(fresh.exception, SystemExit)
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    assert CliRunner().invoke(main, ["tickets", "list"]).exit_code == 0
    monkeypatch.setenv("HELPDESK_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    away = CliRunner().invoke(main, ["tickets", "show", "TKT-NOPE00"])
    assert away.exit_code == 1 and "cannot reach the database" in away.output
    assert "Traceback" not in away.output


def test_plaintext_imap_to_another_host_is_refused(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11, item 14: imap:// sends the password in clear; only to this machine."""
    monkeypatch.setenv("HELPDESK_IMAP_URL", "imap://ann:hunter2@mail.example.com/INBOX")
    result = cli.invoke(main, ["serve", "--smtp", "127.0.0.1:0"])
    assert result.exit_code == 1 and "use imaps://" in result.output
    assert "hunter2" not in result.output


def test_sla_show_and_set(cli: CliRunner) -> None:
    shown = run(cli, "sla", "show").output.splitlines()
    assert shown[0] == "priority\tfirst response\tnext response\tresolution"
    assert "medium\t8h\t8h\t3d" in shown
    assert (
        run(
            cli, "sla", "set", "medium", "--first-response", "1h", "--next-response", "4h"
        ).exit_code
        == 0
    )
    assert "medium\t1h\t4h\t3d" in run(cli, "sla", "show").output
    refused = cli.invoke(main, ["sla", "set", "high", "--resolution", "90s"])
    assert refused.exit_code == 2 and "whole minutes" in refused.output


def test_mail_show_and_drop_a_quarantined_mail(cli: CliRunner, app: App) -> None:
    """The operator sees why a mail failed (traceback and headers), then sets it aside: kept,
    but no longer listed as quarantined nor replayed."""
    raw = mail(subject="Broken \xe9").as_bytes().replace(b"Broken", b"Broken \xff")
    with app.sessions.begin() as session:
        stored = InboundMail(
            dedupe_key="k2",
            received_at=datetime.now(UTC),
            source="smtp",
            envelope_from="alice@customer.test",
            envelope_to=["support@example.com"],
            size=len(raw),
            raw=raw,
            status=MailStatus.QUARANTINED,
            outcome="quarantined",
            reason="ValueError: no",
            error='Traceback (most recent call last):\n  File "x.py"\nValueError: no',
        )
        session.add(stored)
        session.flush()
        mail_id = stored.id
    shown = run(cli, "mail", "show", str(mail_id)).output
    assert "reason:     ValueError: no" in shown and 'File "x.py"' in shown
    assert "Subject: " in shown and "\ufffd" in shown  # an undecodable byte, shown, not raised
    assert cli.invoke(main, ["mail", "show", str(mail_id), "--raw"]).stdout_bytes == raw
    assert run(cli, "mail", "drop", str(mail_id)).output.startswith("dropped 1 mail(s)")
    assert "ValueError" not in run(cli, "mail", "list").output
    assert "ValueError" in run(cli, "mail", "list", "--status", "dropped").output
    assert "replayed 0 mail(s)" in run(cli, "mail", "replay", "--all-quarantined").output
    again = cli.invoke(main, ["mail", "drop", str(mail_id)])
    assert again.exit_code == 1 and "not quarantined" in again.output
    missing = cli.invoke(main, ["mail", "show", "999999"])
    assert missing.exit_code == 1 and "no stored mail 999999" in missing.output
