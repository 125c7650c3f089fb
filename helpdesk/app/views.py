"""Plain-text renderings of ticket lists and histories, shared by the CLI and the mail replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.queries import Page, TicketDetail


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def page_text(page: Page) -> str:
    lines = [
        f"{row.number}  {row.status:<17} {row.priority:<6} "
        f"{row.created_at:%Y-%m-%d %H:%M}  {row.customer:<28} "
        f"{row.assignee or '-':<20} {row.subject[:60]}"
        for row in page.rows
    ]
    if not lines:
        lines.append("No tickets.")
    if page.total_exact:
        lines.append(f"Page {page.page} of {page.pages} ({page.total} tickets)")
    else:
        lines.append(f"Page {page.page} of {page.pages} or more (more than {page.total} tickets)")
    return "\n".join(lines)


def change(before: dict[str, Any], after: dict[str, Any]) -> str:
    parts = []
    for key in after:
        if key in before:
            parts.append(f"{key}: {before[key]} -> {after[key]}")
        else:
            parts.append(f"{key}: {after[key]}")
    return "; ".join(parts)


def detail_text(detail: TicketDetail, order: str = "", held: int = 0) -> str:
    """The ticket for people; ``held``: the customer's further mails the sender limit holds."""
    t = detail.ticket
    lines = [f"{t.number}  {t.subject}"]
    fields: list[tuple[str, Any]] = [
        ("status", t.status),
        ("priority", t.priority),
        ("category", t.category),
        ("customer", t.customer),
        ("participants", ", ".join(detail.participants)),
        ("assignee", t.assignee),
        ("tags", ", ".join(detail.tags)),
        ("reference", detail.external_ref),
        ("order", order),
        ("linked to", detail.linked_ticket),
        ("created", when(t.created_at)),
        ("first response due", when(detail.first_response_due)),
        ("next response due", when(detail.next_response_due)),
        ("resolution due", when(detail.resolution_due)),
        ("escalated", when(detail.escalated_at)),
    ]
    lines += [f"  {label + ':':<20}{value}" for label, value in fields if value]
    if held:
        lines.append(
            f"  {'held:':<20}{held} further mails from {t.customer}, held by the sender limit "
            "(helpdesk mail list)"
        )
    lines.append("\nHistory:")
    if detail.history_truncated:
        lines.append(f"  (only the last {len(detail.history)} events)")
    for entry in detail.history:
        lines.append(
            f"  {entry.at:%Y-%m-%d %H:%M:%S}  {entry.kind:<22} {entry.actor}  "
            f"{change(entry.before, entry.after)}"
        )
        if entry.message:
            marker = "(internal) " if entry.message_kind == "internal" else ""
            lines += [f"      | {marker}{line}" for line in entry.message.splitlines()[:20]]
        lines += [f"      [attachment: {name}]" for name in entry.attachments]
    return "\n".join(lines)
