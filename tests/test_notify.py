"""Notices through the terminal: the bell, OSC 9 and OSC 777, wrapped for tmux, with every
piece of text made inert; settings turn each off; the "away" rule for the app."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolink_tui.core import notify
from evolink_tui.core.preferences import Preferences

ESC, BEL = "\x1b", "\a"
PLAIN = {"TERM": "xterm-256color"}


def test_both_sequences_and_the_bell_for_an_unknown_terminal():
    text = notify.notice_sequence("evolink-tui", "batch done: 12 completed", environ=PLAIN)
    nine = f"{ESC}]9;evolink-tui: batch done: 12 completed{BEL}"
    seven = f"{ESC}]777;notify;evolink-tui;batch done: 12 completed{BEL}"
    assert text == nine + seven + BEL


@pytest.mark.parametrize(
    ("environ", "kinds"),
    [
        ({"TERM_PROGRAM": "iTerm.app"}, ("osc9",)),
        ({"LC_TERMINAL": "iTerm2", "TERM_PROGRAM": "tmux"}, ("osc9",)),
        ({"TERM_PROGRAM": "WezTerm"}, ("osc777",)),
        ({"VTE_VERSION": "7600"}, ("osc777",)),
        ({"TERM": "xterm-ghostty"}, ("osc777",)),
        ({"TERM": "screen"}, ("osc9", "osc777")),
    ],
)
def test_the_sequence_is_chosen_from_the_terminal(environ, kinds):
    assert notify.desktop_sequences(True, environ) == kinds


def test_inside_tmux_the_sequences_are_wrapped_for_passthrough_and_the_bell_is_not():
    text = notify.notice_sequence("t", "b", environ={**PLAIN, "TMUX": "/tmp/tmux-1000/default,1,0"})
    nine = f"{ESC}Ptmux;{ESC}{ESC}]9;t: b{BEL}{ESC}\\"
    seven = f"{ESC}Ptmux;{ESC}{ESC}]777;notify;t;b{BEL}{ESC}\\"
    assert text == nine + seven + BEL


def test_each_can_be_turned_off():
    assert notify.notice_sequence("t", "b", bell=False, desktop=False, environ=PLAIN) == ""
    assert notify.notice_sequence("t", "b", bell=True, desktop=False, environ=PLAIN) == BEL
    only = notify.notice_sequence("t", "b", bell=False, desktop="osc777", environ={"TERM_PROGRAM": "iTerm.app"})
    assert only == f"{ESC}]777;notify;t;b{BEL}"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_no_text_can_end_a_sequence_early_or_start_another(title, body):
    text = notify.notice_sequence(title, body, bell=False, desktop="both", environ=PLAIN)
    nine, seven = text.split(BEL)[:2]
    assert text.count(ESC) == 2 and text.count(BEL) == 2  # exactly the two sequences' own
    assert not any(0x80 <= ord(ch) <= 0x9F for ch in text)  # no C1 control (CSI, OSC, ST...)
    assert seven.count(";") >= 3 and seven.split(";")[2] == notify.clean(title).replace(";", ",")
    assert len(nine) <= 4 + 2 * notify.MAX_TEXT + 2


def test_a_message_that_looks_like_a_progress_command_is_shown_as_text():
    assert notify.osc9("4;3;50 done") == f"{ESC}]9; 4;3;50 done{BEL}"


def test_a_headless_notice_goes_to_a_terminal_and_nowhere_else(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    screen = Tty()
    assert notify.send_notice("t", "b", Preferences(), environ=PLAIN, stderr=screen)
    assert screen.getvalue().endswith(BEL) and "]777;notify;t;b" in screen.getvalue()
    monkeypatch.setattr("builtins.open", lambda *a, **k: (_ for _ in ()).throw(OSError("no tty")))
    piped = io.StringIO()  # not a terminal, and no /dev/tty
    assert not notify.send_notice("t", "b", Preferences(), environ=PLAIN, stderr=piped)
    assert piped.getvalue() == ""
    off = Preferences(notify_bell=False, notify_desktop=False)
    assert not notify.send_notice("t", "b", off, environ=PLAIN, stderr=Tty())


def test_away_means_unfocused_another_screen_or_idle():
    attention = notify.Attention(idle_after=60)
    assert not attention.away(0)  # nothing known yet: in front
    attention.input(100)
    assert not attention.away(159) and attention.away(160)
    attention.input(200)
    attention.focus(False)
    assert attention.away(201)
    attention.focus(True)
    attention.front(False)
    assert attention.away(201)
    attention.front(True)
    assert not attention.away(201)
