"""Request classification and logging, and the fault plan applied around the routes."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, PlainTextResponse, Response

from .faults import API_ENDPOINTS, FILES_ENDPOINTS, is_file_code, is_terminal
from .responses import _expired, api_error, files_error
from .state import SimState
from .transport import DroppedConnection

STATUS_FAULT_TEXT = {
    400: ("Bad request: the request was rejected", "invalid_request_error"),
    401: ("Invalid or missing API key", "authentication_error"),
    402: ("Insufficient credits: top up your balance", "insufficient_quota"),
    403: ("Access denied", "permission_error"),
    404: ("Resource not found", "not_found_error"),
    413: ("Payload too large", "request_too_large"),
    429: ("Rate limit exceeded: too many requests, retry later", "rate_limit_error"),
    500: ("Internal server error", "internal_server_error"),
    502: ("Bad gateway: upstream unavailable", "upstream_error"),
    503: ("Service temporarily unavailable", "service_unavailable"),
}
FILE_CODE_TEXT = {
    40001: "File too large",
    40002: "File type not allowed",
    40003: "Quota exceeded",
    40004: "URL download failed",
    50001: "Storage service error",
}


def classify(method: str, path: str) -> str | None:
    """The endpoint name of a request (what fault rules and ``count()`` match on)."""
    if path == "/v1/images/generations":
        return "submit"
    if path.startswith("/v1/tasks/"):
        return "poll"
    if path == "/v1/tasks":
        return "tasks"
    if path == "/v1/credits":
        return "credits"
    if path == "/v1/models":
        return "models"
    if path.startswith("/api/v1/files/upload/"):
        return "upload"
    if path == "/api/v1/files/list":
        return "list"
    if path == "/api/v1/files/quota":
        return "quota"
    if path.startswith("/api/v1/files/") and method.upper() == "DELETE":
        return "delete"
    if path.startswith(("/results/", "/files/")):
        return "download"
    return None


class FaultMiddleware:
    """Records every request and applies the fault plan around the routes."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sim: SimState = scope["app"].state.sim
        method, path = scope["method"], scope["path"]
        endpoint = classify(method, path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        sim.requests.append({
            "method": method, "path": path,
            "query": dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)),
            "host": headers.get("host", ""), "endpoint": endpoint,
            "authorization": "authorization" in headers,
            "idempotency_key": headers.get("idempotency-key"), "user_agent": headers.get("user-agent"),
            "time": sim.now(),
        })
        plan = sim.faults
        if endpoint is None or not plan:
            await self.app(scope, receive, send)
            return

        slow = plan.take("slow", endpoint)
        if slow is not None:
            await asyncio.sleep(slow.seconds or 0)
        rule = plan.take(is_terminal, endpoint)
        if rule is not None:
            await self._answer_fault(rule, endpoint, scope, receive, send)
            return
        rule = plan.match(("drop-after", "truncate"), endpoint)
        if rule is None:
            await self.app(scope, receive, send)
            return

        messages: list[dict] = []

        async def capture(message):
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        if start is None or not 200 <= start["status"] < 300 or not plan.consume(rule):
            for message in messages:
                await send(message)
            return
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        await send(start)
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise DroppedConnection(f"simulated {rule.kind}: connection cut after {len(body) // 2} of {len(body)} bytes")

    async def _answer_fault(self, rule, endpoint, scope, receive, send) -> None:
        if rule.kind == "drop":
            partial = b'{"id": "task-' if endpoint in API_ENDPOINTS else b'{"success": true, "co'
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")]})
            await send({"type": "http.response.body", "body": partial, "more_body": True})
            raise DroppedConnection("simulated drop: connection cut before a complete answer")
        if rule.kind == "malformed":
            text = '{"id": "task-' if endpoint in API_ENDPOINTS else '{"success": true, "code": 200, "data": {"file_id": "'
            response: Response = Response(text, status_code=200, media_type="application/json")
        elif rule.kind == "expired":
            response = _expired()
        elif is_file_code(rule.kind):
            code = int(rule.kind)
            message = FILE_CODE_TEXT.get(code, "File service error")
            response = JSONResponse({"success": False, "code": code, "msg": message, "data": None}, status_code=200)
        else:
            status = int(rule.kind)
            headers = {}
            if rule.seconds is not None:
                seconds = rule.seconds
                headers["Retry-After"] = str(int(seconds) if float(seconds).is_integer() else seconds)
            message, kind = STATUS_FAULT_TEXT.get(status, (HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_
                                                            else f"HTTP {status}", "api_error"))
            if endpoint in FILES_ENDPOINTS:
                response = files_error(status, message, headers)
            elif endpoint in API_ENDPOINTS:
                response = api_error(status, status, message, kind, headers=headers)
            else:
                response = PlainTextResponse(message, status_code=status, headers=headers)
        await response(scope, receive, send)
