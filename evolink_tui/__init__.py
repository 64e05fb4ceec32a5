"""evolink-tui: a keyboard-driven terminal app for the Evolink Image API."""

__version__ = "0.1.0"
