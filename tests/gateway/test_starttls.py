"""Inbound STARTTLS (issue 11, item 16): with a certificate configured, mail may come encrypted."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner

from gateway.cli import main
from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from tests.helpers import GatewayThread, mail, tickets


@pytest.fixture
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_gateway(app: App, authority: trustme.CA, tmp_path: Path) -> Iterator[GatewayThread]:
    issued = authority.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    settings = app.settings.model_copy(update={"tls_cert": cert, "tls_key": key})
    running = GatewayThread(App(settings, app.engine, app.sessions, app.secret))
    running.start()
    yield running
    running.stop()


def test_mail_arrives_over_starttls(tls_gateway: GatewayThread, authority: trustme.CA) -> None:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    with tls_gateway.smtp() as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=context)
        client.ehlo()
        client.sendmail("dee@customer.test", ["support@example.com"], mail().as_bytes())
    tls_gateway.settle()
    assert [t.subject for t in tickets(tls_gateway.app)] == ["My printer is on fire"]


def test_without_a_certificate_no_starttls_is_offered(gateway: GatewayThread) -> None:
    with gateway.smtp() as client:
        client.ehlo()
        assert not client.has_extn("starttls")


def test_a_missing_certificate_is_said_in_one_line(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HELPDESK_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("HELPDESK_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("HELPDESK_SECRET", settings.secret)
    monkeypatch.setenv("HELPDESK_TLS_CERT", str(tmp_path / "none.pem"))
    monkeypatch.setenv("HELPDESK_TLS_KEY", str(tmp_path / "none.key"))
    result = CliRunner().invoke(main, ["serve", "--smtp", "127.0.0.1:0"])
    assert result.exit_code == 1 and "HELPDESK_TLS_CERT" in result.output
    assert "Traceback" not in result.output
