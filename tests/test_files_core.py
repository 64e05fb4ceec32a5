"""The Files API helpers the files screen is built on: every page, the quota after uploads
and deletes, time left, sorting and filtering, same-name checks, preview bytes, masks and
fitted references."""

from __future__ import annotations

import base64
import io
import os
from datetime import UTC, datetime

import pytest
from PIL import Image

from evolink_tui.core.errors import EvolinkError
from evolink_tui.core.files import (
    clean_source,
    fetch_bytes,
    filter_files,
    format_left,
    kind_label,
    list_all,
    oversize_reference,
    same_name,
    save_fitted,
    sort_files,
    stored_name,
    time_left,
    write_mask,
)
from evolink_tui.core.imaging import fit_reference
from evolink_tui.core.wire import FileInfo
from evolink_tui.simulator import FaultPlan

from .conftest import png_bytes


def info(
    file_id: str,
    name: str,
    size: int | None = 10,
    uploaded: float | None = 0.0,
    mime: str = "image/png",
    folder: str = "",
) -> FileInfo:
    moment = datetime.fromtimestamp(uploaded, tz=UTC) if uploaded is not None else None
    return FileInfo(
        file_id=file_id, file_name=name, file_size=size, mime_type=mime, upload_time=moment, upload_path=folder
    )


async def test_list_all_reads_every_page_of_at_most_100(client, sim):
    sim.max_files = 250
    data = base64.b64encode(png_bytes(8, 8)).decode()
    for i in range(130):
        await client.upload_base64(data, name=f"f{i:03}.png")
    pages: list[int] = []
    files, total = await list_all(client, on_page=lambda so_far, total: pages.append(len(so_far)))
    assert total == 130 and len(files) == 130 and len({f.file_id for f in files}) == 130
    assert pages == [100, 130]
    sizes = [r["query"].get("pageSize") for r in sim.requests if r["endpoint"] == "list"]
    assert sizes == ["100", "100"]


async def test_quota_goes_up_with_an_upload_and_down_with_a_delete(client, sim, png_file):
    assert (await client.quota()).used_files == 0
    stored = await client.upload_file(png_file)
    quota = await client.quota()
    assert (quota.used_files, quota.remain_files, quota.max_files) == (1, 99, 100)
    await client.delete_file(stored.file_id)
    assert (await client.quota()).used_files == 0


async def test_preview_bytes_come_from_the_file_url_without_the_key(client, sim, png_file):
    stored = await client.upload_file(png_file)
    data = await fetch_bytes(client, stored.file_url)
    assert data == png_file.read_bytes()
    assert [r["authorization"] for r in sim.requests if r["endpoint"] == "download"] == [False]
    with pytest.raises(EvolinkError):
        await fetch_bytes(client, stored.file_url, max_bytes=10)
    sim.faults = FaultPlan.parse("500@download*1")
    with pytest.raises(EvolinkError):
        await fetch_bytes(client, stored.file_url)


def test_time_left_counts_down_from_72_hours():
    item = info("a", "a.png", uploaded=1000.0)
    assert time_left(item, 1000.0) == 72 * 3600
    assert format_left(time_left(item, 1000.0)) == "72h 00m"
    assert format_left(time_left(item, 1000.0 + 71 * 3600 + 30 * 60 + 30)) == "29m"
    assert format_left(time_left(item, 1000.0 + 73 * 3600)) == "expired"
    assert format_left(time_left(info("b", "b.png", uploaded=None), 0)) == "?"


def test_sort_and_filter():
    files = [
        info("1", "Cat.png", 30, 3.0),
        info("2", "dog.jpg", 10, 1.0, "image/jpeg"),
        info("3", "cat-2.webp", None, 2.0, "image/webp"),
    ]
    assert [f.file_id for f in sort_files(files, "uploaded", True)] == ["1", "3", "2"]
    assert [f.file_id for f in sort_files(files, "name", False)] == ["3", "1", "2"]  # "-" before "."
    assert [f.file_id for f in sort_files(files, "size", True)] == ["1", "2", "3"]  # unknown size last
    assert [f.file_id for f in sort_files(files, "type", False)] == ["2", "1", "3"]
    assert [f.file_id for f in filter_files(files, "CAT")] == ["1", "3"]
    assert [f.file_id for f in filter_files(files, "cat webp")] == ["3"]
    assert filter_files(files, "  ") == files
    assert [kind_label(f) for f in files] == ["PNG", "JPEG", "WebP"]


def test_names_of_uploads_and_the_file_they_would_overwrite():
    assert clean_source("  '/tmp/my cat.png' ") == "/tmp/my cat.png"
    assert clean_source("file:///tmp/my%20cat.png") == "/tmp/my cat.png"
    assert stored_name("/tmp/a/cat.png") == "cat.png"
    assert stored_name("/tmp/a/cat.png", "other.png") == "other.png"
    assert stored_name("https://example.com/x/dog%201.jpg?s=1") == "dog 1.jpg"
    files = [info("1", "cat.png"), info("2", "cat.png", folder="refs")]
    assert same_name(files, "cat.png").file_id == "1"
    assert same_name(files, "cat.png", "refs/").file_id == "2"
    assert same_name(files, "dog.png") is None


def test_mask_file_is_named_by_its_content(tmp_path):
    first = write_mask(tmp_path / "masks", "my photo.png", b"\x89PNG one")
    again = write_mask(tmp_path / "masks", "my photo.png", b"\x89PNG one")
    other = write_mask(tmp_path / "masks", "my photo.png", b"\x89PNG two")
    assert first == again != other
    assert first.name.startswith("my-photo-mask-") and first.suffix == ".png"


def test_only_a_local_reference_over_4_mb_is_offered_a_fit(tmp_path):
    big = tmp_path / "big.png"
    Image.frombytes("RGB", (1600, 1200), os.urandom(1600 * 1200 * 3)).save(big)
    small = tmp_path / "small.png"
    small.write_bytes(png_bytes())
    text = tmp_path / "big.txt"
    text.write_bytes(b"x" * (5 * 1024 * 1024))
    found = oversize_reference(str(big))
    assert found is not None and found.size == big.stat().st_size > 4 * 1024 * 1024
    assert oversize_reference(str(small)) is None
    assert oversize_reference(str(text)) is None
    assert oversize_reference("https://example.com/big.png") is None
    assert oversize_reference(str(tmp_path / "missing.png")) is None

    fitted = fit_reference(big)
    folder = tmp_path / "read-only"
    folder.mkdir()
    original = folder / "big.png"
    original.write_bytes(big.read_bytes())
    folder.chmod(0o500)
    try:
        target = save_fitted(fitted, original, tmp_path / "fallback")
    finally:
        folder.chmod(0o700)
    if os.geteuid() != 0:  # root writes anywhere
        assert target.parent == tmp_path / "fallback"
    assert target.read_bytes() == fitted.data and original.read_bytes() == big.read_bytes()
    with Image.open(io.BytesIO(target.read_bytes())) as image:
        assert image.size == (fitted.width, fitted.height)
