"""The support report, computed over generated facts whose true figures the test knows."""

from __future__ import annotations

import json
import random
import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpdesk.domain import calendar, report_text
from helpdesk.domain.calendar import Calendar
from helpdesk.domain.report import Grouping, TicketFacts, compute, met, percentile
from helpdesk.domain.report_period import Period, period, weeks_of
from helpdesk.domain.timers.sla import Clock
from helpdesk.domain.vocabulary import Priority, Status

OFFICE = Calendar("Europe/Berlin", calendar.parse_hours("Mon-Fri 09:00-17:00"))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
NOVEMBER = Period(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
NOW = datetime(2026, 12, 1, tzinfo=UTC)
H = timedelta(hours=1)


def ticket(**fields: Any) -> TicketFacts:
    base: dict[str, Any] = {
        "number": "TKT-000000",
        "created_at": T0,
        "priority": Priority.MEDIUM,
        "category": "general",
        "status": Status.OPEN,
    }
    return TicketFacts(**(base | fields))


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(
        UTC
    )


def test_percentiles_interpolate_between_the_closest_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.5) is None
    generated = random.Random(12)
    for size in range(2, 40):
        values = [generated.uniform(0, 1000) for _ in range(size)]
        quantiles = statistics.quantiles(values, n=10, method="inclusive")
        assert percentile(values, 0.9) == pytest.approx(quantiles[8])
        assert percentile(values, 0.5) == pytest.approx(statistics.median(values))


def test_times_on_a_generated_history() -> None:
    """Ten tickets answered after 1h, 2h, … 10h, the even ones resolved after 1, 3, … 9 days."""
    facts = [
        ticket(
            number=f"TKT-{i:06d}",
            created_at=T0 + i * H,
            first_responded_at=T0 + i * H + (i + 1) * H,
            status=Status.RESOLVED if i % 2 == 0 else Status.IN_PROGRESS,
            resolved_at=T0 + i * H + timedelta(days=i + 1) if i % 2 == 0 else None,
        )
        for i in range(10)
    ]
    random.Random(3).shuffle(facts)
    figures = compute(facts, None, NOVEMBER, NOW).overall
    assert figures.tickets == 10
    answered = figures.first_response
    assert answered.count == 10
    assert (answered.median, answered.p90) == (timedelta(hours=5, minutes=30), timedelta(hours=9.1))
    resolved = figures.resolution
    assert (resolved.count, resolved.median) == (5, timedelta(days=5))
    assert resolved.p90 == timedelta(days=8, hours=4, minutes=48)  # 7d + 0.6 of 2d


def test_times_count_business_hours_when_a_calendar_is_set() -> None:
    facts = [
        # Friday 16:00 to Monday 10:00 in Berlin: 2h open (66h on the wall clock)
        ticket(created_at=berlin(2026, 11, 27, 16), first_responded_at=berlin(2026, 11, 30, 10)),
        # Saturday noon to Monday 09:30: 30m open (45h30m)
        ticket(created_at=berlin(2026, 11, 28, 12), first_responded_at=berlin(2026, 11, 30, 9, 30)),
        # Monday 09:00 to 13:00: 4h either way
        ticket(created_at=berlin(2026, 11, 30, 9), first_responded_at=berlin(2026, 11, 30, 13)),
    ]
    business = compute(facts, OFFICE, NOVEMBER, NOW).overall.first_response
    assert (business.median, business.p90) == (2 * H, timedelta(hours=3, minutes=36))
    wall = compute(facts, None, NOVEMBER, NOW).overall.first_response
    assert (wall.median, wall.p90) == (timedelta(hours=45, minutes=30), timedelta(hours=61.9))


