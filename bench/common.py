"""What the benchmarks share, under one name: child processes, databases, SMTP plumbing, figures
and profiles, each held by a module of its own and re-exported here, so that ``from common
import ...`` goes on working for every script beside it.

Imported by the scripts beside it: ``python bench/ingest.py`` puts ``bench/`` first on
``sys.path``, and so do the child processes the scripts start by running themselves again.
"""

from __future__ import annotations

from addresses import HOST, PG_ADMIN_URL, REDIS_URL, REPO, SUPPORT_ADDRESS
from databases import Database, database_kinds, each_database, fresh_database, helpdesk_env
from figures import percentile, setup_summary, spread, verdict
from local_smtp import serve_smtp, smtp_connect
from processes import (
    LISTENING,
    Child,
    Children,
    base_env,
    cpu_seconds,
    helpdesk,
    run_helpdesk,
    run_script,
    running,
    scratch_dir,
    start_workers,
)
from profiles import OURS, FoldedStacks, find_py_spy, read_folded, record_profile

__all__ = [
    "HOST",
    "LISTENING",
    "OURS",
    "PG_ADMIN_URL",
    "REDIS_URL",
    "REPO",
    "SUPPORT_ADDRESS",
    "Child",
    "Children",
    "Database",
    "FoldedStacks",
    "base_env",
    "cpu_seconds",
    "database_kinds",
    "each_database",
    "find_py_spy",
    "fresh_database",
    "helpdesk",
    "helpdesk_env",
    "percentile",
    "read_folded",
    "record_profile",
    "run_helpdesk",
    "run_script",
    "running",
    "scratch_dir",
    "serve_smtp",
    "setup_summary",
    "smtp_connect",
    "spread",
    "start_workers",
    "verdict",
]
