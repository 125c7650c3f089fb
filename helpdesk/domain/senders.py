"""A runaway sender: how many new tickets one address may open in an hour.

A script gone wrong, a misconfigured monitor or an attacker can send the public support address
hundreds of new mails an hour from one address; each would be a ticket, an acknowledgement, an
SLA clock and a notice to the team. Past the limit a new mail is held (kept, with the reason, for
an operator to replay), not opened; replies to the sender's tickets are never limited.
"""

from __future__ import annotations

from datetime import timedelta

WINDOW = timedelta(hours=1)


HELD = "sender limit:"  # how the reason of a mail held by the limit begins


def flood_reason(email: str, opened: int, limit: int) -> str | None:
    """Why a new ticket from ``email`` is held, having ``opened`` tickets in the last hour; None
    when it may open one. A ``limit`` of 0 or less is no limit."""
    if limit <= 0 or opened < limit:
        return None
    return (
        f"{HELD} {email} opened {opened} new tickets in the last hour "
        f"(at most {limit}, HELPDESK_MAX_NEW_TICKETS_PER_SENDER_HOUR); held, not acknowledged: "
        "helpdesk mail replay ID makes it a ticket once the hour has passed"
    )
