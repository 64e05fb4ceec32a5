"""Capabilities are enforced before anything is sent: an editing-only model needs a
reference image, a text-to-image-only model takes none. One rule in core validation, so
the app and the headless commands refuse the same requests with the same message; the
simulator refuses an editing model without an image too, as a real server must."""

from __future__ import annotations

import pytest

from evolink_tui.core.catalogue import load_catalogue
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.validation import GenerationRequest, problems, validate
from evolink_tui.simulator import create_app, demo_transport

CATALOGUE = load_catalogue()
EDITING_ONLY = [m.id for m in CATALOGUE if "text-to-image" not in m.capabilities]
TEXT_ONLY = [m.id for m in CATALOGUE if "image-editing" not in m.capabilities]
REF = "https://cdn.example.invalid/ref.png"


def test_the_catalogue_says_which_models_edit_only_and_which_draw_only():
    assert set(EDITING_ONLY) >= {"qwen-image-edit", "doubao-seededit-4.0-i2i", "wan2.5-i2i-preview"}
    assert set(TEXT_ONLY) >= {"z-image-turbo", "doubao-seedream-4.5", "wan2.5-text-to-image"}
    for model in CATALOGUE:
        low, high = model.reference_range
        assert (low, high) == (1 if model.id in EDITING_ONLY else 0, 0 if model.id in TEXT_ONLY else model.max_images)


@pytest.mark.parametrize("model", EDITING_ONLY)
def test_an_editing_only_model_without_a_reference_is_refused(model):
    with pytest.raises(ValidationError) as caught:
        validate(GenerationRequest("make the sky purple", model=model))
    err = caught.value
    assert err.field == "image_urls"
    text = str(err)
    assert text.startswith("Invalid image_urls: no reference image.")
    assert f"{model} edits an image" in text and "at least 1 reference image" in text
    assert "gpt-image-1.5" in text  # a model that draws from text alone is named
    validate(GenerationRequest("make the sky purple", model=model, images=(REF,)))  # with one: fine


@pytest.mark.parametrize("model", TEXT_ONLY)
def test_references_for_a_text_to_image_only_model_are_refused(model):
    [err] = problems(GenerationRequest("a harbour", model=model, images=(REF, REF + "?2")))
    assert err.field == "image_urls"
    text = str(err)
    assert text.startswith("Invalid image_urls: 2 reference images.")
    assert f"none: {model} draws from text only" in text and "gpt-4o-image" in text


def test_headless_generate_refuses_before_anything_is_sent(run, sim):
    code, out, err = run("generate", "make it night", "--model", "qwen-image-edit")
    assert code == 2 and "Invalid image_urls: no reference image" in err and "qwen-image-edit edits an image" in err
    code, out, err = run("generate", "a harbour", "--model", "z-image-turbo", "--image", REF)
    assert code == 2 and "z-image-turbo draws from text only" in err
    assert sim.requests == []


async def test_the_simulator_refuses_an_editing_model_without_an_image():
    import httpx

    app = create_app(environ={})
    headers = {"Authorization": "Bearer sk-test"}
    async with httpx.AsyncClient(transport=demo_transport(app), base_url="http://sim.invalid") as api:
        body = {"prompt": "make it night", "model": "doubao-seededit-3.0-i2i"}
        answer = await api.post("/v1/images/generations", json=body, headers=headers)
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["param"] == "image_urls" and error["code"] == "invalid_parameters"
        assert "doubao-seededit-3.0-i2i" in error["message"] and "image_urls" in error["message"]
        assert app.state.sim.charges == 0
        answer = await api.post("/v1/images/generations", json={**body, "image_urls": [REF]}, headers=headers)
        assert answer.status_code == 200