DUE = {"first_response_due": T0 + 4 * H, "resolution_due": T0 + 24 * H}
CASES = [
    # (clock, the ticket's facts, met?)
    (Clock.FIRST_RESPONSE, {"first_responded_at": T0 + H}, True),
    (Clock.FIRST_RESPONSE, {"first_responded_at": T0 + 5 * H}, False),
    (
        Clock.FIRST_RESPONSE,
        {"first_responded_at": T0 + H, "breached": {Clock.FIRST_RESPONSE}},
        False,
    ),
    (Clock.FIRST_RESPONSE, {}, False),  # still unanswered, overdue
    (Clock.FIRST_RESPONSE, {"first_response_due": NOW + H}, None),  # running, not due yet
    (Clock.FIRST_RESPONSE, {"first_response_due": None}, None),  # no SLA target
    (Clock.FIRST_RESPONSE, {"status": Status.RESOLVED, "resolved_at": T0 + 2 * H}, True),
    (Clock.FIRST_RESPONSE, {"status": Status.RESOLVED, "resolved_at": T0 + 6 * H}, False),
    (Clock.RESOLUTION, {"status": Status.RESOLVED, "resolved_at": T0 + 20 * H}, True),
    (
        Clock.RESOLUTION,
        {"status": Status.CLOSED, "resolved_at": T0 + 20 * H, "closed_at": NOW},
        True,
    ),
    (Clock.RESOLUTION, {"status": Status.CLOSED, "closed_at": T0 + 48 * H}, False),
    (
        Clock.RESOLUTION,
        {"status": Status.IN_PROGRESS, "resolved_at": T0 + 20 * H},
        False,
    ),  # reopened
    (Clock.RESOLUTION, {"status": Status.AWAITING_CUSTOMER}, None),  # paused
    (Clock.RESOLUTION, {"status": Status.AWAITING_CUSTOMER, "breached": {Clock.RESOLUTION}}, False),
    (Clock.RESOLUTION, {"resolution_due": NOW + H}, None),
    (Clock.NEXT_RESPONSE, {}, None),  # the customer never wrote again after the answer
    (Clock.NEXT_RESPONSE, {"replied_after_answer": True}, True),  # answered again in time
    (Clock.NEXT_RESPONSE, {"replied_after_answer": True, "breached": {Clock.NEXT_RESPONSE}}, False),
    (Clock.NEXT_RESPONSE, {"replied_after_answer": True, "next_response_due": T0 + 30 * H}, False),
    (Clock.NEXT_RESPONSE, {"replied_after_answer": True, "next_response_due": NOW + H}, None),
    (
        Clock.NEXT_RESPONSE,
        {
            "replied_after_answer": True,
            "next_response_due": T0 + 30 * H,
            "status": Status.RESOLVED,
            "resolved_at": T0 + 29 * H,
        },
        True,
    ),
    (Clock.NEXT_RESPONSE, {"replied_after_answer": True, "first_response_due": None}, None),
]


@pytest.mark.parametrize(("clock", "fields", "expected"), CASES)
def test_whether_a_clock_was_met(
    clock: Clock, fields: dict[str, Any], expected: bool | None
) -> None:
    facts = ticket(**(DUE | {k: frozenset(v) if k == "breached" else v for k, v in fields.items()}))
    assert met(facts, clock, NOW) is expected


def test_compliance_is_the_share_of_the_counted_tickets_that_met_the_clock() -> None:
    answered = T0 + H
    facts = [
        ticket(**DUE, first_responded_at=answered, status=Status.RESOLVED, resolved_at=T0 + 20 * H),
        ticket(**DUE, first_responded_at=T0 + 5 * H, status=Status.CLOSED, closed_at=T0 + 30 * H),
        ticket(
            first_response_due=T0 + 4 * H,
            resolution_due=NOW + H,  # not due yet: not counted
            first_responded_at=answered,
            replied_after_answer=True,
            breached=frozenset({Clock.NEXT_RESPONSE}),
        ),
        ticket(first_responded_at=answered),  # no SLA target: counted nowhere
        ticket(
            **DUE,
            first_responded_at=answered,
            replied_after_answer=True,
            status=Status.AWAITING_CUSTOMER,  # resolution paused: not counted
        ),
    ]
    figures = compute(facts, None, NOVEMBER, NOW).overall
    shares = {clock: (c.met, c.total, c.share) for clock, c in figures.sla.items()}
    assert shares == {
        Clock.FIRST_RESPONSE: (3, 4, 0.75),
        Clock.NEXT_RESPONSE: (1, 2, 0.5),
        Clock.RESOLUTION: (1, 2, 0.5),
    }


