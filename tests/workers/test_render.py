"""Templates render for every event, with and without optional fields; escaping; safe headers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main
from workers.compose import Draft, HeaderInjection, compose
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
