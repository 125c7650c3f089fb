"""The ASGI application: the API, the pages, ``/healthz`` and ``/metrics``.

FastAPI, because the API is described by the same pydantic models that check its requests (the
project's settings already use pydantic), and the OpenAPI schema at ``/api/v1/openapi.json``
follows from them with no second description to keep true; it runs on uvicorn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from gateway.http import errors, metrics, queue_page, signin, ticket_page, tickets
from gateway.http.pages import error_page
from helpdesk.app.runtime import App

Deliver = Callable[[list[int], list[tuple[int, datetime]]], None]


def create(app: App, deliver: Deliver) -> FastAPI:
    """The API on ``app``; ``deliver`` wakes delivery for the outbox rows a request wrote, and
    arms the timers (id, due) it set."""
    api = FastAPI(
        title="Helpdesk gateway",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    api.state.helpdesk, api.state.deliver = app, deliver
    errors.install(api, error_page)
    metrics.install(api, app)
    api.include_router(tickets.router)
    api.include_router(signin.router)
    api.include_router(queue_page.router)
    api.include_router(ticket_page.router)

    @api.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        with app.reading() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}

    @api.get("/metrics", include_in_schema=False)
    def prometheus(request: Request) -> Response:
        """For this machine (a scraper beside it) and ``HELPDESK_METRICS_FROM`` only."""
        if not metrics.may_read(request.client.host if request.client else "", app.settings):
            raise errors.ApiError(403, "metrics are for this machine and HELPDESK_METRICS_FROM")
        metrics.refresh(app)
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return api