def test_a_generated_month_of_compliance() -> None:
    """40 tickets answered after 30m, 1h, … 4h (in turn) against a 2h target: half met."""
    facts = [
        ticket(
            created_at=T0 + i * H,
            first_response_due=T0 + i * H + 2 * H,
            first_responded_at=T0 + i * H + (i % 8 + 1) * timedelta(minutes=30),
        )
        for i in range(40)
    ]
    figures = compute(facts, None, NOVEMBER, NOW).overall
    first = figures.sla[Clock.FIRST_RESPONSE]
    assert (first.met, first.missed, first.share) == (20, 20, 0.5)
    minutes = [(i % 8 + 1) * 30.0 for i in range(40)]
    expected = statistics.quantiles(minutes, n=10, method="inclusive")[8]
    assert figures.first_response.median == timedelta(minutes=statistics.median(minutes))
    assert figures.first_response.p90 == timedelta(minutes=expected)


def test_backlog_weekly_volume_and_satisfaction() -> None:
    winter = Period(datetime(2026, 12, 21, tzinfo=UTC), datetime(2027, 1, 13, tzinfo=UTC))
    days = [0, 1, 2, 10, 10, 15, 22]  # after 2026-12-21: W52 x3, W53 x2, 2027-W01 x1, W02 x1
    statuses = [Status.OPEN, Status.OPEN, Status.CLOSED, Status.RESOLVED, Status.IN_PROGRESS]
    ratings = [5, 5, 4, 3, None, 1, None]
    facts = [
        ticket(
            created_at=winter.since + timedelta(days=d, hours=12),
            status=statuses[i % len(statuses)],
            satisfaction=ratings[i],
        )
        for i, d in enumerate(days)
    ]
    figures = compute(facts, None, winter, NOW).overall
    assert figures.volume == {"2026-W52": 3, "2026-W53": 2, "2027-W01": 1, "2027-W02": 1}
    assert figures.backlog == {
        Status.OPEN: 4,
        Status.IN_PROGRESS: 1,
        Status.AWAITING_CUSTOMER: 0,
        Status.RESOLVED: 1,
        Status.CLOSED: 1,
    }
    rated = figures.satisfaction
    assert rated.count == 5 and rated.average == pytest.approx(3.6)
    assert rated.distribution == {1: 1, 2: 0, 3: 1, 4: 1, 5: 2}
    empty = compute([], None, NOVEMBER, NOW).overall
    assert empty.volume == {"2026-W45": 0, "2026-W46": 0, "2026-W47": 0, "2026-W48": 0}
    assert empty.satisfaction.average is None and empty.first_response.median is None


def test_weeks_are_the_teams_weeks() -> None:
    """Sunday 23:30 UTC is already Monday in Berlin: the next week, for a team there."""
    late = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert compute([ticket(created_at=late)], None, NOVEMBER, NOW).overall.volume["2026-W48"] == 1
    assert compute([ticket(created_at=late)], OFFICE, NOVEMBER, NOW).overall.volume == {
        "2026-W45": 0,
        "2026-W46": 0,
        "2026-W47": 0,
        "2026-W48": 0,
        "2026-W49": 1,
    }
    assert weeks_of(Period(T0, T0 + timedelta(days=1))) == ["2026-W45"]


def test_figures_per_agent_group_priority_and_category() -> None:
    facts = [
        ticket(agent="ann@us.test", groups=("billing",), first_responded_at=T0 + H),
        ticket(agent="ann@us.test", groups=("billing",), first_responded_at=T0 + 3 * H),
        ticket(agent="bob@us.test", groups=("billing", "sales"), priority=Priority.URGENT),
        ticket(groups=("sales",), priority=Priority.LOW, category="billing"),
        ticket(),
    ]
    by_agent = compute(facts, None, NOVEMBER, NOW, Grouping.AGENT)
    assert list(by_agent.groups) == ["ann@us.test", "bob@us.test", "unassigned"]
    ann = by_agent.groups["ann@us.test"]
    assert (ann.tickets, ann.first_response.median) == (2, 2 * H)
    assert by_agent.overall.tickets == 5
    by_group = compute(facts, None, NOVEMBER, NOW, Grouping.GROUP).groups
    assert {k: v.tickets for k, v in by_group.items()} == {"billing": 3, "sales": 2, "no group": 1}
    assert list(by_group) == ["billing", "sales", "no group"]
    by_priority = compute(facts, None, NOVEMBER, NOW, Grouping.PRIORITY).groups
    assert {k: v.tickets for k, v in by_priority.items()} == {"urgent": 1, "medium": 3, "low": 1}
    assert list(by_priority) == ["urgent", "medium", "low"]
    by_category = compute(facts, None, NOVEMBER, NOW, Grouping.CATEGORY).groups
    assert {k: v.tickets for k, v in by_category.items()} == {"billing": 1, "general": 4}


