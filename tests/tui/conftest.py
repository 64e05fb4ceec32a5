"""TUI test fixtures. The top-level conftest already gives every test its own config, data
and download dirs (EVOLINK_TUI_CONFIG, EVOLINK_TUI_DATA_DIR, EVOLINK_DOWNLOAD_DIR) and
removes every EVOLINK_* variable; here the simulator draws small images, NO_COLOR is unset,
the terminal is truecolor and no display exists, so no test can start an image viewer."""

from __future__ import annotations

import pytest

from .helpers import StepClock


@pytest.fixture(autouse=True)
def tui_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOLINK_SIM_IMAGE_SIZE", "96")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    # A truecolor terminal, whatever the machine's: with 8 or 16 colours the app starts in
    # ansi-dark (tests/tui/test_themes.py), and every other test would depend on TERM.
    monkeypatch.setenv("COLORTERM", "truecolor")


@pytest.fixture
def step_clock() -> StepClock:
    return StepClock()
