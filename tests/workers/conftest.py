"""The worker tests' own fixture: a desk on the test clock whose work a worker process does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helpdesk.app.runtime import App
from helpdesk.app.settings import Settings
from tests.desk import Desk
from tests.sink import Sink
from tests.workers.timed import worker_desk


@pytest.fixture
def timed(
    app: App, settings: Settings, sink: Sink, redis_url: str, tmp_path: Path
) -> Iterator[Desk]:
    extra = {"HELPDESK_TEST_CLOCK": "true", "HELPDESK_RECONCILE_SECONDS": "0.5"}
    with worker_desk(app, settings, sink, redis_url, tmp_path / "worker.log", **extra) as desk:
        yield desk
