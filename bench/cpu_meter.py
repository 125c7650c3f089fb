"""CPU seconds per child process (and of the servers shared with others: PostgreSQL, Redis)
over a stretch of a benchmark, and how busy the whole machine was, from /proc (Linux)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from processes import Children, cpu_seconds

SERVERS = ("postgres", "redis-server")


def _pids_named(command: str) -> list[str]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if stat.read_text().strip() == command:
                pids.append(stat.parent.name)
    return pids


class CpuMeter:
    """CPU seconds used by each child (and this process) over a stretch, from /proc (Linux)."""

    def __init__(self, children: Children) -> None:
        self._children = children
        self._start: dict[str, float] = {}
        self._machine: tuple[float, float] = (0.0, 0.0)
        self._wall = 0.0

    def _snapshot(self) -> dict[str, float]:
        seen = {"bench": cpu_seconds("self")}
        seen |= {c.name: cpu_seconds(c.pid) for c in self._children.running}
        found = {name: value for name, value in seen.items() if value is not None}
        for server in SERVERS:  # shared servers: other users' load is counted too
            for pid in _pids_named(server):
                if (used := cpu_seconds(pid)) is not None:
                    found[f"{server}/{pid}"] = used
        return found

    def _busy_total(self) -> tuple[float, float]:
        try:
            line = Path("/proc/stat").read_text().split("\n")[0]
            numbers = [float(x) for x in line.split()[1:9]]  # user .. steal, not guest again
        except OSError:
            return 0.0, 0.0
        idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0.0)
        return sum(numbers) - idle, sum(numbers)

    def start(self) -> None:
        self._start, self._machine, self._wall = self._snapshot(), self._busy_total(), time.time()

    def report(self, label: str) -> None:
        """One line: CPU seconds per process since ``start``, and how busy the machine was."""
        wall = time.time() - self._wall
        now, (busy, total) = self._snapshot(), self._busy_total()
        used: dict[str, float] = {}
        for name in now.keys() & self._start.keys():  # servers' processes summed by name
            key = name.partition("/")[0]
            used[key] = used.get(key, 0.0) + now[name] - self._start[name]
        if not used or wall <= 0:
            return
        parts = ", ".join(f"{n} {v:.1f}" for n, v in sorted(used.items(), key=lambda i: -i[1]))
        share = (
            (busy - self._machine[0]) / (total - self._machine[1])
            if total > self._machine[1]
            else 0
        )
        cpus = os.cpu_count() or 1
        others = max(0.0, share * wall * cpus - sum(used.values()))
        print(
            f"  CPU s over {label} ({wall:.1f} s): {parts}; machine {100 * share:.0f}% busy "
            f"of {cpus} CPUs, everything else ~{others:.1f}"
        )
