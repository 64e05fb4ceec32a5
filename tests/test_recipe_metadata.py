"""Images carry their recipe: written into PNG text chunks, JPEG and WebP XMP and Exif,
without touching a single byte of the compressed picture; read back with Pillow and by
`reopen`, from a moved file, a JPEG, a sidecar, or a file that has none."""

from __future__ import annotations

import io
import json
import shutil
import struct
from pathlib import Path

import pytest
from PIL import ExifTags, Image, PngImagePlugin

from evolink_tui.core import imagemeta
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.recipe import parameters_line, parse_parameters, reopen
from evolink_tui.core.validation import GenerationRequest
from evolink_tui.simulator.images import render_image

from .conftest import TEST_KEY
from .test_security import assert_no_key

RECIPE = {
    "recipe_version": 1,
    "generator": "evolink-tui/0.1.0",
    "prompt": 'a "lighthouse", at dusk: ünïcode 灯台\nsecond line',
    "model": "gpt-image-1.5",
    "size": "16:9",
    "n": 2,
    "image_urls": ["https://files.example.invalid/a.png?x=1,2", "https://files.example.invalid/b.png"],
    "mask_url": None,
    "params": {"quality": "high, please", "seed": 7},
    "task_id": "task-unified-1-abc",
    "index": 2,
    "record_id": 12,
    "parent": {"record_id": 11, "result": 1, "task_id": "task-unified-0-xyz"},
    "credits_reserved": 8.5,
    "created_at": "2025-01-02T03:04:05+00:00",
    "finished_at": "2025-01-02T03:04:15+00:00",
    "downloaded_at": "2025-01-02T03:04:16+00:00",
}


def picture(fmt: str, mode: str = "RGB", **options) -> bytes:
    """A small picture with detail in every channel (so a re-encode would show)."""
    image = Image.new(mode, (48, 32), (10, 200, 30, 255)[: len(mode)])
    for x in range(48):
        for y in range(0, 32, 3):
            colour = (x * 5, y * 7, 255 - x * 5, 40 + x * 4)
            image.putpixel((x, (y + x) % 32), colour[: len(mode)])
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def decoded(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.mode, image.size, image.tobytes()


def compressed_picture(data: bytes, kind: str) -> bytes:
    """The bytes that hold the picture itself: PNG IDAT, the JPEG scan on, WebP VP8/VP8L/ALPH."""
    if kind == "png":
        return b"".join(data[s:e] for k, s, e in imagemeta._png_chunks(data) if k in (b"IDAT", b"PLTE"))
    if kind == "jpeg":
        return data[imagemeta._jpeg_segments(data)[1] :]
    return b"".join(body for k, body in imagemeta._riff_chunks(data) if k in (b"VP8 ", b"VP8L", b"ALPH"))


FORMATS = [
    ("png", "PNG", "RGB", {}),
    ("png", "PNG", "RGBA", {}),
    ("jpeg", "JPEG", "RGB", {"quality": 90}),
    ("webp", "WEBP", "RGB", {"quality": 80}),  # simple lossy: becomes VP8X
    ("webp", "WEBP", "RGBA", {"lossless": True}),  # simple lossless with alpha: VP8X with the alpha flag
    ("webp", "WEBP", "RGBA", {"quality": 80}),  # already VP8X (ALPH chunk)
]


@pytest.mark.parametrize(("kind", "fmt", "mode", "options"), FORMATS)
def test_the_recipe_round_trips_through_pillow_and_the_picture_is_untouched(tmp_path, kind, fmt, mode, options):
    original = picture(fmt, mode, **options)
    path = tmp_path / f"result.{kind}"
    path.write_bytes(original)
    recipe_text = json.dumps(RECIPE, ensure_ascii=False)
    parameters = parameters_line(RECIPE)
    assert imagemeta.write_recipe(path, kind, recipe_text, parameters)
    written = path.read_bytes()
    assert written != original
    # Pixels decode the same, and the compressed picture was copied byte for byte.
    assert decoded(written) == decoded(original)
    assert compressed_picture(written, kind) == compressed_picture(original, kind)
    # Pillow reads the metadata where other tools look for it.
    with Image.open(path) as image:
        if kind == "png":
            assert json.loads(image.info["evolink:recipe"]) == RECIPE
            assert image.info["parameters"] == parameters
        else:
            assert imagemeta.XMP_NAMESPACE.encode() in image.info["xmp"]
            assert json.loads(imagemeta.parse_xmp(image.info["xmp"])["recipe"]) == RECIPE
            comment = image.getexif().get_ifd(ExifTags.IFD.Exif)[0x9286]
            assert comment.startswith(b"UNICODE\x00") and comment[8:].decode("utf-16-be") == parameters
    assert reopen(path).recipe == RECIPE


@pytest.mark.parametrize(("kind", "fmt", "mode", "options"), FORMATS)
def test_writing_twice_leaves_one_recipe(tmp_path, kind, fmt, mode, options):
    path = tmp_path / f"result.{kind}"
    path.write_bytes(picture(fmt, mode, **options))
    assert imagemeta.write_recipe(path, kind, json.dumps({"prompt": "first"}), "first\nGenerator: evolink-tui/0")
    once = path.read_bytes()
    assert imagemeta.write_recipe(path, kind, json.dumps(RECIPE), parameters_line(RECIPE))
    twice = path.read_bytes()
    mark = b"evolink:recipe\x00" if kind == "png" else b"<evolink:recipe>"
    assert twice.count(mark) == once.count(mark) == 1
    assert b'"first"' not in twice and reopen(path).recipe == RECIPE
    assert b"first\nGenerator" not in twice and "first".encode("utf-16-be") not in twice  # the old parameters
    assert decoded(twice) == decoded(once)


def test_a_servers_own_exif_and_xmp_are_kept(tmp_path):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "UpstreamCam"
    theirs = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="image/jpeg"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )
    original = picture("JPEG", exif=exif.tobytes(), xmp=theirs)
    path = tmp_path / "theirs.jpg"
    path.write_bytes(original)
    assert imagemeta.write_recipe(path, "jpeg", json.dumps(RECIPE), parameters_line(RECIPE))
    with Image.open(path) as image:
        kept = image.getexif()
        assert kept[ExifTags.Base.Orientation] == 6 and kept[ExifTags.Base.Make] == "UpstreamCam"
        assert b'dc:format="image/jpeg"' in image.info["xmp"]  # their XMP, with ours added
    assert reopen(path).recipe == RECIPE
    assert decoded(path.read_bytes()) == decoded(original)


