"""What is asked of the API, and how each answer's time is taken.

Each case draws the query of every request afresh (another status list, customer, tag, week,
ticket...) so that the figures are not those of one query answered from a warm cache. Requests
go one after the other over one keep-alive connection (``http.client``), timed from sending the
request to the last byte of the answer; the JSON is read only after the clock stopped.
"""

from __future__ import annotations

import http.client
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import populate
from api_data import HEAVY, TAGS
from api_words import customer_email

LIST = "/api/v1/tickets"
STATUS_LISTS = (
    ("open",),
    ("open", "in_progress"),
    ("awaiting_customer",),
    ("in_progress", "awaiting_customer"),
    ("open", "in_progress", "awaiting_customer"),
    ("resolved",),
    ("resolved", "closed"),
)
PRIORITIES = ("low", "medium", "high", "urgent")
CATEGORIES = ("general", "billing", "technical", "bug", "feature_request")


@dataclass(frozen=True)
class Caller:
    """Who asks: a token, and what they would filter on as themselves."""

    role: str  # agent or supervisor
    token: str
    email: str
    group: str
    visible: list[str]  # ticket numbers this caller may see (a sample)


@dataclass(frozen=True)
class Sample:
    """What the cases draw from, known from the generation and a few reads."""

    tickets: int
    customers: int
    agents: list[str]
    groups: list[str]
    first: datetime
    last: datetime
    long_number: str


Query = Callable[[random.Random, Sample, Caller], str]


def _list(**params: Any) -> str:
    return f"{LIST}?{urlencode(params, doseq=True)}" if params else LIST


def _assignee(rng: random.Random, sample: Sample, caller: Caller) -> str:
    if caller.role == "agent":
        return rng.choice((caller.email, f"group:{caller.group}", "none"))
    return rng.choice((rng.choice(sample.agents), f"group:{rng.choice(sample.groups)}", "none"))


def _customer(rng: random.Random, sample: Sample) -> str:
    heavy = rng.random() < 0.25
    return customer_email(rng.randint(1, HEAVY) if heavy else rng.randint(1, sample.customers))


def _week(rng: random.Random, sample: Sample) -> str:
    start = sample.first + (sample.last - sample.first - timedelta(days=7)) * rng.random()
    end = start + timedelta(days=7)
    return _list(created_from=start.isoformat(), created_to=end.isoformat())


def _urgency(rng: random.Random) -> str:
    statuses = rng.choice(((), ("open", "in_progress"), STATUS_LISTS[4]))
    return _list(status=list(statuses), order="urgency")


def _show(rng: random.Random, sample: Sample, caller: Caller) -> str:
    if caller.visible:
        return f"{LIST}/{rng.choice(caller.visible)}"
    return f"{LIST}/{populate.ticket_number(rng.randint(1, sample.tickets))}"


LIST_CASES: dict[str, Query] = {
    "newest, no filter": lambda r, s, c: _list(),
    "status list": lambda r, s, c: _list(status=list(r.choice(STATUS_LISTS))),
    "priority": lambda r, s, c: _list(priority=r.choice(PRIORITIES)),
    "category": lambda r, s, c: _list(category=r.choice(CATEGORIES)),
    "assignee": lambda r, s, c: _list(assignee=_assignee(r, s, c)),
    "customer": lambda r, s, c: _list(customer=_customer(r, s)),
    "tag": lambda r, s, c: _list(tag=r.choice(TAGS)),
    "created_from/to (a week)": lambda r, s, c: _week(r, s),
    "order=urgency": lambda r, s, c: _urgency(r),
    "deep page (5k-10k in)": lambda r, s, c: _list(page=r.randint(250, 500)),
}
SHOW_CASES: dict[str, Query] = {
    "show": _show,
    "show, 10,000 events": lambda r, s, c: f"{LIST}/{s.long_number}",
}


@dataclass
class Timed:
    seconds: list[float] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)  # status: count
    first: dict[str, Any] = field(default_factory=dict)  # the first answer, for its figures

    @property
    def rps(self) -> float:
        return len(self.seconds) / sum(self.seconds) if self.seconds else 0.0


class Client:
    """One keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, port: int, token: str = "") -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> tuple[float, int, bytes]:
        started = time.perf_counter()
        self.conn.request("GET", path, headers=self.headers)
        answer = self.conn.getresponse()
        body = answer.read()
        return time.perf_counter() - started, answer.status, body

    def close(self) -> None:
        self.conn.close()


def measure(client: Client, paths: list[str], warmup: int) -> Timed:
    """``paths`` one after another, the first ``warmup`` of them untimed."""
    timed = Timed()
    for index, path in enumerate(paths):
        seconds, status, body = client.get(path)
        if status != 200:
            timed.failures[status] = timed.failures.get(status, 0) + 1
            continue
        if index == warmup:
            timed.first = json.loads(body)
        if index >= warmup:
            timed.seconds.append(seconds)
    return timed


def paths(query: Query, sample: Sample, caller: Caller, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [query(rng, sample, caller) for _ in range(count)]
