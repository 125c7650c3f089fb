"""HTTP API benchmark (#13): ticket lists and tickets at 1,000,000 tickets, on the real server.

Run from the repository root::

    .venv/bin/python bench/api.py [--tickets 1000000] [--database sqlite|postgresql|both]
                                  [--keep] [--fresh] [--drop] [--requests 200] [--explain]

Per database:

1. **The data** (``api_database.py``, ``api_data.py``, ``api_story.py``, ``api_words.py``,
   ``api_load.py``): a database made by the project's migrations, then N tickets of a helpdesk
   three years at work, with their customers, messages, events, tags and pending timers,
   bulk-loaded
   (``executemany`` in a transaction per batch on SQLite, ``COPY`` on PostgreSQL). With
   ``--keep`` the database stays (``BENCH_API_DIR``/tickets-N.db, or PostgreSQL
   ``bench_api_N``) and the next run with ``--keep`` takes it as it is, brought to the newest
   migration (``--fresh`` makes it again, ``--drop`` drops it and stops).
2. **The server**: ``helpdesk web`` (``python -m gateway`` from this checkout) on a free
   loopback port, in its own process, with an API token for an agent (``agent3``, of group
   ``queue-1``) and one for the supervisor.
3. **The requests** (``api_cases.py``): for each case and caller, ``--requests`` requests (after
   ten untimed) one after another on one keep-alive connection, each drawing its own query:
   ``GET /api/v1/tickets`` with each filter, the urgency order and a deep page (the deepest
   pages there are: ``storage.queries.MAX_DEPTH``), and ``GET
   /api/v1/tickets/{number}`` (a ticket the caller may see, and the one with 10,000 events). Then
   ``/healthz`` of the same server, the trivial endpoint: each case's requests/s is printed with
   its ratio to that of ``/healthz``.

Targets at 1M tickets: list p99 <= 50 ms, show p99 <= 20 ms. ``--explain`` also prints the plan
of every statement ``storage.queries`` runs for one request of each list case (``api_plans.py``).
A measurement, not a test: the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import random
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import populate
from api_cases import LIST_CASES, SHOW_CASES, Caller, Client, Sample, Timed, measure, paths
from api_data import SPAN, long_id
from api_database import database_of, drop, prepare
from common import (
    Children,
    helpdesk,
    helpdesk_env,
    percentile,
    run_script,
    scratch_dir,
    setup_summary,
    verdict,
)
from sqlalchemy import Engine, func, select, text

from helpdesk.app import api_tokens
from storage.db import make_engine, make_session_factory
from storage.models import Agent, Customer, Ticket

SECRET = "bench-api-secret-not-for-production-0123456789"
LIST_P99_MS, SHOW_P99_MS = 50.0, 20.0
WARMUP = 10
AGENT_ID, AGENT_GROUP = 3, "queue-1"  # populate.add_team's first agent, in the first group


@dataclass(frozen=True)
class Options:
    tickets: int
    database: str
    keep: bool
    fresh: bool
    drop: bool
    requests: int
    explain: bool
    seed: int


def callers(engine: Engine, tickets: int) -> list[Caller]:
    """A token each for the agent and the supervisor, and a sample of the tickets they see."""
    sessions, now = make_session_factory(engine), datetime.now(UTC)
    rng = random.Random(7)
    ids = sorted({rng.randint(1, tickets) for _ in range(4000)})
    found = []
    with sessions.begin() as session:
        rows = session.execute(
            select(Ticket.number, Ticket.assignee_agent_id, Ticket.assignee_group_id).where(
                Ticket.id.in_(ids)
            )
        ).all()
        for agent_id, role, group in ((AGENT_ID, "agent", AGENT_GROUP), (2, "supervisor", "")):
            agent = session.get(Agent, agent_id)
            assert agent is not None
            token = api_tokens.create(session, agent, "bench", now)[1]
            visible = [
                number
                for number, on_agent, on_group in rows
                if role == "supervisor"
                or on_agent == agent_id
                or on_group == 1
                or (on_agent is None and on_group is None)
            ]
            found.append(Caller(role, token, agent.email, group, visible))
    return found


def sample_of(engine: Engine, tickets: int) -> Sample:
    with engine.connect() as conn:
        customers = conn.scalar(select(func.max(Customer.id))) or 1
        span = select(func.min(Ticket.created_at), func.max(Ticket.created_at))
        first, last = conn.execute(span).one()
        agents = list(conn.scalars(select(Agent.email).where(Agent.role == "agent")))
        groups = list(conn.scalars(text("SELECT name FROM groups")))
    long_number = populate.ticket_number(long_id(tickets))
    return Sample(tickets, customers, agents, groups, first, last or first + SPAN, long_number)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client = Client(port)
            if client.get("/healthz")[1] == 200:
                client.close()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer /healthz")


def run_database(kind: str, options: Options, workdir: Path) -> None:
    database = database_of(kind, options.tickets)
    print(f"\n{database.label}, {options.tickets:,} tickets", flush=True)
    prepare(database, options.tickets, options.seed, options.keep, options.fresh)
    engine = make_engine(database.url)
    try:
        people, sample = callers(engine, options.tickets), sample_of(engine, options.tickets)
        if options.explain:
            from api_plans import explain_cases

            explain_cases(engine, people, sample)
    finally:
        engine.dispose()
    var_dir = workdir / kind
    var_dir.mkdir()
    env = helpdesk_env(database, var_dir, SECRET)
    children, port = Children(workdir, env), free_port()
    try:
        server = children.start(f"web-{kind}", helpdesk("web", "--listen", f"127.0.0.1:{port}"))
        server.wait_log("HTTP listening")
        wait_healthy(port)
        health = measure(Client(port), ["/healthz"] * (options.requests * 5 + WARMUP), WARMUP)
        print(
            f"  /healthz: {health.rps:,.0f} requests/s (p50 "
            f"{percentile(health.seconds, 50) * 1000:.2f} ms, p99 "
            f"{percentile(health.seconds, 99) * 1000:.2f} ms), one request at a time",
            flush=True,
        )
        results = run_cases(port, people, sample, options, health)
    finally:
        children.stop()
    verdicts(results)
    if not options.keep:
        drop(database)


Results = dict[str, dict[str, Timed]]
HEAD = f"{'p50 ms':>6} {'p99 ms':>6} {'req/s':>6} {'ratio':>6}   "


def run_cases(
    port: int, people: list[Caller], sample: Sample, options: Options, health: Timed
) -> Results:
    """Every case for every caller, each case's line printed as soon as it is measured."""
    print(f"  {'':<26}{'agent':^31}{'supervisor':^31}")
    print(f"  {'case':<26}{HEAD}{HEAD}matching (supervisor)", flush=True)
    results: Results = {}
    count = options.requests + WARMUP
    for index, (name, query) in enumerate((LIST_CASES | SHOW_CASES).items()):
        for caller in people:
            client = Client(port, caller.token)
            try:
                asked = paths(query, sample, caller, count, options.seed * 1000 + index)
                results.setdefault(name, {})[caller.role] = measure(client, asked, WARMUP)
            finally:
                client.close()
        print(line(name, results[name], health), flush=True)
    return results


