"""Memory benchmark: N concurrent mails with large attachments through SMTP (issue #14).

Run from the repository root::

    .venv/bin/python bench/memory.py [--mails 20] [--attachment-mb 10]
                                     [--database sqlite|postgresql|both]

The client (a process of its own) opens N connections, builds one mail per connection (a short
text and a random attachment of ``--attachment-mb`` MB, base64: about 1.37 times as large on
the wire) and sends them all at once; meanwhile another connection sends a NOOP every 10 ms and
times each answer. **Baseline**: the same load against the ingest benchmark's no-op aiosmtpd
server (``ingest_noop``: ``handle_DATA`` answers 250) in its own process. **Gateway**:
``helpdesk serve`` on a fresh database; after the last 250 the database is polled until every
mail has left ``received`` (its ticket made, attachment stored). The peak RSS of each process is its
high-water mark (VmHWM in /proc), read every 50 ms for the server and each process under it:
the listener and the worker processes.

Printed per target: the 250s, the load's duration, NOOP p99 and max, the listener's peak RSS and
its ratio to the baseline's, each worker process's peak RSS, and the outcomes. Targets (20 mails
of 10 MB): every gateway process <= 250 MB, the longest NOOP answer <= 100 ms. PASS/FAIL is
printed; the exit status is 0 whatever the figures (a measurement, not a test).

The gateway gets ``HELPDESK_SMTP_SESSIONS_PER_CLIENT`` above N + 1: everything comes from
127.0.0.1, and the default (20) would refuse the probe. Everything listens on 127.0.0.1; the
scratch directory, the servers and the PostgreSQL database (``helpdesk_bench_memory``) are
removed at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from common import (
    base_env,
    fresh_database,
    helpdesk,
    helpdesk_env,
    run_script,
    running,
    scratch_dir,
    setup_summary,
    verdict,
)
from ingest_noop import noop_main
from memory_client import LoadResult, PeakWatcher, client_main
from sqlalchemy import create_engine, func, select

from helpdesk.domain.vocabulary import MailStatus
from storage.models import InboundMail

PG_DATABASE = "helpdesk_bench_memory"
SECRET = "bench-secret-0123456789abcdef0123456789"
TARGET_RSS_MB = 250.0
TARGET_NOOP_MS = 100.0


@dataclass
class Measured:
    load: LoadResult
    peaks_mb: dict[str, float]  # by process: "listener" first, then the others by name and pid
    outcomes: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    ticket_seconds: float = 0.0

    @property
    def listener_mb(self) -> float:
        return self.peaks_mb.get("listener", 0.0)

    @property
    def others_mb(self) -> dict[str, float]:
        return {name: mb for name, mb in self.peaks_mb.items() if name != "listener"}


def load(port: int, args: argparse.Namespace, workdir: Path, label: str) -> LoadResult:
    out = workdir / f"client-{label}.json"
    command = [sys.executable, __file__, "_client", "--port", str(port), "--out", str(out)]
    command += ["--mails", str(args.mails), "--seed", str(args.seed)]
    command += ["--attachment-bytes", str(int(args.attachment_mb * 1024 * 1024))]
    with running(f"client-{label}", command, base_env(), workdir) as client:
        client.process.wait(timeout=1800)
    return LoadResult(**json.loads(out.read_text()))


def peaks_by_name(watcher: PeakWatcher, peaks: dict[int, int]) -> dict[str, float]:
    named = {"listener": peaks.get(watcher.root, 0) / 1024}
    for pid, kb in sorted(peaks.items()):
        if pid != watcher.root:
            named[watcher.names.get(pid, f"? [{pid}]")] = kb / 1024
    return named


def measure_noop(args: argparse.Namespace, workdir: Path) -> Measured:
    with running("noop", [sys.executable, __file__, "_noop"], base_env(), workdir) as server:
        port = server.port()
        watcher = PeakWatcher(server.pid)
        watcher.start()
        result = load(port, args, workdir, "noop")
        peaks = watcher.stop()
    return Measured(result, peaks_by_name(watcher, peaks))


def wait_processed(url: str, total: int, timeout: float) -> tuple[bool, dict[str, int]]:
    """Poll until ``total`` mails have left ``received``; the outcomes then."""
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                rows = connection.execute(
                    select(InboundMail.status, InboundMail.outcome, func.count()).group_by(
                        InboundMail.status, InboundMail.outcome
                    )
                ).all()
            outcomes = {f"{status}/{outcome or '-'}": int(n) for status, outcome, n in rows}
            done = sum(int(n) for status, _, n in rows if status != MailStatus.RECEIVED)
            if done >= total or time.monotonic() > deadline:
                return done >= total, outcomes
            time.sleep(0.2)
    finally:
        engine.dispose()


def measure_gateway(kind: str, args: argparse.Namespace, workdir: Path) -> Measured:
    var_dir = workdir / f"var-{kind}"
    var_dir.mkdir(parents=True)
    with fresh_database(kind, var_dir, PG_DATABASE) as database:
        env = helpdesk_env(database, var_dir, SECRET)
        env["HELPDESK_SMTP_SESSIONS_PER_CLIENT"] = str(args.mails + 10)
        with running(
            f"gateway-{kind}", helpdesk("serve", "--smtp", "127.0.0.1:0"), env, var_dir
        ) as server:
            port = server.port()
            watcher = PeakWatcher(server.pid)
            watcher.start()
            began = time.monotonic()
            result = load(port, args, workdir, kind)
            complete, outcomes = wait_processed(database.url, result.accepted, timeout=600)
            took = time.monotonic() - began
            time.sleep(1.0)  # the last unit of work's commit and its blobs
            peaks = watcher.stop()
    return Measured(result, peaks_by_name(watcher, peaks), outcomes, complete, took)


def describe(name: str, measured: Measured, baseline: Measured | None) -> list[str]:
    load, mb = measured.load, measured.listener_mb
    ratio = f" ({mb / baseline.listener_mb:.2f} x the no-op's)" if baseline else ""
    lines = [
        f"  {name}: {load.accepted} x 250 {load.replies} in {load.seconds:.1f} s,"
        f" {load.mail_bytes / 1e6:.0f} MB sent",
        f"    NOOP on another connection: p99 {load.noop_p99:.1f} ms, max {load.noop_max:.1f} ms"
        f" ({len(load.noop_ms)} answers, {load.noop_failures} failed)",
        f"    peak RSS: listener {mb:.0f} MB{ratio}",
    ]
    lines += [
        f"    peak RSS: {other} {value:.0f} MB" for other, value in measured.others_mb.items()
    ]
    if measured.outcomes:
        state = "" if measured.complete else " (NOT all processed in time)"
        lines.append(
            f"    mails processed in {measured.ticket_seconds:.1f} s{state}: {measured.outcomes}"
        )
    return lines


def report(kind: str, noop: Measured, gateway: Measured, args: argparse.Namespace) -> None:
    print("\n".join(describe("no-op aiosmtpd", noop, None)))
    print("\n".join(describe(f"gateway ({kind})", gateway, noop)))
    worst = max(gateway.peaks_mb.values(), default=0.0)
    targets = args.mails == 20 and args.attachment_mb == 10
    note = "" if targets else f" (the targets are for 20 mails of 10 MB; this is {args.mails})"
    print(f"  verdicts{note}:")
    ok_rss = worst <= TARGET_RSS_MB and gateway.complete
    print(
        f"    peak RSS of every gateway process <= {TARGET_RSS_MB:.0f} MB: {worst:.0f} MB"
        f" {verdict(ok_rss)}"
    )
    ok_noop = gateway.load.noop_max <= TARGET_NOOP_MS and not gateway.load.noop_failures
    print(
        f"    longest NOOP <= {TARGET_NOOP_MS:.0f} ms: {gateway.load.noop_max:.1f} ms"
        f" {verdict(ok_noop)}"
    )
    ok_all = gateway.load.accepted == args.mails and gateway.complete
    print(f"    every mail accepted and processed: {verdict(ok_all)}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=20, help="concurrent mails (20)")
    parser.add_argument("--attachment-mb", type=float, default=10.0, help="per mail (10)")
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql", "both"), default="sqlite", help="(sqlite)"
    )
    parser.add_argument("--seed", type=int, default=1, help="attachment seed (1)")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    print(setup_summary())
    print(
        f"{args.mails} mails at once, each with a {args.attachment_mb:g} MB attachment", flush=True
    )
    with scratch_dir("helpdesk-bench-memory-") as workdir:
        for kind in kinds:
            print(f"{kind}: no-op, then the gateway ...", flush=True)
            try:
                noop = measure_noop(args, workdir)
                gateway = measure_gateway(kind, args, workdir)
            except Exception as exc:  # a measurement, not a test: report, go on
                print(f"  {kind}: not measured: {type(exc).__name__}: {exc}")
                continue
            report(kind, noop, gateway, args)
    return 0


ROLES = {"_client": client_main, "_noop": noop_main}

if __name__ == "__main__":
    run_script(main, ROLES)
