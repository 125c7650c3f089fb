"""``ingest.py --pending-timers N --against-empty``: is the pipeline's cost flat from an empty
database to one of N tickets?

Each round measures the gateway on both, one right after the other, against the same no-op
baseline; the order alternates from round to round, so that a machine slowing down or speeding
up within the run does not favour either. The noise is half the range over which the empty
database's own rounds spread: the backlog passes when its median is below the empty one's by no
more than that, or not below it at all. The absolute rates are printed beside the verdicts.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence

from figures import verdict
from ingest_round import Round

MEASURES: dict[str, Callable[[Round], float]] = {
    "accept ratio": lambda r: r.accept_ratio,
    "mail->ticket ratio": lambda r: r.ticket_ratio,
}
SHOWN: dict[str, Callable[[Round], float]] = {  # informational: absolute, moved by the machine
    "accepted mails/s": lambda r: r.gw.load.rate,
    "mails->tickets/s": lambda r: r.gw.ticket_rate,
    "backlog worked off, mails/s": lambda r: r.backlog_rate,
}


def backlog_first(number: int) -> bool:
    """Odd rounds measure the backlog first, even rounds the empty database first."""
    return number % 2 == 1


def flat(measure: Callable[[Round], float], empty: Sequence[Round], full: Sequence[Round]) -> bool:
    """The backlog's median no further below the empty one's than half the empty rounds' spread."""
    values = [measure(r) for r in empty]
    noise = (max(values) - min(values)) / 2
    return statistics.median(measure(r) for r in full) >= statistics.median(values) - noise


def report(empty: Sequence[Round], full: Sequence[Round], pending: int) -> None:
    print(f"\n  flat from an empty database to {pending} tickets? (medians of {len(full)} rounds")
    print("  each; in brackets the range of the empty rounds, whose half-width is the noise)")
    for name, measure in (MEASURES | SHOWN).items():
        values = [measure(r) for r in empty]
        line = (
            f"    {name}: empty {statistics.median(values):.3f} "
            f"[{min(values):.3f}-{max(values):.3f}], {pending} tickets "
            f"{statistics.median(measure(r) for r in full):.3f}"
        )
        print(line + (f": {verdict(flat(measure, empty, full))}" if name in MEASURES else ""))
