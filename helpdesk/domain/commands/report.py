"""``#report [since:7d] [until:DATE] [by:agent|group|priority|category]``: in a new mail, the
support figures in the answer's body and their chart attached (supervisors)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from helpdesk.domain import report_period
from helpdesk.domain.commands.base import Invalid, Ready, Scope, Spec, closest
from helpdesk.domain.commands.effects import ReportFigures
from helpdesk.domain.report import Grouping
from helpdesk.domain.vocabulary import Role

FILTERS = ["since", "until", "by"]


def _when(value: str) -> str:
    try:  # read now only to check the words; the answer reads them again at its own time
        report_period.moment(value, datetime.now(UTC))
    except ValueError as exc:
        raise Invalid(str(exc), "since:7d") from None
    return value


def read(value: str) -> Ready:
    wanted = ReportFigures()
    for item in value.split():
        key, colon, val = item.partition(":")
        key = key.lower()
        if not colon or key not in FILTERS:
            near = closest(key, FILTERS)
            raise Invalid(f"unknown filter {item!r}", f"{near}:…" if near else "since:7d")
        if key == "by":
            try:
                wanted = replace(wanted, by=Grouping(val.lower()))
            except ValueError:
                raise Invalid(
                    f"by:{val}: by agent, group, priority or category", "by:agent"
                ) from None
        elif key == "since":
            wanted = replace(wanted, since=_when(val))
        else:
            wanted = replace(wanted, until=_when(val))
    try:  # the two together, as the answer will read them
        report_period.period(wanted.since, wanted.until, datetime.now(UTC))
    except ValueError as exc:
        raise Invalid(str(exc), "#report since:7d") from None
    return Ready(wanted)


COMMAND = Spec(
    "report",
    "#report [since:7d] [until:DATE] [by:agent|group|priority|category]",
    "in a new mail: the support figures, with a chart",
    Role.SUPERVISOR,
    Scope.NEW,
    read,
)
