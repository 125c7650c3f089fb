"""py-spy profiles of the benchmarks' child processes: recorded as folded stacks, summed up by
thread kind and by our functions.

Not ``profile.py``: that would shadow the standard library's module (which ``cProfile``
imports) for every script run from ``bench/``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

OURS = re.compile(r"\((gateway|storage|workers)/")


def find_py_spy() -> str | None:
    """The py-spy executable, or None after saying that no profile will be recorded."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if Path(py_spy).exists():
        return py_spy
    print("  (py-spy not found: pip install py-spy; no profile recorded)")
    return None


def record_profile(
    py_spy: str, pid: int, out: Path, rate: int, gil: bool = False
) -> subprocess.Popen[bytes]:
    """py-spy recording ``pid`` into ``out`` as folded stacks; it writes them once ``pid`` ends."""
    command = [py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out)]
    command += ["--rate", str(rate), "--threads", "--nonblocking"]
    if gil:
        command.append("--gil")  # only the thread holding the GIL: where the CPU goes
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass
class FoldedStacks:
    """Samples per thread kind (numbered threads of one pool counted together): in all, in each
    of our functions (inclusive, any line) and in each innermost frame (self)."""

    totals: Counter[str] = field(default_factory=Counter)
    inclusive: dict[str, Counter[str]] = field(default_factory=dict)
    leaf: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def grand(self) -> int:
        return sum(self.totals.values()) or 1

    def print_frames(self, thread: str, top: int) -> None:
        total = self.totals[thread]
        for frame, n in self.inclusive.get(thread, Counter()).most_common(top):
            print(f"     {100 * n / total:5.1f}% incl  {frame}")
        for frame, n in self.leaf.get(thread, Counter()).most_common(top // 2):
            print(f"     {100 * n / total:5.1f}% self  {frame}")


def read_folded(
    folded: Path,
    thread_prefix: str = r"^thread \((?:0x[0-9A-Fa-f]+|\d+)\): ",
    threads_only: bool = False,
) -> FoldedStacks:
    """py-spy's raw output summed up; ``thread_prefix`` is cut from the thread names, and with
    ``threads_only`` a stack not starting with its thread (torn by --nonblocking) is skipped."""
    stacks = FoldedStacks()
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or (threads_only and not stack.startswith("thread (")):
            continue  # a torn stack, or a frame name with a line break in it
        thread, *frames = stack.split(";")
        thread = re.sub(r"[-_]\d+$", "-N", re.sub(thread_prefix, "", thread))
        n = int(count)
        stacks.totals[thread] += n
        if frames:
            stacks.leaf.setdefault(thread, Counter())[frames[-1]] += n
        for function in {re.sub(r":\d+\)$", ")", f) for f in frames if OURS.search(f)}:
            stacks.inclusive.setdefault(thread, Counter())[function] += n
    return stacks
