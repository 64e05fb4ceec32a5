"""Security: the key is written nowhere but the 0600 config file and sent only to the two
Evolink hosts; hostile server strings are shown inert; hostile names and URLs never write
outside the download folder; only the four image types, under the pixel limit, are kept
or uploaded."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import uuid
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

import pytest
from PIL import Image

from evolink_tui.cli import main
from evolink_tui.core import runner as r
from evolink_tui.core.config import check_base_url, save_api_key
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.history import History
from evolink_tui.core.recovery import recover
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.simulator import FaultPlan
from evolink_tui.simulator.faults import API_ENDPOINTS, FILES_ENDPOINTS

from .conftest import TEST_KEY, png_bytes
from .test_faults import assert_no_broken_files

REPO = Path(__file__).resolve().parent.parent
HOSTILE = "[bold red]boom[/] [/] \x1b[31mred\x1b[0m \x1b]52;c;aGFjaw==\x07 \x1b]0;pwned\x07 \x9b2J end"


def key_forms(key: str) -> list[bytes]:
    """The key as it could leak: raw, base64 (any alignment, alone or in a Basic/Bearer
    header), URL-encoded, hex."""
    forms = {key.encode(), quote(key, safe="").encode(), key.encode().hex().encode()}
    for prefix in ("", "x", "xy", "Bearer ", ":", "user:"):
        encoded = base64.b64encode((prefix + key).encode()).decode()
        start = (len(prefix) * 4 + 2) // 3 + 1  # skip characters mixed with the prefix
        middle = encoded[start : start + len(key) * 4 // 3 - 4]
        forms.add(middle.encode())
        forms.add(base64.urlsafe_b64encode((prefix + key).encode())[start : start + len(key) * 4 // 3 - 4])
    return sorted(forms)


def assert_no_key(key: str, paths, texts=()) -> int:
    """No form of ``key`` in any file under ``paths`` or in ``texts``; how many files looked at."""
    forms = key_forms(key)
    seen = 0
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
        for path in files:
            data = path.read_bytes()
            seen += 1
            for form in forms:
                assert form not in data, f"the key ({form[:12]!r}...) leaked into {path}"
    for text in texts:
        for form in forms:
            assert form.decode() not in text, "the key leaked into the output"
    return seen


@pytest.fixture
def session_key():
    return f"sk-leakcheck-{uuid.uuid4().hex}"


@pytest.fixture
def run(sim_server, sim, fake_clock, monkeypatch, capsys, session_key):
    """The headless commands in-process, keyed from the config file as a user saves it."""
    monkeypatch.setattr("evolink_tui.core.client.RealClock", lambda: fake_clock)
    monkeypatch.setenv("EVOLINK_BASE_URL", sim_server.url)
    monkeypatch.setenv("EVOLINK_FILES_BASE_URL", sim_server.url)
    save_api_key(session_key)
    outputs: list[str] = []

    def call(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        outputs.extend([captured.out, captured.err])
        return code, captured.out, captured.err

    call.outputs = outputs
    return call


def test_the_key_is_written_nowhere_and_sent_only_to_the_api_hosts(run, sim, isolated_env, tmp_path, session_key):
    ref = tmp_path / "ref.png"
    ref.write_bytes(png_bytes())
    mask = tmp_path / "mask.png"
    mask.write_bytes(png_bytes(color=(255, 255, 255)))
    # A realistic session: every command, a reference and a mask, a failure, an uncertain
    # submit and its resend, a truncated and an expired download, resume and history.
    assert (
        run(
            "generate",
            "a lighthouse at dusk",
            "--model",
            "gpt-4o-image",
            "--image",
            str(ref),
            "--mask",
            str(mask),
            "--json",
        )[0]
        == 0
    )
    code, out, _ = run("upload", str(ref), "--name", "mine.png", "--json")
    file_id = json.loads(out)["file_id"]
    assert run("upload", "--base64", base64.b64encode(png_bytes(color=(1, 2, 3))).decode())[0] == 0
    assert run("files", "--json")[0] == 0
    assert run("files")[0] == 0
    assert run("delete", file_id)[0] == 0
    sim.faults = FaultPlan.parse("fail:content_policy_violation*1")
    assert run("generate", "doomed")[0] == 1
    sim.faults = FaultPlan.parse("drop-after@submit")
    assert run("generate", "lost in transit", "--model", "z-image-turbo")[0] == 1
    sim.faults = FaultPlan.parse("truncate@download*1,expired@download*1")
    assert run("generate", "two of them", "-n", "2", "--model", "doubao-seedream-4.0")[0] == 1
    sim.faults = FaultPlan.parse("")
    code, out, _ = run("generate", "checked later", "--no-wait", "--json")
    assert run("check", json.loads(out)["id"], "--wait")[0] == 0
    assert run("resume")[0] == 1  # the uncertain one is listed, not resent
    uncertain = [
        rec["record_id"] for rec in json.loads(run("history", "--status", "uncertain", "--json")[1])["records"]
    ]
    assert run("resume", "--resend", str(uncertain[0]), "--json")[0] == 0
    assert run("history")[0] == 0 and run("history", "--json")[0] == 0
    code, out, _ = run("locate")
    assert f"sk-…{session_key[-4:]}" in out  # shown only masked
    assert run("models")[0] == 0

    config = isolated_env["config"]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600 and session_key in config.read_text()
    searched = [
        isolated_env["data"],
        isolated_env["downloads"],
        tmp_path / "xdg-config",
        tmp_path / "xdg-data",
        REPO / "screenshots",
    ]
    searched += [p for p in config.parent.iterdir() if p != config]
    searched += [p for p in tmp_path.rglob("*.log")] + [p for p in REPO.glob("*.log")]
    looked_at = assert_no_key(session_key, searched, run.outputs)
    assert looked_at >= 10  # the history, images, sidecars...
    assert_no_key(TEST_KEY, [REPO / "screenshots"])  # the key the other tests use, too
    assert list(isolated_env["downloads"].glob("*.json")), "no sidecars were written"

    # On the wire: the key went to the generation and files routes only.
    assert sim.count("download") >= 4
    for request in sim.requests:
        if request["endpoint"] in API_ENDPOINTS | FILES_ENDPOINTS:
            assert request["authorization"], request
        else:
            assert not request["authorization"], f"the key was sent to {request['path']}"


# -- hostile server strings --------------------------------------------------------------


def _no_raw_controls(*texts: str) -> None:
    for text in texts:
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text[:200])


@pytest.fixture
def hostile_run(run):
    """``run``, also checking that no raw control character reached the output."""

    def call(*args: str) -> tuple[int, str, str]:
        code, out, err = run(*args)
        _no_raw_controls(out, err)
        return code, out, err

    return call


def test_hostile_strings_from_the_server_are_printed_inert_everywhere(hostile_run, sim):
    run = hostile_run

    def hostile_task(body):
        if isinstance(body, dict) and body.get("id"):
            body["model"] = "gpt-image-1.5" + HOSTILE
            if body.get("status") == "completed":
                body["status"] = "failed"
                body["error"] = {"code": "content_policy_violation" + HOSTILE, "message": HOSTILE, "type": HOSTILE}
        return body

    def hostile_file(body):
        data = body.get("data") if isinstance(body, dict) else None
        items = data.get("files", []) if isinstance(data, dict) else []
        for item in ([data] if isinstance(data, dict) and "file_id" in data else []) + items:
            item["file_name"] = "evil" + HOSTILE + ".png"
            item["mime_type"] = "image/png" + HOSTILE
        return body

    sim.overrides.update(submit=hostile_task, poll=hostile_task, upload=hostile_file, list=hostile_file)
    for flag in ((), ("--json",)):
        code, out, err = run("generate", "evil " + HOSTILE + " prompt", *flag)
        assert code == 1
        shown = out + err
        assert "\\x1b]52" in shown or "\\u001b]52" in shown  # visible as text, not obeyed
        if not flag:
            assert "[bold red]boom[/]" in err  # markup is shown as typed, never interpreted
    task_id = next(iter(sim.tasks))
    for flag in ((), ("--json",)):
        assert run("check", task_id, *flag)[0] == 1
        assert run("history", *flag)[0] == 0
        assert run("resume", *flag)[0] == 0
        ref = Path(os.environ["EVOLINK_TUI_DATA_DIR"]).parent / "ref.png"
        ref.write_bytes(png_bytes())
        code, out, _ = run("upload", str(ref), *flag)
        assert code == 0 and ("evil" in out)
        assert run("files", *flag)[0] == 0
    sim.overrides["delete"] = lambda body: {"success": True, "code": 200, "msg": HOSTILE, "data": {"note": HOSTILE}}
    assert run("delete", next(iter(sim.files)), "--json")[0] == 0
    sim.overrides["poll"] = lambda body: (
        b'{"error": {"code": 500, "message": "' + HOSTILE.encode("unicode_escape") + b'"}'
    )
    assert run("check", task_id)[0] == 1


def test_a_hostile_error_body_and_http_error_text_are_inert(hostile_run, sim):
    sim.overrides["poll"] = lambda body: "<html>\x1b]0;pwned\x07" + HOSTILE + "</html>"
    code, out, err = hostile_run("check", "task-unified-1-x")
    assert code == 1 and "pwned" in err


# -- hostile names, URLs and files -------------------------------------------------------


@pytest.fixture
def history(tmp_path, fake_clock):
    h = History(tmp_path / "data" / "history.sqlite3", clock=fake_clock.now)
    yield h
    h.close()


def _completed_now(task_id: str, urls: list[str]):
    """Answer the submit with an already completed task of this id and these URLs."""

    def hook(body):
        body.update(id=task_id, status="completed", progress=100, results=urls)
        body.pop("result_data", None)
        return body

    return hook


def _files_outside(root: Path, folder: Path) -> list[Path]:
    data = root / "data"
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and folder not in p.parents and data not in p.parents and p.name != "ref.png"
    ]


HOSTILE_IDS = [
    "../../escaped",
    "/etc/passwd",
    "..\\..\\win",
    "a/../../b",
    "nul\x00byte",
    "x" * 5000,
    ".hidden",
    "%2e%2e%2fencoded",
    "\x1b]52;c;aGFjaw==\x07",
    "con",
    "~/home",
]


@pytest.mark.parametrize("task_id", HOSTILE_IDS, ids=[repr(t[:12]) for t in HOSTILE_IDS])
async def test_hostile_task_ids_and_urls_never_write_outside_the_download_dir(client, sim, history, tmp_path, task_id):
    folder = tmp_path / "deep" / "downloads"
    base = str(client.api_base)
    good = png_bytes()
    sim.overrides["download"] = lambda path, data: (good, "image/png")
    urls = [
        f"{base}/results/{quote(task_id, safe='')}/0.png",
        f"{base}/results/..%2F..%2F..%2Fx/1.png",
        f"{base}/results/a/{quote('../../../etc/passwd', safe='')}",
    ]
    sim.overrides["submit"] = _completed_now(task_id, urls)
    runner = r.Runner(client, history, folder)
    record = await runner.run(runner.prepare(GenerationRequest("../../" + "p" * 300, model="z-image-turbo", n=3)))
    assert record.state == "completed" and record.download_state == "done" and len(record.files) == 3
    for name in record.files:
        path = Path(name)
        assert path.parent == folder and len(path.name.encode()) <= 255 and not path.name.startswith(".")
        assert "\x00" not in name and "\x1b" not in name
    assert _files_outside(tmp_path, folder) == []
    assert_no_broken_files(folder)


async def test_non_http_result_urls_are_refused_and_nothing_is_fetched(client, sim, history, tmp_path):
    folder = tmp_path / "downloads"
    sim.overrides["submit"] = _completed_now(
        "task-odd", ["file:///etc/passwd", "/etc/passwd", "ftp://x/y.png", "javascript:alert(1)"]
    )
    runner = r.Runner(client, history, folder)
    record = await runner.run(runner.prepare(GenerationRequest("odd urls", model="z-image-turbo")))
    assert record.download_state == "refused" and record.error["code"] == "refused" and record.task_id == "task-odd"
    assert sim.count("download") == 0 and (not folder.exists() or list(folder.iterdir()) == [])


async def test_result_urls_on_the_api_host_never_get_the_key(client, sim, history, tmp_path):
    base = str(client.api_base)
    sim.overrides["submit"] = _completed_now("task-sneaky", [f"{base}/v1/credits", f"{base}/api/v1/files/quota"])
    runner = r.Runner(client, history, tmp_path / "downloads")
    record = await runner.run(runner.prepare(GenerationRequest("sneaky", model="z-image-turbo")))
    assert record.download_state in ("failed", "refused") and not record.files
    fetched = [q for q in sim.requests if q["endpoint"] in ("credits", "quota")]
    assert fetched and not any(q["authorization"] for q in fetched)


def _bytes(fmt: str, size=(32, 32), mode="RGB") -> bytes:
    buffer = BytesIO()
    Image.new(mode, size).save(buffer, fmt)
    return buffer.getvalue()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'
REFUSED_RESULTS = {
    "html": (b"<html><script>alert(1)</script></html>", "text/html"),
    "svg": (SVG, "image/svg+xml"),
    "svg-said-png": (SVG, "image/png"),
    "html-said-png": (b"<!doctype html><p>hi", "image/png"),
    "bmp-said-png": (_bytes("BMP"), "image/png"),
    "tiff-said-png": (_bytes("TIFF"), "image/png"),
    "over-pixel-limit": (_bytes("PNG", (8000, 6000), "1"), "image/png"),
    "bomb": (_bytes("PNG", (20000, 20000), "1"), "image/png"),
    "empty": (b"", "image/png"),
}


@pytest.mark.parametrize("name", list(REFUSED_RESULTS))
async def test_results_that_are_not_acceptable_images_are_refused_and_not_kept(
    client, sim, history, tmp_path, name, fake_clock
):
    folder = tmp_path / "downloads"
    body, media = REFUSED_RESULTS[name]
    sim.overrides["download"] = lambda path, data: (body, media)
    runner = r.Runner(client, history, folder)
    record = await runner.run(runner.prepare(GenerationRequest("not an image", model="z-image-turbo")))
    assert record.state == "completed" and record.task_id and not record.files
    assert record.download_state in ("refused", "failed") and record.error
    if name != "empty":
        assert record.download_state == "refused" and record.error["code"] == "refused"
        assert sim.count("download") == 1  # refused at once, not fetched again
    assert not folder.exists() or list(folder.iterdir()) == []
    summary = await recover(runner)  # a refused result is final: not fetched again later
    assert sim.count("download") == (1 if name != "empty" else sim.count("download"))
    assert all(rec.id == record.id for rec in summary.records)


@pytest.mark.parametrize(
    ("kind", "data"), [("svg", SVG), ("bmp", _bytes("BMP")), ("tiff", _bytes("TIFF")), ("html", b"<html></html>")]
)
def test_only_the_four_image_types_are_uploaded(hostile_run, sim, tmp_path, kind, data):
    path = tmp_path / f"thing.{kind}"
    path.write_bytes(data)
    fake_png = tmp_path / "lies.png"
    fake_png.write_bytes(data)
    for args in (
        ["upload", str(path)],
        ["upload", str(fake_png)],
        ["upload", "--base64", base64.b64encode(data).decode()],
        ["generate", "x", "--image", str(fake_png)],
    ):
        code, _, err = hostile_run(*args)
        assert code == 2 and "Allowed:" in err
    assert sim.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://api.evolink.ai",
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "http://[::ffff:8.8.8.8]",
        "http://0x7f.evil",
        "ftp://127.0.0.1",
        "https://user:pw@api.evolink.ai",
        "javascript:alert(1)",
        "http://10.0.0.1",
    ],
)
def test_plain_http_base_urls_are_refused_except_loopback(url):
    with pytest.raises(ValidationError):
        check_base_url("EVOLINK_BASE_URL", url)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:2", "http://127.5.6.7", "https://api.evolink.ai"],
)
def test_loopback_and_https_base_urls_are_allowed(url):
    assert check_base_url("EVOLINK_BASE_URL", url) == url


# -- properties: any server string, any name -----------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from evolink_tui.core.downloads import inside, result_stem  # noqa: E402
from evolink_tui.core.text import inert  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.text(max_size=3000), st.integers(min_value=0, max_value=99))
def test_any_task_id_and_prompt_make_a_safe_file_name(task_id, prompt, index):
    stem = result_stem(task_id, prompt, index)
    assert stem and not stem.startswith((".", "-")) and len(stem.encode()) <= 200
    assert re.fullmatch(r"[A-Za-z0-9._-]+", stem)
    folder = Path("/srv/downloads")
    assert inside(folder, folder / f"{stem}.png") and (folder / f"{stem}.png").parent == folder


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_server_text_is_made_inert(text):
    shown = inert(text, one_line=True)
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", shown)


async def test_absurd_numbers_from_the_server_do_not_break_a_generation(client, sim, history, tmp_path):
    """``1e999`` progress, a creation time in the year 10^290, NaN credits."""

    def absurd(body):
        text = json.dumps(body)
        return (
            text[:-1]
            + ', "progress": 1e999, "created": 1'
            + "0" * 300
            + ', "task_info": {"estimated_time": -5e300}, "usage": {"credits_reserved": NaN}}'
        )

    sim.overrides.update(submit=absurd, poll=absurd)
    runner = r.Runner(client, history, tmp_path / "downloads")
    record = await runner.run(runner.prepare(GenerationRequest("absurd", model="z-image-turbo")))
    assert record.state == "completed" and record.download_state == "done" and record.files
    side = json.loads(Path(record.files[0]).with_suffix(".json").read_text())
    assert side["created_at"] is None and side["url_expires_at"]
    assert 0 <= record.progress <= 100
