"""Detection against a fake terminal: a pseudo-terminal whose other end answers (or does not
answer) the questions, with the clock injected so the 200 ms bound is checked without
racing the wall clock; nothing is written to what is not a terminal; the --graphics
setting refused with a clear message."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios
import threading
from collections.abc import Callable

import pytest

from evolink_tui import cli
from evolink_tui.core.graphics import detect as detection
from evolink_tui.core.graphics.detect import BUDGET, Replies, TmuxInfo, decide, detect, parse_replies

KITTY_OK = b"\x1b_Gi=31;OK\x1b\\"


class FakeTerminal:
    """The far end of a pty: reads what the app writes and answers by ``respond``."""

    def __init__(self, respond: Callable[[bytes], bytes], pixels: tuple[int, int] = (0, 0)) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, *pixels))
        self.respond = respond
        self.written = b""
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import select

        while not self._stop:
            if not select.select([self.master], [], [], 0.01)[0]:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            self.written += data
            answer = self.respond(data)
            if answer:
                os.write(self.master, answer)

    def settled(self) -> bytes:
        """Everything the app wrote (the answering thread stopped, the rest read)."""
        if not self._stop:
            self._stop = True
            self._thread.join()
            os.set_blocking(self.master, False)
            try:
                self.written += os.read(self.master, 65536)
            except (BlockingIOError, OSError):
                pass
        return self.written

    def close(self) -> None:
        self.settled()
        os.close(self.master)
        os.close(self.slave)


def answers(**replies: bytes) -> Callable[[bytes], bytes]:
    """Answer each known question with the reply given for it (by name)."""
    questions = {
        "cpr": detection.CPR.encode(),
        "kitty": b"\x1b_Ga=q",
        "xtversion": detection.XTVERSION.encode(),
        "cell": detection.CELL_SIZE.encode(),
        "da1": detection.DA1.encode(),
    }

    def respond(data: bytes) -> bytes:
        out = b""
        for name, question in questions.items():
            if question in data and name in replies:
                out += replies[name]
        return out

    return respond


@pytest.fixture
def terminal_factory():
    made: list[FakeTerminal] = []

    def make(respond, pixels=(0, 0)) -> FakeTerminal:
        terminal = FakeTerminal(respond, pixels)
        made.append(terminal)
        return terminal

    yield make
    for terminal in made:
        terminal.close()


def run(terminal: FakeTerminal, env: dict | None = None, requested: str = "auto", **kwargs):
    return detect(requested, env or {"TERM": "xterm-256color"}, fd_in=terminal.slave, fd_out=terminal.slave, **kwargs)


def test_a_kitty_terminal_is_found_with_its_cell_size(terminal_factory) -> None:
    terminal = terminal_factory(
        answers(
            cpr=b"\x1b[1;1R",
            kitty=KITTY_OK,
            xtversion=b"\x1bP>|kitty(0.35.2)\x1b\\",
            cell=b"\x1b[6;20;10t",
            da1=b"\x1b[?62;c",
        )
    )
    before = termios.tcgetattr(terminal.slave)
    found = run(terminal)
    assert (found.method, found.cell.width, found.cell.height, found.cell_known) == ("kitty", 10, 20, True)
    assert found.terminal == "kitty(0.35.2)"
    assert termios.tcgetattr(terminal.slave) == before  # echo and line mode put back
    # The device attributes are asked last: their answer closes the round.
    assert terminal.settled().endswith(detection.DA1.encode())


def test_a_sixel_terminal_with_pixel_size_in_the_kernel_is_not_asked_for_it(terminal_factory) -> None:
    terminal = terminal_factory(
        answers(cpr=b"\x1b[5;1R", xtversion=b"\x1bP>|XTerm(388)\x1b\\", da1=b"\x1b[?63;1;2;4;6;9c"),
        pixels=(960, 640),
    )
    found = run(terminal)
    assert (found.method, found.cell.width, found.cell.height) == ("sixel", 8, 16)
    assert detection.CELL_SIZE.encode() not in terminal.settled()


def test_a_terminal_without_graphics_gets_half_blocks(terminal_factory) -> None:
    terminal = terminal_factory(answers(cpr=b"\x1b[1;1R", da1=b"\x1b[?1;2c"))
    found = run(terminal)
    assert found.method == "halfblock" and found.reason == "no graphics reply"


def test_answers_split_across_reads_are_read_up_to_the_device_attributes(terminal_factory) -> None:
    """The kitty answer comes in two pieces, the device attributes after it: all of it is
    consumed, so nothing is left for the app to read as keys."""
    sent = threading.Event()

    def respond(data: bytes) -> bytes:
        if detection.CPR.encode() in data:
            return b"\x1b[1;1R"
        if detection.DA1.encode() in data:
            os.write(terminal.master, KITTY_OK[:6])
            sent.set()
        return b""

    terminal = terminal_factory(respond)

    def rest() -> None:
        sent.wait(5)
        os.write(terminal.master, KITTY_OK[6:] + b"\x1b[?62c")

    threading.Thread(target=rest, daemon=True).start()
    found = run(terminal)
    assert found.method == "kitty"
    # Nothing is left unread on the terminal.
    os.set_blocking(terminal.slave, False)
    with pytest.raises(BlockingIOError):
        os.read(terminal.slave, 100)


class FakeTime:
    """A clock that moves only when the code under test waits."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waited = 0.0

    def clock(self) -> float:
        return self.now

    def wait_never(self, fd: int, seconds: float) -> bool:
        self.now += seconds
        self.waited += seconds
        return False


