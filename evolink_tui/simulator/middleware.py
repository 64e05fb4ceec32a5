"""Request classification and logging, and the fault plan applied around the routes."""

from __future__ import annotations

import asyncio
import json
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
        sim.in_flight += 1
        try:
            sim.refresh()  # what another process sharing the state file changed meanwhile
            await self._handle(sim, scope, receive, send)
        finally:
            sim.in_flight -= 1

    async def _handle(self, sim: SimState, scope, receive, send) -> None:
        method, path = scope["method"], scope["path"]
        endpoint = classify(method, path)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        sim.requests.append(
            {
                "method": method,
                "path": path,
                "query": dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)),
                "host": headers.get("host", ""),
                "endpoint": endpoint,
                "authorization": "authorization" in headers,
                "idempotency_key": headers.get("idempotency-key"),
                "user_agent": headers.get("user-agent"),
                "time": sim.now(),
                # (address, port) of the TCP connection it came on: distinct values = connections used
                "client": tuple(scope["client"]) if scope.get("client") else None,
            }
        )
        if endpoint == "submit":
            sim.submit_arrived()
        entry = sim.requests[-1]
        plan = sim.faults
        override = sim.overrides.get(endpoint) if endpoint is not None else None
        if endpoint is None or (not plan and override is None):
            await self.app(scope, receive, send)
            return

        if plan:
            slow = plan.take("slow", endpoint)
            if slow is not None:
                # The request has arrived in full; only the answer is late. A client that
                # gives up (or dies) meanwhile does not stop the server from acting on it.
                receive = await _buffered(receive)
                entry["buffered"] = True  # the whole request is in (tests wait for it before cutting the client off)
                await asyncio.sleep(slow.seconds or 0)
            rule = plan.take(is_terminal, endpoint)
            if rule is not None:
                await self._answer_fault(rule, endpoint, scope, receive, send)
                return
        rule = plan.match(("drop-after", "truncate", "dup-id", "trickle"), endpoint) if plan else None
        if rule is None and override is None:
            await self.app(scope, receive, send)
            return

        messages: list[dict] = []

        async def capture(message):
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        if start is not None and override is not None:
            start, body = _apply_override(override, endpoint, scope["path"], start, body)
        if rule is not None and rule.kind == "dup-id" and start is not None:
            body = _duplicate_id(sim, plan, rule, start, body)
            rule = None
        if rule is None or start is None or not 200 <= start["status"] < 300 or not plan.consume(rule):
            if start is not None:
                await send(start)
                await send({"type": "http.response.body", "body": body})
            return
        await send(start)
        if rule.kind == "trickle":
            await _trickle(sim, rule.seconds or 0.0, body, receive, send)
            return
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise DroppedConnection(f"simulated {rule.kind}: connection cut after {len(body) // 2} of {len(body)} bytes")

    async def _answer_fault(self, rule, endpoint, scope, receive, send) -> None:
        if rule.kind == "drop":
            partial = b'{"id": "task-' if endpoint in API_ENDPOINTS else b'{"success": true, "co'
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")],
                }
            )
            await send({"type": "http.response.body", "body": partial, "more_body": True})
            raise DroppedConnection("simulated drop: connection cut before a complete answer")
        if rule.kind == "malformed":
            text = (
                '{"id": "task-' if endpoint in API_ENDPOINTS else '{"success": true, "code": 200, "data": {"file_id": "'
            )
            response: Response = Response(text, status_code=200, media_type="application/json")
        elif rule.kind == "expired":
            response = _expired()
        elif rule.kind == "bomb":
            from .bombs import bomb

            megabytes, layers = rule.bomb_size
            media = "image/png" if endpoint == "download" else "application/json"
            coding = ", ".join(["gzip"] * layers)
            response = Response(bomb(megabytes, layers), media_type=media, headers={"Content-Encoding": coding})
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
            message, kind = STATUS_FAULT_TEXT.get(
                status,
                (
                    HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else f"HTTP {status}",
                    "api_error",
                ),
            )
            if endpoint == "submit":
                sim: SimState = scope["app"].state.sim
                sim.submit_refused(
                    dict(scope.get("headers", [])).get(b"idempotency-key", b"").decode("latin-1") or None,
                    rule.seconds if "Retry-After" in headers else None,
                )
            if endpoint in FILES_ENDPOINTS:
                response = files_error(status, message, headers)
            elif endpoint in API_ENDPOINTS:
                response = api_error(status, status, message, kind, headers=headers)
            else:
                response = PlainTextResponse(message, status_code=status, headers=headers)
        await response(scope, receive, send)


async def _trickle(sim: SimState, seconds: float, body: bytes, receive, send) -> None:
    """Send ``body`` a byte at a time, ``seconds`` of the simulator's clock apart, until it
    is all sent or the client hangs up. A FakeClock's "seconds" pass at once, so each byte
    also waits a millisecond of real time: the client can see the clock move and give up."""
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.ensure_future(watch())
    try:
        for offset in range(len(body)):
            await sim.clock.sleep(seconds)
            await asyncio.sleep(0.001)
            if gone.is_set():
                return
            last = offset == len(body) - 1
            await send({"type": "http.response.body", "body": body[offset : offset + 1], "more_body": not last})
        if not body:
            await send({"type": "http.response.body", "body": b""})
    finally:
        watcher.cancel()


def _duplicate_id(sim: SimState, plan, rule, start: dict, body: bytes) -> bytes:
    """A ``dup-id`` submit answer: the new task's answer, with the oldest other task's id."""
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    if not 200 <= start["status"] < 300 or not isinstance(answer, dict):
        return body
    others = sorted((t for t in sim.tasks.values() if t.id != answer.get("id")), key=lambda t: t.started)
    if not others or not plan.consume(rule):
        return body
    answer["id"] = others[0].id
    data = json.dumps(answer).encode("utf-8")
    start["headers"] = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    start["headers"].append((b"content-length", str(len(data)).encode("latin-1")))
    return data


def _apply_override(override, endpoint: str, path: str, start: dict, body: bytes) -> tuple[dict, bytes]:
    """A test's hook (``sim.overrides[endpoint]``) rewrites an answer; see SimState.overrides.

    JSON routes: ``hook(parsed_body)`` returns the new body (a dict or list, or ``bytes``/
    ``str`` sent as they are). ``download``: ``hook(path, data)`` returns new bytes, or
    ``(bytes, media_type)`` or ``(bytes, media_type, status)``, served with status 200
    unless given. Returning None keeps the answer unchanged.
    """
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-length", b"content-type")]
    media = dict(start.get("headers", [])).get(b"content-type", b"application/octet-stream")
    if endpoint == "download":
        result = override(path, body)
        if result is not None:
            status = 200
            if isinstance(result, tuple):
                body, media = result[0], result[1].encode("latin-1")
                status = result[2] if len(result) > 2 else 200
            else:
                body = result
            start = {**start, "status": status}
    else:
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body
        result = override(parsed)
        if isinstance(result, (bytes, str)):
            body = result.encode("utf-8") if isinstance(result, str) else result
        elif result is not None:
            body = json.dumps(result).encode("utf-8")
            media = b"application/json"
    headers += [(b"content-type", media), (b"content-length", str(len(body)).encode("latin-1"))]
    return {**start, "headers": headers}, body


async def _buffered(receive):
    """Read the whole request body now; a ``receive`` that replays it afterwards."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    replay = iter(messages)

    async def again():
        try:
            return next(replay)
        except StopIteration:
            return await receive()

    return again
