"""A desk with the HTTP API served by a real uvicorn on a loopback port, and API tokens for the
team: the agent ann, the supervisor sue, the admin ada."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import httpx
import pytest

from gateway.web import HttpServer
from helpdesk.app import api_tokens
from helpdesk.app.runtime import App
from storage.models import Agent
from tests.desk import Desk
from tests.gateway.test_durability import free_port
from tests.sink import Sink


@dataclass
class Api:
    desk: Desk
    url: str
    tokens: dict[str, str]
    server: HttpServer

    def client(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def settle(self) -> None:
        self.desk.settle()


@contextmanager
def serving(app: App, sink: Sink, **changes: object) -> Iterator[Api]:
    """A desk, and the API on a real uvicorn, with these settings changed."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    update = {"public_url": url, **changes}
    app = replace(app, settings=app.settings.model_copy(update=update))
    with Desk(app, sink) as desk:
        tokens = {}
        with app.sessions.begin() as session:
            for key in ("ann", "ben", "sue", "ada"):
                agent = session.get(Agent, desk.ids[key])
                assert agent is not None
                tokens[key] = api_tokens.create(session, agent, "tests", datetime.now(UTC))[1]
        server = HttpServer(app, desk.gateway._gateway.workers.deliver)
        server.bind("127.0.0.1", port)
        server.start()
        try:
            yield Api(desk, url, tokens, server)
        finally:
            server.stop()


@pytest.fixture
def api(app: App, sink: Sink) -> Iterator[Api]:
    with serving(app, sink) as running:
        yield running
