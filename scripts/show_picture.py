"""Show an image file with the Picture widget, the way the app would: the graphics method
from --graphics / EVOLINK_TUI_GRAPHICS / config.toml / detection.

    python scripts/show_picture.py FILE [--graphics auto|kitty|iterm|sixel|halfblock]

Keys: + and - zoom, 0 fits, n native resolution, arrows pan, q quits. A tool for trying
terminals (and tmux) by hand; the viewer screen comes with issue 13's second part.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evolink_tui.core.config import load_settings  # noqa: E402
from evolink_tui.core.errors import ValidationError  # noqa: E402
from evolink_tui.core.graphics import detect  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--graphics", default=None)
    args = parser.parse_args()
    try:
        detection = detect.start(detect.requested(args.graphics, load_settings()))
    except ValidationError as error:
        print(error, file=sys.stderr)
        return 2
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.widgets import Footer, Static

    from evolink_tui.tui.widgets.picture import Picture

    graphics = detection.finish()

    class Show(App):
        BINDINGS = [
            Binding("plus,equals_sign", "zoom(1)", "Zoom in"),
            Binding("minus", "zoom(-1)", "Zoom out"),
            Binding("0", "fit", "Fit"),
            Binding("n", "native", "Native"),
            Binding("left", "pan(-0.25, 0)", "Pan", show=False),
            Binding("right", "pan(0.25, 0)", "Pan", show=False),
            Binding("up", "pan(0, -0.25)", "Pan", show=False),
            Binding("down", "pan(0, 0.25)", "Pan", show=False),
            Binding("q", "quit", "Quit"),
        ]

        def compose(self) -> ComposeResult:
            yield Static(f"{graphics.method}: {graphics.reason}", id="caption", markup=False)
            yield Picture(args.file)
            yield Footer()

        def action_zoom(self, direction: int) -> None:
            picture = self.query_one(Picture)
            picture.zoom_in() if direction > 0 else picture.zoom_out()

        def action_fit(self) -> None:
            self.query_one(Picture).zoom_fit()

        def action_native(self) -> None:
            self.query_one(Picture).zoom_native()

        def action_pan(self, dx: float, dy: float) -> None:
            self.query_one(Picture).pan(dx, dy)

    Show().run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
