"""Response builders shared by the routes and the fault middleware.

The generation host answers errors as ``{"error": {...}}``; the Files API wraps every
answer in ``{"success", "code", "msg", "data"}``; expired result links answer like a
storage bucket does (XML, 403).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

EXPIRED_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>\n"
)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def api_error(
    status: int, code: Any, message: str, kind: str, param: str | None = None, headers: dict | None = None
) -> JSONResponse:
    error: dict[str, Any] = {"code": code, "message": message, "type": kind}
    if param is not None:
        error["param"] = param
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def invalid(param: str | None, message: str, code: str = "invalid_parameters") -> JSONResponse:
    return api_error(400, code, message, "invalid_request_error", param)


def files_ok(data: Any, msg: str = "success") -> JSONResponse:
    return JSONResponse({"success": True, "code": 200, "msg": msg, "data": data})


def files_error(code: int, msg: str, headers: dict | None = None) -> JSONResponse:
    if code >= 10000:
        status = 500 if code >= 50000 else 400 if code // 100 == 400 else code // 100
    else:
        status = code
    return JSONResponse({"success": False, "code": code, "msg": msg, "data": None}, status_code=status, headers=headers)


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _expired() -> Response:
    return Response(EXPIRED_BODY, status_code=403, media_type="application/xml")