def test_a_terminal_that_never_answers_costs_at_most_the_budget_and_is_asked_nothing_else(terminal_factory) -> None:
    terminal = terminal_factory(lambda data: b"")
    time = FakeTime()
    found = run(terminal, clock=time.clock, wait=time.wait_never)
    assert found.method == "halfblock" and found.reason == "no reply from the terminal"
    assert time.waited <= BUDGET / 2 + 1e-9  # round 1 gave up at half the budget
    # Only the harmless question went out: a late cursor report is not a key.
    assert terminal.settled() == detection.CPR.encode()


def test_a_slow_link_is_not_asked_what_it_would_answer_late(terminal_factory) -> None:
    """The cursor report arrives after half the budget: no other question is sent, so
    no answer can arrive after the app has taken the terminal."""
    terminal = terminal_factory(lambda data: b"")
    time = FakeTime()
    start = time.now

    def wait(fd: int, seconds: float) -> bool:
        arrival = start + 0.15
        if time.now + seconds < arrival:
            return time.wait_never(fd, seconds)
        time.now = max(time.now, arrival)
        os.write(terminal.master, b"\x1b[1;1R")
        return True

    found = run(terminal, clock=time.clock, wait=wait)
    assert found.method == "halfblock"
    assert time.now - start <= BUDGET
    assert terminal.settled() == detection.CPR.encode()


def test_the_whole_detection_is_bounded_when_round_two_never_ends(terminal_factory) -> None:
    terminal = terminal_factory(answers(cpr=b"\x1b[1;1R"))
    time = FakeTime()

    def wait(fd: int, seconds: float) -> bool:
        import select

        if select.select([fd], [], [], 0.5)[0]:
            return True  # the cursor report, really written by the fake terminal
        return time.wait_never(fd, seconds)

    run(terminal, clock=time.clock, wait=wait)
    assert time.now - 100.0 <= BUDGET + 1e-9
    assert detection.DA1.encode() in terminal.settled()


def test_nothing_is_written_to_what_is_not_a_terminal() -> None:
    read_in, write_in = os.pipe()
    read_out, write_out = os.pipe()
    try:
        found = detect("auto", {"TERM": "xterm-256color"}, fd_in=read_in, fd_out=write_out)
        os.set_blocking(read_out, False)
        with pytest.raises(BlockingIOError):
            os.read(read_out, 100)
        assert found.method == "halfblock"
    finally:
        for fd in (read_in, write_in, read_out, write_out):
            os.close(fd)


def test_halfblock_asks_nothing_and_a_named_method_only_the_cell_size(terminal_factory) -> None:
    terminal = terminal_factory(answers(cpr=b"\x1b[1;1R", cell=b"\x1b[6;18;9t", da1=b"\x1b[?62c"))
    assert run(terminal, requested="halfblock").method == "halfblock"
    assert terminal.written == b""
    found = run(terminal, requested="kitty")
    assert (found.method, found.cell.width, found.cell.height) == ("kitty", 9, 18)
    written = terminal.settled()
    assert b"\x1b_G" not in written and detection.XTVERSION.encode() not in written


