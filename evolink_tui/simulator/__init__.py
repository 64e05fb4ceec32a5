"""The built-in Evolink Image API simulator (both hosts in one Starlette app).

Never imports textual. Use in-process with :func:`demo_transport`, on a loopback socket
with :func:`serve_in_thread`, or in the foreground with ``evolink-tui simulator``.
"""

from .app import SimState, create_app
from .clock import FakeClock, SimClock
from .faults import FaultPlan, FaultRule
from .images import render_image
from .server import RunningServer, run_forever, serve_in_thread
from .transport import DemoTransport, DroppedConnection, demo_transport

__all__ = [
    "create_app",
    "SimState",
    "SimClock",
    "FakeClock",
    "FaultPlan",
    "FaultRule",
    "serve_in_thread",
    "run_forever",
    "RunningServer",
    "demo_transport",
    "DemoTransport",
    "DroppedConnection",
    "render_image",
]
