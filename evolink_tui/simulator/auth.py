"""Bearer-key checks for both hosts (each answers a refusal in its own error shape)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .responses import api_error, files_error
from .state import SimState


def _bearer(request: Request) -> tuple[bool, str | None]:
    header = request.headers.get("authorization")
    if header is None:
        return False, None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return True, None
    return True, token.strip()


def _auth_api(request: Request) -> tuple[str | None, Response | None]:
    sim: SimState = request.app.state.sim
    present, token = _bearer(request)
    if sim.key_ok(token):
        return token, None
    message = (
        "Missing API key: send 'Authorization: Bearer <EVOLINK_API_KEY>'"
        if not present
        else "Invalid API key: the bearer token was not accepted"
    )
    return None, api_error(401, 401, message, "authentication_error")


def _auth_files(request: Request) -> tuple[str | None, Response | None]:
    sim: SimState = request.app.state.sim
    present, token = _bearer(request)
    if sim.key_ok(token):
        return token, None
    message = (
        "Unauthorized: missing 'Authorization: Bearer <EVOLINK_API_KEY>' header"
        if not present
        else "Unauthorized: invalid API key"
    )
    return None, files_error(401, message)
