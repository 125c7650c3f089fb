"""Where the benchmarks find things: this checkout, the loopback host, the support address,
PostgreSQL (``BENCH_PG_ADMIN_URL``) and Redis (``BENCH_REDIS_URL``)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SUPPORT_ADDRESS = "support@example.com"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