def _cell(timed: Timed, health: Timed) -> str:
    if not timed.seconds:
        return f"{'failed ' + str(timed.failures):<31}"
    p50, p99 = percentile(timed.seconds, 50) * 1000, percentile(timed.seconds, 99) * 1000
    return f"{p50:6.1f} {p99:6.1f} {timed.rps:6.0f} {timed.rps / health.rps:6.3f}   "


def line(name: str, by_role: dict[str, Timed], health: Timed) -> str:
    cells = "".join(_cell(by_role[role], health) for role in ("agent", "supervisor"))
    first = by_role["supervisor"].first
    matching = ""
    if "total" in first:
        matching = f"{first['total']:,}{'' if first.get('total_exact', True) else '+'}"
    return f"  {name:<26}{cells}{matching}"


def verdicts(results: Results) -> None:
    worst: dict[bool, tuple[float, str]] = {True: (0.0, ""), False: (0.0, "")}
    for name, by_role in results.items():
        for role, timed in by_role.items():
            p99 = percentile(timed.seconds, 99) * 1000 if timed.seconds else float("inf")
            is_list = not name.startswith("show")
            if p99 > worst[is_list][0]:
                worst[is_list] = (p99, f"{name}, {role}")
    for is_list, target, label in ((True, LIST_P99_MS, "list"), (False, SHOW_P99_MS, "show")):
        p99, where = worst[is_list]
        ok = verdict(p99 <= target)
        print(f"  {label} p99 <= {target:g} ms: {ok} (worst {p99:.1f} ms: {where})")


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets (1000000)")
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql", "both"), default="both", help="(both)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database, reuse a kept one")
    parser.add_argument("--fresh", action="store_true", help="generate even if one is kept")
    parser.add_argument("--drop", action="store_true", help="drop the kept database and stop")
    parser.add_argument("--requests", type=int, default=200, help="per case and caller (200)")
    parser.add_argument("--explain", action="store_true", help="print the list queries' plans")
    parser.add_argument("--seed", type=int, default=1)
    options = Options(**vars(parser.parse_args(argv)))
    kinds = ["sqlite", "postgresql"] if options.database == "both" else [options.database]
    if options.drop:
        for kind in kinds:
            drop(database_of(kind, options.tickets))
            print(f"dropped {database_of(kind, options.tickets).url}")
        return 0
    signal.signal(signal.SIGTERM, _stop)  # the server is stopped on the way out
    print(setup_summary(), flush=True)
    with scratch_dir("helpdesk-bench-api-") as workdir:
        for kind in kinds:
            try:
                run_database(kind, options, workdir)
            except Exception as exc:  # a measurement, not a test: report and go on
                print(f"  {kind}: not measured: {type(exc).__name__}: {exc}")
    return 0


if __name__ == "__main__":
    run_script(main, {})