def test_the_period_reads_dates_and_times_ago() -> None:
    assert period(None, None, NOW) == Period(NOW - timedelta(days=30), NOW)
    assert period("7d", None, NOW) == Period(NOW - timedelta(days=7), NOW)
    november = period("2026-11-01", "2026-11-30", NOW)
    assert november == Period(datetime(2026, 11, 1, tzinfo=UTC), NOW)  # the 30th included
    assert period(None, "2026-11-30", NOW).since == NOW - timedelta(days=30)
    in_berlin = period("2026-11-02", "2026-11-29", NOW, OFFICE)  # the team's midnights
    assert in_berlin == Period(berlin(2026, 11, 2), berlin(2026, 11, 30))
    assert in_berlin.since == datetime(2026, 11, 1, 23, tzinfo=UTC)
    with pytest.raises(ValueError, match="'last week': write a date"):
        period("last week", None, NOW)
    with pytest.raises(ValueError, match=r"ends .* before it starts"):
        period("2026-11-30", "2026-11-01", NOW)


def test_the_text_and_the_json() -> None:
    facts = [
        ticket(
            agent="ann@us.test",
            first_responded_at=T0 + timedelta(hours=2, minutes=15, seconds=20),
            first_response_due=T0 + 4 * H,
            satisfaction=4,
        ),
        ticket(first_response_due=T0 + 4 * H, first_responded_at=T0 + 5 * H, satisfaction=5),
    ]
    in_berlin = period("2026-11-02", "2026-11-29", NOW, OFFICE)
    found = compute(facts, OFFICE, in_berlin, NOW, Grouping.AGENT)
    lines = report_text.text(found).splitlines()
    assert lines[0] == (
        "Support report: 2026-11-02 00:00 to 2026-11-30 00:00 Europe/Berlin, 2 tickets created"
    )
    assert lines[1] == "Times in business hours: Europe/Berlin, Mon-Fri 09:00-17:00."
    assert "First response   median 3h38m, 90th percentile 4h44m (2 tickets answered)" in lines
    assert any(line.startswith("SLA met          first response 50% (1 of 2),") for line in lines)
    assert "Satisfaction     4.5 average of 2 ratings (1: 0, 2: 0, 3: 0, 4: 1, 5: 1)" in lines
    assert "Volume per week  2026-W45 2, 2026-W46 0, 2026-W47 0, 2026-W48 0" in lines
    header = (
        "By agent tickets active response p50/p90 resolution p50/p90 SLA met 1st/next/res rating"
    )
    assert lines[-3].split() == header.split()
    assert lines[-2].split() == [
        "ann@us.test",
        "1",
        "1",
        "2h15m/2h15m",
        "-/-",
        "100%/-/-",
        "4.0",
        "(1)",
    ]
    assert lines[-1].split() == ["unassigned", "1", "1", "5h/5h", "-/-", "0%/-/-", "5.0", "(1)"]
    data = json.loads(json.dumps(report_text.as_json(found)))
    assert data["business_hours"] == {"zone": "Europe/Berlin", "hours": "Mon-Fri 09:00-17:00"}
    assert data["first_response"]["median"] == {"seconds": 13060.0, "shown": "3h38m"}
    assert data["sla"]["first_response"] == {"met": 1, "missed": 1, "share": 0.5}
    assert data["sla"]["next_response"] == {"met": 0, "missed": 0, "share": None}
    assert data["backlog"]["open"] == 2 and data["satisfaction"]["distribution"]["5"] == 1
    assert data["by"] == "agent" and set(data["groups"]) == {"ann@us.test", "unassigned"}
    wall = report_text.text(replace(found, calendar=None, by=None)).splitlines()
    assert wall[0].startswith("Support report: 2026-11-01 23:00 to 2026-11-29 23:00 UTC,")
    assert wall[1] == "Times in wall-clock time." and not any("By agent" in x for x in wall)
