"""The headless core of evolink-tui: everything that is not screen.

Nothing in this package imports textual (tests/test_boundary.py proves it), so the
headless commands, the simulator and the TUI all stand on the same code.
"""
