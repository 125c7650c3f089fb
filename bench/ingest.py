"""Ingest benchmark: SMTP accept rate, DATA->250 latency and sustained mail->ticket rate.

Run from the repository root::

    .venv/bin/python bench/ingest.py [--mails N] [--concurrency C] [--rounds R]
                                     [--database sqlite|postgresql|both] [--profile DIR]
                                     [--pending-timers N [--against-empty]]

Each target runs in its own process, and so does the load generator, so that no two of them share
a GIL: a no-op aiosmtpd server (answers 250 to everything, stores nothing) as the baseline, then
``helpdesk serve`` on a fresh database; R rounds of the two (3), each ratio taken against the
no-op of its own round, and the verdicts on the medians: on a shared machine the speed drifts
by tens of percent within a minute, and a single pair compares two different machines. The
client opens C SMTP connections, one thread each, and reuses each connection for many mails; the
same client drives every target.

Figures per target: accepted mails/s, and p50/p99 of dot->250 (from handing the end-of-data dot
to the socket to reading the reply) beside DATA->250 (from the DATA command to the same reply).
For the gateway also the sustained mail->ticket rate: from the first 250 to the moment every
accepted mail has left ``received``, polled in the database; and the rate at which the backlog
left when the load ended was worked off. Targets (SQLite, C = 8): accept ratio
gateway/no-op >= 0.5 with dot->250 p99 <= 50 ms; mail->ticket ratio against the no-op >= 0.25.
PASS/FAIL is printed; the exit status is 0 whatever the figures (a measurement, not a test).

Everything listens on 127.0.0.1; temporary directories, server processes and the PostgreSQL
database (``helpdesk_bench``) are removed at the end. ``--profile DIR`` also records the gateway
with py-spy (``pip install py-spy``) into folded stacks and prints the busiest frames.
``--pending-timers N`` bulk-inserts N tickets with a pending timer each (``populate.py``: days
away, with its SLA targets) into each fresh database before the gateway starts; the ratios with
``--pending-timers 100000`` and with ``--pending-timers 0`` (the same targets, no tickets) say
what a backlog of timers costs the pipeline; ``--against-empty`` measures both in the same rounds
and says whether the cost is flat (``ingest_flat.py``).
"""

from __future__ import annotations

import argparse
import pickle
import statistics
from collections.abc import Sequence
from pathlib import Path

import ingest_backlog
import ingest_flat
from databases import database_kinds
from figures import percentile, setup_summary, verdict
from ingest_client import LoadResult, client_main
from ingest_corpus import corpus_summary, make_corpus, wire_payload
from ingest_noop import noop_main
from ingest_round import Round, measure_gateway, measure_noop
from processes import run_script, scratch_dir
from profiles import read_folded

TARGET_CONCURRENCY = 8
TARGET_ACCEPT_RATIO = 0.5
TARGET_P99_MS = 50.0
TARGET_TICKET_RATIO = 0.25


HEADER = (
    f"  {'target':<9}{'accepted':>9}{'failed':>7}{'mails/s':>9}  |"
    f"{'dot->250 p50':>13}{'p99':>8}{'max':>8}  |{'DATA->250 p50':>14}{'p99':>8}  |"
    f"{'server CPU':>15}"
)