def test_what_cannot_hold_a_recipe_is_left_exactly_as_it_was(tmp_path):
    gif = tmp_path / "a.gif"
    gif.write_bytes(picture("GIF", "P"))
    broken = tmp_path / "broken.png"
    data = picture("PNG")
    broken.write_bytes(data[:-30])  # IEND and the end of IDAT gone
    for path, kind in ((gif, "gif"), (broken, "png")):
        before = path.read_bytes()
        assert not imagemeta.write_recipe(path, kind, json.dumps(RECIPE), parameters_line(RECIPE))
        assert path.read_bytes() == before


def test_the_parameters_line_reads_back_when_only_it_survives(tmp_path):
    text = parameters_line(RECIPE)
    assert text.startswith(RECIPE["prompt"] + "\n")
    assert "Model: gpt-image-1.5, Size: 16:9, n: 2, Result: 2, Task: task-unified-1-abc, Record: 12" in text
    rebuilt = parse_parameters(text)
    for key in ("prompt", "model", "size", "n", "index", "task_id", "record_id", "parent", "image_urls", "params"):
        assert rebuilt[key] == RECIPE[key], key
    assert parse_parameters("a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1") is None  # A1111's own
    # A JPEG whose XMP a tool stripped, keeping the Exif: reopen still finds the recipe.
    path = tmp_path / "stripped.jpg"
    path.write_bytes(picture("JPEG"))
    imagemeta.write_recipe(path, "jpeg", json.dumps(RECIPE), text)
    data = path.read_bytes()
    segments, _ = imagemeta._jpeg_segments(data)
    xmp = next((s, e) for m, s, e in segments if data[s + 4 : s + 33] == b"http://ns.adobe.com/xap/1.0/\x00")
    path.write_bytes(data[: xmp[0]] + data[xmp[1] :])
    found = reopen(path)
    assert found.source == "exif:UserComment" and found.recipe["prompt"] == RECIPE["prompt"]
    assert found.recipe["parent"] == RECIPE["parent"]


# -- through the downloads, against the simulator -------------------------------------------


@pytest.mark.parametrize(
    ("model", "kind"), [("z-image-turbo", "png"), ("doubao-seedream-4.0", "jpeg"), ("qwen-image-edit", "webp")]
)
def test_every_download_carries_its_recipe_and_its_pixels_are_the_servers(
    run, sim, isolated_env, tmp_path, model, kind
):
    args = ["generate", "a lighthouse, at dusk", "--model", model, "-n", "2", "--size", "3:2", "--json"]
    if model == "qwen-image-edit":
        args += ["--image", "https://cdn.example.invalid/ref.png"]
    code, out, err = run(*args)
    assert code == 0, err
    task = json.loads(out)
    for index, name in enumerate(task["downloads"]):
        path = Path(name)
        sidecar = json.loads(path.with_suffix(".json").read_text())
        found = reopen(path)
        assert found.source == ("png" if kind == "png" else "xmp") + ":evolink:recipe"
        recipe = found.recipe
        assert recipe["task_id"] == task["id"] == sidecar["task_id"]
        assert recipe["record_id"] == task["record_id"] == sidecar["record_id"]
        assert recipe["index"] == index + 1 and recipe["prompt"] == "a lighthouse, at dusk"
        assert recipe["model"] == model and recipe["size"] == "3:2" and recipe["n"] == 2
        assert recipe["parent"] is None and recipe["credits_reserved"] == sidecar["credits_reserved"]
        assert recipe["downloaded_at"] == sidecar["downloaded_at"]
        assert {k: sidecar[k] for k in recipe if k != "recipe_version"} == {
            k: v for k, v in recipe.items() if k != "recipe_version"
        }
        # The picture is exactly what the server sent.
        served = render_image("a lighthouse, at dusk", model, "3:2", index, sim.image_long_side)
        assert decoded(path.read_bytes()) == decoded(served)
        assert compressed_picture(path.read_bytes(), kind) == compressed_picture(served, kind)
    assert_no_key(TEST_KEY, [isolated_env["downloads"], isolated_env["data"]])


