"""The reconciler's pass, timed in a process of its own (``timers.py``'s first measurement).

``measure_passes`` runs this file as a child process with a helpdesk's environment; the child
builds the helpdesk as ``helpdesk worker`` does, but on an in-process broker, and calls the
function of ``workers.actors.Tasks.reconcile``: heartbeat, outbox rows due, ``firing.fire_due``,
``arm(timers.coming(...))``, the inbound check, the next pass sent. The heartbeat is set back
before each call (untimed), or the pass would find a live chain and return at once. The timer
part (``fire_due``, ``coming``, ``arm``) is then timed again on its own.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

RECONCILE = "reconcile"  # workers.actors.RECONCILE (notify_database.py: why not imported)
WARM_UP = 2  # untimed passes first: connections, caches


def pass_main(argv: Sequence[str]) -> int:
    """Time the reconciler's pass in this process, on the database of the environment's
    settings: JSON on stdout, one record per pass (seconds)."""
    parser = argparse.ArgumentParser(prog="timer_pass.py")
    parser.add_argument("--repeat", type=int, required=True)
    args = parser.parse_args(argv)

    from dramatiq.brokers.stub import StubBroker
    from sqlalchemy import update

    from helpdesk.app import clock, firing, timers
    from helpdesk.app.runtime import build
    from storage.models import Heartbeat
    from workers.actors import Tasks

    app = build()
    broker = StubBroker()
    tasks = Tasks(app, broker, inbound_via_broker=True)
    stale = datetime(2000, 1, 1, tzinfo=UTC)
    records = []
    for index in range(-WARM_UP, args.repeat):
        with app.sessions.begin() as session:
            session.execute(update(Heartbeat).where(Heartbeat.name == RECONCILE).values(at=stale))
        start = time.perf_counter()
        tasks.reconcile.fn()
        passed = time.perf_counter() - start
        following = broker.queues.get("periodic.DQ")
        if following is None or following.qsize() != 1:
            raise RuntimeError("the reconciler pass did not run through (no next pass sent)")
        now = clock.now(app.settings)
        start = time.perf_counter()
        fired = firing.fire_due(app, now)
        tasks.arm(timers.coming(app, now, now + tasks.arm_horizon))
        timer_part = time.perf_counter() - start
        armed = sum(q.qsize() for name, q in broker.queues.items() if name.startswith("timers"))
        broker.flush_all()
        if index >= 0:
            record = {"pass": passed, "timers": timer_part, "fired": len(fired), "armed": armed}
            records.append(record)
    app.close()
    print(json.dumps(records))
    return 0


@dataclass
class Passes:
    records: list[dict[str, float]]

    def of(self, key: str) -> list[float]:
        return [r[key] for r in self.records]

    @property
    def median(self) -> float:
        return statistics.median(self.of("pass"))

    @property
    def worst(self) -> float:
        return max(self.of("pass"))

    def line(self, label: str) -> str:
        timers = statistics.median(self.of("timers"))
        fired, armed = sum(self.of("fired")), sum(self.of("armed"))
        return (
            f"  reconciler pass, {label}: median {self.median * 1000:.1f} ms, max "
            f"{self.worst * 1000:.1f} ms ({len(self.records)} passes); the timer part alone "
            f"(fire_due, coming, arm) median {timers * 1000:.1f} ms; fired {fired:.0f}, "
            f"armed {armed:.0f}"
        )


def measure_passes(env: dict[str, str], cwd: Path, repeat: int) -> Passes:
    """``repeat`` passes (after ``WARM_UP``) in a child process with the environment ``env``."""
    command = [sys.executable, __file__, "--repeat", str(repeat)]
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"the pass did not run:\n{done.stderr.decode()[-2000:]}")
    return Passes(json.loads(done.stdout.splitlines()[-1]))


if __name__ == "__main__":
    sys.exit(pass_main(sys.argv[1:]))
