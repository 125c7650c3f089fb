"""Templates render for every event, with and without optional fields; escaping; safe headers."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from helpdesk.domain.mail.message import Attachment
from workers.compose import WIRE, Draft, HeaderInjection, compose
from workers.render import TEMPLATES, Renderer, TemplateProblem, sample_context


def minimal_context() -> dict[str, object]:
    return {"ticket": {"number": "TKT-AAAAAA", "subject": "Help"}, "support_address": "s@x.test"}


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("context", [sample_context, minimal_context])
def test_every_template_renders(template: str, context: object) -> None:
    assert callable(context)
    text, html = Renderer().render(template, context())
    assert text.strip() and html.strip().startswith("<!DOCTYPE html>")
    assert "TKT-" in text or template == "customer/rejected"


def test_html_part_escapes_and_text_part_does_not() -> None:
    context = sample_context()
    context["ticket"]["subject"] = "<script>alert(1)</script>"
    context["message"]["body"] = "<b>bold</b> & more"
    text, html = Renderer().render("agent/new_ticket", context)
    assert "<script>" not in html and "&lt;script&gt;" not in text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    assert "<b>bold</b> & more" in text


def test_an_operator_override_wins_and_a_broken_one_is_reported(tmp_path: Path) -> None:
    (tmp_path / "customer").mkdir()
    (tmp_path / "customer" / "ack.txt").write_text("Custom ack for {{ ticket.number }}\n")
    text, _ = Renderer(tmp_path).render("customer/ack", sample_context())
    assert text == "Custom ack for TKT-SAMPLE\n"
    (tmp_path / "customer" / "ack.html").write_text("{% if %}broken")
    with pytest.raises(TemplateProblem, match="customer/ack"):
        Renderer(tmp_path).check()


def test_serve_refuses_to_start_with_a_broken_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tpl" / "agent").mkdir(parents=True)
    (tmp_path / "tpl" / "agent" / "assigned.txt").write_text("{{ ticket.number | nosuchfilter }}")
    monkeypatch.setenv("HELPDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HELPDESK_TEMPLATES_DIR", str(tmp_path / "tpl"))
    monkeypatch.setenv("HELPDESK_SMTP_LISTEN", "127.0.0.1:0")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert "agent/assigned" in result.output and "nosuchfilter" in result.output


def draft(**changes: object) -> Draft:
    values: dict[str, object] = {
        "template": "customer/ack",
        "audience": "customer",
        "recipient": "ada@example.org",
        "recipient_name": "Ada",
        "message_id": "<1.tkt-aaaaaa@example.com>",
        "ticket_number": "TKT-AAAAAA",
        "subject": "Help",
        "references": ("<first@example.org>",),
        "reply_to": "support+tok@example.com",
        "created_at": datetime.now(UTC),
        "text": "hello",
        "html": "<p>hello</p>",
    }
    values.update(changes)
    return Draft(**values)  # type: ignore[arg-type]


def test_headers_thread_the_conversation() -> None:
    mail = compose(draft(subject="Re: [TKT-AAAAAA] Help"), "support@example.com", "Support")
    assert mail["Subject"] == "Re: [TKT-AAAAAA] Help"  # the tag is not repeated
    assert mail["In-Reply-To"] == "<first@example.org>"
    assert mail["Reply-To"] == "support+tok@example.com"
    assert mail["Auto-Submitted"] == "auto-replied"
    reply = compose(draft(template="customer/agent_reply"), "support@example.com", "Support")
    assert reply["Auto-Submitted"] is None  # a person wrote it


@pytest.mark.parametrize(
    "field", ["recipient", "recipient_name", "subject", "message_id", "reply_to"]
)
def test_header_values_with_cr_or_lf_are_refused(field: str) -> None:
    with pytest.raises((HeaderInjection, ValueError)):
        compose(draft(**{field: "x\r\nBcc: victim@example.org"}), "support@example.com", "S")


def wire(**changes: object) -> bytes:
    return compose(draft(**changes), "support@example.com", "Support").as_bytes(policy=WIRE)


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_on_the_wire_ids_stay_as_they_are_and_only_the_rest_is_encoded() -> None:
    long_id = "<" + "A1B2C3D4" * 9 + "@EXCH01.corp.customer.test>"
    subject = "Über die Störung im zweiten Stock: der Drucker brennt seit heute früh"
    raw = wire(subject=subject, recipient_name="Zoë Ünicode", references=("<a@b.test>", long_id))
    text = raw.decode("ascii")
    assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
    assert max(len(line) for line in text.split("\r\n")) <= 998
    assert f"\r\nIn-Reply-To: {long_id}\r\n" in text
    assert f"\r\nReferences: <a@b.test> {long_id}\r\n" in text
    assert "\r\nMessage-ID: <1.tkt-aaaaaa@example.com>\r\n" in text
    words = re.findall(r"=\?utf-8\?[bq]\?[^?]*\?=", text, re.IGNORECASE)
    assert words and max(len(word) for word in words) <= 75
    mail = parsed(raw)
    assert mail["Subject"] == f"[TKT-AAAAAA] {subject}"
    assert mail["To"].addresses[0].display_name == "Zoë Ünicode"
    assert mail["From"] == "Support <support@example.com>"
    assert mail["Reply-To"] == "support+tok@example.com"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["Date"].datetime is not None and mail["MIME-Version"] == "1.0"


def test_a_long_references_header_folds_between_ids_never_encoded() -> None:
    ids = tuple(f"<{i:03d}.{'x' * 80}@customer.test>" for i in range(20))
    text = wire(references=ids).decode("ascii")
    assert max(len(line) for line in text.split("\r\n")) <= 998
    assert "=?" not in text.split("\r\n\r\n", 1)[0]
    mail = parsed(text.encode())
    assert mail["References"].split() == list(ids) and mail["In-Reply-To"] == ids[-1]


def test_the_text_and_html_alternatives_survive_the_wire() -> None:
    plain = "Hello Zoë,\n" + "long line " * 120 + "\nend = here \n"
    mail = parsed(wire(text=plain, html="<p>“Hello”</p>\n"))
    assert mail.get_content_type() == "multipart/alternative"
    text, html = mail.iter_parts()
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert text.get_content().replace("\r\n", "\n") == plain
    assert html.get_content_type() == "text/html"
    assert html.get_content().replace("\r\n", "\n") == "<p>“Hello”</p>\n"
    ascii_only = parsed(wire(text="Plain and short.\n"))
    assert next(ascii_only.iter_parts())["Content-Transfer-Encoding"] == "7bit"


def test_attachments_keep_their_names_and_bytes() -> None:
    files = (
        Attachment("straße.pdf", "application/pdf", b"%PDF-1.4 \x00\xff"),
        Attachment('a "quoted" name.txt', "text/plain", b"plain\r\ntext\n"),
    )
    mail = parsed(wire(attachments=files))
    assert mail.get_content_type() == "multipart/mixed"
    assert next(mail.iter_parts()).get_content_type() == "multipart/alternative"
    got = [
        (a.get_filename(), a.get_content_type(), a.get_payload(decode=True))
        for a in mail.iter_attachments()
    ]
    assert got == [(f.filename, f.content_type, f.content) for f in files]
    with pytest.raises(HeaderInjection):
        wire(attachments=(Attachment("x\r\nBcc: v@example.org", "text/plain", b""),))
