"""py-spy recorders for the notification benchmark's children, summarised after each phase."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path

from processes import Child
from profiles import find_py_spy, read_folded, record_profile


class Profiles:
    """py-spy recorders attached to children; summarised after each phase."""

    def __init__(self, directory: Path | None, gil: bool = False) -> None:
        self.directory = directory
        self.gil = gil
        self.recorders: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.py_spy = find_py_spy() if directory is not None else None

    def attach(self, child: Child, label: str) -> None:
        if self.directory is None or self.py_spy is None:
            return
        out = self.directory / f"{label}.folded"
        recorder = record_profile(self.py_spy, child.pid, out, rate=200, gil=self.gil)
        self.recorders.append((recorder, out))

    def report(self) -> None:
        """Call once the profiled children have stopped: py-spy then writes its output."""
        while self.recorders:
            recorder, out = self.recorders.pop(0)
            try:
                recorder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                recorder.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    recorder.wait(timeout=15)
                if recorder.poll() is None:
                    recorder.kill()
                    recorder.wait(timeout=5)
            if out.exists():
                try:
                    print_profile(out)
                except (OSError, ValueError) as exc:
                    print(f"  profile {out.name}: unreadable ({exc})")


def print_profile(folded: Path, top: int = 10) -> None:
    """The busiest of our functions (inclusive) and innermost frames (self) per thread kind."""
    stacks = read_folded(folded)
    grand = stacks.grand
    print(f"  profile {folded.name}: {grand} samples (py-spy, 200 Hz)")
    for thread, total in stacks.totals.most_common(4):
        if total < grand / 50:
            continue
        print(f"   thread {thread}: {total} samples ({100 * total / grand:.0f}%)")
        stacks.print_frames(thread, top)
