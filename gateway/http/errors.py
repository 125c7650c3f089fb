"""Every error answers JSON with a stable code (``{"error": "NOT_FOUND", "message": …}``), never
a traceback: the codes are part of the API, the messages are for people."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from helpdesk.domain.commands.base import Why
from helpdesk.domain.commands.grammar import Problem
from storage.queries import PageTooDeep

log = logging.getLogger("helpdesk.http")
CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code or CODES[status]


def not_found() -> ApiError:
    """The one answer for a ticket that is missing or not the caller's to see."""
    return ApiError(404, "Ticket not found")


def refused(problems: list[Problem]) -> ApiError:
    """The problems a command's check found, as the HTTP status their kind calls for."""
    whys = {p.why for p in problems}
    status = 403 if Why.FORBIDDEN in whys else 409 if Why.CONFLICT in whys else 422
    return ApiError(status, "; ".join(p.message for p in problems))


def body(status: int, message: str, code: str = "") -> JSONResponse:
    return JSONResponse({"error": code or CODES.get(status, "ERROR"), "message": message}, status)


Page = Callable[[Request, int, str], Response]
MACHINES = ("/api/", "/healthz", "/metrics")  # what programs call: JSON; the rest is pages


def install(api: FastAPI, page: Page) -> None:
    """Errors answer JSON to programs and a page (``page``) to people in a browser."""

    def answer(request: Request, status: int, message: str, code: str = "") -> Response:
        if request.url.path.startswith(MACHINES):
            return body(status, message, code)
        return page(request, status, message)

    @api.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return answer(request, exc.status, exc.message, exc.code)

    @api.exception_handler(PageTooDeep)
    async def too_deep(request: Request, exc: PageTooDeep) -> Response:
        return answer(request, 400, str(exc), "PAGE_TOO_DEEP")

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        found = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()]
        return answer(request, 422, "; ".join(found) or "the request is not valid")

    @api.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = str(exc.detail) if exc.status_code != 404 else "Not found"
        return answer(request, exc.status_code, message)
