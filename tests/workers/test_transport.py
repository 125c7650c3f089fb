"""SMTP to a smarthost over TLS with a login, against a real aiosmtpd server that demands both."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.sink import Sink
from workers.transport import DeliveryError, transport_for

# aiosmtpd counts only STARTTLS as TLS: on an smtps port it warns that AUTH goes in clear
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
MAIL = b"From: support@example.com\r\nTo: alice@customer.test\r\nSubject: Hi\r\n\r\nHello.\r\n"
LOGIN = ("helpdesk", "s3cret pass")


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def cafile(authority: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return path


def server_context(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(params=["starttls", "smtps"])
def smarthost(request: pytest.FixtureRequest, authority: trustme.CA) -> Iterator[Sink]:
    sink = Sink(tls=server_context(authority), smtps=request.param == "smtps", login=LOGIN)
    sink.start()
    yield sink
    sink.stop()


def url(sink: Sink, password: str = LOGIN[1], cafile: Path | None = None) -> str:
    scheme, query = ("smtps", "") if sink.smtps else ("smtp", "starttls=1")
    if cafile is not None:
        query = f"{query}&cafile={cafile}".lstrip("&")
    return f"{scheme}://{LOGIN[0]}:{password.replace(' ', '%20')}@127.0.0.1:{sink.port}?{query}"


def test_mail_goes_over_tls_with_the_login(smarthost: Sink, cafile: Path) -> None:
    transport = transport_for(url(smarthost, cafile=cafile))
    reply = transport.send("support@example.com", "alice@customer.test", MAIL)
    assert reply.startswith("250")
    [received] = smarthost.received
    assert received.encrypted and received.login == LOGIN[0]
    assert received.recipients == ("alice@customer.test",)


def test_a_certificate_nobody_vouches_for_is_refused_and_the_mail_waits(smarthost: Sink) -> None:
    with pytest.raises(DeliveryError) as refused:
        transport_for(url(smarthost)).send("support@example.com", "alice@customer.test", MAIL)
    assert not refused.value.permanent and "certificate verify failed" in refused.value.reply
    assert smarthost.received == []


def test_a_refused_login_is_temporary_not_the_recipients_fault(
    smarthost: Sink, cafile: Path
) -> None:
    transport = transport_for(url(smarthost, password="wrong", cafile=cafile))
    with pytest.raises(DeliveryError) as refused:
        transport.send("support@example.com", "alice@customer.test", MAIL)
    assert not refused.value.permanent and "login refused" in refused.value.reply
    assert smarthost.received == []


def test_a_password_is_never_configured_to_travel_in_clear() -> None:
    with pytest.raises(ValueError, match="only over TLS"):
        transport_for("smtp://user:pw@smarthost.example.net:587")
    assert transport_for("smtp://user:pw@127.0.0.1:25") is not None  # loopback: stays here


def test_an_international_address_goes_with_smtputf8_where_offered() -> None:
    """RFC 6531: the address in the envelope and the header in UTF-8; a smarthost that does
    not offer SMTPUTF8 gets nothing, and the failure is permanent and says why."""
    utf8 = MAIL.replace(b"alice@customer.test", "ünï@exämple.de".encode())
    for offered in (True, False):
        sink = Sink(smtputf8=offered).start()
        try:
            transport = transport_for(sink.url)
            if offered:
                assert transport.send("support@example.com", "ünï@exämple.de", utf8)[:3] == "250"
                [received] = sink.received
                assert received.recipients == ("ünï@exämple.de",) and received.raw == utf8
                assert transport.send("support@example.com", "alice@customer.test", MAIL)
            else:
                with pytest.raises(DeliveryError) as refused:
                    transport.send("support@example.com", "ünï@exämple.de", utf8)
                assert refused.value.permanent and "SMTPUTF8" in refused.value.reply
                assert sink.received == []
        finally:
            sink.stop()
