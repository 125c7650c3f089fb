"""Notification templates: jinja2, a text and an autoescaped HTML part, overridable by the operator.

An operator's directory (``HELPDESK_TEMPLATES_DIR``) is searched before the built-in templates, one
file at a time. ``check`` compiles and renders every template against a sample context, so a broken
override stops the start-up instead of failing a delivery at 3 a.m.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from helpdesk.domain.notices import Template

BUILT_IN = Path(str(files("templates")))
TEMPLATES = tuple(Template)


class TemplateProblem(Exception):
    pass


def sample_context() -> dict[str, Any]:
    return {
        "recipient_name": "Ada Example",
        "support_address": "support@example.com",
        "reply_address": "support+token@example.com",
        "subject": "Printer on fire",
        "reasons": "the subject is empty",
        "ticket": {
            "number": "TKT-SAMPLE",
            "subject": "Printer on fire",
            "status": "open",
            "priority": "medium",
            "category": "general",
            "customer_email": "ada@example.org",
            "customer_name": "Ada Example",
            "resolution_notes": "Replaced the fuser.",
            "assignee": "Sam Agent",
            "external_ref": "ORDER-1234",
            "tags": ["credentials"],
        },
        "order": "status: shipped, total: 49.90",
        "message": {"author": "ada@example.org", "body": "It is still burning.", "kind": "public"},
        "event": {"kind": "ticket_assigned", "actor": "sam@example.com", "before": {}, "after": {}},
        "applied": ["#status pending", "reply sent to the customer"],
        "problems": ["line 1: #stauts pending: unknown command; did you mean #status?"],
        "nothing_applied": False,
        "state": "TKT-SAMPLE is now awaiting_customer, priority medium, sam@example.com",
        "answers": ["TKT-SAMPLE  open  medium ..."],
        "reason": "the reply address was issued to someone else",
        "sender": "mallory@example.net",
        "received_at": "2026-11-23 12:00 UTC",
        "help": "#status open|in_progress|pending|resolved|closed",
        "items": [
            {
                "what": "Customer reply",
                "at": "2026-11-23 12:00 UTC",
                "ticket": {"number": "TKT-SAMPLE", "subject": "Printer on fire", "priority": "low"},
                "event": {"kind": "ticket_commented", "actor": "ada@example.org"},
                "author": "ada@example.org",
                "excerpt": "It is still burning.",
                "reply_address": "support+token@example.com",
            }
        ],
    }


class Renderer:
    """One per process: each template is compiled on first use and kept in the environment's
    cache, never looked at on disk again (a changed file counts from the next start, where
    ``check`` tries it)."""

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders = [FileSystemLoader(str(override_dir))] if override_dir else []
        loaders.append(FileSystemLoader(str(BUILT_IN)))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            keep_trailing_newline=True,
            auto_reload=False,
        )

    def render(self, template: str, context: dict[str, Any]) -> tuple[str, str]:
        """The text and the HTML part of ``template`` for ``context``."""
        text = self.env.get_template(f"{template}.txt").render(context)
        html = self.env.get_template(f"{template}.html").render(context)
        return text, html

    def check(self) -> None:
        """Compile and trial-render every template; raise with every problem found."""
        problems = []
        for template in TEMPLATES:
            try:
                self.render(template, sample_context())
            except Exception as exc:
                problems.append(f"{template}: {type(exc).__name__}: {exc}")
        if problems:
            raise TemplateProblem("broken notification templates:\n  " + "\n  ".join(problems))
