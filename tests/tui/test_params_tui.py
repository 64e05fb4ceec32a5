"""A model from the user's models.toml with an extra parameter, used from the app: its field
is offered in the composer, a bad value is refused naming the parameter, the value and what
is allowed, the value is sent (the simulator sees the field), recorded in the history and the
sidecar, and regenerate puts it back."""

from __future__ import annotations

import json
from pathlib import Path

from evolink_tui.tui.widgets.choice import Choice
from evolink_tui.tui.widgets.params import ParamFields

from .helpers import demo_app, finished, problems_text, screen_text, type_text, wait_until

USER_MODELS = """\
[[model]]
id = "gpt-image-2"
description = "OpenAI GPT Image 2"
speed = "fast"
[model.params]
quality = ["low", "medium", "high"]
seed = "int 0..2147483647"
"""


async def test_a_user_model_s_quality_is_offered_checked_sent_recorded_and_refilled(isolated_env):
    models = isolated_env["config"].parent / "models.toml"
    models.parent.mkdir(parents=True, exist_ok=True)
    models.write_text(USER_MODELS)
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        composer = app.main.composer
        await wait_until(pilot, lambda: app.studio.client is not None, what="the client")
        # the default model takes no extra parameter: no box for them (mounted when first needed)
        assert not composer.query(ParamFields) and composer.params is None
        await type_text(pilot, "a glass lighthouse")
        composer.set_models(["gpt-image-2"])
        await wait_until(pilot, lambda: "quality" in screen_text(app), what="the quality field")
        assert "seed" in screen_text(app)
        fields = composer.query_one(ParamFields)
        assert fields.display

        quality = fields.field("quality")
        assert isinstance(quality, Choice)
        assert [label for label, _ in quality.options] == ["default", "low", "medium", "high"]
        quality.focus()
        await pilot.press("right", "right", "right")  # default -> low -> medium -> high
        assert quality.value == "high"

        seed = fields.field("seed")
        assert seed is not None
        seed.focus()
        await type_text(pilot, "lots")
        await wait_until(pilot, lambda: "seed" in problems_text(app), what="the seed refused")
        assert "seed lots: a whole number from 0 to 2147483647" in problems_text(app)
        await pilot.press("ctrl+j")  # refused: nothing sent, nothing recorded
        await pilot.pause()
        assert not app.studio.records
        seed.focus()
        await pilot.press(*["backspace"] * 4)
        await type_text(pilot, "42")
        await wait_until(pilot, lambda: problems_text(app) == "", what="the problems gone")
        await pilot.press("ctrl+j")
        await wait_until(pilot, finished(app), what="the task done and downloaded")
        record = next(iter(app.studio.records.values()))
        assert record.request["quality"] == "high" and record.request["seed"] == 42
        sim = app.studio.client.simulator.state.sim
        sent = next(task for task in sim.tasks.values() if task.id == record.task_id)
        assert sent.params == {"quality": "high", "seed": 42}
        sidecar = json.loads(Path(record.files[0]).with_suffix(".json").read_text())
        assert sidecar["params"] == {"quality": "high", "seed": 42}

        composer.set_models(["gpt-image-1"])  # elsewhere, then regenerate puts it all back
        await wait_until(pilot, lambda: not fields.display, what="the fields gone")
        await app.main.generation.regenerate(record)
        await wait_until(pilot, lambda: fields.field("quality") is not None, what="the fields back")
        await pilot.pause()
        assert fields.field("quality").value == "high"
        assert fields.field("seed").value == "42"
        assert composer.requests()[0].params == (("quality", "high"), ("seed", 42))


async def test_models_changed_twice_before_the_parameters_box_is_drawn_show_the_last_ones_once(isolated_env):
    """The box is mounted with the first model that declares parameters; a second change in the
    same moment (before it is composed) replaces its fields rather than adding to them."""
    models = isolated_env["config"].parent / "models.toml"
    models.parent.mkdir(parents=True, exist_ok=True)
    seed_only = '[[model]]\nid = "seeded-only"\ndescription = "Seed only"\n[model.params]\nseed = "int 0..9"\n'
    models.write_text(USER_MODELS + "\n" + seed_only)
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        composer = app.main.composer
        await pilot.pause()
        composer.set_models(["gpt-image-2"])
        composer.set_models(["seeded-only"])
        await wait_until(pilot, lambda: "seed" in screen_text(app), what="the seed field")
        fields = composer.query_one(ParamFields)
        assert [spec.name for spec in fields.specs] == ["seed"]
        assert "quality" not in screen_text(app)
        assert len(fields.query(".param-row")) == 1  # one row: the first model's fields never mounted
