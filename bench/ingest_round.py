"""One round of the ingest benchmark: the client against the no-op baseline, then against
``helpdesk serve`` on a fresh database while the mails leaving ``received`` are polled; the
round's ratios are against its own baseline."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import ingest_backlog
from addresses import HOST
from databases import Database, fresh_database, helpdesk_env
from figures import percentile
from ingest_client import LoadResult
from processes import base_env, cpu_seconds, helpdesk, running
from profiles import find_py_spy, record_profile
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from helpdesk.domain.vocabulary import MailStatus
from storage.models import InboundMail, Ticket

PG_DATABASE = "helpdesk_bench"
SECRET = "bench-secret-not-for-production-0123456789"
INGEST = str(Path(__file__).with_name("ingest.py"))  # the script whose roles the children are


def load(port: int, corpus: Path, concurrency: int, workdir: Path, label: str) -> LoadResult:
    out = workdir / f"client-{label}.json"
    command = [sys.executable, INGEST, "_client", "--port", str(port), "--corpus", str(corpus)]
    command += ["--concurrency", str(concurrency), "--out", str(out)]
    subprocess.run(command, check=True, timeout=1800)
    return LoadResult(**json.loads(out.read_text()))


class ProgressWatcher(threading.Thread):
    """Polls how many stored mails have left ``received``; notes when all ``total`` have."""

    def __init__(self, url: str, total: int, interval: float = 0.05) -> None:
        super().__init__(name="progress", daemon=True)
        parsed = make_url(url)
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        self._engine = create_engine(parsed)
        self.total = total
        self._interval = interval
        self._halt = threading.Event()
        self.done = threading.Event()
        self.processed = 0
        self.done_wall = 0.0

    def run(self) -> None:
        query = select(func.count()).where(InboundMail.status != MailStatus.RECEIVED)
        while not self._halt.is_set():
            with contextlib.suppress(Exception), self._engine.connect() as conn:
                self.processed = int(conn.scalar(query) or 0)
            if self.processed >= self.total:
                self.done_wall = time.time()
                self.done.set()
                return
            self._halt.wait(self._interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
        self._engine.dispose()

    def outcomes(self) -> tuple[dict[str, int], int]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(InboundMail.status, InboundMail.outcome, func.count()).group_by(
                    InboundMail.status, InboundMail.outcome
                )
            ).all()
            tickets = int(conn.scalar(select(func.count()).select_from(Ticket)) or 0)
        return {f"{status}/{outcome or '-'}": n for status, outcome, n in rows}, tickets


@dataclass
class GatewayResult:
    database: Database
    load: LoadResult
    processed: int
    complete: bool
    ticket_seconds: float
    backlog_at_end: int
    drain_seconds: float
    outcomes: dict[str, int]
    tickets: int
    profile: Path | None = None

    @property
    def ticket_rate(self) -> float:
        return self.processed / self.ticket_seconds if self.ticket_seconds else 0.0


def start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    py_spy = find_py_spy()
    return record_profile(py_spy, pid, out, rate=250) if py_spy else None


def measure_gateway(
    kind: str,
    corpus: Path,
    total: int,
    concurrency: int,
    workdir: Path,
    profile_dir: Path | None,
    pending: int | None = None,
) -> GatewayResult:
    var_dir = workdir / f"var-{kind}"
    var_dir.mkdir(parents=True)
    with fresh_database(kind, var_dir, PG_DATABASE) as database:
        env = helpdesk_env(database, var_dir, SECRET)
        if pending is not None:  # a backlog first: tickets with a pending timer each
            ingest_backlog.fill(database, workdir.parent, pending, SECRET)  # the run's dir
        command = helpdesk("serve", "--smtp", f"{HOST}:0")
        with running(f"gateway-{kind}", command, env, var_dir) as server:
            port, cpu = server.port(), cpu_seconds(server.pid)
            profile = profile_dir / f"gateway-{kind}.folded" if profile_dir else None
            profiler = start_profiler(server.pid, profile) if profile else None
            watcher = ProgressWatcher(database.url, total)
            watcher.start()
            try:
                result = load(port, corpus, concurrency, workdir, kind)
                load_end = time.time()
                backlog = result.accepted - watcher.processed
                watcher.total = result.accepted
                watcher.done.wait(timeout=max(120.0, total * 0.15))
                complete = watcher.done.is_set()
                end = watcher.done_wall if complete else time.time()
                after = cpu_seconds(server.pid)
                if after is not None and cpu is not None:
                    result.server_cpu = after - cpu
                processed = watcher.processed
                outcomes, tickets = watcher.outcomes()
            finally:
                watcher.stop()
            server.stop()
            if profiler is not None:
                try:
                    profiler.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    profiler.terminate()
                    profiler.wait(timeout=10)
    return GatewayResult(
        database=database,
        load=result,
        processed=processed,
        complete=complete,
        ticket_seconds=max(end - result.first_accept_wall, 1e-9),
        backlog_at_end=max(backlog, 0),
        drain_seconds=max(end - load_end, 1e-9),
        outcomes=outcomes,
        tickets=tickets - (pending or 0),
        profile=profile if profile and profile.exists() else None,
    )


def measure_noop(corpus: Path, concurrency: int, workdir: Path) -> LoadResult:
    command = [sys.executable, INGEST, "_noop"]
    with running("noop", command, base_env(), workdir) as server:
        port, cpu = server.port(), cpu_seconds(server.pid)
        result = load(port, corpus, concurrency, workdir, "noop")
        after = cpu_seconds(server.pid)
    result.server_cpu = after - cpu if after is not None and cpu is not None else None
    return result


@dataclass
class Round:
    """One no-op load and the gateway load right after it: the ratios pair the two, so that a
    machine whose speed drifts (other work on it) moves both sides alike."""

    noop: LoadResult
    gw: GatewayResult

    @property
    def accept_ratio(self) -> float:
        return self.gw.load.rate / self.noop.rate if self.noop.rate else 0.0

    @property
    def ticket_ratio(self) -> float:
        return self.gw.ticket_rate / self.noop.rate if self.noop.rate else 0.0

    @property
    def p99(self) -> float:
        return percentile(self.gw.load.dot_ms, 99)

    @property
    def backlog_rate(self) -> float:
        return self.gw.backlog_at_end / self.gw.drain_seconds

    def line(self, number: int) -> str:
        return (
            f"  round {number}: no-op {self.noop.rate:.0f}/s, gateway {self.gw.load.rate:.0f}/s "
            f"(ratio {self.accept_ratio:.3f}, dot->250 p99 {self.p99:.1f} ms); mail->ticket "
            f"{self.gw.ticket_rate:.0f}/s (ratio {self.ticket_ratio:.3f}), backlog alone "
            f"{self.backlog_rate:.0f}/s"
        )