def test_inside_tmux_tmux_is_asked_and_the_kitty_query_is_not_sent(terminal_factory) -> None:
    terminal = terminal_factory(answers(cpr=b"\x1b[1;1R", xtversion=b"\x1bP>|tmux 3.3a\x1b\\", da1=b"\x1b[?1;2c"))
    env = {"TERM": "tmux-256color", "TMUX": "/tmp/tmux-0/default,1,0", "TERM_PROGRAM": "tmux"}
    found = run(terminal, env, tmux_query=lambda timeout: TmuxInfo("kitty(0.35.2)", "xterm-kitty", True))
    assert (found.method, found.tmux) == ("kitty", True)
    assert b"\x1b_G" not in terminal.settled()
    off = run(terminal, env, tmux_query=lambda timeout: TmuxInfo("kitty(0.35.2)", "xterm-kitty", False))
    assert off.method == "halfblock" and "allow-passthrough" in off.reason


@pytest.mark.parametrize(
    ("env", "replies", "method"),
    [
        ({"TERM_PROGRAM": "WezTerm"}, Replies(kitty=True, da1=True), "iterm"),  # no placeholders there
        ({}, Replies(kitty=True, sixel=True, da1=True, terminal="Konsole"), "sixel"),
        ({}, Replies(kitty=True, da1=True), "kitty"),
        ({"LC_TERMINAL": "iTerm2"}, Replies(), "iterm"),
        ({"TERM": "xterm-ghostty"}, Replies(), "kitty"),
        ({"TERM": "xterm-kitty"}, Replies(kitty=False, da1=True), "halfblock"),  # said it cannot
    ],
)
def test_decide(env: dict, replies: Replies, method: str) -> None:
    assert decide(env, replies, None, cell_known=True)[0] == method


def test_sixel_needs_the_cell_size() -> None:
    assert decide({}, Replies(sixel=True, da1=True), None, cell_known=False)[0] == "halfblock"


def test_keys_typed_while_asking_are_given_back(terminal_factory) -> None:
    """Typed before the answers: read with them, then put back in the input queue for the
    app (TIOCSTI, where the system allows it)."""
    terminal = terminal_factory(answers(cpr=b"hi\x1b[1;1R", da1=b"\x1b[?62c"))
    run(terminal)
    if not detection.give_back(terminal.slave, b""):
        pytest.skip("this system forbids TIOCSTI (dev.tty.legacy_tiocsti=0): typed keys cannot be given back")
    import tty

    tty.setraw(terminal.slave, termios.TCSANOW)  # as the app reads it: no line buffering
    os.set_blocking(terminal.slave, False)
    assert os.read(terminal.slave, 100) == b"hi"


def test_typed_keeps_only_what_is_not_an_answer() -> None:
    data = b"a\x1b[3;1Rb\x1b_Gi=31;OK\x1b\\\x1bP>|kitty\x1b\\c\x1b[6;20;10t\x1b[?62;4c"
    assert detection.typed(data) == b"abc"


def test_parse_replies_ignores_other_images_and_keys() -> None:
    replies = parse_replies(b"abc\x1b_Gi=7;OK\x1b\\\x1b[?62;4c\x1b[6;0;0t")
    assert replies.kitty is None and replies.sixel and replies.cell is None


# --- the command line --------------------------------------------------------------------


def test_a_bad_graphics_flag_is_refused_before_anything_starts(capsys) -> None:
    assert cli.main(["--graphics", "pixels"]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--graphics" in err and "'pixels'" in err and "auto, kitty, iterm, sixel or halfblock" in err


def test_bad_graphics_from_the_environment_and_the_config_file_name_their_source(
    capsys, monkeypatch, isolated_env
) -> None:
    monkeypatch.setenv("EVOLINK_TUI_GRAPHICS", "ascii")
    assert cli.main([]) == cli.EXIT_BAD_INPUT
    assert "EVOLINK_TUI_GRAPHICS" in capsys.readouterr().err
    monkeypatch.delenv("EVOLINK_TUI_GRAPHICS")
    isolated_env["config"].parent.mkdir(parents=True)
    isolated_env["config"].write_text('theme = "nord"\ngraphics = "ascii"\n')
    assert cli.main(["--demo"]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"graphics in the config file {isolated_env['config']} at line 2" in err and "'ascii'" in err