def row(name: str, result: LoadResult) -> str:
    dot, data = result.dot_ms, result.data_ms
    cpu = result.server_cpu
    per_mail = f"{1000 * cpu / result.accepted:.1f} ms/mail" if cpu and result.accepted else "?"
    return (
        f"  {name:<9}{result.accepted:>9}{result.failed:>7}{result.rate:>9.1f}  |"
        f"{percentile(dot, 50):>13.2f}{percentile(dot, 99):>8.2f}{max(dot, default=0):>8.1f}  |"
        f"{percentile(data, 50):>14.2f}{percentile(data, 99):>8.2f}  |{per_mail:>15}"
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def report(rounds: Sequence[Round], concurrency: int, pending: int | None = None) -> None:
    """The round with the median accept ratio in detail; the verdicts on the medians."""
    shown = sorted(rounds, key=lambda r: r.accept_ratio)[len(rounds) // 2]
    noop, gw = shown.noop, shown.gw
    db = gw.database
    backlog = "" if pending is None else f", {pending} pending timers"
    print(
        f"\n== {db.label}: {gw.load.accepted + gw.load.failed} mails, C = {concurrency}{backlog} =="
    )
    for number, each in enumerate(rounds, 1):
        print(each.line(number))
    print(f"  the median round in detail:\n{HEADER}   (latencies in ms)")
    print(row("no-op", noop))
    print(row("gateway", gw.load))
    if gw.load.failed:
        print(f"  gateway replies: {gw.load.replies}")
    state = "all processed" if gw.complete else "INCOMPLETE (timed out)"
    print(
        f"  mail->ticket: {gw.processed} of {gw.load.accepted} processed ({state}) "
        f"{gw.ticket_seconds:.2f} s after the first 250: {gw.ticket_rate:.1f} mails/s; "
        f"backlog when the load ended: {gw.backlog_at_end}, worked off at "
        f"{shown.backlog_rate:.1f} mails/s (the pipeline with the machine to itself)"
    )
    print(f"  outcomes: {gw.outcomes}; tickets: {gw.tickets}")
    accept_ratio = median([r.accept_ratio for r in rounds])
    p99 = median([r.p99 for r in rounds])
    ticket_ratio = median([r.ticket_ratio for r in rounds])
    complete = all(r.gw.complete for r in rounds)
    print(
        f"  median of {len(rounds)} rounds: accept ratio {accept_ratio:.3f}, dot->250 p99 "
        f"{p99:.1f} ms, mail->ticket ratio {ticket_ratio:.3f}"
    )
    binding = db.kind == "sqlite" and concurrency == TARGET_CONCURRENCY
    scope = "" if binding else " (informational: the targets are for SQLite at C = 8)"
    print(f"  targets, on the medians{scope}:")
    print(
        f"    accept ratio {accept_ratio:.3f} >= {TARGET_ACCEPT_RATIO} and dot->250 p99 "
        f"{p99:.1f} ms <= {TARGET_P99_MS:.0f} ms: "
        f"{verdict(accept_ratio >= TARGET_ACCEPT_RATIO and p99 <= TARGET_P99_MS)}"
    )
    print(
        f"    mail->ticket ratio {ticket_ratio:.3f} >= {TARGET_TICKET_RATIO}: "
        f"{verdict(ticket_ratio >= TARGET_TICKET_RATIO and complete)}"
    )
    profiled = rounds[-1].gw.profile
    if profiled is not None:
        try:
            print_profile(profiled)
        except (OSError, ValueError) as exc:
            print(f"  profile {profiled} not summarised: {exc}")


def print_profile(folded: Path, top: int = 8) -> None:
    """Busiest frames per thread from py-spy's folded stacks: our functions (inclusive, any line)
    and the innermost frames (self); numbered threads of one pool are counted together."""
    stacks = read_folded(folded, thread_prefix=r"^thread \(\d+\): ", threads_only=True)
    grand = stacks.grand
    print(f"  profile: {folded} (py-spy, samples of running threads, 250 Hz)")
    for thread, total in stacks.totals.most_common():
        if total < grand / 100:
            continue
        print(f"   thread {thread}: {total} samples ({100 * total / grand:.0f}% of all)")
        stacks.print_frames(thread, top)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=2000, help="mails per target (2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="SMTP connections (8)")
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql", "both"), default="sqlite", help="(sqlite)"
    )
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="no-op and gateway loads, alternating (3)"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="record the gateway with py-spy into DIR"
    )
    parser.add_argument(
        "--pending-timers",
        type=int,
        metavar="N",
        help="before each gateway run, N tickets with a pending timer each, days away, and the "
        "SLA targets of populate.py (compare with 0: the same targets, no tickets)",
    )
    parser.add_argument(
        "--against-empty",
        action="store_true",
        help="with --pending-timers N: each round also on an empty database (0), the order "
        "alternating; says whether the cost is flat from empty to N (ingest_flat.py)",
    )
    args = parser.parse_args(argv)
    kinds = database_kinds(args.database)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    with scratch_dir("helpdesk-bench-") as workdir:
        mails = make_corpus(args.mails, args.seed)
        print(setup_summary())
        print(corpus_summary(mails), flush=True)
        corpus = workdir / "corpus.pickle"
        with corpus.open("wb") as handle:
            pickle.dump([(sender, wire_payload(raw)) for sender, raw in mails], handle)
        del mails
        for kind in kinds:
            measured = _rounds(args, kind, corpus, workdir)
            for pending, rounds in measured.items():
                report(rounds, args.concurrency, pending)
            if len(measured) == 2 and all(len(r) == args.rounds for r in measured.values()):
                ingest_flat.report(measured[0], measured[args.pending_timers], args.pending_timers)
    ingest_backlog.drop_templates(kinds, args.pending_timers)
    return 0


def _rounds(
    args: argparse.Namespace, kind: str, corpus: Path, workdir: Path
) -> dict[int | None, list[Round]]:
    """The rounds on one database by backlog: ``--pending-timers`` (None: no option), and with
    ``--against-empty`` also 0, measured in the same rounds (``ingest_flat``)."""
    against = args.against_empty and bool(args.pending_timers)
    rounds: dict[int | None, list[Round]] = {args.pending_timers: []} | ({0: []} if against else {})
    for number in range(1, args.rounds + 1):
        last = number == args.rounds
        print(f"round {number}: no-op, then {kind}, C = {args.concurrency} ...", flush=True)
        noop = measure_noop(corpus, args.concurrency, workdir)
        order = list(rounds) if ingest_flat.backlog_first(number) else list(rounds)[::-1]
        for pending in order:
            try:
                result = measure_gateway(
                    kind,
                    corpus,
                    args.mails,
                    args.concurrency,
                    workdir / f"{kind}-{number}-{pending}",
                    args.profile if last and pending == args.pending_timers else None,
                    pending,
                )
            except Exception as exc:  # report and go on with the next database
                print(f"  {kind}: not measured: {type(exc).__name__}: {exc}")
                return {p: r for p, r in rounds.items() if r}
            rounds[pending].append(Round(noop, result))
    return rounds


ROLES = {"_client": client_main, "_noop": noop_main}

if __name__ == "__main__":
    run_script(main, ROLES)
