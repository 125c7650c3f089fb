"""What an order service's answer says, for an agent: a short line from its JSON."""

from __future__ import annotations

from typing import Any

from helpdesk.domain.sensitive import mask

UNAVAILABLE = "order details unavailable"
MAX_SUMMARY = 300
SCALARS = (str, int, float, bool)


def summary(answer: Any) -> str:
    """``status: shipped, total: 49.90, carrier: DHL`` from the top level of the answer (or of
    its ``order`` member); nested values are left out, card numbers and IBANs masked (the
    service is a way in too: its line is kept and mailed), the line cut to ``MAX_SUMMARY``."""
    if isinstance(answer, dict) and isinstance(answer.get("order"), dict):
        answer = answer["order"]
    if not isinstance(answer, dict):
        return mask(str(answer))[:MAX_SUMMARY] if isinstance(answer, SCALARS) else ""
    parts = [
        f"{key}: {' '.join(str(value).split())}"
        for key, value in answer.items()
        if isinstance(value, SCALARS) and str(value).strip()
    ]
    line = mask(", ".join(parts))
    return line if len(line) <= MAX_SUMMARY else line[: MAX_SUMMARY - 1] + "…"
