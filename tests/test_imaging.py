"""Fitting a reference under 4 MB, and the mask maker's size and colours."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from evolink_tui.core.imaging import Rect, cells_to_rect, fit_reference, make_mask, write_fitted
from evolink_tui.core.validation import GenerationRequest, problems


def noisy(path, width, height, mode="RGB", fmt="PNG"):
    image = Image.frombytes(mode, (width, height), os.urandom(width * height * len(mode)))
    image.save(path, fmt)
    return path


def test_a_reference_over_4_mb_is_fitted_and_then_valid(tmp_path):
    big = noisy(tmp_path / "big.png", 1600, 1200)
    assert big.stat().st_size > 4 * 1024 * 1024
    assert problems(GenerationRequest("x", images=(str(big),)))[0].field == "image_urls"
    fitted = fit_reference(big)
    assert fitted.size <= 4 * 1024 * 1024 and fitted.format == "JPEG"
    assert fitted.original_bytes == big.stat().st_size and (fitted.original_width, fitted.original_height) == (
        1600,
        1200,
    )
    assert fitted.width / fitted.height == pytest.approx(1600 / 1200, rel=0.01)
    with Image.open(io.BytesIO(fitted.data)) as image:
        assert image.size == (fitted.width, fitted.height)
    target = write_fitted(fitted, big)
    assert target != big and big.stat().st_size > 4 * 1024 * 1024  # the original is untouched
    assert problems(GenerationRequest("x", images=(str(target),))) == []


def test_a_tight_budget_scales_down_and_says_so(tmp_path):
    src = noisy(tmp_path / "n.png", 800, 600)
    fitted = fit_reference(src, max_bytes=60_000)
    assert fitted.size <= 60_000 and fitted.width < 800 and fitted.how.startswith("scaled to")


def test_transparency_is_kept_as_webp(tmp_path):
    src = noisy(tmp_path / "alpha.png", 600, 400, mode="RGBA")
    fitted = fit_reference(src, max_bytes=400_000)
    assert fitted.format == "WEBP"
    with Image.open(io.BytesIO(fitted.data)) as image:
        assert image.mode == "RGBA"


def test_mask_is_the_reference_size_white_to_edit_black_to_keep():
    data = make_mask(300, 200, Rect(50, 40, 150, 120))
    with Image.open(io.BytesIO(data)) as mask:
        assert mask.format == "PNG" and mask.size == (300, 200)
        assert mask.getpixel((100, 80)) == 255 and mask.getpixel((50, 40)) == 255 and mask.getpixel((149, 119)) == 255
        assert mask.getpixel((150, 120)) == 0 and mask.getpixel((10, 10)) == 0 and mask.getpixel((299, 199)) == 0
        histogram = mask.histogram()
        assert histogram[255] == 100 * 80 and histogram[0] == 300 * 200 - 100 * 80


def test_an_empty_mask_rectangle_is_refused():
    with pytest.raises(ValueError, match="empty"):
        make_mask(10, 10, Rect(5, 5, 5, 9))


def test_cells_map_to_image_pixels():
    rect = cells_to_rect((8, 4, 24, 12), cols=32, rows=16, width=1024, height=1024)
    assert rect == Rect(256, 256, 768, 768)
    assert cells_to_rect((-5, -5, 99, 99), 32, 16, 640, 480) == Rect(0, 0, 640, 480)
