"""Order look-up against a real local HTTP server that answers, then is stopped, then comes back
(and one that is slow): agents see the order's line, or "order details unavailable" at once,
and the reconciler fetches it later (#13)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpdesk.app import clock
from helpdesk.app.runtime import App
from tests.desk import wait_for
from tests.gateway.http.conftest import Api, serving
from tests.gateway.test_durability import free_port
from tests.sink import Sink

ORDERS = {"ORDER-1": {"status": "shipped", "total": 49.9}, "ORDER-2": {"status": "packed"}}


class OrderService:
    """The order service: JSON for a known reference, 404 otherwise; stoppable, restartable
    on the same port, and slow when asked to be."""

    def __init__(self) -> None:
        self.port, self.delay, self.asked = free_port(), 0.0, 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                service.asked += 1
                time.sleep(service.delay)
                ref = self.path.rsplit("/", 1)[-1]
                found = ORDERS.get(ref)
                body = json.dumps(found or {"error": "no such order"}).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def service() -> Iterator[OrderService]:
    running = OrderService()
    running.start()
    yield running
    running.stop()


@pytest.fixture
def api(app: App, sink: Sink, service: OrderService) -> Iterator[Api]:
    url = f"http://127.0.0.1:{service.port}/orders/{{ref}}"
    changes = {"order_lookup_url": url, "reconcile_seconds": 0.5, "test_clock": True}
    with serving(app, sink, **changes) as running:
        yield running


def with_ref(api: Api, ref: str, who: str) -> str:
    api.desk.send(f"{who}@customer.test", "support@example.com", "Where is it?", subject=ref)
    number = api.desk.ticket().number
    api.desk.send("ann@us.test", api.desk.agent_token(api.desk.ticket(), "ann"), f"#ref {ref}")
    return number


def order(api: Api, number: str) -> str:
    with api.client("ann") as client:
        found = client.get(f"/api/v1/tickets/{number}").json()["order"]
    assert isinstance(found, str)
    return found


def test_found_then_unavailable_then_found_again(api: Api, service: OrderService) -> None:
    first = with_ref(api, "ORDER-1", "cy")
    assert order(api, first) == "status: shipped, total: 49.9"
    assert "Order ORDER-1" not in api.desk.inbox("ann@us.test")[0].text()  # no ref at opening
    service.stop()
    second = with_ref(api, "ORDER-2", "dee")
    started = time.monotonic()
    assert order(api, second) == "order details unavailable"
    assert time.monotonic() - started < 3
    assert order(api, first) == "status: shipped, total: 49.9"  # kept: no need to ask
    service.start()
    asked = service.asked
    clock.advance(api.desk.app.settings, timedelta(minutes=2))
    wait_for(lambda: service.asked > asked, what="the reconciler asking again")
    wait_for(lambda: order(api, second) == "status: packed", what="the order's line")


def test_a_slow_service_costs_at_most_its_timeout(api: Api, service: OrderService) -> None:
    service.delay = 5.0
    number = with_ref(api, "ORDER-1", "cy")
    started = time.monotonic()
    assert order(api, number) == "order details unavailable"
    assert time.monotonic() - started < 3.5  # the 2 s timeout, not the service's 5 s


def test_an_unknown_reference_is_said_so(api: Api) -> None:
    number = with_ref(api, "ORDER-404", "cy")
    assert order(api, number) == "no such order"
