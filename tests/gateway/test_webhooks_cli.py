"""``helpdesk webhook``: add (checked, the secret shown once), list, remove, test with a ping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from gateway.cli import main
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from helpdesk.domain.vocabulary import OutboxStatus
from storage.models import Webhook, WebhookDelivery
from tests.helpers import mail, store_and_drain
from tests.receiver import Receiver


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("HELPDESK_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("HELPDESK_SECRET", settings.secret)
    return CliRunner()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


def run(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(main, ["webhook", *args], catch_exceptions=False)


def test_add_checks_the_url_and_the_events_and_shows_the_secret_once(
    cli: CliRunner, app: App
) -> None:
    refused = run(cli, "add", "ftp://crm.test/in", "--events", "ticket_created")
    assert refused.exit_code == 2 and "http:// or https://" in refused.output
    refused = run(cli, "add", "https://crm.test/in", "--events", "ticket_created,ticket_closd")
    assert refused.exit_code == 2 and "did you mean ticket_closed?" in refused.output
    added = run(
        cli, "add", "https://crm.test/in", "--events", "ticket_resolved,ticket_created",
        "--events", "sla_breached", "--internal",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    lines = added.output.strip().splitlines()
    assert lines[0] == (
        "webhook 1: https://crm.test/in for ticket_created, ticket_resolved, sla_breached"
        " and internal notes"
    )
    with app.sessions() as session:
        hook = session.scalars(select(Webhook)).one()
    assert lines[-1] == hook.secret and hook.secret.startswith("whsec_")
    assert (hook.include_internal, hook.active) == (True, True)
    assert hook.secret not in run(cli, "list").output  # shown once


def test_list_counts_the_deliveries_and_remove_stops_the_hook(cli: CliRunner, app: App) -> None:
    run(cli, "add", "https://crm.test/in", "--events", "ticket_created,ticket_commented")
    run(cli, "add", "http://other.test/in", "--events", "ticket_closed")
    store_and_drain(app, mail().as_bytes())
    listed = run(cli, "list").output.strip().splitlines()
    assert listed == [
        "1\thttps://crm.test/in\tticket_created,ticket_commented\tpublic\tactive\t2 pending"
        "\t0 failed",
        "2\thttp://other.test/in\tticket_closed\tpublic\tactive\t0 pending\t0 failed",
    ]
    assert run(cli, "remove", "1").output == "webhook 1: removed\n"
    assert run(cli, "list").output.splitlines()[0].endswith("removed\t0 pending\t2 failed")
    with app.sessions() as session:
        errors = set(session.scalars(select(WebhookDelivery.last_error)))
        assert set(session.scalars(select(WebhookDelivery.status))) == {OutboxStatus.FAILED}
    assert errors == {"the webhook was removed"}
    missing = run(cli, "remove", "9")
    assert missing.exit_code == 1 and "no webhook 9" in missing.output


def test_test_sends_a_signed_ping_and_says_what_came_back(
    cli: CliRunner, app: App, receiver: Receiver
) -> None:
    secret = run(cli, "add", receiver.url(), "--events", "ticket_created").output.split()[-1]
    answered = run(cli, "test", "1")
    assert (answered.exit_code, answered.output) == (0, "HTTP 200\n")
    [hit] = receiver.hits
    assert hit.signed_by(secret) and hit.headers["x-helpdesk-event"] == "ping"
    assert hit.data == {"event": "ping", "event_id": hit.event_id, "webhook_id": 1}
    receiver.status = 503
    failing = run(cli, "test", "1")
    assert (failing.exit_code, failing.output) == (1, "HTTP 503\n")
    receiver.stop()
    down = run(cli, "test", "1")
    assert down.exit_code == 1 and "ConnectError" in down.output
    assert run(cli, "test", "7").exit_code == 1
