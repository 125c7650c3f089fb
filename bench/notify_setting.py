"""The notification benchmark's options, and what its phases work with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from databases import Database
from notify_profile import Profiles
from notify_sink import Arrivals
from processes import Children


@dataclass
class Options:
    rate: float
    seconds: float
    workers: int
    threads: int
    deliveries: int
    database: str
    agents: int
    warmup: int
    probes: int
    connections: int
    profile: Path | None
    gil: bool
    keep: bool


@dataclass
class Setting:
    """What the phases of a run work with."""

    options: Options
    children: Children
    env: dict[str, str]  # the helpdesk's
    database: Database
    arrivals: Arrivals
    profiles: Profiles
    run: str  # makes this run's senders and Message-IDs unique