# -- reopen -----------------------------------------------------------------------------


def test_reopen_a_moved_and_renamed_result_with_no_history(run, sim, isolated_env, tmp_path):
    code, out, _ = run("generate", "a quiet harbour", "--model", "z-image-turbo", "--size", "16:9", "--json")
    assert code == 0
    source = Path(json.loads(out)["downloads"][0])
    moved = tmp_path / "elsewhere" / "holiday.png"
    moved.parent.mkdir()
    shutil.move(source, moved)  # its sidecar stays behind
    shutil.rmtree(isolated_env["data"])  # and the history is gone
    found = reopen(moved)
    assert found.found and found.source == "png:evolink:recipe"
    assert found.generation_request() == GenerationRequest("a quiet harbour", "z-image-turbo", "16:9")
    code, out, err = run("reopen", str(moved))
    assert code == 0, err
    assert "prompt: a quiet harbour" in out and "model z-image-turbo, size 16:9" in out
    assert "no record of this task" in out
    assert "again: evolink-tui generate 'a quiet harbour' --model z-image-turbo --size 16:9" in out
    code, out, _ = run("reopen", str(moved), "--json")
    data = json.loads(out)
    assert code == 0 and data["found"] and data["recipe"]["prompt"] == "a quiet harbour" and data["record_id"] is None


def test_reopen_a_jpeg_and_a_sidecar_and_find_the_record(run, sim):
    code, out, _ = run("generate", "fog over hills", "--model", "doubao-seedream-4.0", "--json")
    task = json.loads(out)
    jpeg = Path(task["downloads"][0])
    assert jpeg.suffix == ".jpg"
    code, out, err = run("reopen", str(jpeg), "--json")
    data = json.loads(out)
    assert code == 0 and data["kind"] == "jpeg" and data["source"] == "xmp:evolink:recipe"
    assert data["recipe"]["prompt"] == "fog over hills" and data["record_id"] == task["record_id"]
    code, out, _ = run("reopen", str(jpeg.with_suffix(".json")))
    assert code == 0 and "the .json sidecar" in out and f"in this history: record #{task['record_id']}" in out


def test_reopen_says_plainly_when_a_file_has_no_recipe(run, tmp_path):
    plain = tmp_path / "photo.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(plain)
    code, out, err = run("reopen", str(plain))
    assert code == 1 and "no evolink-tui recipe in this file or beside it" in out
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a castle\nSteps: 20, Sampler: Euler a, Seed: 42")
    other = tmp_path / "a1111.png"
    Image.new("RGB", (8, 8)).save(other, pnginfo=info)
    code, out, _ = run("reopen", str(other))
    assert code == 1 and "another tool's generation text" in out and "Seed: 42" in out
    code, out, _ = run("reopen", str(other), "--json")
    assert code == 1 and json.loads(out)["found"] is False and "Seed: 42" in json.loads(out)["foreign_parameters"]
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    code, out, err = run("reopen", str(text))
    assert code == 2 and "Invalid file" in err
    code, out, err = run("reopen", str(tmp_path / "missing.png"))
    assert code == 2 and "not found" in err
    with pytest.raises(ValidationError):
        reopen(plain).generation_request()


def test_a_hostile_recipe_is_printed_inert(run, tmp_path):
    hostile = {**RECIPE, "prompt": "boom \x1b]52;c;aGFjaw==\x07 \x1b[31mred", "generator": "evolink-tui/x"}
    path = tmp_path / "hostile.png"
    path.write_bytes(picture("PNG"))
    imagemeta.write_recipe(path, "png", json.dumps(hostile), parameters_line(hostile))
    code, out, _ = run("reopen", str(path))
    assert code == 0 and "\x1b" not in out and "\\x1b]52" in out


def test_the_png_text_chunks_have_valid_crcs(tmp_path):
    data = imagemeta.png_with_text(picture("PNG"), {"parameters": "ünï", "evolink:recipe": "{}"})
    for kind, start, end in imagemeta._png_chunks(data):
        body = data[start + 4 : end - 4]
        assert struct.unpack(">I", data[end - 4 : end])[0] == __import__("zlib").crc32(body), kind
