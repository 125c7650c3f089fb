"""How the benchmarks state their figures: percentiles, spreads, verdicts, and what they were
measured on."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from addresses import REPO


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def spread(values: Sequence[float], unit: float = 1000.0, suffix: str = "ms") -> str:
    if not values:
        return "no values"
    return (
        f"p50 {percentile(values, 50) * unit:.0f} {suffix}, "
        f"p99 {percentile(values, 99) * unit:.0f} {suffix}, "
        f"max {max(values) * unit:.0f} {suffix} (n = {len(values)})"
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def setup_summary() -> str:
    """What the figures were measured on: the checkout and the machine."""
    try:
        git = ["git", "-C", str(REPO)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
        )
        code = head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")
    except OSError:
        code = "unknown"
    python = ".".join(map(str, sys.version_info[:3]))
    return f"code: {code or 'unknown'}; {os.cpu_count()} CPUs; Python {python}"
