"""IMAP backfill benchmark: ``helpdesk imap backfill`` of N mails from a local Dovecot, in
mails/s, against the SMTP ingest rate of the same mails, measured in the same run.

Run from the repository root::

    .venv/bin/python bench/imap.py [--mails N] [--database sqlite|postgresql|both]
                                   [--concurrency C] [--seed S]

1. The corpus of ``ingest.py`` (the same generator and seed: about 11.7 KB a mail, one in five
   with a 50 KB attachment) is appended to the folder ``Archive`` of a private Dovecot started
   by ``tests/dovecot.py`` (as for the tests), a minute apart in INTERNALDATE; not timed.
2. **Baseline**: ``helpdesk serve`` on a fresh database, the ingest client sending the same
   mails over SMTP on C connections (``ingest_round.measure_gateway``): accepted mails/s, each
   committed before its 250.
3. **Backfill**: on another fresh database (``helpdesk init``), ``helpdesk imap backfill
   Archive`` as a child process, timed from its start to its exit, start-up included; then the
   same command again, which finds every mail stored already and only lists the folder (sizes
   and dates): what a resumed run costs before it takes anything. The mails stored are counted
   in the database.

Printed per database: both rates and their ratio (backfill / SMTP), the backfill's wall time,
CPU per mail and the second run's time, and the SMTP side's mail->ticket rate for scale. No
target: the figures are informational. The exit status is 0 whatever they are.
"""

from __future__ import annotations

import argparse
import pickle
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from addresses import REPO
from databases import Database, database_kinds, fresh_database, helpdesk_env
from figures import setup_summary
from ingest_corpus import corpus_summary, make_corpus, wire_payload
from ingest_round import SECRET, GatewayResult, measure_gateway
from processes import helpdesk, run_helpdesk, scratch_dir
from sqlalchemy import func, select

from helpdesk.domain.vocabulary import BACKFILL_SOURCE
from storage import spool
from storage.db import make_engine
from storage.models import InboundMail

sys.path.append(str(REPO))  # tests/dovecot.py: the Dovecot the tests use
from tests.dovecot import Dovecot

FOLDER = "Archive"
PG_DATABASE = "helpdesk_bench_imap"
APPEND_BATCH = 100  # mails per MULTIAPPEND
FIRST = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


def fill(dovecot: Dovecot, mails: list[tuple[str, bytes]]) -> float:
    """Put the corpus in ``FOLDER``, oldest first, a minute apart; returns the seconds taken."""
    started = time.monotonic()
    with dovecot.client() as client:
        client.create_folder(FOLDER)
        for start in range(0, len(mails), APPEND_BATCH):
            batch = [
                {"msg": wire(raw), "date": FIRST + timedelta(minutes=start + n)}
                for n, (_, raw) in enumerate(mails[start : start + APPEND_BATCH])
            ]
            client.multiappend(FOLDER, batch)
    return time.monotonic() - started


def wire(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@dataclass
class Backfill:
    database: Database
    mails: int
    stored: int
    seconds: float
    cpu: float  # the child's user + system time
    again_seconds: float  # the second run: everything found stored already
    summary: str  # the command's own last line

    @property
    def rate(self) -> float:
        return self.stored / self.seconds if self.seconds else 0.0


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Run ``command`` to its end: wall seconds, CPU seconds, its last line of output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, timeout=3600)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed:\n{done.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    return seconds, cpu, lines[-1] if lines else ""


def stored_by_backfill(url: str) -> int:
    engine = make_engine(url)
    try:
        while spool.move(engine):  # SQLite: the intake wrote into the spool
            pass
        query = select(func.count()).where(InboundMail.source == BACKFILL_SOURCE)
        with engine.connect() as connection:
            return int(connection.scalar(query) or 0)
    finally:
        engine.dispose()


def measure_backfill(kind: str, dovecot: Dovecot, total: int, workdir: Path) -> Backfill:
    var_dir = workdir / f"var-imap-{kind}"
    var_dir.mkdir(parents=True)
    with fresh_database(kind, var_dir, PG_DATABASE) as database:
        env = helpdesk_env(database, var_dir, SECRET) | {"HELPDESK_IMAP_URL": dovecot.url}
        run_helpdesk(env, var_dir, "init")
        command = helpdesk("imap", "backfill", FOLDER)
        seconds, cpu, summary = timed(command, env, var_dir)
        again, _, _ = timed(command, env, var_dir)
        stored = stored_by_backfill(database.url)
    return Backfill(database, total, stored, seconds, cpu, again, summary)


def report(smtp: GatewayResult, imap: Backfill) -> None:
    ratio = imap.rate / smtp.load.rate if smtp.load.rate else 0.0
    per_mail = 1000 * imap.cpu / imap.stored if imap.stored else 0.0
    complete = "" if imap.stored == imap.mails else f" (INCOMPLETE: {imap.stored} stored)"
    print(f"\n== {imap.database.label}: {imap.mails} mails ==")
    print(
        f"  SMTP ingest (baseline): {smtp.load.accepted} accepted, {smtp.load.rate:.1f} mails/s; "
        f"mail->ticket {smtp.ticket_rate:.1f} mails/s"
    )
    print(
        f"  IMAP backfill: {imap.stored} stored{complete} in {imap.seconds:.2f} s, "
        f"{imap.rate:.1f} mails/s, {per_mail:.2f} ms CPU/mail (the command's process)"
    )
    print(f"    its summary: {imap.summary}")
    print(f"    a second run (all stored already, only the listing): {imap.again_seconds:.2f} s")
    taking = imap.seconds - imap.again_seconds
    if taking > 0:
        print(f"    net of that: {imap.stored / taking:.1f} mails/s for the taking alone")
    print(f"  ratio backfill / SMTP ingest: {ratio:.3f} (informational)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=5000, help="mails (5000)")
    parser.add_argument("--concurrency", type=int, default=8, help="SMTP connections (8)")
    parser.add_argument(
        "--database", choices=("sqlite", "postgresql", "both"), default="sqlite", help="(sqlite)"
    )
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    args = parser.parse_args()
    with scratch_dir("helpdesk-bench-imap-") as workdir:
        mails = make_corpus(args.mails, args.seed)
        print(setup_summary())
        print(corpus_summary(mails), flush=True)
        corpus = workdir / "corpus.pickle"
        with corpus.open("wb") as handle:
            pickle.dump([(sender, wire_payload(raw)) for sender, raw in mails], handle)
        dovecot = Dovecot(workdir / "dovecot").start()
        try:
            print(f"Dovecot: {FOLDER} filled in {fill(dovecot, mails):.1f} s", flush=True)
            del mails
            for kind in database_kinds(args.database):
                try:
                    print(f"{kind}: SMTP ingest, C = {args.concurrency} ...", flush=True)
                    smtp = measure_gateway(
                        kind, corpus, args.mails, args.concurrency, workdir / kind, None
                    )
                    print(f"{kind}: IMAP backfill ...", flush=True)
                    imap = measure_backfill(kind, dovecot, args.mails, workdir)
                except Exception as exc:  # report and go on with the next database
                    print(f"  {kind}: not measured: {type(exc).__name__}: {exc}")
                    continue
                report(smtp, imap)
        finally:
            dovecot.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
