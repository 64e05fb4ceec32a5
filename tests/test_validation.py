"""Every validation rule: one clear message naming the field, the value and what is allowed."""

from __future__ import annotations

import pytest

from evolink_tui.core.catalogue import load_catalogue
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.validation import GenerationRequest, problems, validate

from .conftest import png_bytes


def only(request: GenerationRequest) -> ValidationError:
    found = problems(request)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def test_the_catalogue_has_the_20_models_of_the_reference():
    catalogue = load_catalogue()
    assert len(catalogue) == 20
    assert catalogue.default.id == "gpt-image-1.5"
    assert [m.id for m in catalogue if m.tier == "beta"] == [
        "gpt-image-1.5-lite",
        "gpt-4o-image",
        "gemini-2.5-flash-image",
        "nano-banana-2-lite",
    ]
    assert [m.id for m in catalogue if m.mask] == ["gpt-4o-image"]
    assert [m.id for m in catalogue if m.pixel_sizes] == ["gpt-4o-image"]
    for model in catalogue:
        assert "1:1" in model.sizes and "21:9" in model.sizes and len(model.sizes) == 10
        assert (model.n_min, model.n_max, model.max_images) == (1, 4, 14)
        assert model.description and model.capabilities


def test_a_correction_is_a_one_line_data_change():
    from importlib import resources

    from evolink_tui.core.catalogue import Catalogue

    text = resources.files("evolink_tui.core").joinpath("models.toml").read_text("utf-8")
    fixed = text.replace('id = "z-image-turbo"\n', 'id = "z-image-turbo"\nmax_images = 0\n')
    catalogue = Catalogue.from_toml(fixed)
    assert catalogue.get("z-image-turbo").max_images == 0
    err = problems(GenerationRequest("x", model="z-image-turbo", images=("https://e.invalid/a.png",)), catalogue)[0]
    assert err.field == "image_urls"


def test_filter_by_name_tag_and_capability():
    catalogue = load_catalogue()
    assert {m.id for m in catalogue.filter("beta")} == {
        "gpt-image-1.5-lite",
        "gpt-4o-image",
        "gemini-2.5-flash-image",
        "nano-banana-2-lite",
    }
    assert "z-image-turbo" in {m.id for m in catalogue.filter("ultra-fast")}
    assert {m.id for m in catalogue.filter("seededit")} == {"doubao-seededit-4.0-i2i", "doubao-seededit-3.0-i2i"}
    assert {m.id for m in catalogue.filter("fast beta")} == {
        "gpt-image-1.5-lite",
        "gemini-2.5-flash-image",
        "nano-banana-2-lite",
    }


def test_prompt_required():
    err = only(GenerationRequest("   "))
    assert err.field == "prompt" and "required" in str(err)


def test_prompt_at_most_2000_characters():
    assert problems(GenerationRequest("x" * 2000)) == []
    err = only(GenerationRequest("x" * 2001))
    assert err.field == "prompt" and "2001 characters" in str(err) and "at most 2000" in str(err)


@pytest.mark.parametrize("n", [0, 5, -1])
def test_n_from_1_to_4(n):
    err = only(GenerationRequest("x", n=n))
    assert err.field == "n" and str(n) in str(err) and "1 to 4" in str(err)


def test_unknown_model():
    err = only(GenerationRequest("x", model="dall-e-9"))
    assert err.field == "model" and "dall-e-9" in str(err) and "evolink-tui models" in str(err)


def test_size_must_be_one_the_model_allows():
    err = only(GenerationRequest("x", size="7:3"))
    assert err.field == "size" and "'7:3'" in str(err) and "16:9" in str(err)


def test_pixel_sizes_only_for_gpt_4o_image():
    err = only(GenerationRequest("x", model="gpt-image-1", size="1024x1024"))
    assert err.field == "size" and "only for gpt-4o-image" in str(err)
    assert problems(GenerationRequest("x", model="gpt-4o-image", size="1536x1024")) == []


def test_at_most_14_reference_images():
    urls = tuple(f"https://cdn.example.invalid/{i}.png" for i in range(15))
    err = only(GenerationRequest("x", images=urls))
    assert err.field == "image_urls" and "15 images" in str(err) and "at most 14" in str(err)
    assert problems(GenerationRequest("x", images=urls[:14])) == []


def test_local_reference_must_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short path: the message shows at most 80 characters of it
    err = only(GenerationRequest("x", images=("nope.png",)))
    assert err.field == "image_urls" and "nope.png" in str(err) and "not found" in str(err)


def test_local_reference_types_jpeg_png_webp_only(tmp_path):
    gif = tmp_path / "a.gif"
    gif.write_bytes(png_bytes(fmt="GIF"))
    text = tmp_path / "a.png"
    text.write_text("I am not a PNG")
    assert only(GenerationRequest("x", images=(str(gif),))).allowed.startswith(
        "a JPEG/PNG/WebP image (this file is GIF"
    )
    assert "not an image" in str(only(GenerationRequest("x", images=(str(text),))))
    for fmt in ("PNG", "JPEG", "WEBP"):
        ok = tmp_path / f"ok.{fmt.lower()}"
        ok.write_bytes(png_bytes(fmt=fmt))
        assert problems(GenerationRequest("x", images=(str(ok),))) == []


def test_local_reference_at_most_4_mb(tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes() + b"\0" * (4 * 1024 * 1024))
    err = only(GenerationRequest("x", images=(str(big),)))
    assert err.field == "image_urls" and "at most 4 MB" in str(err) and "4.0 MB" in str(err)


def test_mask_only_where_the_model_allows_it(png_file):
    err = only(GenerationRequest("x", model="gpt-image-1.5", mask=str(png_file)))
    assert err.field == "mask_url" and "only for gpt-4o-image" in str(err)
    assert problems(GenerationRequest("x", model="gpt-4o-image", mask=str(png_file))) == []


def test_mask_must_be_png(tmp_path):
    jpeg = tmp_path / "mask.jpg"
    jpeg.write_bytes(png_bytes(fmt="JPEG"))
    err = only(GenerationRequest("x", model="gpt-4o-image", mask=str(jpeg)))
    assert err.field == "mask_url" and "PNG" in err.allowed and "JPEG" in str(err)


def test_validate_raises_the_first_problem_and_passes_good_requests():
    with pytest.raises(ValidationError) as info:
        validate(GenerationRequest("", n=9))
    assert info.value.field == "prompt"
    good = GenerationRequest("a lighthouse", model="gpt-4o-image", size="1024x1536", n=4)
    assert validate(good) is good


def test_body_carries_only_the_fields_the_user_set():
    assert GenerationRequest("a cat").to_body() == {"prompt": "a cat", "model": "gpt-image-1.5"}
    body = GenerationRequest(
        "a cat",
        model="gpt-4o-image",
        size="1:1",
        n=2,
        images=("https://a.invalid/x.png",),
        mask="https://a.invalid/m.png",
    ).to_body()
    assert body == {
        "prompt": "a cat",
        "model": "gpt-4o-image",
        "size": "1:1",
        "n": 2,
        "image_urls": ["https://a.invalid/x.png"],
        "mask_url": "https://a.invalid/m.png",
    }
