"""Command arguments: each command's text after its name, read forgivingly into its values, or
refused with a reason and the nearest word that would have worked."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta

from helpdesk.domain.vocabulary import Priority, Status

_DURATION = re.compile(r"^(\d+)\s*(m|min|h|d|w)$", re.I)


_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class Invalid(Exception):
    def __init__(self, message: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.message, self.suggestion = message, suggestion


STATUS_WORDS = {
    "open": Status.OPEN,
    "in_progress": Status.IN_PROGRESS,
    "progress": Status.IN_PROGRESS,
    "working": Status.IN_PROGRESS,
    "pending": Status.AWAITING_CUSTOMER,
    "awaiting_customer": Status.AWAITING_CUSTOMER,
    "waiting": Status.AWAITING_CUSTOMER,
    "resolved": Status.RESOLVED,
    "solved": Status.RESOLVED,
    "closed": Status.CLOSED,
}


def normal_word(value: str) -> str:
    return re.sub(r"[\s-]+", "_", value.strip().lower())


def closest(word: str, options: list[str]) -> str:
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else ""


def status(value: str) -> dict[str, object]:
    word = normal_word(value)
    if word not in STATUS_WORDS:
        raise Invalid(f"unknown status {value.strip()!r}", closest(word, list(STATUS_WORDS)))
    return {"status": STATUS_WORDS[word]}


def priority(value: str) -> dict[str, object]:
    word = normal_word(value)
    names = [p.value for p in Priority]
    if word not in names:
        raise Invalid(f"unknown priority {value.strip()!r}", closest(word, names))
    return {"priority": Priority(word)}


def assign(value: str) -> dict[str, object]:
    target = value.strip()
    if not target:
        raise Invalid("say whom: me, an agent's email or name, or group:NAME")
    if target.lower().startswith("group:"):
        return {"group": target[6:].strip()}
    return {"agent": target}


def nothing(value: str) -> dict[str, object]:
    if value.strip():
        raise Invalid("takes no value")
    return {}


def text(value: str) -> dict[str, object]:
    return {"text": value.strip()}


def required_text(value: str) -> dict[str, object]:
    if not value.strip():
        raise Invalid("needs a value")
    return {"text": value.strip()}


def tags(value: str) -> dict[str, object]:
    add, remove = [], []
    for item in value.split():
        if item.startswith("-") and len(item) > 1:
            remove.append(item[1:].lower())
        elif item.strip("+"):
            add.append(item.lstrip("+").lower())
    if not add and not remove:
        raise Invalid("name tags to add (+tag) or remove (-tag)")
    return {"add": add, "remove": remove}


def duration(word: str) -> timedelta | None:
    match = _DURATION.match(word)
    if match is None:
        return None
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def block(value: str) -> dict[str, object]:
    first, _, rest = value.strip().partition(" ")
    if first.lower() == "permanent":
        return {"until": None, "reason": rest.strip()}
    length = duration(first)
    if length is not None:
        return {"for": length, "reason": rest.strip()}
    return {"until": None, "reason": value.strip()}


def customer(value: str) -> dict[str, object]:
    email, _, name = value.strip().partition(" ")
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise Invalid("needs the customer's email address first")
    return {"email": email.strip("<>").lower(), "name": name.strip().strip('"')}


def listing(value: str) -> dict[str, object]:
    filters: dict[str, object] = {}
    for item in value.split():
        key, colon, val = item.partition(":")
        key = key.lower()
        if not colon or key not in ("status", "priority", "assignee", "page"):
            near = closest(key, ["status", "priority", "assignee", "page"])
            raise Invalid(f"unknown filter {item!r}", f"{near}:…" if near else "")
        if key == "status":
            filters.update(status(val))
        elif key == "priority":
            filters.update(priority(val))
        elif key == "page":
            if not val.isdigit() or int(val) < 1:
                raise Invalid("page must be a number from 1")
            filters["page"] = int(val)
        else:
            filters["assignee"] = val
    return filters


def show(value: str) -> dict[str, object]:
    number = value.strip().upper()
    if not re.fullmatch(r"TKT-[0-9A-Z]{4,12}", number):
        raise Invalid("needs a ticket number like TKT-4F7Q2K")
    return {"number": number}
