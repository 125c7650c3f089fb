"""Timer benchmark: one reconciler pass with N pending timers, and the lateness of a burst.

Run from the repository root::

    .venv/bin/python bench/timers.py [--timers 100000] [--due 1000] [--baseline-due 10]
                                     [--database sqlite|postgresql|both] [--workers 2]
                                     [--threads 4] [--passes 11] [--reconcile-seconds S]

Per database, on a fresh one (``helpdesk init``, the SLA policies of ``populate.TARGETS``, 12
agents in 3 groups, a supervisor and an admin):

1. **The pass.** ``workers.actors.Tasks.reconcile``'s function, what every reconcile interval
   runs (heartbeat, outbox due rows, ``firing.fire_due``, ``arm(timers.coming(...))``, the
   inbound check), is called ``--passes`` times in a child process (``timer_pass.py``) with the
   helpdesk's settings and an in-process broker (the heartbeat set back before each call,
   untimed), after two warm-up calls: first with no timer at all (the baseline), then after
   ``--timers`` tickets with a pending timer each, days away, were bulk-inserted
   (``populate.py``). Nothing is due in either. Printed: median and max, the timer part apart,
   the ratio N/0. Target: <= 1 s.
2. **The lateness** (``timer_burst.py``). ``--workers`` ``helpdesk worker`` processes on Redis
   (``BENCH_REDIS_URL``, a namespace of this run, removed after) at the default reconcile
   interval. ``--baseline-due`` tickets and then ``--due`` tickets have their first response
   fall due at one instant, ``--lead`` seconds ahead (1.5 reconcile intervals: a pass arms them
   before): each as if opened one first-response target earlier, its warning fired, its breach
   the pending timer. The timers' ``fired_at`` minus their due time gives the lateness (a
   transaction writes one ``fired_at`` for all it fires: the transactions are counted); a
   poller noting when each FIRED row became visible gives an upper bound (+100 ms). Every
   breach must have fired and written its alerts (``agent/sla_alert`` outbox rows, an
   ``sla_breached`` event). Printed: p50/p99/max, the workers' CPU per timer, and the p99 ratio
   burst/baseline. Target: p99 <= 2 s.

The figures are for one machine, busy with whatever else runs on it; the exit status is 0
whatever they are (a measurement, not a test). The PostgreSQL database (``helpdesk_bench_timers``)
and the temporary directory are removed at the end (``--keep`` keeps the logs).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import populate
from databases import Database, database_kinds, each_database, fresh_database, helpdesk_env
from figures import percentile, setup_summary, verdict
from processes import run_helpdesk, run_script
from sqlalchemy import Engine, func, select
from timer_burst import Burst, Workers, measure_lateness
from timer_pass import measure_passes

from helpdesk.app.settings import Settings
from storage.db import make_engine
from storage.models import Timer

PG_DATABASE = "helpdesk_bench_timers"
SECRET = "bench-timers-secret-not-for-production-0123456"
TARGET_PASS_S = 1.0
TARGET_P99_S = 2.0


@dataclass
class Options:
    timers: int
    due: int
    baseline_due: int
    database: str
    workers: int
    threads: int
    passes: int
    reconcile_seconds: float
    lead: float
    seed: int
    keep: bool


def run_database(kind: str, options: Options, workdir: Path) -> None:
    var_dir = workdir / f"var-{kind}"
    var_dir.mkdir()
    with fresh_database(kind, var_dir, PG_DATABASE) as database:
        env = helpdesk_env(database, var_dir, SECRET)
        env["HELPDESK_RECONCILE_SECONDS"] = f"{options.reconcile_seconds:g}"
        run_helpdesk(env, var_dir, "init")
        engine = make_engine(database.url)
        try:
            run_phases(database, options, engine, env)
        finally:
            engine.dispose()


def run_phases(database: Database, options: Options, engine: Engine, env: dict[str, str]) -> None:
    var_dir = Path(env["HELPDESK_VAR_DIR"])
    print(
        f"\n== {database.label}: {options.timers} pending timers; {options.workers} workers x "
        f"{options.threads} threads on Redis; reconcile every {options.reconcile_seconds:g} s ==",
        flush=True,
    )
    team = populate.add_team(engine, datetime.now(UTC))
    populate.set_policies(engine)
    empty = measure_passes(env, var_dir, options.passes)
    took = populate.populate(database.url, options.timers, options.seed, team)
    with engine.connect() as conn:
        kinds = dict(conn.execute(select(Timer.kind, func.count()).group_by(Timer.kind)).all())
    print(f"  populated {options.timers} tickets in {took:.1f} s; pending timers: {kinds}")
    full = measure_passes(env, var_dir, options.passes)
    print(empty.line("no timers"))
    print(full.line(f"{options.timers} pending"))
    ratio = full.median / empty.median if empty.median else 0.0
    print(f"  pass ratio, {options.timers} pending / none (medians): {ratio:.2f}")

    bursts: list[Burst] = []
    workers = Workers(options.workers, options.threads, options.reconcile_seconds)
    sizes = (options.baseline_due, options.due)
    try:
        bursts = measure_lateness(engine, env, var_dir, workers, sizes, options.lead, options.seed)
    except Exception as exc:  # report the pass anyway
        print(f"  lateness: not measured: {type(exc).__name__}: {exc}")
    for label, burst in zip(("baseline", "burst"), bursts, strict=False):
        for line in burst.lines(f"{label}: {burst.count} due at once"):
            print(line)
    if bursts:
        baseline, burst = bursts
        burst_ratio = burst.p99 / baseline.p99 if baseline.p99 > 0 else 0.0
        print(f"  p99 lateness ratio, burst / baseline: {burst_ratio:.2f}")
    print("  targets:")
    print(
        f"    a pass with {options.timers} pending: max {full.worst:.3f} s <= "
        f"{TARGET_PASS_S:g} s: {verdict(full.worst <= TARGET_PASS_S)}"
    )
    if bursts:
        burst = bursts[-1]
        done = burst.complete and burst.breaches == burst.count and burst.alerts >= burst.count
        seen = percentile(burst.seen_lateness, 99)
        print(
            f"    p99 lateness (fired_at) of {burst.count} due at once {burst.p99:.3f} s <= "
            f"{TARGET_P99_S:g} s, every one fired with its alerts: "
            f"{verdict(done and burst.p99 <= TARGET_P99_S)} (as the poller saw them: p99 "
            f"{seen:.3f} s)"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--timers", type=int, default=100_000, help="pending timers (100000)")
    parser.add_argument("--due", type=int, default=1000, help="timers due at once (1000)")
    parser.add_argument("--baseline-due", type=int, default=10, help="the small burst first (10)")
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql", "both"), default="both", help="(both)"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes (2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument("--passes", type=int, default=11, help="timed reconciler passes (11)")
    default_interval = Settings.model_construct().reconcile_seconds
    parser.add_argument(
        "--reconcile-seconds",
        type=float,
        default=default_interval,
        help=f"HELPDESK_RECONCILE_SECONDS of the workers (the default, {default_interval:g})",
    )
    parser.add_argument(
        "--lead", type=float, help="seconds from setting a burst to its due time (1.5 intervals)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the logs and the SQLite file")
    args = parser.parse_args(argv)
    if args.lead is None:
        args.lead = 1.5 * args.reconcile_seconds
    options = Options(**vars(args))
    print(setup_summary(), flush=True)
    each_database(
        database_kinds(options.database),
        "helpdesk-bench-timers-",
        options.keep,
        lambda kind, workdir: run_database(kind, options, workdir),
    )
    return 0


if __name__ == "__main__":
    run_script(main, {})
