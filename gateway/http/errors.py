"""Every error answers JSON with a stable code (``{"error": "NOT_FOUND", "message": …}``), never
a traceback: the codes are part of the API, the messages are for people."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from helpdesk.domain.commands.base import Why
from helpdesk.domain.commands.grammar import Problem

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


def install(api: FastAPI) -> None:
    @api.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return body(exc.status, exc.message, exc.code)

    @api.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        found = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()]
        return body(422, "; ".join(found) or "the request is not valid")

    @api.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        message = str(exc.detail) if exc.status_code != 404 else "Not found"
        return body(exc.status_code, message)

